import type { TreeEntry } from '../api/contract.js';

// Search hits as the tree's next/previous walks them: the core answers in pages (MAX_PAGE) of a
// path-ordered list whose length is the hit count; the UI keeps the pages it has read, sparsely, and
// asks for the page holding a hit when the walk reaches one it does not have.

/** Loaded pages of hits by page number (page n holds hits [n·pageSize, (n+1)·pageSize)). */
export type HitPages = Readonly<Record<number, readonly TreeEntry[]>>;

/** Pages kept at most; the ones farthest from the current hit are dropped first. */
export const HIT_PAGES_KEPT = 8;

/**
 * The hit `delta` steps from `index` among `total`, wrapping around both ends. From no hit (index < 0),
 * next goes to the first and previous to the last.
 */
export function stepHit(index: number, delta: number, total: number): number {
  if (total <= 0) return -1;
  const from = index < 0 || index >= total ? (delta > 0 ? -1 : 0) : index;
  return (((from + delta) % total) + total) % total;
}

export function pageOf(index: number, pageSize: number): number {
  return Math.floor(index / pageSize);
}

/** The hit at `index` when its page is loaded. */
export function hitAt(pages: HitPages, index: number, pageSize: number): TreeEntry | undefined {
  if (index < 0) return undefined;
  return pages[pageOf(index, pageSize)]?.[index % pageSize];
}

/** The offset to ask the core for so that its answer holds `index`. */
export function pageOffset(index: number, pageSize: number): number {
  return pageOf(index, pageSize) * pageSize;
}

/** `pages` with `page` added; beyond `keep` pages, those farthest from `page` are dropped. */
export function withPage(pages: HitPages, page: number, entries: readonly TreeEntry[], keep = HIT_PAGES_KEPT): HitPages {
  const out: Record<number, readonly TreeEntry[]> = { ...pages, [page]: entries };
  const nums = Object.keys(out).map(Number);
  if (nums.length <= keep) return out;
  nums.sort((a, b) => Math.abs(a - page) - Math.abs(b - page) || a - b);
  for (const n of nums.slice(keep)) delete out[n];
  return out;
}
