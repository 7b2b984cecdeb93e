import { createReadStream, createWriteStream, promises as fsp, readSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import { ExplorerError } from '../errors.js';
import { sniffCompression, SNIFF_BYTES, type Compression } from '../tar/compression.js';
import { BLOCK, TarFatal, TarHeaderReader, type BadEntry, type Step } from '../tar/header.js';
import { zstdDecompressor } from '../tar/zstd.js';
import { missing, normalizeRel, type Vfs } from './vfs.js';

// A tar archive read in place: one pass over the 512-byte headers (seeking past entry data), then
// random access by entry offset. Opening a multi-GB docker save therefore costs one small read per
// entry, not a read of the layers.

const MAX_LINK_HOPS = 40;
/** Bad entries kept for the report (the rest are counted). */
const MAX_PROBLEMS = 100;

export type TarEntryType = 'file' | 'hardlink' | 'symlink' | 'dir' | 'other';

export interface TarEntry {
  /** Normalised path (no leading ./ or /, no trailing /). */
  name: string;
  type: TarEntryType;
  size: number;
  /** Offset of the first data byte in the archive file. */
  offset: number;
  linkname?: string;
}

export interface TarVfsOptions {
  /** Shown to the user instead of the file path (e.g. the original .tar.gz when this is its decompressed copy). */
  label?: string;
  /** Folder deleted on close (the temp copy of a compressed archive). */
  cleanup?: string;
}

/** Reads up to this size are served from one synchronous pread. */
const SMALL_READ = 256 * 1024;

export class TarVfs implements Vfs {
  readonly label: string;
  readonly entries = new Map<string, TarEntry>();
  /** Bytes read while scanning headers: lets tests prove that entry data is never read when opening. */
  bytesScanned = 0;
  /** Entries the tar parser refused (skipped), with the reason and offset. */
  readonly problems: BadEntry[] = [];
  private closed = false;
  private fh?: Promise<fsp.FileHandle>;

  private constructor(
    readonly file: string,
    private readonly fileSize: number,
    private readonly opts: TarVfsOptions,
  ) {
    this.label = opts.label ?? file;
  }

  static async open(file: string, opts: TarVfsOptions = {}): Promise<TarVfs> {
    const st = await fsp.stat(file).catch(() => undefined);
    if (!st) throw new ExplorerError('SOURCE_NOT_FOUND', `${file} does not exist. Check the path and try again.`, { path: file });
    if (!st.isFile()) throw new ExplorerError('ARCHIVE_INVALID', `${file} is not a regular file, so it cannot be read as a tar archive.`, { path: file });
    const vfs = new TarVfs(file, st.size, opts);
    try {
      await vfs.scan(await vfs.handle());
    } catch (e) {
      await vfs.close();
      throw e;
    }
    return vfs;
  }

  /** One read handle for the archive's life (small reads are then one pread each); closed by close(). */
  private handle(): Promise<fsp.FileHandle> {
    if (this.closed) return Promise.reject(new ExplorerError('INTERNAL', `${this.label} was already closed; open the image again.`));
    this.fh ??= fsp.open(this.file, 'r');
    return this.fh;
  }

  /** The scan's reads: synchronous preads (a 512-byte header costs microseconds; a thread-pool round trip costs more). */
  private readAtSync(fd: number, offset: number, length: number): Buffer {
    const buf = Buffer.alloc(length);
    let got = 0;
    while (got < length) {
      const n = readSync(fd, buf, got, length - got, offset + got);
      if (n === 0) break;
      got += n;
    }
    this.bytesScanned += got;
    return got === length ? buf : buf.subarray(0, got);
  }

  private truncated(what: string, offset: number): ExplorerError {
    return new ExplorerError(
      'ARCHIVE_TRUNCATED',
      `${this.label} ends in the middle of ${what} (at byte ${offset} of ${this.fileSize}): the archive is truncated, probably an interrupted download or copy. Copy or save it again.`,
      { path: this.label, offset },
    );
  }

  private async scan(fh: fsp.FileHandle): Promise<void> {
    const reader = new TarHeaderReader();
    let offset = 0;
    let headers = 0;
    for (;;) {
      // A huge archive (thousands of entries) still lets the event loop breathe.
      if (++headers % 1024 === 0) await new Promise<void>((r) => setImmediate(r));
      if (offset >= this.fileSize) break; // no end-of-archive blocks: tolerated, like GNU tar
      if (offset + BLOCK > this.fileSize) {
        if (offset === 0) {
          throw new ExplorerError('ARCHIVE_INVALID', `${this.label} is not a tar archive (it is ${this.fileSize} bytes, shorter than one tar header). Choose a docker save or OCI archive (.tar, .tar.gz) or an OCI layout folder.`, { path: this.label, offset, notTar: true });
        }
        throw this.truncated('a header', offset);
      }
      let step: Step;
      try {
        step = reader.header(this.readAtSync(fh.fd, offset, BLOCK), offset);
      } catch (e) {
        if (!(e instanceof TarFatal)) throw e;
        if (e.notTar) throw new ExplorerError('ARCHIVE_INVALID', `${this.label} is not a tar archive (its first 512 bytes are not a tar header). Choose a docker save or OCI archive (.tar, .tar.gz) or an OCI layout folder.`, { path: this.label, offset, notTar: true });
        throw new ExplorerError('ARCHIVE_INVALID', `${this.label} has a ${e.reason}: the archive is corrupt. Copy or save it again.`, { path: this.label, offset });
      }
      if (step.kind === 'end') break;
      const dataOffset = offset + BLOCK;
      const dataSize = step.kind === 'meta' ? step.size : step.dataSize;
      if (dataOffset + dataSize > this.fileSize) throw this.truncated('the data of an entry', dataOffset);
      offset = dataOffset + Math.ceil(dataSize / BLOCK) * BLOCK;
      if (step.kind === 'meta') {
        if (step.keep) reader.meta(this.readAtSync(fh.fd, dataOffset, dataSize));
        continue;
      }
      if (step.bad) {
        if (this.problems.length < MAX_PROBLEMS) this.problems.push(step.bad);
        continue;
      }
      const h = step.entry!;
      const type: TarEntryType = h.type === 'file' || h.type === 'hardlink' || h.type === 'symlink' || h.type === 'dir' ? h.type : 'other';
      const norm = normalizeRel(h.name);
      if (!norm) continue;
      const entry: TarEntry = { name: norm, type: h.name.endsWith('/') && type === 'file' ? 'dir' : type, size: step.dataSize, offset: dataOffset };
      if (type === 'hardlink' || type === 'symlink') entry.linkname = h.linkname;
      // Duplicates: the last entry wins, as when extracting.
      this.entries.delete(norm);
      this.entries.set(norm, entry);
    }
  }

  /** The regular-file entry `rel` names, following symlinks (relative to the link's folder) and hard links. */
  resolve(rel: string): TarEntry | undefined {
    let name = normalizeRel(rel);
    for (let hop = 0; hop <= MAX_LINK_HOPS; hop++) {
      const e = this.entries.get(name);
      if (!e) {
        // Maybe a folder on the way is a symlink (a -> b, then a/file).
        const via = this.throughParentLink(name);
        if (via === undefined) return undefined;
        name = via;
        continue;
      }
      if (e.type === 'file') return e;
      if (e.type === 'symlink' && e.linkname !== undefined) {
        name = linkTarget(name, e.linkname);
        continue;
      }
      if (e.type === 'hardlink' && e.linkname !== undefined) {
        name = normalizeRel(e.linkname);
        continue;
      }
      return undefined;
    }
    return undefined; // a link loop
  }

  /** `name` with its first symlinked parent folder replaced by the link target, or undefined. */
  private throughParentLink(name: string): string | undefined {
    const segs = name.split('/');
    for (let i = 1; i < segs.length; i++) {
      const head = segs.slice(0, i).join('/');
      const e = this.entries.get(head);
      if (e?.type === 'symlink' && e.linkname !== undefined) return normalizeRel(`${linkTarget(head, e.linkname)}/${segs.slice(i).join('/')}`);
    }
    return undefined;
  }

  async stat(rel: string): Promise<number | undefined> {
    return this.resolve(rel)?.size;
  }

  async readFile(rel: string, max = Infinity): Promise<Buffer> {
    const e = this.resolve(rel);
    if (!e) throw missing(this.label, rel);
    if (e.size > max) throw new ExplorerError('TOO_LARGE', `${rel} in ${this.label} is ${e.size} bytes, more than the ${max} allowed for it.`, { path: rel });
    return this.readEntry(e, rel, 0, e.size);
  }

  /** Bytes [start, end) of a file, clamped to its size: for magic bytes and other small peeks. */
  async readRange(rel: string, start: number, end: number): Promise<Buffer> {
    const e = this.resolve(rel);
    if (!e) throw missing(this.label, rel);
    const s = Math.min(Math.max(0, start), e.size);
    return this.readEntry(e, rel, s, Math.min(Math.max(s, end), e.size));
  }

  private async readEntry(e: TarEntry, rel: string, start: number, end: number): Promise<Buffer> {
    const fh = await this.handle();
    const buf = Buffer.alloc(end - start);
    const small = buf.length <= SMALL_READ; // one synchronous pread beats a thread-pool round trip
    let got = 0;
    while (got < buf.length) {
      const n = small ? readSync(fh.fd, buf, got, buf.length - got, e.offset + start + got) : (await fh.read(buf, got, buf.length - got, e.offset + start + got)).bytesRead;
      if (n === 0) throw this.truncated(rel, e.offset + start + got);
      got += n;
    }
    return buf;
  }

  async createReadStream(rel: string, opts: { start?: number; end?: number; signal?: AbortSignal } = {}): Promise<Readable> {
    const e = this.resolve(rel);
    if (!e) throw missing(this.label, rel);
    const start = Math.min(Math.max(0, opts.start ?? 0), e.size);
    const end = Math.min(Math.max(start, opts.end ?? e.size), e.size);
    if (end <= start) return Readable.from([]);
    if (end - start <= SMALL_READ) {
      // Manifests, configs, indexes: one pread on the archive's open handle instead of a new stream (open, reads, close).
      if (opts.signal?.aborted) throw new ExplorerError('CANCELLED', 'Reading was cancelled.');
      return Readable.from([await this.readEntry(e, rel, start, end)]);
    }
    const o: { start: number; end: number; signal?: AbortSignal } = { start: e.offset + start, end: e.offset + end - 1 };
    if (opts.signal) o.signal = opts.signal;
    return createReadStream(this.file, o);
  }

  async list(): Promise<string[]> {
    return [...this.entries.keys()].filter((n) => this.resolve(n) !== undefined);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const fh = this.fh;
    this.fh = undefined;
    if (fh) await (await fh.catch(() => undefined))?.close();
    if (this.opts.cleanup) {
      liveTempDirs.delete(this.opts.cleanup);
      await fsp.rm(this.opts.cleanup, { recursive: true, force: true });
    }
  }
}

/** What the tar parser refused in an archive read in place (none for a folder), as warnings for the source. */
export function archiveWarnings(vfs: Vfs): string[] {
  if (!(vfs instanceof TarVfs)) return [];
  return vfs.problems.map((b) => `Archive entry "${b.name}" at byte ${b.offset} was skipped: ${b.reason}.`);
}

/** A symlink's target as an archive path: relative to the link's folder, absolute ones from the archive root. */
function linkTarget(linkPath: string, linkname: string): string {
  if (linkname.startsWith('/')) return normalizeRel(linkname);
  const dir = path.posix.dirname(linkPath);
  return normalizeRel(`${dir === '.' ? '' : dir}/${linkname}`);
}

// ---- compressed outer archives -------------------------------------------------------------

/** The compression of a file by its first bytes (the one sniffer in tar/compression.ts). */
export async function sniffFile(file: string): Promise<Compression> {
  const fh = await fsp.open(file, 'r');
  try {
    const b = Buffer.alloc(SNIFF_BYTES);
    const { bytesRead } = await fh.read(b, 0, SNIFF_BYTES, 0);
    return sniffCompression(b.subarray(0, bytesRead));
  } finally {
    await fh.close();
  }
}

/** Past this many decompressed bytes, a ratio over MAX_RATIO is a bomb (deflate tops out at 1,032:1). */
const RATIO_GRACE = 1024 ** 3;
const MAX_RATIO = 1000;

/**
 * Opens a tar archive for random access. A gzip or zstd compressed archive (by magic bytes) is
 * decompressed once into a temp file under os.tmpdir(), deleted by close(): random access into a
 * compressed stream would mean decompressing again for every read. The copy is bounded: by `maxBytes`,
 * by the temp disk's free space less a reserve (max(1 GiB, 10 %)), and by an expansion ratio (a bomb);
 * past any of them it stops with a clear error and the partial copy is removed.
 */
export async function openTarVfs(file: string, opts: { signal?: AbortSignal; maxBytes?: number; maxRatio?: number; ratioGrace?: number } = {}): Promise<TarVfs> {
  const st = await fsp.stat(file).catch(() => undefined);
  if (!st) throw new ExplorerError('SOURCE_NOT_FOUND', `${file} does not exist. Check the path and try again.`, { path: file });
  const kind = st.isFile() ? await sniffFile(file) : 'none';
  if (kind === 'none') return TarVfs.open(file);
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'oci-explorer-'));
  trackTempDir(dir);
  const out = path.join(dir, 'archive.tar');
  // Never fill the disk: stop before the copy outgrows the free space (a bomb, or just too big).
  const limit = Math.min(opts.maxBytes ?? Infinity, await freeBytes(dir));
  let bytesIn = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _e, cb: TransformCallback) {
      bytesIn += chunk.length;
      cb(null, chunk);
    },
  });
  try {
    const decomp = kind === 'gzip' ? zlib.createGunzip() : zstdDecompressor();
    await pipeline(createReadStream(file), counter, decomp, byteLimit(limit, { maxRatio: opts.maxRatio ?? MAX_RATIO, ratioGrace: opts.ratioGrace ?? RATIO_GRACE }, () => bytesIn, file, dir), createWriteStream(out, { flags: 'wx', mode: 0o600 }), opts.signal ? { signal: opts.signal } : {});
  } catch (e) {
    liveTempDirs.delete(dir);
    await fsp.rm(dir, { recursive: true, force: true });
    if ((e as { name?: string }).name === 'AbortError') throw new ExplorerError('CANCELLED', 'Opening the archive was cancelled.', undefined, { cause: e });
    if (e instanceof ExplorerError) throw e;
    throw new ExplorerError('ARCHIVE_INVALID', `${file} looks ${kind}-compressed but could not be decompressed (${(e as Error).message}): the file is damaged or truncated. Copy it again.`, { path: file }, { cause: e });
  }
  try {
    return await TarVfs.open(out, { label: file, cleanup: dir });
  } catch (e) {
    liveTempDirs.delete(dir);
    await fsp.rm(dir, { recursive: true, force: true });
    throw e;
  }
}

/** Decompressed copies not yet closed: removed when the process exits, so a crash-free exit leaves no litter. */
const liveTempDirs = new Set<string>();
let exitHook = false;
function trackTempDir(dir: string): void {
  liveTempDirs.add(dir);
  if (exitHook) return;
  exitHook = true;
  process.once('exit', () => {
    for (const d of liveTempDirs) rmSync(d, { recursive: true, force: true });
  });
}

/** Free bytes on the temp disk less a reserve (max(1 GiB, 10 % of the volume)); Infinity when the platform cannot say. */
async function freeBytes(dir: string): Promise<number> {
  try {
    const s = await fsp.statfs(dir);
    return Math.max(0, s.bavail * s.bsize - Math.max(1024 ** 3, 0.1 * s.blocks * s.bsize));
  } catch {
    return Infinity;
  }
}

function byteLimit(limit: number, ratio: { maxRatio: number; ratioGrace: number }, bytesIn: () => number, file: string, dir: string): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, cb: TransformCallback) {
      seen += chunk.length;
      if (seen > ratio.ratioGrace && seen > bytesIn() * ratio.maxRatio) {
        cb(new ExplorerError('DECOMPRESSION_BOMB', `${file} expands more than ${ratio.maxRatio}:1 past ${ratio.ratioGrace} bytes, so decompressing it was stopped (a decompression bomb or a corrupt file). Decompress it yourself if you trust it, and open the .tar.`, { path: file }));
        return;
      }
      if (seen > limit) {
        cb(new ExplorerError('TOO_LARGE', `${file} decompresses to more than the ${limit} bytes allowed for its temporary copy in ${path.dirname(dir)} (free space less a reserve): free some space or point TMPDIR at a bigger disk, or decompress it yourself and open the .tar.`, { path: file, limit }));
        return;
      }
      cb(null, chunk);
    },
  });
}
