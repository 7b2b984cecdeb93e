import type { Readable } from 'node:stream';
import { ExplorerError } from '../../errors.js';
import { shortDigest } from '../../oci/digest.js';
import type { Descriptor } from '../../oci/types.js';
import type { ImageSource } from '../../sources/types.js';
import { crc32 } from '../crc32.js';
import { asDecodeError, zstdTransform } from '../decode.js';
import type { LayerIndex } from '../tarindex.js';
import { inflateChunks, openInflater } from './inflater.js';
import { MEMBER, type RestartPoint } from './points.js';

// Bytes [start, end) of a compressed layer's tar, decoded from the nearest restart point at or before
// them: only the compressed bytes from that point to the next point past `end` are asked of the
// source (a byte range: a file read, or an HTTP Range request for a registry). A layer without
// points decodes from its first byte. Reads of a tar entry are checked: the tar header before the
// entry's data must be the one the index recorded (so a stale index or a damaged point never yields
// some other file's bytes), and a whole-file read must match the crc32 the index recorded.

const BLOCK = 512;

export interface RangeOptions {
  signal?: AbortSignal;
  /** The index entry the range lies in: its header (and, for a whole-file read, its crc32) is checked. */
  entry?: number;
  /** Resume gzip with pako even when the addon is built (tests). */
  jsInflater?: boolean;
}

export async function* decodeRange(source: ImageSource, desc: Descriptor, idx: LayerIndex, start: number, end: number, opts: RangeOptions = {}): AsyncGenerator<Buffer> {
  const cancelled = () => new ExplorerError('CANCELLED', 'Reading the file was cancelled.');
  if (opts.signal?.aborted) throw cancelled();
  const rp = idx.restart;
  const e = opts.entry;
  const headerAt = e !== undefined ? idx.cols.offset[e]! - BLOCK : undefined;
  const from = headerAt !== undefined ? Math.min(start, headerAt) : start;
  const p: RestartPoint = rp ? rp.point(rp.find(from)) : { out: 0, in: 0, bits: MEMBER, window: () => Buffer.alloc(0) };
  // The output up to a point's offset lies in the input before its `in`.
  let cEnd = desc.size;
  if (rp) {
    const j = rp.find(end - 1) + 1;
    if (j < rp.count) cEnd = rp.point(j).in;
  }
  const gzip = idx.meta.compression === 'gzip';
  const window = gzip && p.bits >= 0 ? p.window() : undefined;
  const cStart = gzip && p.bits > 0 ? p.in - 1 : p.in;
  let raw: Readable;
  try {
    raw = await source.openBlob(desc, { start: cStart, end: cEnd, ...(opts.signal ? { signal: opts.signal } : {}) });
  } catch (err) {
    throw asDecodeError(err, desc.digest, idx.meta.compression);
  }
  // Cancelling stops the source at once (a file or socket read in flight), not at its next chunk.
  const onAbort = () => raw.destroy(cancelled());
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  const decoded = gzip ? gunzipFrom(raw, p, window, from, opts.jsInflater === true) : unzstd(raw);
  const whole = e !== undefined && start === idx.cols.offset[e] && end === start + idx.cols.size[e]!;
  let crc = 0;
  let header: Buffer[] = [];
  // gzip output arrives from `from` on (the skipped part is dropped by the inflater), zstd from the point.
  let pos = gzip ? Math.max(from, p.out) : p.out;
  try {
    for await (const chunk of decoded) {
      if (opts.signal?.aborted) throw cancelled();
      const cEndPos = pos + chunk.length;
      if (headerAt !== undefined && cEndPos > headerAt && pos < headerAt + BLOCK) {
        header.push(chunk.subarray(Math.max(headerAt - pos, 0), Math.min(headerAt + BLOCK - pos, chunk.length)));
        if (pos + chunk.length >= headerAt + BLOCK) {
          checkHeader(Buffer.concat(header), idx, e!, headerAt, desc);
          header = [];
        }
      }
      const a = Math.max(start - pos, 0);
      const b = Math.min(end - pos, chunk.length);
      pos = cEndPos;
      if (b > a) {
        const piece = chunk.subarray(a, b);
        if (whole) {
          crc = crc32(piece, crc);
          if (pos >= end && crc !== idx.cols.hash[e]) throw mismatch(desc, idx, e, 'its content does not match the crc32 the index recorded');
        }
        yield piece;
      }
      if (pos >= end) return;
    }
  } catch (err) {
    if (opts.signal?.aborted) throw cancelled();
    throw err instanceof ExplorerError ? err : asDecodeError(err, desc.digest, idx.meta.compression);
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
    raw.destroy();
  }
  throw new ExplorerError('LAYER_DECODE_FAILED', `Layer ${shortDigest(desc.digest)} ended at byte ${pos} of its tar, before byte ${end} that was asked for: the blob is truncated; fetch it again.`, { digest: desc.digest });
}

/** gzip from a restart point: raw inflate primed with the leftover bits and the window, or a member start. */
async function* gunzipFrom(raw: Readable, p: RestartPoint, window: Buffer | undefined, from: number, js: boolean): AsyncGenerator<Buffer> {
  const it = (raw as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  let first: Buffer = Buffer.alloc(0);
  let byte = 0;
  if (p.bits > 0) {
    const r = await it.next();
    if (r.done || !r.value.length) return;
    byte = r.value[0]!;
    first = r.value.subarray(1);
  }
  const inf = openInflater({ raw: p.bits >= 0, bits: Math.max(p.bits, 0), byte, ...(window?.length ? { window } : {}), inOffset: p.in, outOffset: p.out }, { js, sync: true });
  async function* rest(): AsyncGenerator<Buffer> {
    if (first.length) yield first;
    for (;;) {
      const r = await it.next();
      if (r.done) return;
      yield r.value;
    }
  }
  yield* inflateChunks(rest(), inf, { outSize: 256 * 1024, discard: from, outStart: p.out });
}

/** zstd from a frame start (or the blob's start). */
function unzstd(raw: Readable): AsyncIterable<Buffer> {
  const t = zstdTransform();
  raw.on('error', (err) => t.destroy(err));
  t.on('close', () => raw.destroy());
  return raw.pipe(t) as AsyncIterable<Buffer>;
}

function checkHeader(h: Buffer, idx: LayerIndex, e: number, at: number, desc: Descriptor): void {
  if (h.length < BLOCK) return;
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : h[i]!;
  const want = parseInt(h.toString('latin1', 148, 156).replace(/\0.*$/s, '').trim(), 8);
  const flag = String.fromCharCode(h[156]!);
  const sizeField = h[124]! & 0x80 ? NaN : parseInt(h.toString('latin1', 124, 136).replace(/\0.*$/s, '').trim() || '0', 8);
  const size = idx.cols.size[e]!;
  const sizeOk = sizeField === size || !(size < 0o77777777777) || Number.isNaN(sizeField);
  if (sum !== want || !'0\x0007S'.includes(flag) || !sizeOk) throw mismatch(desc, idx, e, `the tar header at byte ${at} is not the one the index recorded`);
}

function mismatch(desc: Descriptor, idx: LayerIndex, e: number, why: string): ExplorerError {
  return new ExplorerError(
    'LAYER_INDEX_CORRUPT',
    `Reading ${idx.paths[e]} from layer ${shortDigest(desc.digest)} stopped: ${why}, so the layer's index (or its restart points) does not match the blob. Clear the cache and open the image again to rebuild the index.`,
    { digest: desc.digest, path: idx.paths[e] },
  );
}
