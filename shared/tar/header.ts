import { decodeName } from './names.js';

// The one tar header parser (ustar, GNU long names/links and base-256 numbers, PAX local and global
// records), used by both tar readers: sources/tarfs.ts (archives read in place) and layers/tarscan.ts
// (layer tars streamed into the index). Every field is validated here, once:
// - what the reader needs to find the next header (checksum, size) is fatal when bad (TarFatal);
// - anything else wrong with an entry (uid/gid ≥ 2^32, mtime out of range, NUL in a PAX path, an
//   unreadable PAX record, a name longer than MAX_NAME_BYTES…) makes that entry `bad`: the reader skips
//   it and reports the reason with its offset; the entries after it are read as usual.
// Memory per entry is bounded: a metadata body over MAX_META_BYTES is skipped unread.

export const BLOCK = 512;
/** PAX and GNU long-name bodies are metadata; bigger ones are skipped unread (and the entry is bad). */
export const MAX_META_BYTES = 1024 * 1024;
/** Longest name (or link target) kept: far past any OS path limit; longer ones make the entry bad. */
export const MAX_NAME_BYTES = 16 * 1024;
/** Sizes up to 2^53 are exact in a JS number. */
const MAX_SIZE = Number.MAX_SAFE_INTEGER;
const MAX_ID = 2 ** 32 - 1;
/** Year 1 to year 9999: what file systems and Date take; anything else is not a time. */
const MIN_MTIME = -62135596800;
const MAX_MTIME = 253402300799;
/** Shown for a bad entry: the start of its name (a hostile name can be megabytes). */
const DISPLAY_NAME = 200;

export type TarEntryType = 'file' | 'dir' | 'symlink' | 'hardlink' | 'char' | 'block' | 'fifo' | 'unknown';

export interface TarHeader {
  /** The entry's name (bytes decoded reversibly, see names.ts); not normalised. */
  name: string;
  type: TarEntryType;
  typeflag: string;
  /** Permission bits incl. setuid/setgid/sticky. */
  mode: number;
  uid: number;
  gid: number;
  /** Content bytes (0 for links, folders and devices, whatever the header says: as Go's archive/tar). */
  size: number;
  mtime: number;
  linkname: string;
  devmajor: number;
  devminor: number;
  /** Extended attributes, values as one char per byte (latin1). */
  xattrs?: Record<string, string>;
  /** Offset of the first data byte in the tar. */
  offset: number;
  /** Offset of the entry's first header block (its PAX or GNU headers included). */
  headerOffset: number;
}

/** An entry that cannot be taken as it is: skipped by the readers and reported. */
export interface BadEntry {
  /** Offset of the entry's first header block. */
  offset: number;
  /** The start of its name, for the report (escaped by whoever displays it). */
  name: string;
  reason: string;
}

/** A header the reader cannot get past (bad checksum, unreadable size): the rest of the tar is unreadable. */
export class TarFatal extends Error {
  constructor(
    readonly reason: string,
    readonly offset: number,
    /** The very first block is no tar header at all. */
    readonly notTar = false,
  ) {
    super(reason);
  }
}

export type Step =
  | { kind: 'end' }
  /** A metadata body of `size` bytes follows (padded to blocks): pass it to meta() when `keep`, else skip it. */
  | { kind: 'meta'; size: number; keep: boolean }
  /** An entry; `dataSize` bytes follow (padded to blocks). Exactly one of `entry` and `bad` is set. */
  | { kind: 'entry'; dataSize: number; entry?: TarHeader; bad?: BadEntry };

interface PaxRecords {
  path?: Buffer;
  linkpath?: Buffer;
  size?: number;
  uid?: number;
  gid?: number;
  mtime?: number;
  xattrs?: Record<string, string>;
  /** Why the records cannot be trusted (the next entry is then bad). */
  bad?: string;
}

const TYPES: Record<string, TarEntryType> = { '0': 'file', '\0': 'file', '7': 'file', S: 'file', '1': 'hardlink', '2': 'symlink', '3': 'char', '4': 'block', '5': 'dir', '6': 'fifo' };
/** Types that carry no data whatever their size field says. */
const HEADER_ONLY = new Set(['1', '2', '3', '4', '5', '6']);

/**
 * Reads headers one block at a time, carrying PAX and GNU metadata to the entry they describe.
 * The caller owns the bytes: it hands each 512-byte header to header(), metadata bodies to meta(),
 * and skips entry data itself.
 */
export class TarHeaderReader {
  private pax: PaxRecords = {};
  private global: PaxRecords = {};
  private longName: Buffer | undefined;
  private longLink: Buffer | undefined;
  private pendingKind = '';
  /** Why the entry being assembled is bad (a skipped or unreadable metadata body). */
  private pendingBad: string | undefined;
  private entryStart = -1;
  private blocks = 0;

  header(h: Buffer, at: number): Step {
    const first = this.blocks++ === 0;
    if (isZero(h)) return { kind: 'end' };
    if (!checksumOk(h)) {
      if (first && h.toString('latin1', 257, 262) !== 'ustar') throw new TarFatal('its first 512 bytes are not a tar header', at, true);
      throw new TarFatal(`damaged tar header at byte ${at} (checksum mismatch)`, at);
    }
    if (this.entryStart < 0) this.entryStart = at;
    const flag = String.fromCharCode(h[156]!);
    const size = parseNumber(h, 124, 12);
    if (size === undefined || size > MAX_SIZE) throw new TarFatal(`tar header at byte ${at} has an unreadable size field`, at);
    if (flag === 'x' || flag === 'g' || flag === 'L' || flag === 'K') {
      this.pendingKind = flag;
      const keep = size <= MAX_META_BYTES;
      if (!keep) this.pendingBad = `its ${flag === 'x' || flag === 'g' ? 'PAX' : 'GNU long name'} header is ${size} bytes, more than the ${MAX_META_BYTES} allowed for metadata`;
      return { kind: 'meta', size, keep };
    }
    return this.entry(h, at, flag, size);
  }

  /** The body of the metadata header just returned with keep: true. */
  meta(body: Buffer): void {
    const kind = this.pendingKind;
    if (kind === 'x') this.pax = mergePax(this.pax, parsePax(body));
    else if (kind === 'g') {
      // Global records apply to every later entry; only owner and time are taken (a global path would rename them all).
      const g = parsePax(body);
      if (g.bad) this.pendingBad = `its global PAX header is malformed (${g.bad})`;
      for (const k of ['uid', 'gid', 'mtime'] as const) if (g[k] !== undefined) this.global[k] = g[k];
    } else if (kind === 'L') this.longName = cstr(body);
    else if (kind === 'K') this.longLink = cstr(body);
  }

  private entry(h: Buffer, at: number, flag: string, headerSize: number): Step {
    const pax = this.pax;
    const start = this.entryStart;
    const bad = this.pendingBad ?? (pax.bad ? `its PAX header is malformed (${pax.bad})` : undefined);
    const ustar = h.toString('latin1', 257, 263) === 'ustar\0';
    let nameBytes = cstr(h.subarray(0, 100));
    if (ustar && h[345] !== 0) nameBytes = Buffer.concat([cstr(h.subarray(345, 500)), Buffer.from('/'), nameBytes]);
    if (this.longName) nameBytes = this.longName;
    if (pax.path) nameBytes = pax.path;
    let linkBytes = this.longLink ?? cstr(h.subarray(157, 257));
    if (pax.linkpath) linkBytes = pax.linkpath;
    this.pax = {};
    this.longName = undefined;
    this.longLink = undefined;
    this.pendingBad = undefined;
    this.entryStart = -1;

    const type = TYPES[flag] ?? 'unknown';
    // A bad PAX size leaves the header's own size field to find the next header.
    const realSize = pax.size ?? headerSize;
    const dataSize = HEADER_ONLY.has(flag) ? 0 : realSize;
    const fail = (reason: string): Step => ({ kind: 'entry', dataSize, bad: { offset: start, name: decodeName(nameBytes.subarray(0, DISPLAY_NAME)) + (nameBytes.length > DISPLAY_NAME ? '…' : ''), reason } });
    if (bad) return fail(bad);
    if (nameBytes.length > MAX_NAME_BYTES) return fail(`its name is ${nameBytes.length} bytes long, more than the ${MAX_NAME_BYTES} kept`);
    if (linkBytes.length > MAX_NAME_BYTES) return fail(`its link target is ${linkBytes.length} bytes long, more than the ${MAX_NAME_BYTES} kept`);
    if (nameBytes.includes(0)) return fail('its name contains a NUL byte');
    if (linkBytes.includes(0)) return fail('its link target contains a NUL byte');
    const mode = parseNumber(h, 100, 8);
    const uid = pax.uid ?? this.global.uid ?? parseNumber(h, 108, 8);
    const gid = pax.gid ?? this.global.gid ?? parseNumber(h, 116, 8);
    const mtime = pax.mtime ?? this.global.mtime ?? parseNumber(h, 136, 12);
    if (mode === undefined) return fail('its mode field is not a number');
    if (uid === undefined || uid > MAX_ID) return fail(`its owner id ${uid ?? '(unreadable)'} is not a valid uid (0 to ${MAX_ID})`);
    if (gid === undefined || gid > MAX_ID) return fail(`its group id ${gid ?? '(unreadable)'} is not a valid gid (0 to ${MAX_ID})`);
    if (mtime === undefined || mtime < MIN_MTIME || mtime > MAX_MTIME) return fail(`its modification time ${mtime ?? '(unreadable)'} is out of range`);
    let devmajor = 0;
    let devminor = 0;
    if (type === 'char' || type === 'block') {
      const ma = parseNumber(h, 329, 8);
      const mi = parseNumber(h, 337, 8);
      if (ma === undefined || mi === undefined || ma > MAX_ID || mi > MAX_ID) return fail('its device numbers are unreadable');
      devmajor = ma;
      devminor = mi;
    }
    const entry: TarHeader = {
      name: decodeName(nameBytes),
      type,
      typeflag: flag,
      mode: mode & 0o7777,
      uid,
      gid,
      size: type === 'file' || type === 'unknown' ? realSize : 0,
      mtime,
      linkname: decodeName(linkBytes),
      devmajor,
      devminor,
      offset: at + BLOCK,
      headerOffset: start,
    };
    if (pax.xattrs) entry.xattrs = pax.xattrs;
    return { kind: 'entry', dataSize, entry };
  }
}

function isZero(h: Buffer): boolean {
  for (let i = 0; i < BLOCK; i++) if (h[i] !== 0) return false;
  return true;
}

function cstr(b: Buffer): Buffer {
  const i = b.indexOf(0);
  return i < 0 ? b : b.subarray(0, i);
}

export function checksumOk(h: Buffer): boolean {
  const want = parseNumber(h, 148, 8);
  if (want === undefined) return false;
  let sum = 0;
  let ssum = 0; // some old tars summed signed chars
  for (let i = 0; i < BLOCK; i++) {
    const b = i >= 148 && i < 156 ? 0x20 : h[i]!;
    sum += b;
    ssum += b > 127 ? b - 256 : b;
  }
  return want === sum || want === ssum;
}

/**
 * A numeric field: octal digits (leading spaces/NULs, ended by a space or NUL), or GNU base-256 (high
 * bit set). Undefined when it is not a number, negative, or beyond 2^53.
 */
export function parseNumber(h: Buffer, off: number, len: number): number | undefined {
  const first = h[off]!;
  if (first & 0x80) {
    if (first & 0x40) return undefined; // negative (two's complement)
    let v = first & 0x3f;
    for (let i = 1; i < len; i++) v = v * 256 + h[off + i]!;
    return v <= MAX_SIZE ? v : undefined;
  }
  let i = off;
  const end = off + len;
  while (i < end && (h[i] === 0x20 || h[i] === 0)) i++;
  let v = 0;
  for (; i < end; i++) {
    const c = h[i]!;
    if (c === 0 || c === 0x20) break;
    if (c < 0x30 || c > 0x37) return undefined;
    v = v * 8 + (c - 0x30);
  }
  // Only spaces and NULs may follow the digits.
  for (; i < end; i++) if (h[i] !== 0 && h[i] !== 0x20) return undefined;
  return v;
}

function mergePax(a: PaxRecords, b: PaxRecords): PaxRecords {
  const out = { ...a, ...b };
  if (a.bad || b.bad) out.bad = a.bad ?? b.bad;
  return out;
}

/** A PAX decimal: digits only (mtime may carry a fraction, dropped). */
function paxInt(v: Buffer, fraction: boolean): number | undefined {
  const s = v.toString('latin1');
  if (!(fraction ? /^-?\d{1,20}(\.\d{0,20})?$/ : /^\d{1,20}$/).test(s)) return undefined;
  const n = Math.floor(Number(s));
  return Number.isSafeInteger(n) ? n : undefined;
}

/** PAX records "<len> <key>=<value>\n": lengths must add up exactly, or the whole header is untrusted. */
export function parsePax(body: Buffer): PaxRecords {
  const out: PaxRecords = {};
  let i = 0;
  while (i < body.length) {
    if (body[i] === 0) break; // NUL padding after the last record
    const sp = body.indexOf(0x20, i);
    const digits = sp < 0 ? '' : body.toString('latin1', i, sp);
    const len = /^[1-9]\d{0,8}$/.test(digits) ? Number(digits) : NaN;
    if (!(len > sp - i + 1) || i + len > body.length || body[i + len - 1] !== 0x0a) {
      out.bad = `record at byte ${i} has an inconsistent length`;
      return out;
    }
    const rec = body.subarray(sp + 1, i + len - 1);
    i += len;
    const eq = rec.indexOf(0x3d);
    if (eq <= 0) {
      out.bad = 'a record has no key';
      return out;
    }
    const key = rec.toString('utf8', 0, eq);
    const val = rec.subarray(eq + 1);
    const num = (k: 'size' | 'uid' | 'gid' | 'mtime') => {
      const n = paxInt(val, k === 'mtime');
      if (n === undefined) out.bad = `${k} "${val.toString('latin1', 0, 40)}" is not a number`;
      else out[k] = n;
    };
    if (key === 'path') out.path = Buffer.from(val);
    else if (key === 'linkpath') out.linkpath = Buffer.from(val);
    else if (key === 'size' || key === 'uid' || key === 'gid' || key === 'mtime') num(key);
    else if (key.startsWith('SCHILY.xattr.')) (out.xattrs ??= {})[key.slice(13)] = val.toString('latin1');
    else if (key.startsWith('LIBARCHIVE.xattr.')) {
      try {
        (out.xattrs ??= {})[decodeURIComponent(key.slice(17))] = Buffer.from(val.toString('latin1'), 'base64').toString('latin1');
      } catch {
        out.bad = 'an xattr name is not valid URI encoding';
      }
    }
  }
  return out;
}
