import type { Problem } from '../errors.js';
import type { Digest } from '../oci/digest.js';
import { crc32 } from './crc32.js';
import type { Compression } from './decode.js';
import { basename, dirname, join, normalizeEntryPath } from './paths.js';
import { hasRawBytes } from '../tar/names.js';
import type { BadEntry, TarHeader, TarSink } from './tarscan.js';
import type { RestartPoints } from './zran/points.js';
import { ENTRY_TYPES, FLAG, type EntryType, type LayerEntry } from './types.js';

// The per-layer index: columns (typed arrays) plus one array of path strings and one of "extra"
// strings (link targets, xattrs as JSON, device numbers), ~60 bytes + the path per entry.

const TYPE_CODE: Record<EntryType, number> = Object.fromEntries(ENTRY_TYPES.map((t, i) => [t, i])) as Record<EntryType, number>;
const MAX_PROBLEMS = 200;
/** Characters of paths and link targets one layer index may hold (memory stays bounded whatever the tar: about 1M entries of 64 characters; a huge real layer has ~500k of ~80). */
export const MAX_NAME_CHARS = 64 * 1024 * 1024;

export interface LayerIndexMeta {
  digest: Digest;
  diffId?: Digest;
  compression: Compression;
  compressedSize: number;
  uncompressedSize: number;
  problems: Problem[];
  /** False when the tar could not be read to its end (the entries before the damage are kept). */
  complete: boolean;
}

export interface IndexColumns {
  type: Uint8Array;
  flags: Uint8Array;
  mode: Uint16Array;
  uid: Uint32Array;
  gid: Uint32Array;
  hash: Uint32Array;
  link: Int32Array;
  xattr: Int32Array;
  dev: Int32Array;
  size: Float64Array;
  mtime: Float64Array;
  offset: Float64Array;
}

export const COLUMN_NAMES = ['type', 'flags', 'mode', 'uid', 'gid', 'hash', 'link', 'xattr', 'dev', 'size', 'mtime', 'offset'] as const;
export const COLUMN_CTORS = {
  type: Uint8Array,
  flags: Uint8Array,
  mode: Uint16Array,
  uid: Uint32Array,
  gid: Uint32Array,
  hash: Uint32Array,
  link: Int32Array,
  xattr: Int32Array,
  dev: Int32Array,
  size: Float64Array,
  mtime: Float64Array,
  offset: Float64Array,
} as const;

function allocColumns(n: number): IndexColumns {
  const c = {} as Record<string, unknown>;
  for (const k of COLUMN_NAMES) c[k] = new COLUMN_CTORS[k](n);
  return c as unknown as IndexColumns;
}

export class LayerIndex {
  /** Where reads can start decoding a compressed layer (zran/points.ts); absent for raw tars. */
  restart?: RestartPoints;

  constructor(
    readonly meta: LayerIndexMeta,
    readonly count: number,
    readonly paths: string[],
    readonly extras: string[],
    readonly cols: IndexColumns,
  ) {}

  type(i: number): EntryType {
    return ENTRY_TYPES[this.cols.type[i]!]!;
  }
  isWhiteout(i: number): boolean {
    return (this.cols.flags[i]! & FLAG.whiteout) !== 0;
  }
  isOpaque(i: number): boolean {
    return (this.cols.flags[i]! & FLAG.opaque) !== 0;
  }
  /** Whiteouts, opaque markers and aufs metadata: applied (or ignored) but never shown. */
  isMarker(i: number): boolean {
    return (this.cols.flags[i]! & (FLAG.whiteout | FLAG.opaque | FLAG.whMeta)) !== 0;
  }
  linkname(i: number): string | undefined {
    const l = this.cols.link[i]!;
    return l < 0 ? undefined : this.extras[l];
  }

  entry(i: number): LayerEntry {
    const c = this.cols;
    const e: LayerEntry = {
      path: this.paths[i]!,
      type: this.type(i),
      mode: c.mode[i]!,
      uid: c.uid[i]!,
      gid: c.gid[i]!,
      size: c.size[i]!,
      mtime: c.mtime[i]!,
      offset: c.offset[i]!,
      hash: c.hash[i]!,
      flags: c.flags[i]!,
    };
    const ln = this.linkname(i);
    if (ln !== undefined) e.linkname = ln;
    if (c.xattr[i]! >= 0) e.xattrs = JSON.parse(this.extras[c.xattr[i]!]!) as Record<string, string>;
    if (c.dev[i]! >= 0) {
      const [ma, mi] = this.extras[c.dev[i]!]!.split(',');
      e.devmajor = Number(ma);
      e.devminor = Number(mi);
    }
    return e;
  }

  *entries(): IterableIterator<LayerEntry> {
    for (let i = 0; i < this.count; i++) yield this.entry(i);
  }

  /** Sum of the sizes of regular files (dive's layer "size"). */
  fileBytes(): number {
    let s = 0;
    for (let i = 0; i < this.count; i++) s += this.cols.size[i]!;
    return s;
  }
}

/** Builds a LayerIndex from tar headers (a TarSink): normalises paths, spots whiteouts, hashes content. */
export class IndexBuilder implements TarSink {
  count = 0;
  private cap = 0;
  private cols: IndexColumns = allocColumns(0);
  private paths: string[] = [];
  private extras: string[] = [];
  readonly problems: Problem[] = [];
  private problemCount = 0;
  private cur = -1;
  private crc = 0;
  private nameChars = 0;
  private overBudget = 0;

  constructor(private readonly label: string) {
    this.grow(1024);
  }

  private grow(n: number): void {
    const next = allocColumns(n);
    for (const k of COLUMN_NAMES) (next[k] as unknown as { set(a: ArrayLike<number>): void }).set(this.cols[k] as ArrayLike<number>);
    this.cols = next;
    this.cap = n;
  }

  problem(p: Problem): void {
    this.problemCount++;
    if (this.problems.length < MAX_PROBLEMS) this.problems.push(p);
  }

  /** An entry the tar parser refused: reported with its offset, the rest of the layer goes on. */
  bad(b: BadEntry): void {
    this.cur = -1;
    this.problem({ code: 'LAYER_TAR_INVALID', message: `Entry "${b.name}" at byte ${b.offset} was skipped: ${b.reason}.`, path: b.name });
  }

  entry(h: TarHeader): void {
    this.cur = -1;
    this.nameChars += h.name.length + h.linkname.length;
    if (this.nameChars > MAX_NAME_CHARS) {
      if (this.overBudget++ === 0) this.problem({ code: 'TOO_LARGE', message: `${this.label} holds more than ${MAX_NAME_CHARS} characters of names; the entries past that point (from byte ${h.headerOffset}) are not listed.` });
      return;
    }
    if (h.type === 'unknown') {
      this.problem({ code: 'LAYER_TAR_INVALID', message: `Entry "${h.name}" has tar type "${h.typeflag}", which a container filesystem cannot hold; it was skipped.`, path: h.name });
      return;
    }
    if (h.name === '') {
      this.problem({ code: 'LAYER_TAR_INVALID', message: `An entry at byte ${h.headerOffset} has an empty name; it was skipped.` });
      return;
    }
    const norm = normalizeEntryPath(h.name);
    if ('escape' in norm) {
      this.problem({ code: 'PATH_ESCAPE', message: `Entry "${h.name}" points outside the root with "..": it was skipped (it could only be an attack or a broken tool).`, path: h.name });
      return;
    }
    let path = norm.path;
    if (path === '') return; // the root directory itself ("./")
    let flags = hasRawBytes(h.name) ? FLAG.nonUtf8 : 0;
    const base = basename(path);
    if (base.startsWith('.wh.')) {
      if (base === '.wh..wh..opq') {
        flags |= FLAG.opaque;
        path = dirname(path);
      } else if (base.startsWith('.wh..wh.')) {
        flags |= FLAG.whMeta;
      } else {
        flags |= FLAG.whiteout;
        path = join(dirname(path), base.slice(4));
      }
    }
    let link = -1;
    if (h.type === 'hardlink' || h.type === 'symlink') {
      let target = h.linkname;
      if (h.type === 'hardlink') {
        const n = normalizeEntryPath(target);
        if ('escape' in n || n.path === '') {
          this.problem({ code: 'PATH_ESCAPE', message: `Hard link "${path}" points to "${target}", outside the image root; it was skipped.`, path });
          return;
        }
        target = n.path;
      }
      link = this.extras.push(target) - 1;
    }
    if (this.count === this.cap) this.grow(this.cap * 2);
    const i = this.count++;
    const c = this.cols;
    this.paths.push(path);
    c.type[i] = TYPE_CODE[h.type];
    c.flags[i] = flags;
    c.mode[i] = h.mode;
    c.uid[i] = h.uid;
    c.gid[i] = h.gid;
    c.size[i] = h.size;
    c.mtime[i] = h.mtime;
    c.offset[i] = h.offset;
    c.hash[i] = 0;
    c.link[i] = link;
    c.xattr[i] = h.xattrs ? this.extras.push(JSON.stringify(h.xattrs)) - 1 : -1;
    c.dev[i] = h.type === 'char' || h.type === 'block' ? this.extras.push(`${h.devmajor},${h.devminor}`) - 1 : -1;
    if (h.type === 'file') {
      this.cur = i;
      this.crc = 0;
    }
  }

  data(chunk: Buffer): void {
    if (this.cur >= 0) this.crc = crc32(chunk, this.crc);
  }

  entryEnd(): void {
    if (this.cur >= 0) this.cols.hash[this.cur] = this.crc;
    this.cur = -1;
  }

  finish(meta: Omit<LayerIndexMeta, 'problems'>): LayerIndex {
    if (this.problemCount > this.problems.length) {
      this.problems.push({ code: 'LAYER_TAR_INVALID', message: `${this.problemCount - this.problems.length} more problems in ${this.label} were not listed.` });
    }
    const n = this.count;
    const cols = {} as Record<string, unknown>;
    for (const k of COLUMN_NAMES) cols[k] = (this.cols[k] as Uint8Array).slice(0, n);
    return new LayerIndex({ ...meta, problems: this.problems }, n, this.paths, this.extras, cols as unknown as IndexColumns);
  }
}
