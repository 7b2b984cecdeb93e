import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { ExplorerError } from '../errors.js';
import { digestOf, isDigest, shortDigest, type Digest } from '../oci/digest.js';
import { storeFsError } from './fs-errors.js';

// Docker's on-disk image store (overlay2), read-only, as DESIGN.md §3 lays it out:
//   image/overlay2/repositories.json         {"Repositories": {repo: {"repo:tag": "sha256:<id>"}}}
//   image/overlay2/imagedb/content/sha256/<id>   the config (its sha256 is the image id)
//   image/overlay2/layerdb/sha256/<chain-id>/    diff, size, cache-id, parent, tar-split.json.gz
//   overlay2/<cache-id>/diff/                    the layer's files
// chain(0) = diff_id(0); chain(n) = sha256(chain(n-1) + " " + diff_id(n)).

/** Graph drivers whose layer folders are `<driver>/<cache-id>/diff` (rootless Docker uses fuse-overlayfs). */
const DRIVERS = ['overlay2', 'fuse-overlayfs'] as const;
const MAX_SMALL_FILE = 64 * 1024 * 1024;

export function chainIds(diffIds: Digest[]): Digest[] {
  const out: Digest[] = [];
  for (const d of diffIds) out.push(out.length === 0 ? d : digestOf(`${out[out.length - 1]} ${d}`));
  return out;
}

/** Docker's normal form of a reference: `busybox` → `docker.io/library/busybox:latest`. */
export function normalizeReference(ref: string): string {
  const at = ref.indexOf('@');
  let name = at >= 0 ? ref.slice(0, at) : ref;
  const digest = at >= 0 ? ref.slice(at) : '';
  const slash = name.indexOf('/');
  const colon = name.lastIndexOf(':');
  const hasTag = colon > slash && colon >= 0;
  const first = slash >= 0 ? name.slice(0, slash) : '';
  if (slash < 0) name = `docker.io/library/${name}`;
  else if (!(first.includes('.') || first.includes(':') || first === 'localhost')) name = `docker.io/${name}`;
  if (!hasTag && !digest) name += ':latest';
  return name + digest;
}

/** What `docker images` shows: `docker.io/library/busybox:latest` → `busybox:latest`. */
export function familiarName(full: string): string {
  const lib = 'docker.io/library/';
  if (full.startsWith(lib) && !full.slice(lib.length).includes('/')) return full.slice(lib.length);
  return full.startsWith('docker.io/') ? full.slice('docker.io/'.length) : full;
}

export interface StoreLayer {
  index: number;
  diffId: Digest;
  chainId: Digest;
  /** layerdb/sha256/<chain-id> */
  layerDir: string;
  cacheId: string;
  /** <driver>/<cache-id>/diff */
  diffDir: string;
  tarSplit: string;
  /** The layerdb `size` file: bytes of file content in the layer (not the tar's size). */
  contentSize?: number;
  parent?: Digest;
}

export interface StoreImage {
  id: Digest;
  configFile: string;
  config: Buffer;
  /** Tags that point at the image (familiar form, as `docker images` shows them). */
  names: string[];
  layers: StoreLayer[];
  /** Inconsistencies found on the way (a layerdb `diff` file that disagrees with the config…). */
  notes: string[];
}

/** A Docker data root, read-only. */
export class DockerStore {
  readonly imageDir: string;
  readonly driver: string;

  private constructor(
    readonly root: string,
    driver: string,
  ) {
    this.driver = driver;
    this.imageDir = path.join(root, 'image', driver);
  }

  /** Opens a data root: finds which driver's image store it has and that it can be read. */
  static async open(root: string): Promise<DockerStore> {
    const st = await fsp.stat(root).catch((e: unknown) => {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new ExplorerError('SOURCE_NOT_FOUND', `There is no Docker data root at ${root}: is Docker installed here? Give the folder it keeps its data in as docker-store:ROOT:NAME (docker info -f '{{.DockerRootDir}}'), or use docker-daemon:NAME.`, { path: root });
      }
      throw storeFsError(e, root, 'the Docker data root');
    });
    if (!st.isDirectory()) throw new ExplorerError('SOURCE_NOT_FOUND', `${root} is not a folder, so it is not a Docker data root. Give the folder Docker keeps its data in (docker info -f '{{.DockerRootDir}}', /var/lib/docker by default).`, { path: root });
    const imageRoot = path.join(root, 'image');
    let drivers: string[];
    try {
      drivers = await fsp.readdir(imageRoot);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') {
        const containerd = await fsp.stat(path.join(root, 'containerd')).catch(() => undefined);
        throw new ExplorerError(
          'STORE_INVALID',
          containerd
            ? `${root} has no image/ folder: this Docker keeps its images in the containerd image store, which docker-store: does not read. Open the image with docker-daemon:NAME instead.`
            : `${root} has no image/ folder, so it is not a Docker data root. Give the folder Docker keeps its data in (docker info -f '{{.DockerRootDir}}', /var/lib/docker by default).`,
          { path: imageRoot },
        );
      }
      throw storeFsError(e, imageRoot, "Docker's image store");
    }
    const driver = DRIVERS.find((d) => drivers.includes(d));
    if (!driver) {
      throw new ExplorerError(
        'SOURCE_UNSUPPORTED',
        `${imageRoot} holds images of the ${drivers.join(', ') || 'no'} storage driver; docker-store: reads overlay2 (and fuse-overlayfs) stores only. Open the image with docker-daemon:NAME instead.`,
        { path: imageRoot, drivers },
      );
    }
    const store = new DockerStore(root, driver);
    // Read one file now so a store we may not read fails here, naming the path, not halfway.
    await store.readRepositories();
    return store;
  }

  private async readSmall(file: string, what: string, max = MAX_SMALL_FILE): Promise<Buffer> {
    try {
      const fh = await fsp.open(file, 'r');
      try {
        const st = await fh.stat();
        if (st.size > max) throw new ExplorerError('STORE_INVALID', `${file} (${what}) is ${st.size} bytes, far more than Docker writes there: the store is damaged.`, { path: file });
        return await fh.readFile();
      } finally {
        await fh.close();
      }
    } catch (e) {
      throw storeFsError(e, file, what);
    }
  }

  private async readText(file: string, what: string): Promise<string> {
    return (await this.readSmall(file, what, 64 * 1024)).toString('utf8').trim();
  }

  get repositoriesFile(): string {
    return path.join(this.imageDir, 'repositories.json');
  }

  /** repositories.json as normalised reference (docker.io/library/x:tag) → image id (tags and digests). Missing file = no names. */
  async readRepositories(): Promise<Map<string, Digest>> {
    const file = this.repositoriesFile;
    const exists = await fsp.stat(file).catch((e: unknown) => {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw storeFsError(e, file, 'the list of image names');
    });
    const out = new Map<string, Digest>();
    if (!exists) return out;
    let doc: unknown;
    try {
      doc = JSON.parse((await this.readSmall(file, 'the list of image names')).toString('utf8'));
    } catch (e) {
      if (e instanceof ExplorerError) throw e;
      throw new ExplorerError('STORE_INVALID', `${file} is not valid JSON: the store is damaged. Open the image by its ID (docker-store:ID) or with docker-daemon: instead.`, { path: file });
    }
    const repos = (doc as { Repositories?: unknown })?.Repositories;
    if (repos && typeof repos === 'object') {
      for (const refs of Object.values(repos as Record<string, unknown>)) {
        if (!refs || typeof refs !== 'object') continue;
        // Docker writes familiar names (`busybox:latest`); keep Docker's normal form to compare.
        for (const [ref, id] of Object.entries(refs as Record<string, unknown>)) if (isDigest(id) && /^[a-z0-9]/.test(ref)) out.set(normalizeReference(ref), id);
      }
    }
    return out;
  }

  /** Image ids in imagedb (hex only). */
  async imageIds(): Promise<string[]> {
    const dir = path.join(this.imageDir, 'imagedb', 'content', 'sha256');
    try {
      return (await fsp.readdir(dir)).filter((n) => /^[a-f0-9]{64}$/.test(n));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw storeFsError(e, dir, 'the image configs');
    }
  }

  /** NAME[:TAG], NAME@DIGEST, or an image ID (full, `sha256:`-prefixed or a unique prefix) → image id. */
  async resolve(ref: string): Promise<{ id: Digest; names: string[] }> {
    const repos = await this.readRepositories();
    const namesOf = (id: Digest) => [...repos].filter(([r, i]) => i === id && !r.includes('@')).map(([r]) => familiarName(r));
    const idLike = /^(sha256:)?([a-f0-9]{4,64})$/.exec(ref);
    // Names first (a short hex string can be a repository name too), then IDs, as Docker does.
    const byName = /^[a-z0-9]/.test(ref) ? repos.get(normalizeReference(ref)) : undefined;
    if (byName) return { id: byName, names: namesOf(byName) };
    if (idLike) {
      const hex = idLike[2]!;
      const ids = (await this.imageIds()).filter((i) => i.startsWith(hex));
      if (ids.length === 1) return { id: `sha256:${ids[0]}`, names: namesOf(`sha256:${ids[0]}`) };
      if (ids.length > 1) throw new ExplorerError('IMAGE_AMBIGUOUS', `${ref} is the start of ${ids.length} image IDs in ${this.root} (${ids.slice(0, 4).map((i) => i.slice(0, 12)).join(', ')}…): give more of the ID.`, { candidates: ids });
    }
    const known = [...repos.keys()].filter((r) => !r.includes('@')).map(familiarName).sort();
    throw new ExplorerError(
      'IMAGE_NOT_FOUND',
      `No image ${ref} in Docker's store at ${this.root}. ${known.length ? `It has: ${known.slice(0, 8).join(', ')}${known.length > 8 ? ', …' : ''}.` : 'It has no tagged images.'} Give NAME[:TAG] or an image ID (docker images --no-trunc).`,
      { reference: ref, known },
    );
  }

  /** The image's config from imagedb and its layers' layerdb entries (missing ones are noted, not thrown). */
  async image(id: Digest, names: string[]): Promise<StoreImage> {
    const hex = id.slice('sha256:'.length);
    const configFile = path.join(this.imageDir, 'imagedb', 'content', 'sha256', hex);
    const config = await this.readSmall(configFile, "the image's config");
    const notes: string[] = [];
    if (digestOf(config) !== id) notes.push(`${configFile} hashes to ${shortDigest(digestOf(config))}, not to the image ID ${shortDigest(id)}: the config was changed behind Docker's back.`);
    let diffIds: Digest[] = [];
    try {
      const ids = (JSON.parse(config.toString('utf8')) as { rootfs?: { diff_ids?: unknown } })?.rootfs?.diff_ids;
      diffIds = Array.isArray(ids) ? ids.filter(isDigest) : [];
    } catch {
      notes.push(`${configFile} is not valid JSON, so the image's layers are unknown.`);
    }
    const chains = chainIds(diffIds);
    const layers: StoreLayer[] = [];
    for (const [i, diffId] of diffIds.entries()) {
      const chainId = chains[i]!;
      const layerDir = path.join(this.imageDir, 'layerdb', 'sha256', chainId.slice('sha256:'.length));
      const layer: StoreLayer = { index: i, diffId, chainId, layerDir, cacheId: '', diffDir: '', tarSplit: path.join(layerDir, 'tar-split.json.gz') };
      try {
        layer.cacheId = await this.readText(path.join(layerDir, 'cache-id'), `layer ${i}'s cache-id`);
        if (!/^[A-Za-z0-9_.-]+$/.test(layer.cacheId)) throw new ExplorerError('STORE_INVALID', `${path.join(layerDir, 'cache-id')} holds "${layer.cacheId.slice(0, 80)}", not a folder name: the store is damaged.`, { path: layerDir });
        layer.diffDir = path.join(this.root, this.driver, layer.cacheId, 'diff');
        const recorded = await this.readText(path.join(layerDir, 'diff'), `layer ${i}'s diff_id`);
        if (recorded !== diffId) notes.push(`${path.join(layerDir, 'diff')} says ${shortDigest(recorded)} but the config's diff_id ${i} is ${shortDigest(diffId)}.`);
        const size = Number(await this.readText(path.join(layerDir, 'size'), `layer ${i}'s size`).catch(() => 'NaN'));
        if (Number.isSafeInteger(size)) layer.contentSize = size;
        const parent = await this.readText(path.join(layerDir, 'parent'), `layer ${i}'s parent`).catch(() => undefined);
        if (parent && isDigest(parent)) layer.parent = parent;
      } catch (e) {
        if (!(e instanceof ExplorerError) || e.code === 'PERMISSION_DENIED' || e.code === 'CANCELLED') throw e;
        notes.push(`Layer ${i} (${shortDigest(diffId)}): ${e.message}`);
      }
      layers.push(layer);
    }
    return { id, configFile, config, names, layers, notes };
  }
}
