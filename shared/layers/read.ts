import { Readable } from 'node:stream';
import { ExplorerError } from '../errors.js';
import type { Descriptor } from '../oci/types.js';
import type { ImageSource } from '../sources/types.js';
import type { LayerIndex } from './tarindex.js';
import { decodeRange, type RangeOptions } from './zran/reader.js';

// Bytes of the uncompressed layer stream [start, end). Uncompressed blobs are read in place by range;
// compressed ones are decoded from the nearest restart point before `start` (zran/reader.ts), so no
// uncompressed copy is kept anywhere and a remote source serves it by HTTP Range.

export async function openLayerRange(source: ImageSource, desc: Descriptor, idx: LayerIndex, start: number, end: number, opts: RangeOptions = {}): Promise<Readable> {
  if (end <= start) return Readable.from([]);
  if (idx.meta.compression === 'none') return source.openBlob(desc, { start, end, ...(opts.signal ? { signal: opts.signal } : {}) });
  const out = Readable.from(decodeRange(source, desc, idx, start, end, opts), { objectMode: false, highWaterMark: 1 << 20 });
  if (opts.signal) {
    const onAbort = () => out.destroy(new ExplorerError('CANCELLED', 'Reading the file was cancelled.'));
    opts.signal.addEventListener('abort', onAbort, { once: true });
    out.once('close', () => opts.signal!.removeEventListener('abort', onAbort));
  }
  return out;
}
