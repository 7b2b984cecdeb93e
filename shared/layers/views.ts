import { ExplorerError } from '../errors.js';
import type { ChangeAspect, TreeEntry } from '../api/results.js';
import type { DiffEntry } from './diff.js';
import type { MergedEntry, MergedTree } from './merge.js';

// Trees as the list/search/stat calls read them: a merged stack, or a diff of two stacks with every
// path marked. Paths here have no leading slash (root ""); the API's are absolute ("/etc").

/** A tree the list/search/stat calls read: merged (from a MergedTree) or a diff (with change marks). */
export interface ViewTree {
  /** Paths in the view (for cache accounting). */
  readonly size: number;
  has(p: string): boolean;
  entry(p: string): TreeEntry | undefined;
  children(dir: string): string[];
  /** Every path, depth first, in comparePaths order. */
  walk(): Iterable<string>;
  /** Bytes of files below each directory, computed once. */
  totals(): Map<string, number>;
}

export const join = (dir: string, name: string) => (dir ? `${dir}/${name}` : name);
export const parentOf = (p: string) => {
  const i = p.lastIndexOf('/');
  return i < 0 ? '' : p.slice(0, i);
};

/** Contract path → engine path; refuses "..". */
export function toEnginePath(p: string): string {
  const parts: string[] = [];
  for (const seg of p.split('/')) {
    if (!seg || seg === '.') continue;
    if (seg === '..') throw new ExplorerError('PATH_ESCAPE', `${p} climbs out of the image root with "..": give a path inside the image.`, { path: p });
    parts.push(seg);
  }
  return parts.join('/');
}
export const toApiPath = (p: string) => '/' + p;

function fromMerged(e: MergedEntry, extra: Partial<TreeEntry> = {}): TreeEntry {
  const out: TreeEntry = { path: toApiPath(e.path), name: e.name, type: e.type, size: e.type === 'dir' ? 0 : e.size, mode: e.mode & 0o7777, uid: e.uid, gid: e.gid, layer: e.layer };
  if (e.mtime) out.mtime = e.mtime;
  if (e.linkname !== undefined) out.linkname = e.linkname;
  if (e.children !== undefined) out.childCount = e.children;
  return Object.assign(out, extra);
}

function computeTotals(walk: Iterable<string>, sizeOf: (p: string) => number): Map<string, number> {
  const totals = new Map<string, number>();
  for (const p of walk) {
    const s = sizeOf(p);
    if (!s) continue;
    for (let d = parentOf(p); ; d = parentOf(d)) {
      totals.set(d, (totals.get(d) ?? 0) + s);
      if (d === '') break;
    }
  }
  return totals;
}

export function mergedView(tree: MergedTree): ViewTree {
  let totals: Map<string, number> | undefined;
  return {
    size: tree.size,
    has: (p) => tree.has(p),
    entry: (p) => {
      const e = p === '' ? undefined : tree.get(p);
      if (p === '') return { path: '/', name: '/', type: 'dir', size: 0, mode: 0o755, uid: 0, gid: 0, layer: 0, childCount: tree.childNames('').length };
      return e && fromMerged(e);
    },
    children: (dir) => tree.childNames(dir),
    walk: () => tree.walk(),
    totals: () =>
      (totals ??= computeTotals(tree.walk(), (p) => {
        const e = tree.get(p);
        if (!e || e.type === 'dir') return 0;
        // A hard link shares its target's bytes: count them once, where the target is (as du does).
        if (e.type === 'hardlink') {
          const target = tree.linkTarget(p);
          if (target !== undefined && tree.has(target)) return 0;
        }
        return e.size;
      })),
  };
}

const ASPECT: Record<string, ChangeAspect> = { linkname: 'link', type: 'type', content: 'content', mode: 'mode', uid: 'uid', gid: 'gid', xattrs: 'xattrs' };

export function fromDiff(d: DiffEntry): TreeEntry {
  const base = (d.after ?? d.before)!;
  const extra: Partial<TreeEntry> = { change: d.status, sizeDelta: d.sizeDelta };
  if (d.status === 'removed' && d.removedBy !== undefined) extra.layer = d.removedBy;
  if (d.changes?.length) extra.changed = d.changes.map((c) => ASPECT[c] ?? 'content');
  return fromMerged(base, extra);
}

/** A diff as a tree: the union of both sides, each path marked; `onlyChanges` keeps changed paths and their parents. */
export function diffView(entries: DiffEntry[], onlyChanges: boolean): ViewTree {
  const byPath = new Map<string, TreeEntry>();
  const kids = new Map<string, Set<string>>([['', new Set()]]);
  const add = (p: string, e: TreeEntry) => {
    byPath.set(p, e);
    for (let c = p, d = parentOf(p); ; c = d, d = parentOf(d)) {
      let set = kids.get(d);
      if (!set) kids.set(d, (set = new Set()));
      if (set.has(c.slice(d ? d.length + 1 : 0))) break;
      set.add(c.slice(d ? d.length + 1 : 0));
      if (d === '') break;
    }
  };
  const all = new Map(entries.map((d) => [d.path, d]));
  for (const d of entries) {
    if (onlyChanges && d.status === 'unchanged') continue;
    add(d.path, fromDiff(d));
    if (onlyChanges) {
      // Parents that did not change themselves are shown as context.
      for (let p = parentOf(d.path); p !== '' && !byPath.has(p); p = parentOf(p)) {
        const parent = all.get(p);
        byPath.set(p, parent ? fromDiff(parent) : { path: toApiPath(p), name: p.slice(p.lastIndexOf('/') + 1), type: 'dir', size: 0, mode: 0o755, uid: 0, gid: 0, layer: 0, change: 'unchanged' });
      }
    }
  }
  const sorted = new Map<string, string[]>();
  const children = (dir: string) => {
    let s = sorted.get(dir);
    if (!s) sorted.set(dir, (s = [...(kids.get(dir) ?? [])].sort()));
    return s;
  };
  function* walk(dir = ''): IterableIterator<string> {
    for (const n of children(dir)) {
      const p = join(dir, n);
      yield p;
      if (kids.has(p)) yield* walk(p);
    }
  }
  let totals: Map<string, number> | undefined;
  return {
    size: byPath.size,
    has: (p) => p === '' || byPath.has(p),
    entry: (p) => {
      if (p === '') return { path: '/', name: '/', type: 'dir', size: 0, mode: 0o755, uid: 0, gid: 0, layer: 0, childCount: children('').length };
      const e = byPath.get(p);
      return e && (e.type === 'dir' ? { ...e, childCount: children(p).length } : e);
    },
    children,
    walk: () => walk(),
    totals: () =>
      (totals ??= computeTotals(walk(), (p) => {
        const e = byPath.get(p);
        // Hard links carry no data of their own in a changeset; their target's bytes are counted there.
        return e && e.type !== 'dir' && e.type !== 'hardlink' && e.change !== 'removed' ? e.size : 0;
      })),
  };
}

