import { Readable } from 'node:stream';
import { ExplorerError } from '../../../shared/errors.js';
import type { Digest } from '../../../shared/oci/digest.js';
import type { Descriptor } from '../../../shared/oci/types.js';
import type { BlobReadOptions, ImageSource, RootEntry } from '../../../shared/sources/types.js';

/**
 * An ImageSource over Buffers that serves byte ranges only as asked and records every request,
 * like a registry answering HTTP Range requests. `gate` (when set) holds each chunk until it resolves.
 */
export class RangeSource implements ImageSource {
  readonly kind = 'registry' as const;
  readonly location = 'memory://ranges';
  readonly blobs = new Map<Digest, Buffer>();
  readonly requests: { digest: Digest; start: number; end: number }[] = [];
  readonly streams: Readable[] = [];
  gate?: () => Promise<void>;
  chunk = 64 * 1024;

  async roots(): Promise<RootEntry[]> {
    return [];
  }
  async openBlob(desc: Descriptor, opts: BlobReadOptions = {}): Promise<Readable> {
    const b = this.blobs.get(desc.digest);
    if (!b) throw new ExplorerError('BLOB_MISSING', `no blob ${desc.digest}`);
    const start = opts.start ?? 0;
    const end = Math.min(opts.end ?? b.length, b.length);
    this.requests.push({ digest: desc.digest, start, end });
    const serve = async function* (this: RangeSource) {
      for (let i = start; i < end; i += this.chunk) {
        if (this.gate) await this.gate();
        yield b.subarray(i, Math.min(i + this.chunk, end));
      }
    };
    const s = Readable.from(serve.call(this));
    this.streams.push(s);
    return s;
  }
  async statBlob(d: Digest) {
    return this.blobs.get(d)?.length;
  }
  async close() {}
}
