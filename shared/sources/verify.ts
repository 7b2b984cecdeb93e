import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { ExplorerError } from '../errors.js';
import { createDigester, parseDigest, shortDigest } from '../oci/digest.js';
import type { Descriptor } from '../oci/types.js';
import type { ImageSource } from './types.js';

/** Manifests and configs larger than this are refused (registries commonly cap manifests at 4 MiB). */
export const MAX_DOCUMENT_BYTES = 4 * 1024 * 1024;
/** Configs may be bigger than manifests (long histories); still bounded so a hostile one cannot exhaust memory. */
export const MAX_CONFIG_BYTES = 64 * 1024 * 1024;

/**
 * A pass-through stream that checks size and digest of the whole blob; it errors (instead of ending)
 * on mismatch, so a consumer never takes unverified bytes as good.
 */
export class VerifyingStream extends Transform {
  private readonly hash;
  private seen = 0;
  constructor(private readonly desc: Descriptor) {
    super();
    this.hash = createDigester(parseDigest(desc.digest).algorithm);
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.seen += chunk.length;
    if (this.seen > this.desc.size) {
      cb(sizeMismatch(this.desc, this.seen, true));
      return;
    }
    this.hash.update(chunk);
    cb(null, chunk);
  }
  override _flush(cb: TransformCallback): void {
    if (this.seen !== this.desc.size) return cb(sizeMismatch(this.desc, this.seen, false));
    const actual = `${parseDigest(this.desc.digest).algorithm}:${this.hash.digest('hex')}`;
    if (actual !== this.desc.digest) return cb(digestMismatch(this.desc, actual));
    cb();
  }
}

export function sizeMismatch(desc: Descriptor, actual: number, atLeast: boolean): ExplorerError {
  return new ExplorerError(
    'SIZE_MISMATCH',
    `Blob ${shortDigest(desc.digest)} is ${atLeast ? 'more than ' : ''}${actual} bytes but its descriptor says ${desc.size}: the image is corrupt or was altered; fetch it again.`,
    { digest: desc.digest, expected: desc.size, actual },
  );
}

export function digestMismatch(desc: Descriptor, actual: string): ExplorerError {
  return new ExplorerError(
    'DIGEST_MISMATCH',
    `Blob ${shortDigest(desc.digest)} does not match its digest (content hashes to ${shortDigest(actual)}): the image is corrupt or was altered; fetch it again.`,
    { digest: desc.digest, actual },
  );
}

/** Opens a blob as a verified stream. */
export async function openVerified(source: ImageSource, desc: Descriptor, signal?: AbortSignal): Promise<Readable> {
  parseDigest(desc.digest);
  if (!Number.isSafeInteger(desc.size) || desc.size < 0) throw new ExplorerError('SIZE_MISMATCH', `Blob ${shortDigest(desc.digest)} has no valid size in its descriptor, so it cannot be read safely.`, { digest: desc.digest });
  // Never read more than the descriptor says (+1 byte, to tell "too big"): a blob that is a link to
  // /dev/zero, or a file growing under us, fails after size+1 bytes, not after gigabytes.
  const raw = await source.openBlob(desc, { end: desc.size + 1, ...(signal ? { signal } : {}) });
  const v = new VerifyingStream(desc);
  raw.on('error', (e) => v.destroy(e));
  v.on('close', () => raw.destroy());
  // A small blob can be read through (and fail verification) before its reader attaches a listener:
  // the error stays on the stream (v.errored, thrown to a later for-await) instead of crashing.
  v.on('error', () => undefined);
  return raw.pipe(v);
}

/** Reads a whole (small) blob into memory, verified against digest and size. */
export async function readVerified(source: ImageSource, desc: Descriptor, max = MAX_DOCUMENT_BYTES, signal?: AbortSignal): Promise<Buffer> {
  if (desc.size > max) {
    throw new ExplorerError('TOO_LARGE', `Document ${shortDigest(desc.digest)} is ${desc.size} bytes, over the ${max}-byte limit for JSON documents; it is probably not what its media type says.`, { digest: desc.digest });
  }
  const s = await openVerified(source, desc, signal);
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}
