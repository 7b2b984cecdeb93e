import path from 'node:path';
import { Readable } from 'node:stream';
import { ExplorerError } from '../errors.js';
import { createDigester, digestOf, isDigest, shortDigest, type Digest, type DigestAlgorithm } from '../oci/digest.js';
import { MT } from '../oci/mediatypes.js';
import { sniffCompression, SNIFF_BYTES, type Compression } from '../tar/compression.js';
import type { Descriptor } from '../oci/types.js';
import type { Backend } from './backend.js';
import { splitPathAndSelector, withProbe } from './local.js';
import { configFromV1, synthesizeManifest, type V1Image } from './synthetic.js';
import { OciLayoutSource } from './oci-layout.js';
import type { BlobReadOptions, ImageSource, RootEntry } from './types.js';
import { MAX_CONFIG_BYTES, MAX_DOCUMENT_BYTES } from './verify.js';
import { archiveWarnings } from './tarfs.js';
import { normalizeRel, type Vfs } from './vfs.js';

// `docker save` archives. Legacy ones (manifest.json + <id>/layer.tar) have no manifests, so one
// Docker v2 schema 2 manifest is synthesized per image, without reading layer bytes: sizes come from
// the tar entries and digests from the config's diff_ids (uncompressed layers) or file names.
// Pre-1.10 archives (repositories + <id>/json only) are rebuilt like Docker's legacy loader did.
// Docker 25+ archives carry an OCI layout and are served by OciLayoutSource.

interface ManifestJsonEntry {
  Config?: unknown;
  RepoTags?: unknown;
  Layers?: unknown;
  LayerSources?: unknown;
}

interface StoredBlob {
  size: number;
  /** Synthesized or already-read documents. */
  bytes?: Buffer;
  /** Path inside the archive. */
  path?: string;
}

const MAX_MANIFEST_JSON = 16 * 1024 * 1024;
const MAX_PARENT_CHAIN = 1000;

export class DockerArchiveSource implements ImageSource {
  readonly kind = 'docker-archive' as const;
  private readonly blobs = new Map<Digest, StoredBlob>();
  private oci?: OciLayoutSource;
  private loaded?: Promise<RootEntry[]>;
  private readonly notes: string[] = [];
  private repositories?: Map<string, string[]>;
  /** LayerSources descriptors whose bytes are not in the archive: digest → the file holding the uncompressed layer. */
  private readonly foreign = new Map<Digest, { rel: string; diffId: Digest }>();

  constructor(
    readonly vfs: Vfs,
    readonly location: string,
  ) {}

  roots(signal?: AbortSignal): Promise<RootEntry[]> {
    if (!this.loaded) {
      const p = this.load(signal);
      this.loaded = p;
      // A cancelled load must not stick: the next call starts again.
      p.catch((e: unknown) => {
        if (this.loaded === p && (e as { code?: string })?.code === 'CANCELLED') this.loaded = undefined;
      });
    }
    return this.loaded;
  }

  warnings(): string[] {
    // Entries of the archive itself that the tar parser refused (tarfs.ts) are said too, never silent.
    return [...this.notes, ...archiveWarnings(this.vfs)];
  }

  async openBlob(desc: Descriptor, opts: BlobReadOptions = {}): Promise<Readable> {
    await this.roots(opts.signal);
    const b = this.blobs.get(desc.digest);
    if (b?.bytes) return Readable.from([b.bytes.subarray(opts.start ?? 0, opts.end ?? b.bytes.length)]);
    if (b?.path !== undefined) return this.vfs.createReadStream(b.path, opts);
    if (this.oci) return this.oci.openBlob(desc, opts);
    const f = this.foreign.get(desc.digest);
    throw new ExplorerError(
      'BLOB_MISSING',
      f
        ? `Layer ${shortDigest(desc.digest)} is described by LayerSources in manifest.json, but docker save did not include those bytes; the archive holds only its uncompressed content (${f.rel}, diff_id ${shortDigest(f.diffId)}).`
        : desc.urls?.length || desc.mediaType === MT.dockerLayerForeign
        ? `Layer ${shortDigest(desc.digest)} is a foreign layer: docker save did not include it; it is fetched from ${desc.urls?.[0] ?? 'its registry'} when pulled.`
        : `Blob ${shortDigest(desc.digest)} (${desc.mediaType}) is not in ${this.location}: the archive is incomplete. Save the image again.`,
      { digest: desc.digest },
    );
  }

  async statBlob(digest: Digest): Promise<number | undefined> {
    await this.roots();
    const b = this.blobs.get(digest);
    if (b) return b.size;
    return this.oci?.statBlob(digest);
  }

  async close(): Promise<void> {
    await this.vfs.close();
  }

  // ---- loading ------------------------------------------------------------------------------

  private async load(signal?: AbortSignal): Promise<RootEntry[]> {
    const hasLayout = (await this.vfs.stat('oci-layout')) !== undefined && (await this.vfs.stat('index.json')) !== undefined;
    const entries = await this.readManifestJson(!hasLayout);
    if (hasLayout) return this.loadOci(entries ?? [], signal);
    if (entries) return this.loadLegacy(entries, signal);
    if ((await this.vfs.stat('repositories')) !== undefined) return this.loadPre110(signal);
    throw new ExplorerError(
      'ARCHIVE_INVALID',
      `${this.location} has neither manifest.json nor repositories, so it is not a docker save archive. Save the image with \`docker save -o image.tar <name>\` and open that file.`,
    );
  }

  /** manifest.json entries, undefined when absent. `strict`: a null/non-list file is fatal (else only noted). */
  private async readManifestJson(strict: boolean): Promise<ManifestJsonEntry[] | undefined> {
    if ((await this.vfs.stat('manifest.json')) === undefined) return undefined;
    const bytes = await this.vfs.readFile('manifest.json', MAX_MANIFEST_JSON);
    let doc: unknown;
    let reason: string | undefined;
    try {
      doc = JSON.parse(bytes.toString('utf8'));
    } catch (e) {
      reason = `is not valid JSON (${(e as Error).message})`;
    }
    if (!reason && doc === null) reason = 'is null instead of a list of images';
    else if (!reason && !Array.isArray(doc)) reason = 'is not a list of images';
    else if (!reason && (doc as unknown[]).length === 0) reason = 'lists no images';
    if (reason) {
      const msg = `manifest.json in ${this.location} ${reason}: the archive is damaged or was not written by docker save. Save the image again with \`docker save\`.`;
      if (strict) throw new ExplorerError('ARCHIVE_INVALID', msg, { path: 'manifest.json' });
      this.notes.push(msg);
      return undefined;
    }
    return (doc as unknown[]).map((e) => (e && typeof e === 'object' ? (e as ManifestJsonEntry) : {}));
  }

  private async loadLegacy(entries: ManifestJsonEntry[], signal?: AbortSignal): Promise<RootEntry[]> {
    const roots: RootEntry[] = [];
    let first: unknown;
    for (const [i, e] of entries.entries()) {
      try {
        roots.push(await this.legacyEntry(e, i, signal));
      } catch (err) {
        if (!(err instanceof ExplorerError) || err.code === 'CANCELLED') throw err;
        first ??= err;
        this.notes.push(err.message);
      }
    }
    if (roots.length === 0) throw first;
    return roots;
  }

  private async legacyEntry(e: ManifestJsonEntry, i: number, signal?: AbortSignal): Promise<RootEntry> {
    const where = `manifest.json[${i}] in ${this.location}`;
    if (typeof e.Config !== 'string' || !e.Config) {
      throw new ExplorerError('ARCHIVE_INVALID', `${where} has no Config file name, so that image cannot be read. Save the image again with \`docker save\`.`);
    }
    if (!Array.isArray(e.Layers) || !e.Layers.every((l) => typeof l === 'string')) {
      throw new ExplorerError('ARCHIVE_INVALID', `${where} has no valid Layers list, so that image cannot be read. Save the image again with \`docker save\`.`);
    }
    const config = await this.addConfig(normalizeRel(e.Config), where);
    const sources = e.LayerSources && typeof e.LayerSources === 'object' ? (e.LayerSources as Record<string, unknown>) : {};
    const layers: Descriptor[] = [];
    for (const [j, lp] of (e.Layers as string[]).entries()) {
      layers.push(await this.layerDescriptor(normalizeRel(lp), config.diffIds[j], sources, `${where}, layer ${j}`, signal));
    }
    let names = Array.isArray(e.RepoTags) ? e.RepoTags.filter((t): t is string => typeof t === 'string') : [];
    if (!Array.isArray(e.RepoTags)) {
      const top = (e.Layers as string[]).at(-1);
      const id = top ? path.posix.dirname(normalizeRel(top)) : undefined;
      if (id && id !== '.') names = (await this.repositoryNames()).get(id) ?? [];
    }
    return this.addManifest(config.desc, layers, names, `manifest.json[${i}]`);
  }

  /** Reads and hashes a config file (configs are small): its digest is the hash of its bytes. */
  private async addConfig(rel: string, where: string): Promise<{ desc: Descriptor; diffIds: (Digest | undefined)[]; doc: unknown }> {
    if ((await this.vfs.stat(rel)) === undefined) {
      throw new ExplorerError('ARCHIVE_INVALID', `${where} names the config file ${rel}, but the archive has no such file: it is incomplete. Save the image again.`, { path: rel });
    }
    const bytes = await this.vfs.readFile(rel, MAX_CONFIG_BYTES);
    const alg = nameDigest(rel)?.split(':')[0] === 'sha512' ? 'sha512' : 'sha256';
    const digest = digestOf(bytes, alg);
    const named = nameDigest(rel);
    if (named && named !== digest) {
      this.notes.push(`The config file ${rel} is named after ${shortDigest(named)} but its content hashes to ${shortDigest(digest)}: it was altered after saving.`);
    }
    this.blobs.set(digest, { size: bytes.length, bytes });
    let doc: unknown;
    try {
      doc = JSON.parse(bytes.toString('utf8'));
    } catch {
      this.notes.push(`The config file ${rel} is not valid JSON, so its layers' diff_ids are unknown.`);
    }
    const ids = (doc as { rootfs?: { diff_ids?: unknown } } | undefined)?.rootfs?.diff_ids;
    const diffIds = Array.isArray(ids) ? ids.map((d) => (isDigest(d) ? d : undefined)) : [];
    return { desc: { mediaType: MT.dockerConfig, digest, size: bytes.length }, diffIds, doc };
  }

  private async layerDescriptor(rel: string, diffId: Digest | undefined, sources: Record<string, unknown>, where: string, signal?: AbortSignal): Promise<Descriptor> {
    const size = await this.vfs.stat(rel);
    const src = diffId ? sources[diffId] : undefined;
    const magic = size === undefined ? undefined : await this.magic(rel);
    // The uncompressed file is itself a content-addressed blob (its digest is the diff_id): keep it
    // reachable, e.g. for a LayerSources layer whose compressed bytes are not in the archive.
    if (size !== undefined && diffId && magic === 'none') this.blobs.set(diffId, { size, path: rel });
    if (src && typeof src === 'object' && isDigest((src as Descriptor).digest) && typeof (src as Descriptor).size === 'number' && typeof (src as Descriptor).mediaType === 'string') {
      const d = { ...(src as Descriptor) };
      if (size === d.size && !this.blobs.has(d.digest)) this.blobs.set(d.digest, { size, path: rel });
      else if (size !== d.size && diffId) this.foreign.set(d.digest, { rel, diffId });
      return d;
    }
    if (size === undefined || magic === undefined) {
      if (!diffId) throw new ExplorerError('ARCHIVE_INVALID', `${where}: the layer file ${rel} is missing and the config gives no diff_id for it, so the image cannot be described. Save the image again.`, { path: rel });
      this.notes.push(`${where}: the layer file ${rel} is missing from the archive.`);
      return { mediaType: MT.dockerLayer, digest: diffId, size: 0 };
    }
    if (magic === 'none') {
      const digest = diffId ?? (await this.hashEntry(rel, signal));
      this.blobs.set(digest, { size, path: rel });
      return { mediaType: MT.dockerLayer, digest, size };
    }
    const digest = nameDigest(rel) ?? (await this.hashEntry(rel, signal));
    this.blobs.set(digest, { size, path: rel });
    return { mediaType: magic === 'gzip' ? MT.dockerLayerGzip : MT.ociLayerZstd, digest, size };
  }

  private addManifest(config: Descriptor, layers: Descriptor[], names: string[], label: string): RootEntry {
    const m = synthesizeManifest(config, layers);
    this.blobs.set(m.descriptor.digest, { size: m.bytes.length, bytes: m.bytes });
    return { descriptor: m.descriptor, names, synthetic: true, label };
  }

  // ---- Docker 25+ ---------------------------------------------------------------------------

  private async loadOci(entries: ManifestJsonEntry[], signal?: AbortSignal): Promise<RootEntry[]> {
    this.oci = new OciLayoutSource(this.vfs, this.location, 'docker-archive');
    const [indexRoot] = await this.oci.roots();
    const tags = entries.flatMap((e) => (Array.isArray(e.RepoTags) ? e.RepoTags.filter((t): t is string => typeof t === 'string') : []));
    let listed = false;
    try {
      const idx = JSON.parse((await this.vfs.readFile('index.json', MAX_DOCUMENT_BYTES)).toString('utf8')) as { manifests?: unknown };
      listed = Array.isArray(idx?.manifests) && idx.manifests.length > 0;
    } catch {
      listed = true; // malformed index.json: let the graph report it on the index node
    }
    if (listed || entries.length === 0) return indexRoot ? [{ ...indexRoot, names: tags }] : [];
    // index.json lists nothing (ggcr's hello-world-v25): find each image through manifest.json.
    const manifests = await this.smallJsonBlobs();
    const roots: RootEntry[] = [];
    for (const [i, e] of entries.entries()) {
      const names = Array.isArray(e.RepoTags) ? e.RepoTags.filter((t): t is string => typeof t === 'string') : [];
      const label = `manifest.json[${i}]`;
      if (typeof e.Config !== 'string') continue;
      const cfgRel = normalizeRel(e.Config);
      const size = await this.vfs.stat(cfgRel);
      if (size === undefined) continue;
      const cfgDigest = digestOf(await this.vfs.readFile(cfgRel, MAX_CONFIG_BYTES), nameDigest(cfgRel)?.startsWith('sha512:') ? 'sha512' : 'sha256');
      const found = manifests.find((m) => m.configDigest === cfgDigest);
      if (found) {
        roots.push({ descriptor: { mediaType: found.mediaType, digest: found.digest, size: found.size }, names, label });
      } else {
        try {
          roots.push(await this.legacyEntry(e, i, signal));
        } catch (err) {
          if (!(err instanceof ExplorerError)) throw err;
          this.notes.push(err.message);
        }
      }
    }
    if (roots.length === 0 && indexRoot) {
      this.notes.push(`index.json in ${this.location} lists no images and none could be found through manifest.json.`);
      return [{ ...indexRoot, names: tags }];
    }
    return roots;
  }

  /** Small JSON manifests under blobs/ (only blobs whose first byte is `{` and under 4 MiB are read). */
  private async smallJsonBlobs(): Promise<{ digest: Digest; size: number; mediaType: string; configDigest: string }[]> {
    const out: { digest: Digest; size: number; mediaType: string; configDigest: string }[] = [];
    for (const rel of await this.vfs.list()) {
      const m = /^blobs\/(sha256|sha512)\/([a-f0-9]+)$/.exec(rel);
      if (!m) continue;
      const size = await this.vfs.stat(rel);
      if (size === undefined || size > MAX_DOCUMENT_BYTES || size < 2) continue;
      if ((await this.firstBytes(rel, 1))[0] !== 0x7b) continue;
      try {
        const doc = JSON.parse((await this.vfs.readFile(rel, MAX_DOCUMENT_BYTES)).toString('utf8')) as { mediaType?: unknown; config?: { digest?: unknown }; layers?: unknown };
        if (!Array.isArray(doc?.layers) || typeof doc.config?.digest !== 'string') continue;
        const mediaType = typeof doc.mediaType === 'string' ? doc.mediaType : MT.ociManifest;
        out.push({ digest: `${m[1]}:${m[2]}`, size, mediaType, configDigest: doc.config.digest });
      } catch {
        // not JSON: a layer or a config we do not need here
      }
    }
    return out;
  }

  // ---- pre-1.10 -----------------------------------------------------------------------------

  /** `repositories`: {repo: {tag: id}} → id → ["repo:tag", …]. Missing or malformed → empty (noted). */
  private async repositoryNames(): Promise<Map<string, string[]>> {
    if (this.repositories) return this.repositories;
    const out = new Map<string, string[]>();
    this.repositories = out;
    if ((await this.vfs.stat('repositories')) === undefined) return out;
    let doc: unknown;
    try {
      doc = JSON.parse((await this.vfs.readFile('repositories', MAX_DOCUMENT_BYTES)).toString('utf8'));
    } catch {
      this.notes.push(`The repositories file in ${this.location} is not valid JSON; image names are unknown.`);
      return out;
    }
    if (!doc || typeof doc !== 'object' || Array.isArray(doc)) {
      this.notes.push(`The repositories file in ${this.location} is not a map of repositories; image names are unknown.`);
      return out;
    }
    for (const [repo, tags] of Object.entries(doc as Record<string, unknown>)) {
      if (!tags || typeof tags !== 'object') continue;
      for (const [tag, id] of Object.entries(tags as Record<string, unknown>)) {
        if (typeof id !== 'string') continue;
        const list = out.get(id) ?? [];
        list.push(`${repo}:${tag}`);
        out.set(id, list);
      }
    }
    return out;
  }

  private async loadPre110(signal?: AbortSignal): Promise<RootEntry[]> {
    const ids = await this.repositoryNames();
    if (ids.size === 0) {
      throw new ExplorerError('ARCHIVE_INVALID', `${this.location} has no manifest.json and its repositories file names no image, so there is nothing to open. Save the image again with \`docker save\`.`);
    }
    this.notes.push(`${this.location} has no manifest.json: it was read as a pre-1.10 docker save (repositories + <id>/json), and its config and manifest were rebuilt from those files.`);
    const roots: RootEntry[] = [];
    for (const [id, names] of ids) roots.push(await this.pre110Image(id, names, signal));
    return roots;
  }

  private async pre110Image(id: string, names: string[], signal?: AbortSignal): Promise<RootEntry> {
    // Walk parent links from the tagged (top) layer to the base.
    const chain: { id: string; v1: V1Image }[] = [];
    const seen = new Set<string>();
    for (let cur: string | undefined = id; cur !== undefined; ) {
      if (seen.has(cur) || chain.length > MAX_PARENT_CHAIN) {
        throw new ExplorerError('ARCHIVE_INVALID', `The parent links of image ${names[0] ?? id} in ${this.location} form a loop: the archive is damaged. Save the image again.`);
      }
      seen.add(cur);
      const rel = `${normalizeRel(cur)}/json`;
      if ((await this.vfs.stat(rel)) === undefined) {
        throw new ExplorerError('ARCHIVE_INVALID', `repositories in ${this.location} names layer ${shortDigest(cur)} (${names.join(', ')}), but the archive has no ${rel}, so the image cannot be rebuilt. Save the image again with \`docker save\`.`, { path: rel });
      }
      let v1: V1Image;
      try {
        v1 = JSON.parse((await this.vfs.readFile(rel, MAX_DOCUMENT_BYTES)).toString('utf8')) as V1Image;
        if (!v1 || typeof v1 !== 'object') throw new Error('not an object');
      } catch (e) {
        throw new ExplorerError('ARCHIVE_INVALID', `${rel} in ${this.location} is not a valid image JSON (${(e as Error).message}): the archive is damaged.`, { path: rel });
      }
      chain.unshift({ id: cur, v1 });
      cur = typeof v1.parent === 'string' && v1.parent ? v1.parent : undefined;
    }
    // The only way to get diff_ids here is to hash each layer.tar; old archives are small.
    const layers: Descriptor[] = [];
    for (const c of chain) {
      const rel = `${normalizeRel(c.id)}/layer.tar`;
      const size = await this.vfs.stat(rel);
      if (size === undefined) {
        throw new ExplorerError('ARCHIVE_INVALID', `${rel} is missing from ${this.location}, so image ${names[0] ?? id} cannot be rebuilt. Save the image again.`, { path: rel });
      }
      const digest = await this.hashEntry(rel, signal);
      this.blobs.set(digest, { size, path: rel });
      layers.push({ mediaType: MT.dockerLayer, digest, size });
    }
    const diffIds = layers.map((l) => l.digest);
    const config = (await this.matchingConfigFile(diffIds)) ?? this.rebuildConfig(chain, diffIds);
    return this.addManifest(config, layers, names, `repositories: ${names[0] ?? id}`);
  }

  /** A saved config file (`<hex>.json` at the top) whose diff_ids match: better than a rebuilt one. */
  private async matchingConfigFile(diffIds: Digest[]): Promise<Descriptor | undefined> {
    for (const rel of await this.vfs.list()) {
      if (rel.includes('/') || !/^(sha256:)?[a-f0-9]{64}(\.json)?$/.test(rel)) continue;
      const size = await this.vfs.stat(rel);
      if (size === undefined || size > MAX_DOCUMENT_BYTES) continue;
      const bytes = await this.vfs.readFile(rel, MAX_DOCUMENT_BYTES);
      try {
        const ids = (JSON.parse(bytes.toString('utf8')) as { rootfs?: { diff_ids?: unknown } })?.rootfs?.diff_ids;
        if (!Array.isArray(ids) || ids.length !== diffIds.length || !ids.every((d, i) => d === diffIds[i])) continue;
      } catch {
        continue;
      }
      const digest = digestOf(bytes);
      this.blobs.set(digest, { size: bytes.length, bytes });
      return { mediaType: MT.dockerConfig, digest, size: bytes.length };
    }
    return undefined;
  }

  /** Docker's MakeConfigFromV1Config (sources/synthetic.ts), kept as a blob of this source. */
  private rebuildConfig(chain: { id: string; v1: V1Image }[], diffIds: Digest[]): Descriptor {
    const c = configFromV1(chain.map((x) => x.v1), diffIds);
    this.blobs.set(c.descriptor.digest, { size: c.bytes.length, bytes: c.bytes });
    return c.descriptor;
  }

  // ---- helpers ------------------------------------------------------------------------------

  private async firstBytes(rel: string, n: number): Promise<Buffer> {
    if (this.vfs.readRange) return this.vfs.readRange(rel, 0, n);
    const chunks: Buffer[] = [];
    for await (const c of await this.vfs.createReadStream(rel, { start: 0, end: n })) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  }

  /** Compression of an entry by its magic bytes (the one sniffer, tar/compression.ts). */
  private async magic(rel: string): Promise<Compression> {
    return sniffCompression(await this.firstBytes(rel, SNIFF_BYTES));
  }

  private async hashEntry(rel: string, signal?: AbortSignal, alg: DigestAlgorithm = 'sha256'): Promise<Digest> {
    const h = createDigester(alg);
    try {
      if (signal?.aborted) throw signal.reason;
      for await (const c of await this.vfs.createReadStream(rel, signal ? { signal } : {})) h.update(c as Buffer);
    } catch (e) {
      if (signal?.aborted) throw new ExplorerError('CANCELLED', 'Opening the archive was cancelled.', undefined, { cause: e });
      throw e;
    }
    return `${alg}:${h.digest('hex')}`;
  }
}

/** Digest implied by a blob's file name: `<hex>.tar.gz`, `sha256:<hex>`, `blobs/sha256/<hex>`. */
export function nameDigest(rel: string): Digest | undefined {
  const b = /^blobs\/(sha256|sha512)\/([a-f0-9]+)$/.exec(rel);
  if (b) {
    const d = `${b[1]}:${b[2]}`;
    return isDigest(d) ? d : undefined;
  }
  const m = /^(?:sha256:)?([a-f0-9]{64})(?:\.json|\.tar|\.tar\.gz|\.tgz|\.gz|\.tar\.zst|\.zst)?$/.exec(path.posix.basename(rel));
  return m ? `sha256:${m[1]}` : undefined;
}

export const dockerArchiveBackend: Backend = {
  transport: 'docker-archive',
  kind: 'docker-archive',
  syntax: 'docker-archive:PATH[:REPO:TAG]',
  summary: 'a `docker save` archive of any Docker version (legacy, pre-1.10, 25+ with an OCI layout)',
  async open(rest, ctx) {
    const { file, rest: tag } = await splitPathAndSelector(rest, ctx.cwd);
    const source = await withProbe(file, rest, ctx.signal, async (p) => new DockerArchiveSource(p.vfs, p.path));
    return { source, selector: tag ? { tag } : {} };
  },
  detect: async (p) => (await p.has('manifest.json')) || (await p.has('repositories')),
  openProbe: async (p) => ({ source: new DockerArchiveSource(p.vfs, p.path), selector: {} }),
};
