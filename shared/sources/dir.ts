import type { Readable } from 'node:stream';
import { ExplorerError } from '../errors.js';
import { digestOf, parseDigest, shortDigest, type Digest } from '../oci/digest.js';
import { MT } from '../oci/mediatypes.js';
import type { Descriptor } from '../oci/types.js';
import type { Backend, LocalProbe, OpenedSource } from './backend.js';
import { splitPathAndSelector, withProbe } from './local.js';
import type { BlobReadOptions, ImageSource, RootEntry } from './types.js';
import type { Vfs } from './vfs.js';

// skopeo's `dir:` transport (containers/image directory/): what `skopeo copy … dir:DIR` writes. A
// `version` file ("Directory Transport Version: 1.1"), the top manifest as `manifest.json` (an image
// manifest, or with --all an index whose instances are `<hex>.manifest.json`), and every blob as a file
// named by its digest's hex (other algorithms: `<alg>-<hex>`). Signatures (`signature-N`) are not blobs.

const VERSION_LINE = /^Directory Transport Version: \d+\.\d+\s*$/;
const MAX_MANIFEST = 4 * 1024 * 1024;

export class DirTransportSource implements ImageSource {
  readonly kind = 'dir' as const;
  private top?: { bytes: Buffer; descriptor: Descriptor };

  constructor(
    private readonly vfs: Vfs,
    readonly location: string,
  ) {}

  async roots(): Promise<RootEntry[]> {
    const bytes = await this.vfs.readFile('manifest.json', MAX_MANIFEST);
    let mediaType: string = MT.ociManifest;
    try {
      const doc = JSON.parse(bytes.toString('utf8')) as { mediaType?: unknown; manifests?: unknown };
      if (typeof doc?.mediaType === 'string') mediaType = doc.mediaType;
      else if (Array.isArray(doc?.manifests)) mediaType = MT.ociIndex;
    } catch {
      // Malformed JSON is reported on the node by the graph; the root still exists.
    }
    this.top = { bytes, descriptor: { mediaType, digest: digestOf(bytes), size: bytes.length } };
    return [{ descriptor: this.top.descriptor, names: [], label: 'manifest.json' }];
  }

  /** Where a blob lives: the top manifest, an index instance's manifest, or a blob file. */
  private async fileOf(digest: Digest): Promise<string | undefined> {
    const { algorithm, hex } = parseDigest(digest);
    const name = algorithm === 'sha256' ? hex : `${algorithm}-${hex}`;
    for (const rel of [name, `${name}.manifest.json`]) if ((await this.vfs.stat(rel)) !== undefined) return rel;
    return undefined;
  }

  async openBlob(desc: Descriptor, opts: BlobReadOptions = {}): Promise<Readable> {
    if (!this.top) await this.roots();
    if (desc.digest === this.top!.descriptor.digest) {
      const { Readable } = await import('node:stream');
      return Readable.from([this.top!.bytes.subarray(opts.start ?? 0, opts.end ?? this.top!.bytes.length)]);
    }
    const rel = await this.fileOf(desc.digest);
    if (!rel) throw new ExplorerError('BLOB_MISSING', `Blob ${shortDigest(desc.digest)} (${desc.mediaType}) is not in ${this.location}: the folder is incomplete. Copy the image again with skopeo.`, { digest: desc.digest });
    return this.vfs.createReadStream(rel, opts);
  }

  async statBlob(digest: Digest): Promise<number | undefined> {
    if (!this.top) await this.roots();
    if (digest === this.top!.descriptor.digest) return this.top!.bytes.length;
    const rel = await this.fileOf(digest);
    return rel === undefined ? undefined : this.vfs.stat(rel);
  }

  async close(): Promise<void> {
    await this.vfs.close();
  }
}

async function isDirTransport(p: LocalProbe): Promise<boolean> {
  if (!p.isDir || !(await p.has('version')) || !(await p.has('manifest.json'))) return false;
  return VERSION_LINE.test((await p.vfs.readFile('version', 256)).toString('utf8'));
}

async function openDir(p: LocalProbe): Promise<OpenedSource> {
  if (!(await isDirTransport(p))) {
    throw new ExplorerError('SOURCE_UNRECOGNISED', `${p.path} is not a skopeo dir: folder (it needs a "version" file saying "Directory Transport Version" and a manifest.json). Give the folder \`skopeo copy … dir:DIR\` wrote.`, { path: p.path });
  }
  return { source: new DirTransportSource(p.vfs, p.path), selector: {} };
}

export const dirBackend: Backend = {
  transport: 'dir',
  kind: 'dir',
  syntax: 'dir:PATH',
  summary: 'a folder written by `skopeo copy … dir:PATH` (manifest.json, version, blobs named by digest)',
  async open(rest, ctx) {
    const { file } = await splitPathAndSelector(rest, ctx.cwd);
    return withProbe(file, rest, ctx.signal, openDir);
  },
  detect: isDirTransport,
  openProbe: openDir,
};
