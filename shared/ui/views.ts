import type { LayerRange, TreeView } from '../api/contract.js';

// What the layer selection means as a tree view, by dive's definitions (contract: TreeView).

/** The tree view the layer selection stands for (dive's definitions, see contract TreeView). */
export function treeViewOf(st: { layer?: number | undefined; mode: 'layer' | 'aggregated'; compare?: [number, number] | undefined } | undefined): TreeView {
  if (!st) return { kind: 'merged' };
  if (st.compare) {
    const [a, b] = st.compare;
    return { kind: 'diff', bottom: { start: 0, end: a }, top: { start: a + 1, end: b } };
  }
  const n = st.layer;
  if (n === undefined) return { kind: 'merged' };
  if (st.mode === 'aggregated') {
    return n === 0 ? { kind: 'diff', bottom: null, top: { start: 0, end: 0 } } : { kind: 'diff', bottom: { start: 0, end: 0 }, top: { start: 1, end: n } };
  }
  return { kind: 'diff', bottom: n === 0 ? null : { start: 0, end: n - 1 }, top: { start: n, end: n } };
}

export function viewKey(v: TreeView): string {
  return JSON.stringify(v);
}

/** The layer range a file in this view is read from (removed entries: the tree below). */
export function fileUpTo(v: TreeView, removed: boolean): number | undefined {
  if (v.kind === 'merged') return v.upTo;
  if (v.kind === 'layer') return v.layer;
  const r: LayerRange | null = removed ? v.bottom : v.top;
  return r ? r.end : undefined;
}
