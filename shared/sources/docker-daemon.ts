import { createWriteStream, promises as fsp, rmSync } from 'node:fs';
import path from 'node:path';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ExplorerError } from '../errors.js';
import { EngineClient, engineEndpoint, type EngineImageInspect } from '../docker/engine.js';
import type { Backend, OpenContext, OpenedSource } from './backend.js';
import { DockerArchiveSource } from './docker-archive.js';
import { TarVfs } from './tarfs.js';
import type { BlobReadOptions, ImageSource, RootEntry } from './types.js';
import type { Descriptor } from '../oci/types.js';
import type { Digest } from '../oci/digest.js';
import type { Readable } from 'node:stream';

// `docker-daemon:NAME[:TAG]|ID` (skopeo's syntax) and `podman:…`: an image of the local engine, through
// `GET /images/{name}/get`. The export is a `docker save` tar (legacy, or Docker 25+ with an OCI layout
// inside); it is written once into the cache root's temp area and read in place by the archive reader
// (tarfs: random access by entry offset), so there is one copy on disk and none in memory; it is deleted
// on close. Bounded by the free disk there, with a clear error before and during the copy.

/** One local image, for a picker ("Local Docker images…") and `oci-explorer docker-images`. */
export interface LocalImage {
  /** `sha256:<hex>`. */
  id: string;
  /** `name:tag`, as `docker images` shows them (none for dangling images). */
  tags: string[];
  digests: string[];
  /** Bytes the engine reports (uncompressed layers). */
  size: number;
  /** ISO 8601. */
  created?: string;
  /** The spec that opens it: `docker-daemon:name:tag` or `docker-daemon:sha256:…`. */
  spec: string;
}

export interface LocalImageList {
  /** Where the engine answered, e.g. unix:///var/run/docker.sock. */
  engine: string;
  apiVersion?: string;
  images: LocalImage[];
}

/** Lists the local engine's images, newest first (for the API's "Local Docker images…" and the CLI). */
export async function listDockerImages(ctx: Pick<OpenContext, 'env' | 'signal'>, opts: { podman?: boolean } = {}): Promise<LocalImageList> {
  const client = new EngineClient(engineEndpoint(ctx.env, opts));
  const { apiVersion } = await client.ping(ctx.signal);
  const list = await client.listImages(ctx.signal);
  const transport = opts.podman ? 'podman' : 'docker-daemon';
  const images = (Array.isArray(list) ? list : [])
    .filter((i) => typeof i?.Id === 'string')
    .map((i): LocalImage => {
      const tags = (i.RepoTags ?? []).filter((t) => t && t !== '<none>:<none>');
      const img: LocalImage = { id: i.Id, tags, digests: (i.RepoDigests ?? []).filter((d) => d && !d.startsWith('<none>')), size: typeof i.Size === 'number' ? i.Size : 0, spec: `${transport}:${tags[0] ?? i.Id}` };
      if (typeof i.Created === 'number') img.created = new Date(i.Created * 1000).toISOString();
      return img;
    })
    .sort((a, b) => (b.created ?? '').localeCompare(a.created ?? ''));
  return { engine: client.endpoint.label, ...(apiVersion ? { apiVersion } : {}), images };
}

/** `NAME` → `NAME:latest` (as skopeo and docker pull read it); IDs, tags and digests stay. */
export function engineReference(rest: string, podman: boolean): string {
  const ref = rest.trim();
  if (!ref) {
    throw new ExplorerError('INVALID_ARGUMENT', `${podman ? 'podman' : 'docker-daemon'}: names no image. Give ${podman ? 'podman' : 'docker-daemon'}:NAME[:TAG] or an image ID (see ${podman ? 'podman' : 'docker'} images).`);
  }
  if (/^(sha256:)?[a-f0-9]{12,64}$/.test(ref) || ref.includes('@')) return ref;
  const slash = ref.lastIndexOf('/');
  return ref.lastIndexOf(':') > slash ? ref : `${ref}:latest`;
}

/** Export folders not yet closed: removed when the process exits. */
const liveExports = new Set<string>();
let exitHook = false;
function track(dir: string): void {
  liveExports.add(dir);
  if (exitHook) return;
  exitHook = true;
  process.once('exit', () => {
    for (const d of liveExports) rmSync(d, { recursive: true, force: true });
  });
}

async function freeBytes(dir: string): Promise<number> {
  try {
    const s = await fsp.statfs(dir);
    return Math.max(0, s.bavail * s.bsize - 64 * 1024 * 1024);
  } catch {
    return Infinity;
  }
}

/** Exports `name` from the engine into the cache's temp area and opens it as a docker-archive. */
export async function openEngineImage(rest: string, ctx: OpenContext, podman: boolean): Promise<OpenedSource> {
  const client = new EngineClient(engineEndpoint(ctx.env, { podman }));
  const ref = engineReference(rest, podman);
  const location = `${podman ? 'podman' : 'docker-daemon'}:${rest}`;
  const info: EngineImageInspect = await client.inspectImage(ref, ctx.signal);
  const tmpRoot = path.join(ctx.cacheDir, 'tmp');
  await fsp.mkdir(tmpRoot, { recursive: true });
  const dir = await fsp.mkdtemp(path.join(tmpRoot, 'engine-export-'));
  track(dir);
  const drop = async () => {
    liveExports.delete(dir);
    await fsp.rm(dir, { recursive: true, force: true });
  };
  const file = path.join(dir, 'image.tar');
  const total = typeof info.Size === 'number' ? info.Size : undefined;
  try {
    const free = await freeBytes(dir);
    if (total !== undefined && total > free) throw tooBig(ref, total, free, tmpRoot);
    const label = `Exporting ${ref} from the ${podman ? 'Podman' : 'Docker'} engine`;
    ctx.progress?.({ label, done: 0, unit: 'bytes', ...(total !== undefined ? { total } : {}) });
    const res = await client.exportImage(ref, ctx.signal);
    let done = 0;
    let last = 0;
    const meter = new Transform({
      transform(chunk: Buffer, _e, cb: TransformCallback) {
        done += chunk.length;
        if (done > free) return cb(tooBig(ref, done, free, tmpRoot));
        if (done - last >= 8 * 1024 * 1024) {
          last = done;
          ctx.progress?.({ label, done, unit: 'bytes', ...(total !== undefined ? { total: Math.max(total, done) } : {}) });
        }
        cb(null, chunk);
      },
    });
    try {
      await pipeline(res, meter, createWriteStream(file), { signal: ctx.signal });
    } catch (e) {
      if (e instanceof ExplorerError) throw e;
      if (ctx.signal.aborted || (e as { name?: string }).name === 'AbortError') throw new ExplorerError('CANCELLED', `Exporting ${ref} was cancelled.`, undefined, { cause: e });
      throw new ExplorerError('DOCKER_ERROR', `The engine at ${client.endpoint.label} stopped sending the export of ${ref} after ${done} bytes (${(e as Error).message}). Check that it is still running and try again.`, { endpoint: client.endpoint.label }, { cause: e });
    }
    ctx.progress?.({ label, done, total: done, unit: 'bytes' });
    const vfs = await TarVfs.open(file, { label: location, cleanup: dir });
    liveExports.delete(dir); // the archive owns the folder now and deletes it on close
    // The export holds exactly the image asked for: no selector needed.
    return { source: new EngineImageSource(new DockerArchiveSource(vfs, location), location), selector: {} };
  } catch (e) {
    await drop();
    throw e;
  }
}

/** The exported archive, read in place, under the engine's name (kind docker-engine); its folder goes on close. */
class EngineImageSource implements ImageSource {
  readonly kind = 'docker-engine' as const;
  constructor(
    private readonly archive: DockerArchiveSource,
    readonly location: string,
  ) {}
  roots(signal?: AbortSignal): Promise<RootEntry[]> {
    return this.archive.roots(signal);
  }
  openBlob(desc: Descriptor, opts?: BlobReadOptions): Promise<Readable> {
    return this.archive.openBlob(desc, opts);
  }
  statBlob(digest: Digest): Promise<number | undefined> {
    return this.archive.statBlob(digest);
  }
  warnings(): string[] {
    return this.archive.warnings();
  }
  close(): Promise<void> {
    return this.archive.close();
  }
}

function tooBig(ref: string, need: number, free: number, where: string): ExplorerError {
  return new ExplorerError(
    'TOO_LARGE',
    `Exporting ${ref} needs about ${need} bytes in ${where}, but only ${free} are free there. Free some space, point OCI_EXPLORER_CACHE at a bigger disk, or open the image from Docker's store with docker-store:${ref} (no copy).`,
    { need, free, path: where },
  );
}

export const dockerDaemonBackend: Backend = {
  transport: 'docker-daemon',
  kind: 'docker-engine',
  syntax: 'docker-daemon:NAME[:TAG]|ID',
  summary: 'an image of the local Docker engine (DOCKER_HOST, else /var/run/docker.sock), exported once through its API',
  open: (rest, ctx) => openEngineImage(rest, ctx, false),
};

export const podmanBackend: Backend = {
  transport: 'podman',
  kind: 'docker-engine',
  syntax: 'podman:NAME[:TAG]|ID',
  summary: "an image of the local Podman, through its Docker-compatible socket ($XDG_RUNTIME_DIR/podman/podman.sock)",
  open: (rest, ctx) => openEngineImage(rest, ctx, true),
};
