import type { Problem } from '../errors.js';
import { basename, dirname, join, resolveInRoot } from './paths.js';
import type { LayerIndex } from './tarindex.js';
import { ENTRY_TYPES, FLAG, type EntryType } from './types.js';

// The merged filesystem of a stack of layers, applying image-spec layer.md changesets exactly:
// whiteouts (and opaque markers) of a layer act on the layers below it only, then the layer's own
// entries are added in order (a later entry wins, also within one tar); whiteout files never show.
// Hard links resolve to their target's size and content. A parent that is a symlink is resolved
// inside the root (as moby does), so `symldir -> ..` then `symldir/etc/x` lands on `etc/x`.

/** A node of the merged tree, ready to show. */
export interface MergedEntry {
  path: string;
  name: string;
  type: EntryType;
  mode: number;
  uid: number;
  gid: number;
  /** Bytes; for hard links, the size of the target (dive shows 0: we do not). */
  size: number;
  mtime: number;
  linkname?: string;
  /** Index of the layer (in the image) the entry comes from. */
  layer: number;
  /** crc32 of the content (of the target for hard links). */
  hash: number;
  /** Number of children (directories only). */
  children?: number;
  /** Directory created only because a deeper path needed it (no entry of its own). */
  implicit?: boolean;
  xattrs?: Record<string, string>;
  devmajor?: number;
  devminor?: number;
  /** The name holds bytes that are not UTF-8, as U+DC80..U+DCFF (tar/names.ts). */
  nonUtf8?: boolean;
  problem?: Problem;
}

/** Reference to an entry: layer position and entry index packed in one number; implicit dirs are negative. */
type Ref = number;
const SHIFT = 2 ** 32;
const pack = (layer: number, i: number): Ref => layer * SHIFT + i;
const implicitRef = (layer: number): Ref => -(layer + 1);
const DIR_CODE = ENTRY_TYPES.indexOf('dir');

export class MergedTree {
  private readonly nodes = new Map<string, Ref>();
  private readonly kids = new Map<string, Set<string>>();
  private readonly sorted = new Map<string, string[]>();
  /** Hard link path → the ref of the file it resolves to. */
  private readonly hard = new Map<string, Ref>();
  /** Hard link path → the path its target had in the tree when the link was applied. */
  private readonly hardPath = new Map<string, string>();
  private readonly entryProblems = new Map<string, Problem>();
  /** Paths removed by a layer of the stack (whiteout, opaque or replacement) → that layer. */
  readonly removed = new Map<string, number>();
  readonly problems: Problem[] = [];

  /**
   * @param indexes all layer indexes of the image (bottom = 0); missing ones are skipped
   * @param layers positions to apply, bottom first (e.g. [0,1,2])
   */
  constructor(
    private readonly indexes: (LayerIndex | undefined)[],
    readonly layers: number[],
  ) {
    this.kids.set('', new Set());
    for (const l of layers) {
      const idx = indexes[l];
      if (idx) this.apply(l, idx);
    }
  }

  get size(): number {
    return this.nodes.size;
  }

  private apply(l: number, idx: LayerIndex): void {
    for (let i = 0; i < idx.count; i++) {
      if (idx.isWhiteout(i)) {
        const p = this.resolveParents(idx.paths[i]!, l);
        if (p !== undefined && this.nodes.has(p)) this.deleteSubtree(p, l);
      } else if (idx.isOpaque(i)) {
        const p = this.resolveParents(idx.paths[i]!, l);
        const set = p === undefined ? undefined : this.kids.get(p);
        if (set) for (const name of [...set]) this.deleteSubtree(join(p!, name), l);
      }
    }
    for (let i = 0; i < idx.count; i++) {
      if (idx.isMarker(i)) continue;
      this.put(l, idx, i);
    }
  }

  /** Follows symlinked parent directories inside the root; returns the real path, or undefined with a problem. */
  private resolveParents(path: string, l: number): string | undefined {
    if (this.dirIsReal(dirname(path))) return path;
    let p = path;
    for (let guard = 0; guard < 64; guard++) {
      const parts = p.split('/');
      let cur = '';
      let redirected = false;
      for (let k = 0; k < parts.length - 1; k++) {
        cur = join(cur, parts[k]!);
        const ref = this.nodes.get(cur);
        if (ref === undefined || ref < 0) continue;
        const idx = this.indexes[Math.floor(ref / SHIFT)]!;
        const i = ref % SHIFT;
        if (idx.type(i) === 'symlink') {
          const target = resolveInRoot(dirname(cur), idx.linkname(i) ?? '');
          p = join(target, parts.slice(k + 1).join('/'));
          redirected = true;
          break;
        }
      }
      if (!redirected) return p;
      if (p === '') return undefined;
    }
    if (l >= 0) this.problems.push({ code: 'PATH_ESCAPE', message: `"${path}" in layer ${l} goes through too many symbolic links; it was skipped.`, path });
    return undefined;
  }

  /**
   * Every key in the tree has only real directories above it (a symlink replacing a directory
   * deletes its subtree), so an existing directory settles the parents of anything below it.
   */
  private dirIsReal(dir: string): boolean {
    if (dir === '') return true;
    const ref = this.nodes.get(dir);
    return ref !== undefined && (ref < 0 || this.indexes[Math.floor(ref / SHIFT)]!.cols.type[ref % SHIFT] === DIR_CODE);
  }

  private ensureDir(dir: string, l: number): void {
    if (dir === '') return;
    const ref = this.nodes.get(dir);
    if (ref !== undefined) {
      if (ref < 0) return;
      const idx = this.indexes[Math.floor(ref / SHIFT)]!;
      if (idx.type(ref % SHIFT) === 'dir') return;
      // A file where a directory is needed: the directory wins (the tar could not be applied otherwise).
      this.entryProblems.set(dir, { code: 'LAYER_TAR_INVALID', message: `Layer ${l} puts entries under "${dir}", which was not a directory; it is shown as a directory.`, path: dir });
      this.deleteSubtree(dir, l);
    }
    this.ensureDir(dirname(dir), l);
    this.link(dir);
    this.nodes.set(dir, implicitRef(l));
    this.kids.set(dir, new Set());
  }

  private link(path: string, dir = dirname(path)): void {
    this.kids.get(dir)!.add(path.slice(dir.length ? dir.length + 1 : 0));
    if (this.sorted.size) this.sorted.delete(dir);
    if (this.removed.size) this.removed.delete(path);
  }

  private put(l: number, idx: LayerIndex, i: number): void {
    const raw = idx.paths[i]!;
    const rawDir = dirname(raw);
    // One dirname string per entry: its hash is computed once and reused by every map below.
    const path = this.dirIsReal(rawDir) ? raw : this.resolveParents(raw, l);
    if (path === undefined || path === '') return;
    const type = idx.type(i);
    const dir = path === raw ? rawDir : dirname(path);
    this.ensureDir(dir, l);
    const prev = this.nodes.get(path);
    const ref = pack(l, i);
    if (prev !== undefined) {
      const prevIsDir = prev < 0 || this.indexes[Math.floor(prev / SHIFT)]!.type(prev % SHIFT) === 'dir';
      if (!(prevIsDir && type === 'dir')) this.deleteSubtree(path, l);
    }
    if (prev === undefined || !this.nodes.has(path)) this.link(path, dir);
    this.nodes.set(path, ref);
    if (this.entryProblems.size) this.entryProblems.delete(path);
    if (this.hard.size) {
      this.hard.delete(path);
      this.hardPath.delete(path);
    }
    if (type === 'dir' && !this.kids.has(path)) this.kids.set(path, new Set());
    if (type === 'hardlink') {
      // The target was re-keyed like any entry if its parents went through a symlink.
      const target = this.resolveParents(idx.linkname(i)!, -1) ?? idx.linkname(i)!;
      let t = this.nodes.get(target);
      if (t !== undefined && t >= 0) {
        const tl = Math.floor(t / SHIFT);
        const tt = this.indexes[tl]!.type(t % SHIFT);
        if (tt === 'hardlink') t = this.hard.get(target);
        else if (tt === 'dir') t = undefined;
      } else t = undefined;
      if (t === undefined) {
        this.entryProblems.set(path, { code: 'PATH_NOT_FOUND', message: `Hard link "${path}" points to "${target}", which is not a file in the image at this layer; its content is unknown.`, path });
      } else {
        this.hard.set(path, t);
        this.hardPath.set(path, target);
      }
    }
  }

  private deleteSubtree(path: string, l: number): void {
    const set = this.kids.get(path);
    if (set) for (const name of set) this.deleteSubtree(join(path, name), l);
    this.kids.delete(path);
    if (this.nodes.delete(path)) this.removed.set(path, l);
    this.hard.delete(path);
    this.hardPath.delete(path);
    this.entryProblems.delete(path);
    this.kids.get(dirname(path))?.delete(basename(path));
    this.sorted.delete(dirname(path));
  }

  /** Every path, unordered (fast). */
  paths(): IterableIterator<string> {
    return this.nodes.keys();
  }

  /** Identity of the entry at `path` (layer + index; implicit dirs by the layer that made them). */
  refOf(path: string): number | undefined {
    return this.nodes.get(path);
  }

  has(path: string): boolean {
    return path === '' || this.nodes.has(path);
  }

  /** The entry at `path` (normalised, no leading slash), or undefined. */
  get(path: string): MergedEntry | undefined {
    const ref = this.nodes.get(path);
    if (ref === undefined) return undefined;
    const name = basename(path);
    const kids = this.kids.get(path);
    if (ref < 0) {
      return { path, name, type: 'dir', mode: 0o755, uid: 0, gid: 0, size: 0, mtime: 0, layer: -ref - 1, hash: 0, children: kids?.size ?? 0, implicit: true };
    }
    const l = Math.floor(ref / SHIFT);
    const idx = this.indexes[l]!;
    const e = idx.entry(ref % SHIFT);
    const out: MergedEntry = { path, name, type: e.type, mode: e.mode, uid: e.uid, gid: e.gid, size: e.size, mtime: e.mtime, layer: l, hash: e.hash };
    if (e.linkname !== undefined) out.linkname = e.linkname;
    if (e.xattrs) out.xattrs = e.xattrs;
    if (e.devmajor !== undefined) {
      out.devmajor = e.devmajor;
      out.devminor = e.devminor ?? 0;
    }
    if (e.type === 'dir') out.children = kids?.size ?? 0;
    if (e.flags & FLAG.nonUtf8) out.nonUtf8 = true;
    const h = this.hard.get(path);
    if (h !== undefined) {
      const t = this.indexes[Math.floor(h / SHIFT)]!;
      out.size = t.cols.size[h % SHIFT]!;
      out.hash = t.cols.hash[h % SHIFT]!;
    }
    const p = this.entryProblems.get(path);
    if (p) out.problem = p;
    return out;
  }

  /** For a resolved hard link: the tree path of its target (its tar linkname may name a symlinked parent). */
  linkTarget(path: string): string | undefined {
    return this.hardPath.get(path);
  }

  /** Where a file's bytes are: the layer and entry index (hard links followed). */
  locate(path: string): { layer: number; entry: number } | undefined {
    let ref = this.nodes.get(path);
    if (ref === undefined || ref < 0) return undefined;
    const h = this.hard.get(path);
    if (h !== undefined) ref = h;
    const l = Math.floor(ref / SHIFT);
    const i = ref % SHIFT;
    return this.indexes[l]!.type(i) === 'file' ? { layer: l, entry: i } : undefined;
  }

  /** Child names of a directory, sorted (cached). */
  childNames(dir: string): string[] {
    let s = this.sorted.get(dir);
    if (!s) {
      const set = this.kids.get(dir);
      s = set ? [...set].sort() : [];
      this.sorted.set(dir, s);
    }
    return s;
  }

  /** One page of a directory's children, for a virtualised tree view. */
  list(dir: string, opts: { offset?: number; limit?: number } = {}): { total: number; entries: MergedEntry[] } {
    const names = this.childNames(dir);
    const off = opts.offset ?? 0;
    const lim = opts.limit ?? names.length;
    return { total: names.length, entries: names.slice(off, off + lim).map((n) => this.get(join(dir, n))!) };
  }

  /** Every path, depth first, children sorted by name. */
  *walk(dir = ''): IterableIterator<string> {
    for (const n of this.childNames(dir)) {
      const p = join(dir, n);
      yield p;
      if (this.kids.has(p)) yield* this.walk(p);
    }
  }

  /** Resolves symlinks (inside the root, never escaping) to the final path, up to 40 hops. */
  resolve(path: string): string | undefined {
    let p = path;
    for (let hops = 0; hops < 40; hops++) {
      const parentFixed = this.resolveParents(p, -1);
      if (parentFixed === undefined) return undefined;
      p = parentFixed;
      const e = this.get(p);
      if (!e) return undefined;
      if (e.type !== 'symlink') return p;
      p = resolveInRoot(dirname(p), e.linkname ?? '');
    }
    return undefined;
  }
}
