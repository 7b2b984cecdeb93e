import { Transform, type Duplex, type Readable, type TransformCallback } from 'node:stream';
import * as zlib from 'node:zlib';
import { ExplorerError } from '../errors.js';
import { createDigester, parseDigest, shortDigest, type Digest } from '../oci/digest.js';
import { gzipPointsStream } from './zran/index-stream.js';
import type { RestartPointsBuilder } from './zran/points.js';
import { sniffCompression, SNIFF_BYTES, type Compression } from '../tar/compression.js';
import { jsZstdTransform, zstdDecompressor } from '../tar/zstd.js';

// Layer blobs are decoded by their magic bytes (media types lie: docker-save says "tar" for gzip;
// eStargz is multi-member gzip, which Node's gunzip reads member after member).

export type { Compression } from '../tar/compression.js';
/** The one compression sniffer (tar/compression.ts), under its old name. */
export const detectCompression = sniffCompression;

export interface DecodeLimits {
  /** Refuse more than this many uncompressed bytes (default 64 GiB). */
  maxBytes?: number;
  /**
   * Refuse an uncompressed/compressed ratio above this once past `ratioGrace` bytes (default 10,000:
   * gzip tops out near 1,032:1, so real layers full of zeros pass; zstd bombs go far beyond).
   */
  maxRatio?: number;
  /** Uncompressed bytes allowed before the ratio is checked (default 64 MiB). */
  ratioGrace?: number;
  /**
   * A second, lower ratio (default 1,000:1) once past `sustainedGrace` (default 1 GiB): a gzip bomb sits
   * at deflate's 1,032:1 ceiling for gigabytes, which no real layer does.
   */
  sustainedRatio?: number;
  sustainedGrace?: number;
}

const DEFAULTS: Required<DecodeLimits> = { maxBytes: 64 * 1024 ** 3, maxRatio: 10_000, ratioGrace: 64 * 1024 * 1024, sustainedRatio: 1_000, sustainedGrace: 1024 ** 3 };

/** What a decoded layer stream measured, complete once the stream has ended. */
export interface DecodeStats {
  compression: Compression;
  bytesIn: number;
  bytesOut: number;
  /** Digest of the uncompressed bytes (the diff_id), set when the stream ends. */
  diffId?: Digest;
}

export interface DecodedLayer {
  /** The uncompressed tar. Errors are ExplorerErrors (LAYER_DECODE_FAILED, DECOMPRESSION_BOMB, DIFFID_MISMATCH, DIGEST_MISMATCH...). */
  stream: Readable;
  stats: DecodeStats;
}

/** Reads at least `n` bytes (or to the end) and puts them back, so detection does not consume data. */
async function peek(s: Readable, n: number): Promise<Buffer> {
  const got: Buffer[] = [];
  let len = 0;
  for (;;) {
    const c = s.read() as Buffer | null;
    if (c) {
      got.push(c);
      len += c.length;
      if (len >= n) break;
      continue;
    }
    if (s.readableEnded || s.destroyed) break;
    const ended = await new Promise<boolean>((resolve, reject) => {
      const cleanup = () => {
        s.off('readable', onReadable);
        s.off('end', onEnd);
        s.off('close', onEnd);
        s.off('error', onError);
      };
      const onReadable = () => (cleanup(), resolve(false));
      const onEnd = () => (cleanup(), resolve(true));
      const onError = (err: Error) => (cleanup(), reject(err));
      s.once('readable', onReadable);
      s.once('end', onEnd);
      s.once('close', onEnd);
      s.once('error', onError);
    });
    if (ended) break;
  }
  const head = Buffer.concat(got);
  if (head.length) s.unshift(head);
  return head;
}

/**
 * Decompresses a layer blob by its magic bytes, enforces the bomb limits and hashes the
 * uncompressed stream; when `diffId` is given a mismatch errors the stream at its end.
 */
export async function openDecoded(
  blob: Readable,
  layerDigest: Digest,
  opts: {
    diffId?: Digest;
    limits?: DecodeLimits;
    /** The blob stream is verified against layerDigest (VerifyingStream). */
    blobVerified?: boolean;
    /** Skip hashing the uncompressed bytes (re-reads of a layer already indexed: extract, read). */
    noDiffHash?: boolean;
    /**
     * Record restart points here (the index pass): gzip is then inflated by zran/ (the addon, or pako
     * with `jsInflater`), zstd by the frame-by-frame decoder, which reports frame starts.
     */
    restart?: RestartPointsBuilder;
    jsInflater?: boolean;
  } = {},
): Promise<DecodedLayer> {
  const limits = { ...DEFAULTS, ...opts.limits };
  let head: Buffer;
  try {
    head = await peek(blob, SNIFF_BYTES);
  } catch (e) {
    blob.destroy();
    throw asDecodeError(e, layerDigest, undefined);
  }
  const compression = sniffCompression(head);
  const stats: DecodeStats = { compression, bytesIn: 0, bytesOut: 0 };
  const alg = opts.diffId ? parseDigest(opts.diffId).algorithm : 'sha256';
  // An uncompressed blob's diff_id is its digest, already checked upstream: no second hash.
  const sameBytes = compression === 'none' && opts.blobVerified === true && parseDigest(layerDigest).algorithm === alg;
  const hash = sameBytes || (opts.noDiffHash && !opts.diffId) ? undefined : createDigester(alg);
  // Big buffers let zlib (on the libuv pool) run ahead while this thread hashes and scans.
  const HWM = 4 * 1024 * 1024;
  const counter = new Transform({
    highWaterMark: HWM,
    transform(chunk: Buffer, _e, cb) {
      stats.bytesIn += chunk.length;
      cb(null, chunk);
    },
  });
  const rp = opts.restart;
  const dec: Duplex =
    compression === 'gzip'
      ? rp
        ? gzipPointsStream(rp, opts.jsInflater === true)
        : zlib.createGunzip({ chunkSize: 1024 * 1024, highWaterMark: HWM } as zlib.ZlibOptions)
      : compression === 'zstd'
        ? rp
          ? jsZstdTransform((c, u) => rp.addFrame(u, c))
          : zstdDecompressor()
        : new Transform({ highWaterMark: HWM, transform: (c, _e, cb) => cb(null, c) });
  const meter = new Transform({
    highWaterMark: HWM,
    transform(chunk: Buffer, _e, cb: TransformCallback) {
      stats.bytesOut += chunk.length;
      if (stats.bytesOut > limits.maxBytes) return cb(bomb(layerDigest, `more than ${limits.maxBytes} uncompressed bytes`));
      if (compression !== 'none' && stats.bytesOut > limits.ratioGrace && stats.bytesOut > stats.bytesIn * limits.maxRatio) {
        return cb(bomb(layerDigest, `an expansion ratio over ${limits.maxRatio}:1`));
      }
      if (compression !== 'none' && stats.bytesOut > limits.sustainedGrace && stats.bytesOut > stats.bytesIn * limits.sustainedRatio) {
        return cb(bomb(layerDigest, `more than ${limits.sustainedGrace} bytes at an expansion ratio over ${limits.sustainedRatio}:1`));
      }
      if (compression === 'none') {
        hash?.update(chunk);
        return cb(null, chunk);
      }
      // zlib hands us output and issues its next inflate job only after this returns: hashing (and the
      // scan downstream) in the next turn lets the pool thread inflate meanwhile instead of waiting.
      setImmediate(() => {
        hash?.update(chunk);
        cb(null, chunk);
      });
    },
    flush(cb) {
      stats.diffId = hash ? `${alg}:${hash.digest('hex')}` : layerDigest;
      if (opts.diffId && stats.diffId !== opts.diffId) return cb(diffIdMismatch(opts.diffId, stats.diffId, layerDigest));
      cb();
    },
  });
  const fail = (e: unknown) => {
    if (!meter.destroyed) meter.destroy(asDecodeError(e, layerDigest, compression));
  };
  blob.on('error', fail);
  // It may have failed already (a small blob verified at its end while we peeked).
  if (blob.errored) fail(blob.errored);
  counter.on('error', fail);
  dec.on('error', fail);
  meter.on('close', () => {
    if (!blob.destroyed) blob.destroy();
    if (!dec.destroyed) dec.destroy();
  });
  // The error stays on the stream (readers see it): a blob that fails before the caller starts reading
  // (a small one, verified at its end) must not be an uncaught 'error' event.
  meter.on('error', () => undefined);
  blob.pipe(counter).pipe(dec).pipe(meter);
  return { stream: meter, stats };
}

/** zstd for reads: Node's zlib when it has it (with the window limit), else the JavaScript decoder (tar/zstd.ts). */
export const zstdTransform = zstdDecompressor;

function bomb(layer: Digest, what: string): ExplorerError {
  return new ExplorerError(
    'DECOMPRESSION_BOMB',
    `Layer ${shortDigest(layer)} decompresses to ${what}, so reading it was stopped (a decompression bomb or a corrupt blob). Raise the limit only if you trust the image.`,
    { digest: layer },
  );
}

export function asDecodeError(e: unknown, layer: Digest, compression: Compression | undefined): ExplorerError {
  if (e instanceof ExplorerError) return e;
  if (e && typeof e === 'object' && (e as { name?: string }).name === 'AbortError') {
    return new ExplorerError('CANCELLED', 'Reading the layer was cancelled.', { digest: layer }, { cause: e });
  }
  const msg = e instanceof Error ? e.message : String(e);
  return new ExplorerError(
    'LAYER_DECODE_FAILED',
    `Layer ${shortDigest(layer)} could not be decompressed as ${compression ?? 'data'} (${msg}): the blob is truncated or corrupt; fetch it again.`,
    { digest: layer },
    { cause: e },
  );
}

export function diffIdMismatch(expected: Digest, actual: Digest, layer?: Digest): ExplorerError {
  return new ExplorerError(
    'DIFFID_MISMATCH',
    `The uncompressed content of layer ${layer ? shortDigest(layer) + ' ' : ''}hashes to ${shortDigest(actual)} but the config's diff_id says ${shortDigest(expected)}: the image is corrupt or was altered; fetch it again.`,
    { expected, actual, ...(layer ? { digest: layer } : {}) },
  );
}
