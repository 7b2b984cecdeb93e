import { createReadStream, createWriteStream, promises as fsp, type WriteStream } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { ExplorerError } from '../errors.js';
import { createDigester, parseDigest, shortDigest, type Digest } from '../oci/digest.js';
import { MT } from '../oci/mediatypes.js';
import { ANN, type Descriptor, type Index } from '../oci/types.js';
import { acquireLock, withLock, type Lease } from '../registry/lock.js';
import { digestMismatch, sizeMismatch } from '../sources/verify.js';

// A writable OCI image layout: the app's store (<cacheDir>/store, the cache root's pulled images) or
// any `pull --to DIR`. Rules that keep it readable by skopeo/umoci and safe to share:
// - a blob lands in blobs/<alg>/<hex> only after its bytes hashed to its digest (temp file in ingest/,
//   then rename); a cancelled or failed download leaves nothing there;
// - one download per blob: ingest/<alg>-<hex>.lock is held by the downloader (other processes and
//   tasks wait, then find the blob present);
// - index.json changes only under index.json.lock, written to a temp file and renamed.
// For the cache (shared/store/cache.ts): an image = one index.json entry (ref name in
// org.opencontainers.image.ref.name) + reachableBlobs(entry); blobs reachable from no entry are loose
// (left by browsing a reference without pulling it) and can be evicted one by one. Evict an image
// with removeRef() first, then delete the blobs no kept entry reaches.

/** When the image was pulled (ISO 8601), on index.json entries. */
export const PULLED_ANNOTATION = 'dev.oci-explorer.pulled';

export interface StoredImage {
  /** org.opencontainers.image.ref.name */
  name: string;
  descriptor: Descriptor;
  pulled?: string;
}

export class LayoutStore {
  private ready?: Promise<void>;

  constructor(readonly dir: string) {}

  blobPath(digest: Digest): string {
    const { algorithm, hex } = parseDigest(digest);
    return path.join(this.dir, 'blobs', algorithm, hex);
  }

  /** Creates oci-layout, index.json and the folders when absent (never replaces what is there). */
  init(): Promise<void> {
    this.ready ??= (async () => {
      await fsp.mkdir(path.join(this.dir, 'blobs', 'sha256'), { recursive: true });
      await fsp.mkdir(path.join(this.dir, 'ingest'), { recursive: true });
      await this.createIfAbsent('oci-layout', JSON.stringify({ imageLayoutVersion: '1.0.0' }));
      await this.createIfAbsent('index.json', JSON.stringify({ schemaVersion: 2, mediaType: MT.ociIndex, manifests: [] }));
    })();
    return this.ready;
  }

  private async createIfAbsent(rel: string, text: string): Promise<void> {
    const file = path.join(this.dir, rel);
    const tmp = this.tempName(rel);
    await fsp.writeFile(tmp, text);
    // link() fails when the file exists: created whole or not at all, and never over another process's.
    await fsp.link(tmp, file).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'EEXIST') throw e;
    });
    await fsp.rm(tmp, { force: true });
  }

  private tempName(base: string): string {
    return path.join(this.dir, 'ingest', `${base.replace(/[/:]/g, '-')}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`);
  }

  /** True when the blob is stored with the descriptor's size (its content was verified when it landed). */
  async has(desc: Pick<Descriptor, 'digest' | 'size'>): Promise<boolean> {
    const st = await fsp.stat(this.blobPath(desc.digest)).catch(() => undefined);
    return !!st && st.isFile() && st.size === desc.size;
  }

  async statBlob(digest: Digest): Promise<number | undefined> {
    const st = await fsp.stat(this.blobPath(digest)).catch(() => undefined);
    return st?.isFile() ? st.size : undefined;
  }

  openBlob(digest: Digest, o: { start?: number; end?: number; signal?: AbortSignal } = {}): Readable {
    const end = o.end === undefined ? undefined : Math.max(o.end - 1, o.start ?? 0);
    if (o.end !== undefined && o.end <= (o.start ?? 0)) return createReadStream(this.blobPath(digest), { start: 0, end: -1 });
    return createReadStream(this.blobPath(digest), { highWaterMark: 1 << 20, ...(o.start ? { start: o.start } : {}), ...(end !== undefined ? { end } : {}), ...(o.signal ? { signal: o.signal } : {}) });
  }

  /** Takes the download lock of a blob (waits while another process or task downloads it). */
  async lockBlob(digest: Digest, signal?: AbortSignal): Promise<Lease> {
    await this.init();
    const { algorithm, hex } = parseDigest(digest);
    return acquireLock(path.join(this.dir, 'ingest', `${algorithm}-${hex}.lock`), signal);
  }

  /** A temp file that becomes blobs/<alg>/<hex> on commit() only if the bytes verify. */
  async ingest(desc: Descriptor): Promise<Ingest> {
    await this.init();
    if (parseDigest(desc.digest).algorithm !== 'sha256') await fsp.mkdir(path.dirname(this.blobPath(desc.digest)), { recursive: true });
    return new Ingest(desc, this.tempName(desc.digest), this.blobPath(desc.digest));
  }

  /** Stores a small document already in memory (verified here); no-op when present. */
  async putBlob(desc: Descriptor, bytes: Buffer): Promise<void> {
    if (await this.has(desc)) return;
    const ing = await this.ingest(desc);
    try {
      await ing.write(bytes);
      await ing.commit();
    } finally {
      await ing.abort();
    }
  }

  async readIndex(): Promise<Index> {
    await this.init();
    const text = await fsp.readFile(path.join(this.dir, 'index.json'), 'utf8');
    let doc: Index;
    try {
      doc = JSON.parse(text) as Index;
    } catch {
      throw new ExplorerError('LAYOUT_INVALID', `${path.join(this.dir, 'index.json')} is not valid JSON; the layout is damaged. Remove it (the blobs stay) and pull again.`);
    }
    if (!Array.isArray(doc.manifests)) doc.manifests = [];
    return doc;
  }

  /** Changes index.json under its lock, written whole to a temp file and renamed. */
  async updateIndex(change: (idx: Index) => Index | void, signal?: AbortSignal): Promise<Index> {
    await this.init();
    return withLock(
      path.join(this.dir, 'index.json.lock'),
      async () => {
        const idx = await this.readIndex();
        const next = change(idx) ?? idx;
        const tmp = this.tempName('index.json');
        await fsp.writeFile(tmp, JSON.stringify(next));
        await fsp.rename(tmp, path.join(this.dir, 'index.json'));
        return next;
      },
      signal,
    );
  }

  /** Adds (or replaces: one entry per name, as skopeo does) an image under `name`. */
  async addRef(name: string, desc: Descriptor, extra: Record<string, string> = {}, signal?: AbortSignal): Promise<void> {
    const entry: Descriptor = { mediaType: desc.mediaType, digest: desc.digest, size: desc.size };
    if (desc.platform) entry.platform = desc.platform;
    entry.annotations = { ...extra, [ANN.refName]: name };
    await this.updateIndex((idx) => {
      idx.manifests = (idx.manifests ?? []).filter((m) => m.annotations?.[ANN.refName] !== name);
      idx.manifests = [...(idx.manifests ?? []), entry];
    }, signal);
  }

  async removeRef(name: string, signal?: AbortSignal): Promise<boolean> {
    let found = false;
    await this.updateIndex((idx) => {
      const before = (idx.manifests ?? []).length;
      idx.manifests = (idx.manifests ?? []).filter((m) => m.annotations?.[ANN.refName] !== name);
      found = (idx.manifests ?? []).length !== before;
    }, signal);
    return found;
  }

  async images(): Promise<StoredImage[]> {
    const idx = await this.readIndex();
    return (idx.manifests ?? []).map((d) => {
      const img: StoredImage = { name: d.annotations?.[ANN.refName] ?? '', descriptor: d };
      const pulled = d.annotations?.[PULLED_ANNOTATION];
      if (pulled) img.pulled = pulled;
      return img;
    });
  }

  /** Every blob an entry reaches (itself, child manifests, configs, layers) that is stored, with sizes. */
  async reachableBlobs(desc: Descriptor): Promise<Map<Digest, number>> {
    const out = new Map<Digest, number>();
    const visit = async (d: Descriptor, depth: number): Promise<void> => {
      if (out.has(d.digest) || depth > 8) return;
      const size = await this.statBlob(d.digest).catch(() => undefined);
      if (size === undefined) return;
      out.set(d.digest, size);
      if (size > 4 * 1024 * 1024 || !/json/.test(d.mediaType)) return;
      let doc: { manifests?: Descriptor[]; config?: Descriptor; layers?: Descriptor[] };
      try {
        doc = JSON.parse(await fsp.readFile(this.blobPath(d.digest), 'utf8')) as typeof doc;
      } catch {
        return;
      }
      for (const c of [...(doc.manifests ?? []), ...(doc.config ? [doc.config] : []), ...(doc.layers ?? [])]) {
        if (c && typeof c.digest === 'string' && typeof c.mediaType === 'string') await visit(c, depth + 1);
      }
    };
    await visit(desc, 0);
    return out;
  }

  /** Removes the ingest folder when nothing is in it (a `pull --to DIR` leaves a plain layout). */
  async tidy(): Promise<void> {
    await fsp.rmdir(path.join(this.dir, 'ingest')).catch(() => {});
  }
}

/**
 * One blob being written: hashed as it goes; renamed into blobs/ only when size and digest match.
 * Writes go through a write stream (the thread pool: a slow disk never blocks this thread); `bytes`
 * counts what the temp file holds, so a reader in this process can follow it as it grows (`changed`).
 */
export class Ingest {
  private readonly hash;
  private readonly out: WriteStream;
  private seen = 0;
  private flushed = 0;
  private waiters: (() => void)[] = [];
  private failed?: Error;
  /** Set when the ingest ends: committed, or the error that ended it. */
  outcome?: 'committed' | Error;

  constructor(
    readonly desc: Descriptor,
    readonly tmp: string,
    readonly dest: string,
  ) {
    this.hash = createDigester(parseDigest(desc.digest).algorithm);
    this.out = createWriteStream(tmp, { flags: 'wx', highWaterMark: 4 << 20 });
    this.out.on('error', (e) => {
      this.failed ??= e;
      this.notify();
    });
  }

  /** Bytes in the temp file so far (written, not only queued). */
  get bytes(): number {
    return this.flushed;
  }

  /** Resolves at the next completed write or when the ingest ends. */
  changed(): Promise<void> {
    return this.outcome ? Promise.resolve() : new Promise((r) => this.waiters.push(r));
  }

  private notify(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const r of w) r();
  }

  /** Appends a chunk (SIZE_MISMATCH past the descriptor's size); waits only when the disk is behind by more than the write buffer. */
  async write(chunk: Buffer): Promise<void> {
    if (this.failed) throw this.failed;
    if (this.outcome) throw this.outcome instanceof Error ? this.outcome : new Error('ingest committed');
    if (this.seen + chunk.length > this.desc.size) throw sizeMismatch(this.desc, this.seen + chunk.length, true);
    this.seen += chunk.length;
    this.hash.update(chunk);
    const more = this.out.write(chunk, (e) => {
      if (e) return;
      this.flushed += chunk.length;
      this.notify();
    });
    if (!more) await this.drained();
    if (this.failed) throw this.failed;
  }

  private drained(): Promise<void> {
    return new Promise<void>((r) => {
      const done = () => {
        this.out.off('drain', done).off('error', done);
        r();
      };
      this.out.on('drain', done).on('error', done);
    });
  }

  /** Verifies and renames into place; throws SIZE_MISMATCH / DIGEST_MISMATCH (the caller then aborts). */
  async commit(): Promise<void> {
    await this.close();
    if (this.failed) throw this.end(this.failed);
    if (this.seen !== this.desc.size) throw this.end(sizeMismatch(this.desc, this.seen, false));
    const actual = `${parseDigest(this.desc.digest).algorithm}:${this.hash.digest('hex')}`;
    if (actual !== this.desc.digest) throw this.end(digestMismatch(this.desc, actual));
    await fsp.rename(this.tmp, this.dest);
    this.outcome = 'committed';
    this.notify();
  }

  /** Drops the temp file unless committed (safe to call always, e.g. in finally). */
  async abort(reason?: Error): Promise<void> {
    if (this.outcome === 'committed') return;
    this.end(reason ?? new ExplorerError('CANCELLED', 'The download was cancelled.'));
    await this.close().catch(() => {});
    await fsp.rm(this.tmp, { force: true });
  }

  private end(e: Error): Error {
    this.outcome ??= e;
    this.notify();
    return e;
  }

  private close(): Promise<void> {
    if (this.out.closed) return Promise.resolve();
    return new Promise((resolve) => {
      this.out.end(() => resolve());
      this.out.once('error', () => resolve());
    });
  }
}

export const describeBlob = (d: Descriptor) => `${shortDigest(d.digest)} (${d.mediaType})`;
