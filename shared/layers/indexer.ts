import type { Readable } from 'node:stream';
import { ExplorerError, toExplorerError, type Problem } from '../errors.js';
import type { Digest } from '../oci/digest.js';
import { openDecoded, type DecodeLimits } from './decode.js';
import { IndexBuilder, type LayerIndex } from './tarindex.js';
import { TarScanner } from './tarscan.js';
import { RestartPointsBuilder } from './zran/points.js';

/**
 * Output bytes between gzip restart points. 2 MiB keeps the points at ~1.5 % of the blob (32 KiB
 * windows deflate to ~15 KiB in real layers) while a read decodes at most 2 MiB from its point
 * (≤ 10 ms with the addon, ≤ 25 ms with pako); measured in docs/benchmarks.md.
 */
export const RESTART_SPAN = 2 * 1024 * 1024;

export interface IndexLayerOptions {
  digest: Digest;
  diffId?: Digest;
  compressedSize: number;
  limits?: DecodeLimits;
  signal?: AbortSignal;
  /** Output bytes between restart points of compressed layers (default RESTART_SPAN); 0 records none. */
  restartSpan?: number;
  /** Index gzip with the JavaScript inflater even when the addon is built (tests, benchmarks). */
  jsInflater?: boolean;
  /** The blob stream is wrapped in a VerifyingStream for `digest` (lets raw layers skip re-hashing). */
  blobVerified?: boolean;
  onProgress?: (p: { bytesDone: number; entries: number }) => void;
}

/** Codes that mean the bytes themselves are not trustworthy: such an index is shown but never persisted. */
export const INTEGRITY_CODES = new Set(['DIGEST_MISMATCH', 'SIZE_MISMATCH', 'DIFFID_MISMATCH', 'LAYER_DECODE_FAILED', 'DECOMPRESSION_BOMB', 'LAYER_TAR_INVALID', 'BLOB_MISSING']);

/**
 * One pass over a layer blob (already wrapped by VerifyingStream): decode, scan the tar, build the
 * index. Never throws for bad bytes: the error becomes a problem on the (partial) index. Throws only
 * CANCELLED.
 */
export async function indexLayerStream(blob: Readable, opts: IndexLayerOptions): Promise<LayerIndex> {
  const label = `layer ${opts.digest.slice(7, 19)}`;
  const builder = new IndexBuilder(label);
  const scanner = new TarScanner(builder, label);
  let compression: 'gzip' | 'zstd' | 'none' = 'none';
  let uncompressed = 0;
  let diffId: Digest | undefined;
  let complete = false;
  let fatal: Problem | undefined;
  const span = opts.restartSpan ?? RESTART_SPAN;
  const restart = span > 0 ? new RestartPointsBuilder(span) : undefined;
  const onAbort = () => blob.destroy(new ExplorerError('CANCELLED', 'Indexing was cancelled.'));
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    if (opts.signal?.aborted) throw new ExplorerError('CANCELLED', 'Indexing was cancelled.');
    const dec = await openDecoded(blob, opts.digest, {
      ...(opts.diffId ? { diffId: opts.diffId } : {}),
      ...(opts.limits ? { limits: opts.limits } : {}),
      ...(restart ? { restart } : {}),
      jsInflater: opts.jsInflater === true,
      blobVerified: opts.blobVerified === true,
    });
    compression = dec.stats.compression;
    let lastReport = 0;
    let tarFailed = false;
    for await (const chunk of dec.stream as AsyncIterable<Buffer>) {
      if (!tarFailed) {
        try {
          scanner.write(chunk);
        } catch (e) {
          // Stop here: entries end at the damage (the digest check is lost with the rest of the stream).
          tarFailed = true;
          fatal = problemOf(e);
          break;
        }
      }
      if (opts.onProgress && dec.stats.bytesIn - lastReport >= 1 << 22) {
        lastReport = dec.stats.bytesIn;
        opts.onProgress({ bytesDone: dec.stats.bytesIn, entries: builder.count });
      }
    }
    if (!tarFailed) {
      try {
        scanner.end();
        complete = true;
      } catch (e) {
        fatal = problemOf(e);
      }
    }
    uncompressed = dec.stats.bytesOut;
    diffId = dec.stats.diffId;
    opts.onProgress?.({ bytesDone: dec.stats.bytesIn, entries: builder.count });
  } catch (e) {
    const err = toExplorerError(e, 'LAYER_DECODE_FAILED');
    if (err.code === 'CANCELLED' || opts.signal?.aborted) throw new ExplorerError('CANCELLED', 'Indexing was cancelled.');
    fatal = { code: err.code, message: err.message };
    complete = false;
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
  }
  if (fatal) builder.problems.unshift(fatal);
  const idx = builder.finish({
    digest: opts.digest,
    ...(diffId ? { diffId } : {}),
    compression,
    compressedSize: opts.compressedSize,
    uncompressedSize: uncompressed,
    complete: complete && !fatal,
  });
  if (restart && compression !== 'none') idx.restart = restart.finish(opts.digest);
  return idx;
}

function problemOf(e: unknown): Problem {
  const err = toExplorerError(e, 'LAYER_TAR_INVALID');
  return { code: err.code, message: err.message };
}

/** True when the index may be persisted (its bytes were verified and fully read). */
export function isPersistable(idx: LayerIndex): boolean {
  return idx.meta.complete && !idx.meta.problems.some((p) => INTEGRITY_CODES.has(p.code));
}
