import type { TreeEntry, TreeSort } from '../api/contract.js';

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

/** Sorts one folder's entries client-side (for lists built from flat search pages). Folders first. */
export function sortEntries(entries: TreeEntry[], sort: TreeSort): TreeEntry[] {
  const dir = sort.order === 'asc' ? 1 : -1;
  return entries.sort((a, b) => {
    const ad = a.type === 'dir' ? 0 : 1;
    const bd = b.type === 'dir' ? 0 : 1;
    if (ad !== bd) return ad - bd;
    if (sort.by === 'size') {
      const as = a.totalSize ?? a.size;
      const bs = b.totalSize ?? b.size;
      if (as !== bs) return (as - bs) * dir;
    }
    return (a.name < b.name ? -1 : a.name > b.name ? 1 : 0) * (sort.by === 'name' ? dir : 1);
  });
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

/** Converts a glob to an anchored RegExp source, as the contract describes (`*`, `**`, `?`). */
export function globToRegExp(glob: string): string {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*') {
      if (glob[i + 1] === '*') {
        re += '.*';
        i++;
      } else re += '[^/]*';
    } else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return '^' + re + '$';
}
