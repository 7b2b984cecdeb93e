import type { TreeEntry } from '../api/contract.js';

// The filesystem tree as the virtualizer sees it: a flat list of visible rows, rebuilt from the loaded
// children of each expanded folder. Linear in the visible rows, so 100k rows rebuild in milliseconds.

export interface TreeRow {
  entry: TreeEntry;
  depth: number;
  /** Folder whose children are shown. */
  expanded: boolean;
  /** Expanded folder whose children are still loading. */
  loading: boolean;
}

export function flattenRows(
  children: ReadonlyMap<string, readonly TreeEntry[]>,
  expanded: ReadonlySet<string>,
  root = '/',
): TreeRow[] {
  const out: TreeRow[] = [];
  const walk = (dir: string, depth: number): void => {
    const kids = children.get(dir);
    if (!kids) return;
    for (const e of kids) {
      const isDir = e.type === 'dir';
      const open = isDir && expanded.has(e.path);
      out.push({ entry: e, depth, expanded: open, loading: open && !children.has(e.path) });
      if (open) walk(e.path, depth + 1);
    }
  };
  walk(root, 0);
  return out;
}

/** Groups a flat, path-ordered list of entries into folder → children (for expand-all). */
export function groupByParent(entries: readonly TreeEntry[]): Map<string, TreeEntry[]> {
  const m = new Map<string, TreeEntry[]>();
  for (const e of entries) {
    if (e.path === '/') continue;
    const i = e.path.lastIndexOf('/');
    const parent = i <= 0 ? '/' : e.path.slice(0, i);
    let list = m.get(parent);
    if (!list) m.set(parent, (list = []));
    list.push(e);
  }
  return m;
}
