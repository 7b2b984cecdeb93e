import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { ExplorerError } from '../errors.js';
import { shortDigest, type Digest } from '../oci/digest.js';
import { MT } from '../oci/mediatypes.js';
import type { Descriptor } from '../oci/types.js';
import { DiffFolder } from '../docker/diff-folder.js';
import { DockerStore, familiarName, type StoreImage, type StoreLayer } from '../docker/store.js';
import { TarSizeCache } from '../docker/size-cache.js';
import { describeChanged, rebuildTar, scanTarSplit, type ChangedFile, type TarSplitLayout } from '../docker/tarsplit.js';
import { storeFsError } from '../docker/fs-errors.js';
import type { Backend } from './backend.js';
import { expandHome } from './local.js';
import { synthesizeManifest } from './synthetic.js';
import type { BlobReadOptions, ImageSource, RootEntry } from './types.js';

// `docker-store:[ROOT:]NAME[:TAG]|ID`: an image read straight from Docker's on-disk overlay2 store
// (shared/docker/store.ts), no engine and no export. The config comes from imagedb; each layer is the
// UNCOMPRESSED tar rebuilt from its tar-split and diff folder (digest = diff_id, size = the rebuilt
// tar's), so the shared layer engine indexes and verifies it like any tar layer. There is no manifest
// on disk: one is made up (synthetic.ts) and the root says so.

export const DEFAULT_DOCKER_ROOT = '/var/lib/docker';

interface StoreBlob {
  bytes?: Buffer;
  layer?: LoadedLayer;
}

interface LoadedLayer {
  info: StoreLayer;
  diff: DiffFolder;
  /** Size of the rebuilt tar (from the size cache, or a pass over tar-split) and its entry count. */
  size?: number;
  entries?: number;
  /** Where each file's data lies in the tar: read once, on the first ranged read. */
  layout?: Promise<TarSplitLayout>;
  /** Why the layer cannot be served (tar-split or diff folder missing). */
  missing?: string;
}

/** The store's own structure for the image (the walk the UI shows): repositories → imagedb → layerdb → cache-id → diff. */
export interface StoreWalk {
  root: string;
  driver: string;
  repositories: { file: string; names: string[] };
  image: { id: Digest; configFile: string; configSize: number };
  layers: {
    index: number;
    diffId: Digest;
    chainId: Digest;
    layerDir: string;
    parent?: Digest;
    cacheId: string;
    diffDir: string;
    /** layerdb `size`: bytes of file content. */
    contentSize?: number;
    tarSplit: { file: string; size?: number };
    /** Size of the layer tar rebuilt from tar-split; entries in it. */
    tarSize?: number;
    entries?: number;
    missing?: string;
  }[];
  notes: string[];
}

/** Layers whose tar-split is scanned at once when opening (gunzip runs on the thread pool). */
const SCAN_CONCURRENCY = 2;

export class DockerStoreSource implements ImageSource {
  readonly kind = 'docker-store' as const;
  private readonly blobs = new Map<Digest, StoreBlob>();
  private readonly layers: LoadedLayer[] = [];
  private root?: RootEntry;
  private readonly notes: string[] = [];

  private constructor(
    readonly store: DockerStore,
    readonly image: StoreImage,
    readonly location: string,
    private readonly sizes?: TarSizeCache,
    private readonly defaultSignal?: AbortSignal,
  ) {}

  /**
   * Opens image `ref` of the store: its config, and each layer's tar size (remembered by diff_id in
   * `cacheDir` once verified, else one pass over its tar-split). No layer file is read.
   */
  static async open(store: DockerStore, ref: string, location: string, opts: { signal?: AbortSignal; cacheDir?: string } = {}): Promise<DockerStoreSource> {
    const { id, names } = await store.resolve(ref);
    const src = new DockerStoreSource(store, await store.image(id, names), location, opts.cacheDir ? new TarSizeCache(opts.cacheDir) : undefined, opts.signal);
    await src.load(opts.signal);
    return src;
  }

  private async load(signal?: AbortSignal): Promise<void> {
    const img = this.image;
    this.notes.push(...img.notes);
    this.layers.push(...img.layers.map((info) => ({ info, diff: new DiffFolder(info.diffDir) })));
    let next = 0;
    const work = async () => {
      while (next < this.layers.length) {
        if (signal?.aborted) throw new ExplorerError('CANCELLED', 'Opening the image was cancelled.');
        const l = this.layers[next++]!;
        if (!l.info.cacheId) {
          l.missing = `its layerdb folder ${l.info.layerDir} is missing or incomplete`;
          continue;
        }
        try {
          const known = await this.sizes?.get(l.info.diffId);
          if (known) {
            await fsp.stat(l.info.tarSplit).catch((e: unknown) => {
              throw storeFsError(e, l.info.tarSplit, "the layer's tar-split");
            });
            l.size = known.size;
            if (known.entries !== undefined) l.entries = known.entries;
          } else {
            const layout = await scanTarSplit(l.info.tarSplit, signal);
            l.layout = Promise.resolve(layout);
            l.size = layout.size;
            l.entries = layout.entries;
          }
        } catch (e) {
          if (!(e instanceof ExplorerError) || e.code === 'PERMISSION_DENIED' || e.code === 'CANCELLED') throw e;
          l.missing = e.message.replace(/\.$/, '');
          continue;
        }
        const st = await fsp.stat(l.info.diffDir).catch((e: unknown) => e as NodeJS.ErrnoException);
        if (!(st instanceof Error) && !st.isDirectory()) l.missing = `${l.info.diffDir} is not a folder`;
        else if (st instanceof Error && st.code === 'ENOENT') l.missing = `its diff folder ${l.info.diffDir} does not exist`;
      }
    };
    await Promise.all(Array.from({ length: Math.min(SCAN_CONCURRENCY, this.layers.length) }, work));
    const configDesc: Descriptor = { mediaType: MT.dockerConfig, digest: img.id, size: img.config.length };
    this.blobs.set(img.id, { bytes: img.config });
    const layerDescs = this.layers.map((l): Descriptor => {
      if (l.missing) this.notes.push(`Layer ${l.info.index} (${shortDigest(l.info.diffId)}) cannot be read from the store: ${l.missing}.`);
      else this.blobs.set(l.info.diffId, { layer: l });
      return { mediaType: MT.dockerLayer, digest: l.info.diffId, size: l.missing ? 0 : l.size! };
    });
    const m = synthesizeManifest(configDesc, layerDescs);
    this.blobs.set(m.descriptor.digest, { bytes: m.bytes });
    this.root = { descriptor: m.descriptor, names: img.names, synthetic: true, label: "made up: Docker's store keeps no manifest" };
  }

  /** The layer's file offsets (one tar-split pass, shared by concurrent readers; a failed pass is retried next time). */
  private layoutOf(l: LoadedLayer, signal?: AbortSignal): Promise<TarSplitLayout> {
    if (!l.layout) {
      const p = scanTarSplit(l.info.tarSplit, signal);
      l.layout = p;
      p.catch(() => {
        if (l.layout === p) l.layout = undefined;
      });
    }
    return l.layout;
  }

  async roots(): Promise<RootEntry[]> {
    return this.root ? [this.root] : [];
  }

  warnings(): string[] {
    return [...this.notes];
  }

  async statBlob(digest: Digest): Promise<number | undefined> {
    const b = this.blobs.get(digest);
    if (!b) return undefined;
    return b.bytes ? b.bytes.length : b.layer!.size;
  }

  async openBlob(desc: Descriptor, opts: BlobReadOptions = {}): Promise<Readable> {
    const b = this.blobs.get(desc.digest);
    if (b?.bytes) return Readable.from([b.bytes.subarray(opts.start ?? 0, opts.end ?? b.bytes.length)]);
    const l = b?.layer;
    if (!l || l.size === undefined) {
      const gone = this.layers.find((x) => x.info.diffId === desc.digest);
      throw new ExplorerError(
        'BLOB_MISSING',
        gone
          ? `Layer ${gone.info.index} (${shortDigest(desc.digest)}) cannot be read from Docker's store: ${gone.missing}. Remove the image and pull or load it again, or open it with docker-daemon:.`
          : `Blob ${shortDigest(desc.digest)} is not part of image ${shortDigest(this.image.id)} in ${this.store.root}.`,
        { digest: desc.digest },
      );
    }
    const size = l.size;
    const start = Math.min(Math.max(0, opts.start ?? 0), size);
    const end = Math.min(Math.max(start, opts.end ?? size), size);
    const signal = opts.signal ?? this.defaultSignal;
    if (start > 0 || end < size) {
      const inFile = this.fileAt(await this.layoutOf(l, signal), start, end);
      if (inFile) return Readable.from(readFileRange(l.diff, inFile, start - inFile.offset, end - inFile.offset, signal));
    }
    if (start > 0 || end < size) return rebuildTar(l.info.tarSplit, l.diff, { start, end, ...(signal ? { signal } : {}) });
    // A whole read must hash to the diff_id; when it does not, the files that changed are named.
    return rebuildTar(l.info.tarSplit, l.diff, {
      ...(signal ? { signal } : {}),
      expect: l.info.diffId,
      onVerified: (n) => void this.sizes?.remember(l.info.diffId, n, l.entries),
      onMismatch: (actual, files) => this.changedError(l, actual, files),
    });
  }

  /** The file whose data holds all of [start, end), if one does (reads of one file skip tar-split). */
  private fileAt(layout: TarSplitLayout, start: number, end: number): TarSplitLayout['files'][number] | undefined {
    const files = layout.files;
    let lo = 0;
    let hi = files.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const f = files[mid]!;
      if (f.offset + f.size <= start) lo = mid + 1;
      else if (f.offset > start) hi = mid - 1;
      else return end <= f.offset + f.size && end > start ? f : undefined;
    }
    return undefined;
  }

  private changedError(l: LoadedLayer, actual: Digest, files: ChangedFile[]): ExplorerError {
    const what = files.length
      ? `${files.length} file${files.length === 1 ? '' : 's'} in ${l.info.diffDir} changed since Docker stored the layer: ${describeChanged(files)}`
      : `every file in ${l.info.diffDir} is as tar-split records it, so ${l.info.tarSplit} itself was changed`;
    return new ExplorerError(
      'DIFFID_MISMATCH',
      `Layer ${l.info.index} (${shortDigest(l.info.diffId)}) rebuilt from Docker's store hashes to ${shortDigest(actual)}, not to its diff_id: ${what}. Something modified the store behind Docker's back; remove the image and pull or load it again.`,
      { digest: l.info.diffId, expected: l.info.diffId, actual, diffDir: l.info.diffDir, files: files.map((f) => ({ name: f.name, why: f.why })) },
    );
  }

  /** The store's own structure for this image, for the UI and `inspect`. */
  async storeWalk(): Promise<StoreWalk> {
    const repos = await this.store.readRepositories().catch(() => new Map<string, Digest>());
    return {
      root: this.store.root,
      driver: this.store.driver,
      repositories: { file: this.store.repositoriesFile, names: [...repos].filter(([r, id]) => id === this.image.id && !r.includes('@')).map(([r]) => familiarName(r)) },
      image: { id: this.image.id, configFile: this.image.configFile, configSize: this.image.config.length },
      layers: await Promise.all(
        this.layers.map(async (l) => {
          const tsSize = (await fsp.stat(l.info.tarSplit).catch(() => undefined))?.size;
          const w: StoreWalk['layers'][number] = { index: l.info.index, diffId: l.info.diffId, chainId: l.info.chainId, layerDir: l.info.layerDir, cacheId: l.info.cacheId, diffDir: l.info.diffDir, tarSplit: { file: l.info.tarSplit } };
          if (tsSize !== undefined) w.tarSplit.size = tsSize;
          if (l.info.parent) w.parent = l.info.parent;
          if (l.info.contentSize !== undefined) w.contentSize = l.info.contentSize;
          if (l.size !== undefined) w.tarSize = l.size;
          if (l.entries !== undefined) w.entries = l.entries;
          if (l.missing) w.missing = l.missing;
          return w;
        }),
      ),
      notes: [...this.notes],
    };
  }

  async close(): Promise<void> {}
}

async function* readFileRange(diff: DiffFolder, f: TarSplitLayout['files'][number], from: number, to: number, signal?: AbortSignal): AsyncGenerator<Buffer> {
  const file = await diff.open(f.nameRaw ?? f.name);
  try {
    for (let off = from; off < to; ) {
      if (signal?.aborted) throw new ExplorerError('CANCELLED', 'Reading the layer was cancelled.');
      const n = Math.min(to - off, 1024 * 1024);
      const buf = Buffer.alloc(n); // zeros past a file that shrank: the tar's shape is kept
      await file.read(buf, 0, n, off);
      yield buf;
      off += n;
    }
  } finally {
    await file.close();
  }
}

/** `[ROOT:]NAME[:TAG]|ID`: ROOT is an existing absolute folder (the first `:` that ends one). */
export async function parseStoreSpec(rest: string, env: Record<string, string | undefined> = process.env): Promise<{ root: string; ref: string }> {
  // A folder we may not look into still counts: opening it then says "permission denied", naming it.
  const isDir = async (p: string) =>
    fsp.stat(p).then(
      (st) => st.isDirectory(),
      (e: NodeJS.ErrnoException) => e.code === 'EACCES' || e.code === 'EPERM',
    );
  if (rest.startsWith('/') || rest.startsWith('~')) {
    for (let i = rest.indexOf(':'); i >= 0; i = rest.indexOf(':', i + 1)) {
      const head = path.resolve(expandHome(rest.slice(0, i)));
      if (await isDir(head)) return { root: head, ref: rest.slice(i + 1) };
    }
    const head = path.resolve(expandHome(rest.includes(':') ? rest.slice(0, rest.indexOf(':')) : rest));
    if (await isDir(head)) return { root: head, ref: '' };
    throw new ExplorerError('SOURCE_NOT_FOUND', `${head} is not an existing folder, so it cannot be a Docker data root. Give docker-store:ROOT:NAME[:TAG] with the folder Docker keeps its data in (docker info -f '{{.DockerRootDir}}').`, { path: head });
  }
  void env;
  return { root: DEFAULT_DOCKER_ROOT, ref: rest };
}

export const dockerStoreBackend: Backend = {
  transport: 'docker-store',
  kind: 'docker-store',
  syntax: 'docker-store:[ROOT:]NAME[:TAG]|ID',
  summary: "an image read straight from Docker's on-disk overlay2 store (ROOT defaults to /var/lib/docker; needs read access, usually root)",
  async open(rest, ctx) {
    const { root, ref } = await parseStoreSpec(rest, ctx.env);
    if (!ref) throw new ExplorerError('INVALID_ARGUMENT', `docker-store:${rest} names no image. Give docker-store:[ROOT:]NAME[:TAG] or an image ID (see docker images).`);
    ctx.progress?.({ label: `Reading ${ref} from Docker's store at ${root}` });
    const store = await DockerStore.open(root);
    const source = await DockerStoreSource.open(store, ref, `docker-store:${rest}`, { signal: ctx.signal, cacheDir: ctx.cacheDir });
    return { source, selector: {} };
  },
};
