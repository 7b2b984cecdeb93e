import { promises as fsp } from 'node:fs';
import { Readable } from 'node:stream';
import { ExplorerError, isExplorerError } from '../errors.js';
import { createDigester, isDigest, parseDigest, shortDigest, type Digest } from '../oci/digest.js';
import { mediaTypeKind } from '../oci/mediatypes.js';
import type { Descriptor } from '../oci/types.js';
import type { Ingest, LayoutStore } from '../store/layout.js';
import { MAX_CONFIG_BYTES, MAX_DOCUMENT_BYTES } from '../sources/verify.js';
import { remoteBlobChunks, remoteBlobStream } from './blobs.js';
import type { RegistryClient } from './client.js';
import { cancelled } from './http.js';
import { fetchManifest, type FetchedManifest } from './manifests.js';

// Content of one repository, store first: documents (manifests, configs) are kept in memory once
// read and written to the store; blobs are downloaded once into the store (shared by every task and
// process using it) or streamed to a reader while they land there. Everything written is verified.

export interface BlobProgress {
  digest: Digest;
  mediaType: string;
  done: number;
  total: number;
  state: 'waiting' | 'downloading' | 'resuming' | 'done' | 'present';
}

export interface FetcherOptions {
  /** Other layouts to take a blob from before downloading (the app's store when pulling elsewhere). */
  alsoFrom?: LayoutStore[];
  onProgress?: (p: BlobProgress) => void;
}

/** Downloads in flight in this process, by blob path: a second reader follows the temp file instead of waiting. */
const following = new Map<string, Ingest>();

/** The ingest's next change, or CANCELLED when the signal aborts first. */
function untilChanged(ing: Ingest, signal?: AbortSignal): Promise<void> {
  if (!signal) return ing.changed();
  if (signal.aborted) return Promise.reject(cancelled());
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(cancelled());
    signal.addEventListener('abort', onAbort, { once: true });
    void ing.changed().then(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    });
  });
}

const isManifestType = (mt: string) => {
  const k = mediaTypeKind(mt);
  return k === 'index' || k === 'manifest' || k === 'manifest-v1';
};

export class Fetcher {
  private readonly docs = new Map<Digest, Promise<FetchedManifest>>();

  constructor(
    readonly client: RegistryClient,
    readonly store: LayoutStore,
    private readonly o: FetcherOptions = {},
  ) {}

  /** A document already read (verified), if any. */
  cached(digest: Digest): Promise<FetchedManifest> | undefined {
    return this.docs.get(digest);
  }

  /** Remembers a document read elsewhere (a tag's manifest) so it is served from memory. */
  remember(m: FetchedManifest): void {
    if (!this.docs.has(m.descriptor.digest)) this.docs.set(m.descriptor.digest, Promise.resolve(m));
  }

  /** A manifest or index by tag or digest (by digest: memory, then store, then registry). Stored once read. */
  manifest(reference: string, signal?: AbortSignal): Promise<FetchedManifest> {
    if (!isDigest(reference)) return this.fresh(reference, signal);
    let p = this.docs.get(reference);
    if (!p) {
      p = (async () => (await this.fromStore({ mediaType: '', digest: reference, size: -1 }, MAX_DOCUMENT_BYTES)) ?? this.fresh(reference, signal))();
      this.keep(reference, p);
    }
    return p;
  }

  private async fresh(reference: string, signal?: AbortSignal): Promise<FetchedManifest> {
    const m = await fetchManifest(this.client, reference, signal);
    await this.store.putBlob(m.descriptor, m.bytes).catch(() => {});
    this.remember(m);
    return m;
  }

  /** A whole document (manifest by /manifests/, config by /blobs/), verified, in memory. */
  document(desc: Descriptor, signal?: AbortSignal): Promise<FetchedManifest> {
    if (isManifestType(desc.mediaType)) return this.manifest(desc.digest, signal);
    let p = this.docs.get(desc.digest);
    if (!p) {
      p = (async () => {
        const stored = await this.fromStore(desc, MAX_CONFIG_BYTES);
        if (stored) return stored;
        if (desc.size > MAX_CONFIG_BYTES) throw new ExplorerError('TOO_LARGE', `Document ${shortDigest(desc.digest)} is ${desc.size} bytes, over the ${MAX_CONFIG_BYTES}-byte limit.`, { digest: desc.digest });
        const parts: Buffer[] = [];
        for await (const c of this.stream(desc, signal)) parts.push(c as Buffer);
        return { descriptor: desc, bytes: Buffer.concat(parts) };
      })();
      this.keep(desc.digest, p);
    }
    return p;
  }

  private keep(digest: Digest, p: Promise<FetchedManifest>): void {
    this.docs.set(digest, p);
    // A failed read is not remembered: the next caller tries again.
    p.catch(() => {
      if (this.docs.get(digest) === p) this.docs.delete(digest);
    });
  }

  /** Reads a stored document, verified (a damaged store file is ignored, not trusted). */
  private async fromStore(desc: Descriptor, max: number): Promise<FetchedManifest | undefined> {
    for (const s of [this.store, ...(this.o.alsoFrom ?? [])]) {
      const size = await s.statBlob(desc.digest);
      if (size === undefined || size > max || (desc.size >= 0 && size !== desc.size)) continue;
      const bytes = await fsp.readFile(s.blobPath(desc.digest)).catch(() => undefined);
      if (!bytes) continue;
      const alg = parseDigest(desc.digest).algorithm;
      if (`${alg}:${createDigester(alg).update(bytes).digest('hex')}` !== desc.digest) continue;
      let mediaType = desc.mediaType;
      if (!mediaType) {
        try {
          mediaType = String((JSON.parse(bytes.toString('utf8')) as { mediaType?: unknown }).mediaType ?? '');
        } catch {
          mediaType = '';
        }
      }
      if (s !== this.store) await this.store.putBlob(desc, bytes).catch(() => {});
      return { descriptor: { ...desc, mediaType, size: bytes.length }, bytes };
    }
    return undefined;
  }

  /** Ensures the blob is in the store: present, linked from another layout, or downloaded once. */
  async ensure(desc: Descriptor, signal?: AbortSignal): Promise<'present' | 'fetched'> {
    if (await this.store.has(desc)) return this.report(desc, 'present');
    const lease = await this.store.lockBlob(desc.digest, signal);
    try {
      if (await this.store.has(desc)) return this.report(desc, 'present');
      if (await this.linkFromOther(desc)) return this.report(desc, 'present');
      // One more whole try when the bytes do not verify: a flipped bit on the way is not the blob's fault.
      for (let attempt = 1; ; attempt++) {
        try {
          for await (const _ of this.download(desc, signal)) {
            // The bytes go to the store; nobody else reads them here.
          }
          return 'fetched';
        } catch (e) {
          if (attempt >= 2 || !isExplorerError(e) || (e.code !== 'DIGEST_MISMATCH' && e.code !== 'SIZE_MISMATCH')) throw e;
        }
      }
    } finally {
      await lease.release();
    }
  }

  private report(desc: Descriptor, state: 'present'): 'present' {
    this.o.onProgress?.({ digest: desc.digest, mediaType: desc.mediaType, done: desc.size, total: desc.size, state });
    return state;
  }

  private async linkFromOther(desc: Descriptor): Promise<boolean> {
    for (const s of this.o.alsoFrom ?? []) {
      if (s === this.store || !(await s.has(desc))) continue;
      // Verified when it landed there; hashed again here since it becomes another layout's blob.
      const ing = await this.store.ingest(desc);
      try {
        for await (const c of s.openBlob(desc.digest)) await ing.write(c as Buffer);
        await ing.commit();
        return true;
      } catch {
        // A damaged copy elsewhere: download instead.
      } finally {
        await ing.abort();
      }
    }
    return false;
  }

  /** Downloads into the store (caller holds the blob lock), yielding the bytes as they arrive. */
  private async *download(desc: Descriptor, signal?: AbortSignal): AsyncGenerator<Buffer> {
    const ing = await this.store.ingest(desc);
    const key = this.store.blobPath(desc.digest);
    following.set(key, ing);
    const progress = (state: BlobProgress['state']) => this.o.onProgress?.({ digest: desc.digest, mediaType: desc.mediaType, done: ing.bytes, total: desc.size, state });
    const remote = remoteBlobChunks(this.client, desc, { ...(signal ? { signal } : {}), onResume: () => progress('resuming') });
    let last = 0;
    try {
      progress('downloading');
      for await (const c of remote) {
        await ing.write(c);
        if (ing.bytes - last >= 1 << 20) {
          last = ing.bytes;
          progress('downloading');
        }
        yield c;
      }
      await ing.commit();
      progress('done');
    } catch (e) {
      await ing.abort(e instanceof Error ? e : undefined);
      throw e;
    } finally {
      if (following.get(key) === ing) following.delete(key);
      await remote.return(undefined);
      await ing.abort();
    }
  }

  /** Reads a blob being downloaded by another task of this process, from its temp file as it grows. */
  private async *follow(ing: Ingest, signal?: AbortSignal): AsyncGenerator<Buffer> {
    const fh = await fsp.open(ing.tmp, 'r').catch(() => undefined);
    if (!fh) {
      // Already renamed into the store (or gone with an error).
      if (ing.outcome !== 'committed') throw ing.outcome ?? cancelled();
      yield* this.store.openBlob(ing.desc.digest, signal ? { signal } : {}) as AsyncIterable<Buffer>;
      return;
    }
    try {
      let pos = 0;
      while (pos < ing.desc.size) {
        if (signal?.aborted) throw cancelled();
        if (ing.outcome instanceof Error) throw ing.outcome;
        if (pos < ing.bytes) {
          const buf = Buffer.allocUnsafe(Math.min(1 << 20, ing.bytes - pos));
          const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
          if (bytesRead === 0) throw new ExplorerError('INTERNAL', `The download of ${shortDigest(ing.desc.digest)} shrank while being read.`);
          pos += bytesRead;
          yield buf.subarray(0, bytesRead);
        } else if (ing.outcome !== 'committed') await untilChanged(ing, signal);
      }
    } finally {
      await fh.close();
    }
  }

  /**
   * The whole blob as a stream: from the store, or downloaded while it is read (bytes reach the reader
   * and the store's temp file in one pass; renamed into the store when verified). Nothing is requested
   * before the first read. A reader that stops early leaves nothing behind.
   */
  stream(desc: Descriptor, signal?: AbortSignal): Readable {
    return Readable.from(this.streamChunks(desc, signal), { objectMode: false, highWaterMark: 1 << 20 });
  }

  private async *streamChunks(desc: Descriptor, signal?: AbortSignal): AsyncGenerator<Buffer> {
    const live = following.get(this.store.blobPath(desc.digest));
    if (live && !live.outcome) {
      yield* this.follow(live, signal);
      return;
    }
    if (!(await this.store.has(desc))) {
      const lease = await this.store.lockBlob(desc.digest, signal);
      try {
        if (!(await this.store.has(desc)) && !(await this.linkFromOther(desc))) {
          yield* this.download(desc, signal);
          return;
        }
      } finally {
        await lease.release();
      }
    }
    if (signal?.aborted) throw cancelled();
    yield* this.store.openBlob(desc.digest, signal ? { signal } : {}) as AsyncIterable<Buffer>;
  }

  /** Bytes [start, end) of a blob: from the store when present, else by HTTP Range (not stored). */
  async range(desc: Descriptor, start: number, end: number, signal?: AbortSignal): Promise<Readable> {
    if (await this.store.has(desc)) return this.store.openBlob(desc.digest, { start, end, ...(signal ? { signal } : {}) });
    return remoteBlobStream(this.client, desc, { start, end, ...(signal ? { signal } : {}) });
  }
}
