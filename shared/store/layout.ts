import { createReadStream, promises as fsp } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { ExplorerError } from '../errors.js';
import { parseDigest, type Digest } from '../oci/digest.js';
import { MT } from '../oci/mediatypes.js';
import { ANN, type Descriptor, type Index } from '../oci/types.js';
import { Ingest } from '../registry/ingest.js';
import { acquireLock, withLock, type Lease } from '../registry/lock.js';

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
    const lease = await acquireLock(path.join(this.dir, 'ingest', `${algorithm}-${hex}.lock`), signal);
    // Only the lock holder writes this blob's temp file and removes it before letting go: one found
    // now was left by a holder that died (its lock was broken as stale).
    const prefix = `${algorithm}-${hex}.`;
    for (const f of await fsp.readdir(path.join(this.dir, 'ingest')).catch(() => [] as string[])) {
      if (f.startsWith(prefix) && f.endsWith('.tmp')) await fsp.rm(path.join(this.dir, 'ingest', f), { force: true });
    }
    return lease;
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

export { Ingest };
