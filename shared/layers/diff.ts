import type { MergedEntry, MergedTree } from './merge.js';

// Layer diffs as dive models them: a comparison is keyed by (bottom range, top range); the lower
// tree is the bottom stack, the upper tree is the bottom stack with the top range applied.
// "this layer" i = ([0..i-1], [i]); "aggregated" i = ([0], [1..i]).

export type DiffStatus = 'added' | 'modified' | 'removed' | 'unchanged';
export type Change = 'type' | 'content' | 'mode' | 'uid' | 'gid' | 'linkname' | 'xattrs';

export interface DiffEntry {
  path: string;
  status: DiffStatus;
  changes?: Change[];
  before?: MergedEntry;
  after?: MergedEntry;
  /** after.size - before.size (files; 0 for others). */
  sizeDelta: number;
  /** For removed paths: the layer that removed them. */
  removedBy?: number;
}

export interface DiffSummary {
  added: number;
  modified: number;
  removed: number;
  unchanged: number;
  addedBytes: number;
  removedBytes: number;
  /** Net size change of modified files. */
  modifiedBytesDelta: number;
}

export function compareEntries(a: MergedEntry, b: MergedEntry): Change[] {
  const c: Change[] = [];
  if (a.type !== b.type) c.push('type');
  else if (a.type === 'file' || a.type === 'hardlink') {
    if (a.size !== b.size || a.hash !== b.hash) c.push('content');
  }
  if (a.mode !== b.mode) c.push('mode');
  if (a.uid !== b.uid) c.push('uid');
  if (a.gid !== b.gid) c.push('gid');
  if ((a.linkname ?? '') !== (b.linkname ?? '') && a.type === b.type) c.push('linkname');
  if (!sameXattrs(a.xattrs, b.xattrs)) c.push('xattrs');
  return c;
}

function sameXattrs(a: Record<string, string> | undefined, b: Record<string, string> | undefined): boolean {
  const ka = Object.keys(a ?? {});
  if (ka.length !== Object.keys(b ?? {}).length) return false;
  return ka.every((k) => a![k] === b?.[k]);
}

/** Compares two merged trees path by path (union of both), depth first, sorted. */
export function diffTrees(lower: MergedTree, upper: MergedTree, opts: { includeUnchanged?: boolean } = {}): { entries: DiffEntry[]; summary: DiffSummary } {
  const summary: DiffSummary = { added: 0, modified: 0, removed: 0, unchanged: 0, addedBytes: 0, removedBytes: 0, modifiedBytesDelta: 0 };
  const entries: DiffEntry[] = [];
  const seen = new Set<string>();
  for (const p of upper.paths()) {
    seen.add(p);
    const ref = upper.refOf(p);
    // The same entry of the same layer in both stacks: unchanged without reading it.
    if (ref !== undefined && ref === lower.refOf(p) && !opts.includeUnchanged) {
      summary.unchanged++;
      continue;
    }
    const after = upper.get(p)!;
    const before = lower.get(p);
    if (!before) {
      summary.added++;
      summary.addedBytes += after.type === 'file' ? after.size : 0;
      entries.push({ path: p, status: 'added', after, sizeDelta: after.type === 'file' ? after.size : 0 });
      continue;
    }
    const changes = compareEntries(before, after);
    if (changes.length) {
      const d = after.size - before.size;
      summary.modified++;
      summary.modifiedBytesDelta += d;
      entries.push({ path: p, status: 'modified', changes, before, after, sizeDelta: d });
    } else {
      summary.unchanged++;
      if (opts.includeUnchanged) entries.push({ path: p, status: 'unchanged', before, after, sizeDelta: 0 });
    }
  }
  for (const p of lower.paths()) {
    if (seen.has(p)) continue;
    const before = lower.get(p)!;
    summary.removed++;
    const bytes = before.type === 'file' ? before.size : 0;
    summary.removedBytes += bytes;
    const e: DiffEntry = { path: p, status: 'removed', before, sizeDelta: -bytes };
    const by = upper.removed.get(p);
    if (by !== undefined) e.removedBy = by;
    entries.push(e);
  }
  entries.sort((x, y) => comparePaths(x.path, y.path));
  return { entries, summary };
}

/** Path order of a tree view: component by component. */
export function comparePaths(a: string, b: string): number {
  // Char by char with "/" below every other character: the same order as comparing component by
  // component (a component that ends first sorts first), without splitting.
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    if (x === 0x2f) return -1;
    if (y === 0x2f) return 1;
    return x < y ? -1 : 1;
  }
  return a.length - b.length;
}
