import { isUtf8 } from 'node:buffer';
import { ExplorerError } from '../errors.js';
import type { EntryType } from './types.js';

// A push-based tar reader (ustar, GNU long names, PAX, base-256 numbers) that works chunk by chunk
// with no per-entry streams, and knows the offset of every entry's data in the stream: the index
// needs offsets for random reads, and one pass over the bytes is what makes indexing zlib-speed.

export interface TarHeader {
  /** Raw name bytes decoded (per component: UTF-8, else Latin-1). Not normalised. */
  name: string;
  /** The last component of the name was not UTF-8 (read as Latin-1). */
  nonUtf8: boolean;
  type: EntryType | 'unknown';
  typeflag: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  linkname: string;
  devmajor: number;
  devminor: number;
  xattrs?: Record<string, string>;
  /** Offset of the data (after headers) in the stream. */
  offset: number;
  /** Offset of the first header block of this entry (incl. PAX/GNU headers). */
  headerOffset: number;
}

export interface TarSink {
  entry(h: TarHeader): void;
  /** Content bytes of the current entry (files only are fed; others are skipped). */
  data(chunk: Buffer): void;
  entryEnd(): void;
}

const BLOCK = 512;
const TYPES: Record<string, EntryType> = { '0': 'file', '\0': 'file', '7': 'file', '1': 'hardlink', '2': 'symlink', '3': 'char', '4': 'block', '5': 'dir', '6': 'fifo' };

/**
 * Names are bytes. Each path component is read as UTF-8 when it is valid UTF-8, else as Latin-1
 * (lossless), so a directory keeps one spelling whatever its children are named.
 * `nonUtf8` says the last component was read as Latin-1 (extraction writes those bytes back).
 */
export function decodeName(b: Buffer): { s: string; nonUtf8: boolean } {
  if (isUtf8(b)) return { s: b.toString('utf8'), nonUtf8: false };
  const parts: string[] = [];
  let last = false;
  let start = 0;
  for (let i = 0; i <= b.length; i++) {
    if (i === b.length || b[i] === 0x2f) {
      const c = b.subarray(start, i);
      if (c.length) {
        last = !isUtf8(c);
        parts.push(c.toString(last ? 'latin1' : 'utf8'));
      } else parts.push('');
      start = i + 1;
    }
  }
  return { s: parts.join('/'), nonUtf8: last };
}

function cstr(buf: Buffer, off: number, len: number): Buffer {
  let end = off;
  const max = off + len;
  while (end < max && buf[end] !== 0) end++;
  return buf.subarray(off, end);
}

function num(buf: Buffer, off: number, len: number): number {
  const first = buf[off]!;
  if (first & 0x80) {
    // base-256 (GNU): big-endian two's complement; positive values only make sense here.
    let v = first & 0x7f;
    for (let i = 1; i < len; i++) v = v * 256 + buf[off + i]!;
    return v;
  }
  let v = 0;
  let i = off;
  const end = off + len;
  while (i < end && (buf[i] === 0x20 || buf[i] === 0)) i++;
  for (; i < end; i++) {
    const c = buf[i]!;
    if (c === 0 || c === 0x20) break;
    if (c < 0x30 || c > 0x37) return NaN;
    v = v * 8 + (c - 0x30);
  }
  return v;
}

function checksumOk(h: Buffer): boolean {
  const want = num(h, 148, 8);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : h[i]!;
  if (sum === want) return true;
  // Some old tars computed it with signed chars.
  let ssum = 0;
  for (let i = 0; i < BLOCK; i++) ssum += i >= 148 && i < 156 ? 32 : (h[i]! << 24) >> 24;
  return ssum === want;
}

function isZero(h: Buffer): boolean {
  for (let i = 0; i < BLOCK; i++) if (h[i] !== 0) return false;
  return true;
}

interface Pax {
  path?: Buffer;
  linkpath?: Buffer;
  size?: number;
  uid?: number;
  gid?: number;
  mtime?: number;
  xattrs?: Record<string, string>;
}

function parsePax(buf: Buffer, into: Pax): void {
  let i = 0;
  while (i < buf.length) {
    const sp = buf.indexOf(0x20, i);
    if (sp < 0) break;
    const len = parseInt(buf.toString('ascii', i, sp), 10);
    if (!(len > 0) || i + len > buf.length) break;
    const rec = buf.subarray(sp + 1, i + len - 1); // drop trailing \n
    const eq = rec.indexOf(0x3d);
    if (eq > 0) {
      const key = rec.toString('utf8', 0, eq);
      const val = rec.subarray(eq + 1);
      if (key === 'path') into.path = Buffer.from(val);
      else if (key === 'linkpath') into.linkpath = Buffer.from(val);
      else if (key === 'size') into.size = Number(val.toString());
      else if (key === 'uid') into.uid = Number(val.toString());
      else if (key === 'gid') into.gid = Number(val.toString());
      else if (key === 'mtime') into.mtime = Math.floor(Number(val.toString()));
      else if (key.startsWith('SCHILY.xattr.')) (into.xattrs ??= {})[key.slice(13)] = val.toString('latin1');
      else if (key.startsWith('LIBARCHIVE.xattr.')) (into.xattrs ??= {})[decodeURIComponent(key.slice(17))] = Buffer.from(val.toString(), 'base64').toString('latin1');
    }
    i += len;
  }
}

const enum S {
  Header,
  Data,
  Meta,
  Pad,
  End,
}

/** Feeds tar bytes; calls the sink per entry. Throws LAYER_TAR_INVALID on a corrupt header or a truncated tar at end(). */
export class TarScanner {
  /** Bytes consumed so far (= offset in the uncompressed stream). */
  pos = 0;
  /** True once the end-of-archive marker was seen (data after it is ignored). */
  ended = false;
  private state = S.Header;
  private hdr = Buffer.alloc(BLOCK);
  private hdrFill = 0;
  private remaining = 0;
  private pad = 0;
  private meta: Buffer[] = [];
  private metaKind = '';
  private pax: Pax = {};
  private globalPax: Pax = {};
  private longName: Buffer | undefined;
  private longLink: Buffer | undefined;
  private entryStart = -1;
  private feedData = false;
  entries = 0;

  constructor(
    private readonly sink: TarSink,
    private readonly label: string,
  ) {}

  write(chunk: Buffer): void {
    let i = 0;
    const n = chunk.length;
    while (i < n) {
      switch (this.state) {
        case S.End:
          this.pos += n - i;
          return;
        case S.Header: {
          const take = Math.min(BLOCK - this.hdrFill, n - i);
          chunk.copy(this.hdr, this.hdrFill, i, i + take);
          this.hdrFill += take;
          i += take;
          this.pos += take;
          if (this.hdrFill === BLOCK) {
            this.hdrFill = 0;
            this.onHeader(this.pos - BLOCK);
          }
          break;
        }
        case S.Data:
        case S.Meta: {
          const take = Math.min(this.remaining, n - i);
          const part = chunk.subarray(i, i + take);
          if (this.state === S.Meta) this.meta.push(Buffer.from(part));
          else if (this.feedData) this.sink.data(part);
          i += take;
          this.pos += take;
          this.remaining -= take;
          if (this.remaining === 0) this.afterData();
          break;
        }
        case S.Pad: {
          const take = Math.min(this.pad, n - i);
          i += take;
          this.pos += take;
          this.pad -= take;
          if (this.pad === 0) this.state = S.Header;
          break;
        }
      }
    }
  }

  /** Call at the end of the stream. A tar cut inside an entry is an error; a missing end marker is tolerated. */
  end(): void {
    if (this.state === S.End) return;
    if (this.state === S.Header && this.hdrFill === 0) return;
    throw new ExplorerError('LAYER_TAR_INVALID', `The tar stream of ${this.label} ends in the middle of an entry (at byte ${this.pos}): the layer is truncated. Entries before it are shown.`, { offset: this.pos });
  }

  private startBody(size: number, state: S.Data | S.Meta): void {
    this.remaining = size;
    this.pad = (BLOCK - (size % BLOCK)) % BLOCK;
    this.state = state;
    if (size === 0) this.afterData();
  }

  private afterData(): void {
    if (this.state === S.Meta) {
      const body = Buffer.concat(this.meta);
      this.meta = [];
      if (this.metaKind === 'x') parsePax(body, this.pax);
      else if (this.metaKind === 'g') parsePax(body, this.globalPax);
      else if (this.metaKind === 'L') this.longName = cstr(body, 0, body.length);
      else if (this.metaKind === 'K') this.longLink = cstr(body, 0, body.length);
    } else {
      this.sink.entryEnd();
    }
    this.state = this.pad ? S.Pad : S.Header;
  }

  private onHeader(at: number): void {
    const h = this.hdr;
    if (isZero(h)) {
      this.state = S.End;
      this.ended = true;
      return;
    }
    if (!checksumOk(h)) {
      throw new ExplorerError('LAYER_TAR_INVALID', `${this.label} has a corrupt tar header at byte ${at} (bad checksum): the layer is damaged. Entries before it are shown.`, { offset: at });
    }
    if (this.entryStart < 0) this.entryStart = at;
    const flag = String.fromCharCode(h[156]!);
    const size = num(h, 124, 12);
    if (!Number.isFinite(size) || size < 0) {
      throw new ExplorerError('LAYER_TAR_INVALID', `${this.label} has a tar header with an unreadable size at byte ${at}: the layer is damaged.`, { offset: at });
    }
    if (flag === 'x' || flag === 'g' || flag === 'L' || flag === 'K') {
      if (size > 16 * 1024 * 1024) {
        throw new ExplorerError('LAYER_TAR_INVALID', `${this.label} has a ${size}-byte tar metadata header at byte ${at}, far more than any real name or attribute list: the layer is damaged or hostile.`, { offset: at });
      }
      this.metaKind = flag;
      this.startBody(size, S.Meta);
      return;
    }
    const magic = h.toString('latin1', 257, 263);
    const ustar = magic === 'ustar\0';
    let nameBytes = cstr(h, 0, 100);
    if (ustar && h[345] !== 0) nameBytes = Buffer.concat([cstr(h, 345, 155), Buffer.from('/'), nameBytes]);
    const pax = this.pax;
    if (this.longName) nameBytes = this.longName;
    if (pax.path ?? this.globalPax.path) nameBytes = (pax.path ?? this.globalPax.path)!;
    let linkBytes = this.longLink ?? cstr(h, 157, 100);
    if (pax.linkpath) linkBytes = pax.linkpath;
    const name = decodeName(nameBytes);
    const link = decodeName(linkBytes);
    const type = TYPES[flag] ?? (flag === 'S' ? 'file' : 'unknown');
    const realSize = pax.size ?? size;
    const header: TarHeader = {
      name: name.s,
      nonUtf8: name.nonUtf8,
      type,
      typeflag: flag,
      mode: num(h, 100, 8) & 0o7777,
      uid: pax.uid ?? this.globalPax.uid ?? num(h, 108, 8),
      gid: pax.gid ?? this.globalPax.gid ?? num(h, 116, 8),
      size: type === 'dir' || type === 'symlink' || type === 'hardlink' ? 0 : realSize,
      mtime: pax.mtime ?? num(h, 136, 12),
      linkname: link.s,
      devmajor: num(h, 329, 8) || 0,
      devminor: num(h, 337, 8) || 0,
      offset: at + BLOCK,
      headerOffset: this.entryStart,
    };
    if (pax.xattrs) header.xattrs = pax.xattrs;
    if (!Number.isFinite(header.mode)) header.mode = 0;
    if (!Number.isFinite(header.uid)) header.uid = 0;
    if (!Number.isFinite(header.gid)) header.gid = 0;
    if (!Number.isFinite(header.mtime)) header.mtime = 0;
    this.pax = {};
    this.longName = undefined;
    this.longLink = undefined;
    this.entryStart = -1;
    this.entries++;
    this.sink.entry(header);
    this.feedData = type === 'file';
    this.startBody(realSize, S.Data);
  }
}
