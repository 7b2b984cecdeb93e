import { setMaxListeners } from 'node:events';
import path from 'node:path';
import { Readable } from 'node:stream';
import { isExplorerError } from '../errors.js';
import { isDigest, shortDigest, type Digest } from '../oci/digest.js';
import { mediaTypeKind } from '../oci/mediatypes.js';
import type { Descriptor } from '../oci/types.js';
import { RegistryClient } from '../registry/client.js';
import { stallFromEnv } from '../registry/http.js';
import { Fetcher } from '../registry/fetcher.js';
import { Prefetcher } from '../registry/prefetch.js';
import type { FetchedManifest } from '../registry/manifests.js';
import { formatReference, familiarReference, looksLikeReference, parseReference, type Reference } from '../registry/reference.js';
import { fetchCosignTags, fetchReferrers, type FoundReferrers } from '../registry/referrers.js';
import { LayoutStore } from '../store/layout.js';
import type { Backend, OpenContext, OpenedSource } from './backend.js';
import { looksLikePath } from './local.js';
import type { BlobReadOptions, ImageSource, RootEntry } from './types.js';

// An image in a registry, by reference (skopeo's `docker://` transport). roots() reads the manifest
// (or index) by tag or digest and starts reading every child manifest and config in parallel, so the
// graph walk finds them in memory; referrers (API, `sha256-<hex>` tag, cosign tags) become extra roots.
// Layers are not touched until read: a whole read streams the blob into the store while the reader
// (the layer engine) consumes it; a range read is an HTTP Range request (or the stored file).

/** The app's store: an OCI layout under the cache root. */
export function storeDir(cacheDir: string): string {
  return path.join(cacheDir, 'store');
}

const PARALLEL_DOCS = 6;
/** Index entries whose manifests (and referrers) are read ahead of the graph walk. */
const MAX_LOOKAHEAD = 32;

export class RegistrySource implements ImageSource {
  readonly kind = 'registry' as const;
  /** Blobs are fetched by digest and verified on download: a cached layer index can stand for a layer. */
  readonly contentAddressed = true;
  readonly location: string;
  private readonly ctrl = new AbortController();
  private readonly sizes = new Map<Digest, number>();
  private readonly manifestDigests = new Set<Digest>();
  private readonly notes: string[] = [];
  private loaded?: Promise<RootEntry[]>;
  /** The registry could not be reached: the image comes from the store. */
  private offline = false;
  private active = 0;
  private readonly queue: (() => void)[] = [];
  /** Reading a whole layer starts downloading the next ones of its image. */
  private readonly ahead: Prefetcher;

  constructor(
    readonly ref: Reference,
    readonly fetcher: Fetcher,
    private readonly ctx: Pick<OpenContext, 'progress'> & { signal?: AbortSignal } = {},
  ) {
    this.location = familiarReference(ref);
    this.ahead = new Prefetcher((d, signal) => fetcher.ensure(d, signal), (signal) => this.link(signal), this.ctrl.signal);
    // Every read links its own signal to this one: many at once are normal, not a leak.
    setMaxListeners(0, this.ctrl.signal);
    ctx.signal?.addEventListener('abort', this.onAbort, { once: true });
  }

  /**
   * A signal that aborts with the caller's or at close(); `done` unhooks it. (Not AbortSignal.any:
   * Node 20 holds its dependants weakly, and a collected one never aborts the download it guards.)
   */
  private link(signal?: AbortSignal): { signal: AbortSignal; done: () => void } {
    if (!signal) return { signal: this.ctrl.signal, done: () => {} };
    const c = new AbortController();
    setMaxListeners(0, c.signal);
    const abort = () => c.abort();
    if (signal.aborted || this.ctrl.signal.aborted) c.abort();
    signal.addEventListener('abort', abort, { once: true });
    this.ctrl.signal.addEventListener('abort', abort, { once: true });
    return {
      signal: c.signal,
      done: () => {
        signal.removeEventListener('abort', abort);
        this.ctrl.signal.removeEventListener('abort', abort);
      },
    };
  }

  roots(signal?: AbortSignal): Promise<RootEntry[]> {
    if (!this.loaded) {
      const l = this.link(signal);
      const p = this.load(l.signal).finally(l.done);
      this.loaded = p;
      p.catch(() => {
        if (this.loaded === p) this.loaded = undefined;
      });
    }
    return this.loaded;
  }

  warnings(): string[] {
    return [...this.notes];
  }

  private async load(signal: AbortSignal): Promise<RootEntry[]> {
    const name = formatReference(this.ref);
    this.ctx.progress?.({ label: `Fetching the manifest of ${this.location}` });
    let root: FetchedManifest;
    try {
      root = await this.fetcher.manifest(this.ref.digest ?? this.ref.tag ?? 'latest', signal);
    } catch (e) {
      const stored = isExplorerError(e) && e.code === 'NETWORK_ERROR' ? await this.fromStore(name) : undefined;
      if (!stored || !isExplorerError(e)) throw e;
      // Offline (or the registry is down): the image as pulled into the store, said so on the root.
      root = stored.root;
      this.offline = true;
      this.notes.push(`${this.ref.registry} cannot be reached (${String(e.details?.reason ?? e.message)}): this is the copy pulled into the store${stored.pulled ? ` on ${stored.pulled.slice(0, 10)}` : ''}; it may be older than the registry's.`);
    }
    this.learn(root);
    const roots: RootEntry[] = [{ descriptor: root.descriptor, names: [name] }];
    if (this.offline) return roots;
    // Referrers of the root and of each image it lists, next to the children's prefetch.
    const images = this.children(root).filter((d) => mediaTypeKind(d.mediaType) === 'manifest');
    const subjects: Digest[] = [root.descriptor.digest, ...images.slice(0, MAX_LOOKAHEAD).map((d) => d.digest)];
    const found = await Promise.all([
      ...subjects.map((s) => this.optional(() => fetchReferrers(this.fetcher.client, s, signal), `the referrers of ${shortDigest(s)}`)),
      this.optional(() => fetchCosignTags(this.fetcher.client, root.descriptor.digest, signal), 'cosign signature tags'),
    ]);
    for (const f of found.flat()) if (f) roots.push(this.referrerRoot(f));
    return roots;
  }

  /** The store's entry for this reference (pulled earlier), read and verified from the store. */
  private async fromStore(name: string): Promise<{ root: FetchedManifest; pulled?: string } | undefined> {
    const images = await this.fetcher.store.images().catch(() => []);
    const hit = images.find((i) => i.name === name) ?? (this.ref.digest ? images.find((i) => i.descriptor.digest === this.ref.digest) : undefined);
    if (!hit) return undefined;
    const root = await this.fetcher.manifest(hit.descriptor.digest).catch(() => undefined);
    return root ? { root: { ...root, descriptor: { ...root.descriptor, mediaType: hit.descriptor.mediaType } }, ...(hit.pulled ? { pulled: hit.pulled } : {}) } : undefined;
  }

  /** Runs an optional lookup: a failure becomes a warning on the root, a cancel still cancels. */
  private async optional<T>(fn: () => Promise<T>, what: string): Promise<T | undefined> {
    try {
      return await fn();
    } catch (e) {
      if (this.ctrl.signal.aborted || (isExplorerError(e) && e.code === 'CANCELLED')) throw e;
      const note = isExplorerError(e) && e.code === 'NETWORK_ERROR' ? `Referrers and signatures were not looked up: ${e.message}` : `Could not look up ${what}: ${(e as Error).message}`;
      if (!this.notes.includes(note)) this.notes.push(note);
      return undefined;
    }
  }

  private referrerRoot(f: FoundReferrers): RootEntry {
    this.learn(f.manifest);
    // Named after the tag schema (`sha256-<hex>`, or cosign's `.sig`): the graph hangs what it lists under the subject.
    const entry: RootEntry = { descriptor: f.manifest.descriptor, names: [`${this.ref.registry}/${this.ref.repository}:${f.tag}`], label: f.fromApi ? `referrers of ${shortDigest(f.subject)}` : `tag ${f.tag}` };
    // The API's list is made up by the registry: no stored blob, but its entries are.
    if (f.fromApi) entry.synthetic = true;
    return entry;
  }

  private children(m: FetchedManifest): Descriptor[] {
    try {
      const doc = JSON.parse(m.bytes.toString('utf8')) as { manifests?: unknown; config?: unknown; layers?: unknown; subject?: unknown };
      const list = (v: unknown) => (Array.isArray(v) ? v : []).filter((d): d is Descriptor => !!d && typeof (d as Descriptor).digest === 'string' && isDigest((d as Descriptor).digest));
      return [...list(doc.manifests), ...list([doc.config]), ...list(doc.layers)];
    } catch {
      return [];
    }
  }

  /** Records sizes and kinds of what a document lists, and starts reading its manifests and config. */
  private learn(m: FetchedManifest): void {
    this.sizes.set(m.descriptor.digest, m.descriptor.size);
    let doc: { manifests?: unknown; config?: unknown; layers?: unknown };
    try {
      doc = JSON.parse(m.bytes.toString('utf8')) as typeof doc;
    } catch {
      return;
    }
    const entries = (Array.isArray(doc.manifests) ? doc.manifests : []).filter((d): d is Descriptor => !!d && isDigest((d as Descriptor).digest));
    for (const d of entries) this.manifestDigests.add(d.digest);
    if (Array.isArray(doc.layers)) {
      this.ahead.addImage(doc.layers.filter((d): d is Descriptor => !!d && isDigest((d as Descriptor).digest) && typeof (d as Descriptor).size === 'number'));
    }
    for (const d of this.children(m)) if (typeof d.size === 'number') this.sizes.set(d.digest, d.size);
    // A hostile index may list thousands of entries: read ahead only the first ones (the walk asks for the rest).
    const toRead = [...entries.slice(0, MAX_LOOKAHEAD), ...(doc.config && isDigest((doc.config as Descriptor).digest) ? [doc.config as Descriptor] : [])];
    for (const d of toRead) {
      if (d.size > 4 * 1024 * 1024) continue;
      void this.limited(() => this.document(d, this.ctrl.signal))
        .then((child) => {
          if (entries.includes(d)) this.learn(child);
        })
        .catch(() => {}); // read again (and reported) when the graph asks for it
    }
  }

  private document(d: Descriptor, signal: AbortSignal): Promise<FetchedManifest> {
    return this.manifestDigests.has(d.digest) || mediaTypeKind(d.mediaType) === 'index' || mediaTypeKind(d.mediaType) === 'manifest'
      ? this.fetcher.manifest(d.digest, signal)
      : this.fetcher.document(d, signal);
  }

  private async limited<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active >= PARALLEL_DOCS) await new Promise<void>((r) => this.queue.push(r));
    this.active++;
    try {
      return await fn();
    } finally {
      this.active--;
      this.queue.shift()?.();
    }
  }

  async openBlob(desc: Descriptor, o: BlobReadOptions = {}): Promise<Readable> {
    const { signal, done } = this.link(o.signal);
    try {
      const r = await this.open(desc, o, signal);
      r.once('close', done);
      return r;
    } catch (e) {
      done();
      throw e;
    }
  }

  private async open(desc: Descriptor, o: BlobReadOptions, signal: AbortSignal): Promise<Readable> {
    const start = o.start ?? 0;
    const end = o.end ?? desc.size;
    const kind = mediaTypeKind(desc.mediaType);
    const cached = this.fetcher.cached(desc.digest);
    if (cached || this.manifestDigests.has(desc.digest) || kind === 'index' || kind === 'manifest' || kind === 'manifest-v1' || kind === 'config') {
      const doc = await (cached ?? this.document(desc, signal));
      return Readable.from([doc.bytes.subarray(start, Math.min(end, doc.bytes.length))]);
    }
    if (start > 0 || end < desc.size) return this.fetcher.range(desc, start, end, signal);
    this.ahead.after(desc, o.signal);
    return this.fetcher.stream(desc, signal);
  }

  async statBlob(digest: Digest): Promise<number | undefined> {
    // What the manifests say: presence on the registry is checked when the blob is read.
    return this.sizes.get(digest) ?? (await this.fetcher.store.statBlob(digest));
  }

  private readonly onAbort = () => this.ctrl.abort();

  async close(): Promise<void> {
    this.ctx.signal?.removeEventListener('abort', this.onAbort);
    this.ctrl.abort();
  }
}

/** Opens `spec` (a reference, `docker://` already stripped) against its registry. */
export async function openRegistry(spec: string, ctx: OpenContext): Promise<OpenedSource> {
  const ref = parseReference(spec);
  const stallMs = stallFromEnv(ctx.env);
  const client = new RegistryClient(ref, { env: ctx.env, ...(ctx.insecure ? { insecure: true } : {}), ...(ctx.credentials ? { prompt: ctx.credentials } : {}), ...(stallMs ? { stallMs } : {}) });
  const store = new LayoutStore(storeDir(ctx.cacheDir));
  const source = new RegistrySource(ref, new Fetcher(client, store), { signal: ctx.signal, ...(ctx.progress ? { progress: ctx.progress } : {}) });
  try {
    await source.roots(ctx.signal);
  } catch (e) {
    await source.close();
    throw e;
  }
  return { source, selector: {} };
}

export const registryBackend: Backend = {
  transport: 'docker',
  kind: 'registry',
  syntax: 'docker://REFERENCE (or just REFERENCE, e.g. ruby:2.7.2-slim)',
  summary: 'an image in a registry by reference (Docker Hub by default); layers are fetched when read',
  open: openRegistry,
  // Anything shaped like a reference that is not a path: parseReference then says what is wrong with it.
  claims: (spec) => !looksLikePath(spec) && looksLikeReference(spec),
};

