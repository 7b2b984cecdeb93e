import { createReadStream, existsSync } from 'node:fs';
import { Transform, type Readable } from 'node:stream';
import type { Descriptor } from '../oci/types.js';
import type { ImageSource } from '../sources/types.js';
import { openVerified } from '../sources/verify.js';
import { openDecoded } from './decode.js';
import type { LayerIndex } from './tarindex.js';

// Bytes of the uncompressed layer stream [start, end). Uncompressed blobs are read in place by range;
// compressed ones from the content cache when the layer was big enough to keep one, else decoded
// from the start and skipped (cheap for the small layers that have no cache).

export async function openLayerRange(
  source: ImageSource,
  desc: Descriptor,
  idx: LayerIndex,
  start: number,
  end: number,
  opts: { contentFile?: string; signal?: AbortSignal } = {},
): Promise<Readable> {
  if (end <= start) {
    const { Readable } = await import('node:stream');
    return Readable.from([]);
  }
  if (idx.meta.compression === 'none') return source.openBlob(desc, { start, end, ...(opts.signal ? { signal: opts.signal } : {}) });
  if (opts.contentFile && existsSync(opts.contentFile)) return createReadStream(opts.contentFile, { start, end: end - 1, ...(opts.signal ? { signal: opts.signal } : {}) });
  const blob = await openVerified(source, desc, opts.signal);
  const dec = await openDecoded(blob, desc.digest, { noDiffHash: true });
  return dec.stream.pipe(slice(start, end, () => dec.stream.destroy()));
}

/** Passes bytes [start, end) of a stream, then ends (and stops the upstream). */
export function slice(start: number, end: number, stop: () => void): Transform {
  let pos = 0;
  let done = false;
  return new Transform({
    transform(chunk: Buffer, _e, cb) {
      if (done) return cb();
      const a = Math.max(start - pos, 0);
      const b = Math.min(end - pos, chunk.length);
      pos += chunk.length;
      if (b > a) this.push(chunk.subarray(a, b));
      if (pos >= end) {
        done = true;
        this.push(null);
        stop();
      }
      cb();
    },
  });
}
