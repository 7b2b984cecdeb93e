import type { Readable } from 'node:stream';
import { ExplorerError } from '../errors.js';
import { digestOf, parseDigest, shortDigest, type Digest } from '../oci/digest.js';
import { MT } from '../oci/mediatypes.js';
import type { Descriptor } from '../oci/types.js';
import type { Backend, LocalProbe, OpenContext, OpenedSource } from './backend.js';
import { splitPathAndSelector, withProbe } from './local.js';
import type { BlobReadOptions, ImageSource, RootEntry, SourceKind } from './types.js';
import { type Vfs } from './vfs.js';
import { archiveWarnings } from './tarfs.js';

/** Blob path inside an OCI layout: blobs/<alg>/<hex>. */
export function blobPath(digest: Digest): string {
  const { algorithm, hex } = parseDigest(digest);
  return `blobs/${algorithm}/${hex}`;
}

/**
 * OCI image layout (image-layout.md) over any Vfs: a folder, or a tar read in place. index.json is
 * not a blob, so it is served as a synthetic root whose digest is the hash of its bytes.
 */
export class OciLayoutSource implements ImageSource {
  private indexBytes?: Buffer;
  private indexDigest?: Digest;

  constructor(
    readonly vfs: Vfs,
    readonly location: string,
    readonly kind: SourceKind = 'oci-layout',
  ) {}

  /** Entries of an OCI archive that the tar parser refused (skipped): shown on the source, never silent. */
  warnings(): string[] {
    return archiveWarnings(this.vfs);
  }

  /** Checks the oci-layout header; throws LAYOUT_INVALID with what is wrong. */
  async checkLayout(): Promise<void> {
    const size = await this.vfs.stat('oci-layout');
    if (size === undefined) {
      throw new ExplorerError('LAYOUT_INVALID', `${this.location} has no oci-layout file, so it is not an OCI image layout. Choose the folder that contains oci-layout and index.json.`);
    }
    let header: unknown;
    try {
      header = JSON.parse((await this.vfs.readFile('oci-layout', 64 * 1024)).toString('utf8'));
    } catch {
      throw new ExplorerError('LAYOUT_INVALID', `The oci-layout file in ${this.location} is not valid JSON; the layout is damaged.`);
    }
    const v = (header as { imageLayoutVersion?: unknown } | null)?.imageLayoutVersion;
    if (typeof v !== 'string') {
      throw new ExplorerError('LAYOUT_INVALID', `The oci-layout file in ${this.location} has no imageLayoutVersion; the layout is damaged.`);
    }
  }

  async roots(): Promise<RootEntry[]> {
    await this.checkLayout();
    if ((await this.vfs.stat('index.json')) === undefined) {
      throw new ExplorerError('LAYOUT_INVALID', `${this.location} has an oci-layout file but no index.json; the layout is incomplete.`);
    }
    const bytes = await this.vfs.readFile('index.json', 4 * 1024 * 1024);
    this.indexBytes = bytes;
    this.indexDigest = digestOf(bytes);
    let mediaType: string = MT.ociIndex;
    try {
      const doc = JSON.parse(bytes.toString('utf8')) as { mediaType?: unknown };
      if (typeof doc?.mediaType === 'string') mediaType = doc.mediaType;
    } catch {
      // Malformed JSON is reported on the node by the graph; the root still exists.
    }
    return [{ descriptor: { mediaType, digest: this.indexDigest, size: bytes.length }, names: [], synthetic: true, label: 'index.json' }];
  }

  async openBlob(desc: Descriptor, opts: BlobReadOptions = {}): Promise<Readable> {
    if (this.indexBytes && desc.digest === this.indexDigest) {
      const { Readable } = await import('node:stream');
      return Readable.from([this.indexBytes.subarray(opts.start ?? 0, opts.end ?? this.indexBytes.length)]);
    }
    const rel = blobPath(desc.digest);
    if ((await this.vfs.stat(rel)) === undefined) {
      throw new ExplorerError('BLOB_MISSING', `Blob ${shortDigest(desc.digest)} (${desc.mediaType}) is not in ${this.location}: the layout is incomplete. Copy it again with all blobs (e.g. skopeo copy --all).`, { digest: desc.digest });
    }
    return this.vfs.createReadStream(rel, opts);
  }

  async statBlob(digest: Digest): Promise<number | undefined> {
    if (digest === this.indexDigest) return this.indexBytes?.length;
    return this.vfs.stat(blobPath(digest));
  }

  async close(): Promise<void> {
    await this.vfs.close();
  }
}

async function openLayout(probe: LocalProbe): Promise<OpenedSource> {
  const s = new OciLayoutSource(probe.vfs, probe.path, probe.isDir ? 'oci-layout' : 'oci-archive');
  await s.checkLayout();
  return { source: s, selector: {} };
}

/** Docker 25+ `docker save` writes an OCI layout plus manifest.json: that is docker-archive's. */
const isPlainLayout = async (p: LocalProbe) => (await p.has('oci-layout')) && !(await p.has('manifest.json'));

async function openLayoutSpec(rest: string, ctx: OpenContext): Promise<OpenedSource> {
  const { file, rest: tag } = await splitPathAndSelector(rest, ctx.cwd);
  const opened = await withProbe(file, rest, ctx.signal, openLayout);
  return tag ? { ...opened, selector: { tag } } : opened;
}

export const ociLayoutBackend: Backend = {
  transport: 'oci',
  kind: 'oci-layout',
  syntax: 'oci:PATH[:TAG]',
  summary: 'an OCI image layout folder (oci-layout, index.json, blobs/); a tar of one works too',
  open: openLayoutSpec,
  detect: async (p) => p.isDir && (await isPlainLayout(p)),
  openProbe: openLayout,
};

export const ociArchiveBackend: Backend = {
  transport: 'oci-archive',
  kind: 'oci-archive',
  syntax: 'oci-archive:PATH[:TAG]',
  summary: 'an OCI layout in a tar file (.tar, .tar.gz, .tar.zst), read in place',
  open: openLayoutSpec,
  detect: async (p) => !p.isDir && (await isPlainLayout(p)),
  openProbe: openLayout,
};
