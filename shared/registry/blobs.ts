import { Readable } from 'node:stream';
import { ExplorerError } from '../errors.js';
import { shortDigest } from '../oci/digest.js';
import type { Descriptor } from '../oci/types.js';
import type { RegistryClient } from './client.js';
import { bodyError, cancelled, chunksOf, dropBody, header, isTransient } from './http.js';
import { backoffMs, sleep } from './retry.js';

// A blob (or bytes [start, end) of it) from the registry as one stream that survives the network:
// redirects and 429/5xx are handled by the client; a reset, truncated or stalled body is resumed with
// Range from the last byte passed on (a server that ignores Range is skipped forward). Bytes are raw:
// the caller verifies (sources/verify.ts, or the store's ingest). Nothing is requested before the
// first read, so opening a stream costs nothing.

export interface RemoteBlobOptions {
  start?: number;
  /** Exclusive; default the descriptor's size. */
  end?: number;
  signal?: AbortSignal;
  /** Called before each resume (why, the byte it resumes at), for progress displays and tests. */
  onResume?: (why: string, at: number) => void;
}

/** Tries in total, however much each made progress: a server that drips a byte per connection ends too. */
const MAX_RESUMES = 100;

function parseContentRange(v: string | undefined): { start: number; end: number } | undefined {
  const m = /^bytes\s+(\d+)-(\d+)\//.exec(v ?? '');
  return m ? { start: Number(m[1]), end: Number(m[2]) + 1 } : undefined;
}

export function blobMissing(client: RegistryClient, desc: Descriptor): ExplorerError {
  return new ExplorerError(
    'BLOB_MISSING',
    `Blob ${shortDigest(desc.digest)} (${desc.mediaType}) of ${client.ref.repository} is not on ${client.ref.registry} (HTTP 404): the image is incomplete on the registry.${desc.urls?.length ? ` It is a foreign layer served from ${desc.urls[0]}.` : ''}`,
    { digest: desc.digest },
  );
}

/**
 * The bytes as an async generator (no stream in between: each chunk is passed on as received). Stop
 * early with return(); a signal abort ends a wait at once (CANCELLED).
 */
export async function* remoteBlobChunks(client: RegistryClient, desc: Descriptor, o: RemoteBlobOptions = {}): AsyncGenerator<Buffer> {
  const signal = o.signal ?? new AbortController().signal;
  const end = Math.min(o.end ?? desc.size, desc.size);
  let pos = Math.max(0, o.start ?? 0);
  let failures = 0;
  let tries = 0;
  const path = `/v2/${client.ref.repository}/blobs/${desc.digest}`;
  const retryOrThrow = async (err: ExplorerError, progressed: boolean) => {
    if (signal.aborted) throw cancelled();
    if (!isTransient(err)) throw err;
    failures = progressed ? 1 : failures + 1;
    if (failures >= client.retry.attempts || ++tries >= MAX_RESUMES) {
      throw new ExplorerError(
        'NETWORK_ERROR',
        `The download of blob ${shortDigest(desc.digest)} from ${client.ref.registry} kept failing (${String(err.details?.reason ?? err.message)}) at byte ${pos} of ${desc.size}, after ${tries + 1} tries. Check your connection and try again; what was downloaded is not kept.`,
        { digest: desc.digest, at: pos, reason: err.details?.reason },
        { cause: err },
      );
    }
    o.onResume?.(String(err.details?.reason ?? err.message), pos);
    await sleep(backoffMs(client.retry, failures), signal);
  };
  while (pos < end) {
    const whole = pos === 0 && end === desc.size;
    let res;
    try {
      res = await client.request(path, { signal, ...(whole ? {} : { range: [pos, end] as [number, number] }) });
    } catch (e) {
      if (e instanceof ExplorerError) {
        await retryOrThrow(e, false);
        continue;
      }
      throw e;
    }
    if (res.status === 404) {
      res.discard();
      throw blobMissing(client, desc);
    }
    if (res.status !== 200 && res.status !== 206) throw await client.failure(res, `Blob ${shortDigest(desc.digest)}`);
    let skip = 0;
    if (res.status === 206) {
      const cr = parseContentRange(header(res.headers, 'content-range'));
      if (!cr || cr.start > pos) {
        res.discard();
        throw new ExplorerError('REGISTRY_ERROR', `${client.ref.registry} answered a range request for blob ${shortDigest(desc.digest)} with the wrong bytes (${String(res.headers['content-range'] ?? 'no Content-Range')}, asked from ${pos}).`, { digest: desc.digest });
      }
      skip = pos - cr.start;
    } else if (!whole) skip = pos; // Range ignored: the whole blob comes; skip to where we are.
    const before = pos;
    let failed: ExplorerError | undefined;
    try {
      for await (const chunk of chunksOf(res.body)) {
        let b = chunk;
        if (skip) {
          if (b.length <= skip) {
            skip -= b.length;
            continue;
          }
          b = b.subarray(skip);
          skip = 0;
        }
        if (b.length > end - pos) b = b.subarray(0, end - pos);
        pos += b.length;
        yield b;
        if (pos >= end) break;
      }
    } catch (e) {
      failed = bodyError(e, res.url);
    } finally {
      dropBody(res.body);
    }
    if (pos >= end) return;
    await retryOrThrow(
      failed ?? new ExplorerError('NETWORK_ERROR', 'body ended early', { reason: `the body ended after ${pos - before} bytes (truncated)`, transient: true }),
      pos > before,
    );
  }
}

/** Raw bytes of a registry blob (or [start, end) of it), resumed across broken connections. */
export function remoteBlobStream(client: RegistryClient, desc: Descriptor, o: RemoteBlobOptions = {}): Readable {
  const ctrl = new AbortController();
  const onAbort = () => ctrl.abort();
  if (o.signal?.aborted) ctrl.abort();
  else o.signal?.addEventListener('abort', onAbort, { once: true });
  const r = Readable.from(remoteBlobChunks(client, desc, { ...o, signal: ctrl.signal }), { objectMode: false, highWaterMark: 1 << 20 });
  r.once('close', () => {
    ctrl.abort();
    o.signal?.removeEventListener('abort', onAbort);
  });
  return r;
}
