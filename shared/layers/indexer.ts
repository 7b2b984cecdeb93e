import { createWriteStream, promises as fsp } from 'node:fs';
import path from 'node:path';
import { once } from 'node:events';
import type { Readable } from 'node:stream';
import { ExplorerError, toExplorerError, type Problem } from '../errors.js';
import type { Digest } from '../oci/digest.js';
import { openDecoded, type DecodeLimits } from './decode.js';
import { IndexBuilder, type LayerIndex } from './tarindex.js';
import { TarScanner } from './tarscan.js';

export interface IndexLayerOptions {
  digest: Digest;
  diffId?: Digest;
  compressedSize: number;
  limits?: DecodeLimits;
  signal?: AbortSignal;
  /** Keep a copy of the uncompressed tar here (random reads in big compressed layers). */
  contentFile?: string;
  /**
   * Most bytes the content copy may take (default: the cache volume's free space less a reserve of
   * max(1 GiB, 10 % of the volume), and at most 32× the compressed size + 256 MiB). Past it the copy is dropped and indexing goes on: reads then decode
   * from the start. A decompression bomb can therefore never fill the disk.
   */
  contentBudget?: number;
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
  let ws: ReturnType<typeof createWriteStream> | undefined;
  let tmp: string | undefined;
  const onAbort = () => blob.destroy(new ExplorerError('CANCELLED', 'Indexing was cancelled.'));
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    if (opts.signal?.aborted) throw new ExplorerError('CANCELLED', 'Indexing was cancelled.');
    const dec = await openDecoded(blob, opts.digest, { ...(opts.diffId ? { diffId: opts.diffId } : {}), ...(opts.limits ? { limits: opts.limits } : {}), blobVerified: opts.blobVerified === true });
    compression = dec.stats.compression;
    let budget = 0;
    if (opts.contentFile) {
      await fsp.mkdir(path.dirname(opts.contentFile), { recursive: true });
      // Bounded by the disk and by the layer's own size: a copy past 32× the compressed bytes (real
      // layers expand 2-10×) is a bomb's or a zero-filled file's, not worth the disk; reads then decode.
      budget = opts.contentBudget ?? Math.min(await freeBudget(path.dirname(opts.contentFile)), contentCopyLimit(opts.compressedSize));
      tmp = `${opts.contentFile}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
      ws = createWriteStream(tmp);
    }
    const dropCopy = async () => {
      ws!.destroy();
      await fsp.rm(tmp!, { force: true });
      ws = undefined;
      tmp = undefined;
    };
    let lastReport = 0;
    let tarFailed = false;
    for await (const chunk of dec.stream as AsyncIterable<Buffer>) {
      if (ws && dec.stats.bytesOut > budget) await dropCopy();
      if (!tarFailed) {
        try {
          scanner.write(chunk);
        } catch (e) {
          // Keep reading: the digest and diff_id are still worth checking; entries stop here.
          tarFailed = true;
          fatal = problemOf(e);
          if (!ws) break;
        }
      }
      if (ws && !ws.write(chunk)) await once(ws, 'drain');
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
    if (ws && !fatal) {
      ws.end();
      await once(ws, 'close');
      await fsp.rename(tmp!, opts.contentFile!);
      tmp = undefined;
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
    if (ws && tmp) {
      ws.destroy();
      await fsp.rm(tmp, { force: true });
    }
  }
  if (fatal) builder.problems.unshift(fatal);
  return builder.finish({
    digest: opts.digest,
    ...(diffId ? { diffId } : {}),
    compression,
    compressedSize: opts.compressedSize,
    uncompressedSize: uncompressed,
    complete: complete && !fatal,
  });
}

/** Most bytes a layer's uncompressed copy may take, by its compressed size. */
export function contentCopyLimit(compressedSize: number): number {
  return compressedSize * 32 + 256 * 1024 * 1024;
}

/** Free bytes on the volume of `dir` less a reserve; 0 when it cannot be told (no copy then). */
async function freeBudget(dir: string): Promise<number> {
  try {
    const st = await fsp.statfs(dir);
    return Math.max(0, st.bavail * st.bsize - Math.max(1024 ** 3, 0.1 * st.blocks * st.bsize));
  } catch {
    return 0;
  }
}

function problemOf(e: unknown): Problem {
  const err = toExplorerError(e, 'LAYER_TAR_INVALID');
  return { code: err.code, message: err.message };
}

/** True when the index may be persisted (its bytes were verified and fully read). */
export function isPersistable(idx: LayerIndex): boolean {
  return idx.meta.complete && !idx.meta.problems.some((p) => INTEGRITY_CODES.has(p.code));
}
