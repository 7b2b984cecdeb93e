import { createReadStream, createWriteStream, promises as fsp, readSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import { ExplorerError } from '../errors.js';
import { missing, normalizeRel, type Vfs } from './vfs.js';

// A tar archive read in place: one pass over the 512-byte headers (seeking past entry data), then
// random access by entry offset. Opening a multi-GB docker save therefore costs one small read per
// entry, not a read of the layers.

const BLOCK = 512;
/** PAX and GNU long-name records are metadata; anything bigger is hostile or broken. */
const MAX_META_BYTES = 1024 * 1024;
const MAX_LINK_HOPS = 40;

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

interface Pax {
  path?: string;
  linkpath?: string;
  size?: number;
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
    let offset = 0;
    let pax: Pax = {};
    let globalPax: Pax = {};
    let longName: string | undefined;
    let longLink: string | undefined;
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
      const h = this.readAtSync(fh.fd, offset, BLOCK);
      if (h.every((b) => b === 0)) break; // end-of-archive marker
      checkHeader(h, offset, this.label);
      const typeflag = String.fromCharCode(h[156] ?? 0);
      let size = parseNumeric(h.subarray(124, 136), offset, this.label);
      const dataOffset = offset + BLOCK;
      // Link, directory and device entries carry no data whatever their size field says (as Go's archive/tar).
      const headerOnly = '123456'.includes(typeflag);
      if (pax.size !== undefined) size = pax.size;
      else if (globalPax.size !== undefined) size = globalPax.size;
      const dataSize = headerOnly ? 0 : size;
      if (dataOffset + dataSize > this.fileSize) throw this.truncated(`the data of an entry`, dataOffset);
      const next = dataOffset + Math.ceil(dataSize / BLOCK) * BLOCK;

      if (typeflag === 'x' || typeflag === 'g' || typeflag === 'L' || typeflag === 'K') {
        if (size > MAX_META_BYTES) {
          throw new ExplorerError('ARCHIVE_INVALID', `${this.label} has a ${size}-byte extended header at byte ${offset}, far more than any real archive needs: the file is damaged or hostile.`, { path: this.label, offset });
        }
        const data = this.readAtSync(fh.fd, dataOffset, size);
        if (typeflag === 'x') pax = parsePax(data, offset, this.label);
        else if (typeflag === 'g') globalPax = { ...globalPax, ...parsePax(data, offset, this.label) };
        else if (typeflag === 'L') longName = cString(data);
        else longLink = cString(data);
        offset = next;
        continue;
      }

      let name = longName ?? cString(h.subarray(0, 100));
      if (longName === undefined && isPosixUstar(h)) {
        const prefix = cString(h.subarray(345, 500));
        if (prefix) name = `${prefix}/${name}`;
      }
      if (pax.path !== undefined) name = pax.path;
      let linkname = longLink ?? cString(h.subarray(157, 257));
      if (pax.linkpath !== undefined) linkname = pax.linkpath;
      else if (globalPax.linkpath !== undefined && longLink === undefined) linkname = globalPax.linkpath;

      const type: TarEntryType =
        typeflag === '0' || typeflag === '\0' || typeflag === '7' ? 'file'
        : typeflag === '1' ? 'hardlink'
        : typeflag === '2' ? 'symlink'
        : typeflag === '5' ? 'dir'
        : 'other';
      const norm = normalizeRel(name);
      if (norm) {
        const entry: TarEntry = { name: norm, type: name.endsWith('/') && type === 'file' ? 'dir' : type, size: dataSize, offset: dataOffset };
        if (type === 'hardlink' || type === 'symlink') entry.linkname = linkname;
        // Duplicates: the last entry wins, as when extracting.
        this.entries.delete(norm);
        this.entries.set(norm, entry);
      }
      pax = {};
      longName = undefined;
      longLink = undefined;
      offset = next;
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

/** A symlink's target as an archive path: relative to the link's folder, absolute ones from the archive root. */
function linkTarget(linkPath: string, linkname: string): string {
  if (linkname.startsWith('/')) return normalizeRel(linkname);
  const dir = path.posix.dirname(linkPath);
  return normalizeRel(`${dir === '.' ? '' : dir}/${linkname}`);
}

function cString(b: Uint8Array): string {
  const i = b.indexOf(0);
  return Buffer.from(i < 0 ? b : b.subarray(0, i)).toString('utf8');
}

function isPosixUstar(h: Buffer): boolean {
  return h.toString('latin1', 257, 263) === 'ustar\0';
}

function checksumOk(h: Buffer): boolean {
  const stored = parseOctal(h.subarray(148, 156));
  if (stored === undefined) return false;
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const b = i >= 148 && i < 156 ? 0x20 : (h[i] ?? 0);
    unsigned += b;
    signed += b > 127 ? b - 256 : b;
  }
  return stored === unsigned || stored === signed;
}

function checkHeader(h: Buffer, offset: number, label: string): void {
  if (checksumOk(h)) return;
  // A first block without ustar magic and without a valid checksum: this is not a tar at all.
  if (offset === 0 && h.toString('latin1', 257, 262) !== 'ustar') {
    throw new ExplorerError('ARCHIVE_INVALID', `${label} is not a tar archive (its first 512 bytes are not a tar header). Choose a docker save or OCI archive (.tar, .tar.gz) or an OCI layout folder.`, { path: label, offset, notTar: true });
  }
  throw new ExplorerError('ARCHIVE_INVALID', `${label} has a damaged tar header at byte ${offset} (checksum mismatch): the archive is corrupt. Copy or save it again.`, { path: label, offset });
}

function parseOctal(b: Uint8Array): number | undefined {
  const s = Buffer.from(b).toString('latin1').replace(/\0.*$/s, '').trim();
  if (s === '') return 0;
  if (!/^[0-7]+$/.test(s)) return undefined;
  return parseInt(s, 8);
}

/** Numeric header field: octal, or base-256 (high bit set) for sizes over 8 GiB. */
function parseNumeric(b: Buffer, offset: number, label: string): number {
  if (((b[0] ?? 0) & 0x80) !== 0) {
    if (((b[0] ?? 0) & 0x40) !== 0) throw badNumber(offset, label); // negative
    let v = (b[0] ?? 0) & 0x3f;
    for (let i = 1; i < b.length; i++) v = v * 256 + (b[i] ?? 0);
    if (!Number.isSafeInteger(v)) throw badNumber(offset, label);
    return v;
  }
  const v = parseOctal(b);
  if (v === undefined) throw badNumber(offset, label);
  return v;
}

function badNumber(offset: number, label: string): ExplorerError {
  return new ExplorerError('ARCHIVE_INVALID', `${label} has an unreadable size field in the tar header at byte ${offset}: the archive is corrupt. Copy or save it again.`, { path: label, offset });
}

/** PAX records: "<len> <key>=<value>\n"; we need path, linkpath and size. */
function parsePax(data: Buffer, offset: number, label: string): Pax {
  const out: Pax = {};
  let i = 0;
  while (i < data.length) {
    if (data[i] === 0) break;
    const sp = data.indexOf(0x20, i);
    const len = sp < 0 ? NaN : Number(data.toString('latin1', i, sp));
    if (!Number.isInteger(len) || len <= 0 || i + len > data.length) {
      throw new ExplorerError('ARCHIVE_INVALID', `${label} has a malformed PAX extended header at byte ${offset}: the archive is corrupt. Copy or save it again.`, { path: label, offset });
    }
    const rec = data.toString('utf8', sp + 1, i + len - 1);
    const eq = rec.indexOf('=');
    if (eq > 0) {
      const key = rec.slice(0, eq);
      const value = rec.slice(eq + 1);
      if (key === 'path') out.path = value;
      else if (key === 'linkpath') out.linkpath = value;
      else if (key === 'size' && /^\d+$/.test(value)) out.size = Number(value);
    }
    i += len;
  }
  return out;
}

// ---- compressed outer archives -------------------------------------------------------------

export type OuterCompression = 'gzip' | 'zstd' | 'none';

export async function sniffCompression(file: string): Promise<OuterCompression> {
  const fh = await fsp.open(file, 'r');
  try {
    const b = Buffer.alloc(4);
    const { bytesRead } = await fh.read(b, 0, 4, 0);
    if (bytesRead >= 2 && b[0] === 0x1f && b[1] === 0x8b) return 'gzip';
    if (bytesRead === 4 && b.readUInt32LE(0) === 0xfd2fb528) return 'zstd';
    return 'none';
  } finally {
    await fh.close();
  }
}

/** zstd decompression: zlib's when this Node has it (Electron's does), else the pure-JS fzstd. */
async function zstdDecompressor(): Promise<Transform> {
  const z = zlib as unknown as { createZstdDecompress?: () => Transform };
  if (typeof z.createZstdDecompress === 'function') return z.createZstdDecompress();
  const { Decompress } = await import('fzstd');
  let push: ((c: Buffer) => void) | undefined;
  const d = new Decompress((chunk) => push?.(Buffer.from(chunk)));
  return new Transform({
    transform(chunk: Buffer, _enc, cb: TransformCallback) {
      push = (c) => this.push(c);
      try {
        d.push(chunk);
        cb();
      } catch (e) {
        cb(e as Error);
      }
    },
    flush(cb: TransformCallback) {
      push = (c) => this.push(c);
      try {
        d.push(new Uint8Array(0), true);
        cb();
      } catch (e) {
        cb(e as Error);
      }
    },
  });
}

/**
 * Opens a tar archive for random access. A gzip or zstd compressed archive (by magic bytes) is
 * decompressed once into a temp file under os.tmpdir(), deleted by close(): random access into a
 * compressed stream would mean decompressing again for every read.
 */
export async function openTarVfs(file: string, opts: { signal?: AbortSignal; maxBytes?: number } = {}): Promise<TarVfs> {
  const st = await fsp.stat(file).catch(() => undefined);
  if (!st) throw new ExplorerError('SOURCE_NOT_FOUND', `${file} does not exist. Check the path and try again.`, { path: file });
  const kind = st.isFile() ? await sniffCompression(file) : 'none';
  if (kind === 'none') return TarVfs.open(file);
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'oci-explorer-'));
  trackTempDir(dir);
  const out = path.join(dir, 'archive.tar');
  // Never fill the disk: stop before the copy outgrows the free space (a bomb, or just too big).
  const limit = opts.maxBytes ?? (await freeBytes(dir));
  try {
    const decomp = kind === 'gzip' ? zlib.createGunzip() : await zstdDecompressor();
    await pipeline(createReadStream(file), decomp, byteLimit(limit, file, dir), createWriteStream(out), opts.signal ? { signal: opts.signal } : {});
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

/** Free bytes on the temp disk, minus a margin; Infinity when the platform cannot say. */
async function freeBytes(dir: string): Promise<number> {
  try {
    const s = await fsp.statfs(dir);
    return Math.max(0, s.bavail * s.bsize - 64 * 1024 * 1024);
  } catch {
    return Infinity;
  }
}

function byteLimit(limit: number, file: string, dir: string): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, cb: TransformCallback) {
      seen += chunk.length;
      if (seen > limit) {
        cb(new ExplorerError('TOO_LARGE', `${file} decompresses to more than the ${limit} bytes free for its temporary copy in ${path.dirname(dir)}: free some space or point TMPDIR at a bigger disk, or decompress it yourself and open the .tar.`, { path: file, limit }));
        return;
      }
      cb(null, chunk);
    },
  });
}
