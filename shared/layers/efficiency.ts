import { comparePaths } from './diff.js';
import type { MergedTree } from './merge.js';
import { dirname, join } from './paths.js';
import type { LayerIndex } from './tarindex.js';

// dive's efficiency (filetree/efficiency.go, image/image.go), reproduced on purpose, bugs included
// so the figures match: per layer, every leaf of the layer's own tree adds its size to its path
// (a whiteout adds the size of the directory it removes from the stack below, 0 for a file);
// score = Σ min / Σ cumulative; paths seen in ≥ 2 layers are inefficiencies and their cumulative
// sizes are the "wasted bytes" (which count the copy you keep: dive #684). `reclaimable` is ours:
// the bytes stored in layers that the final image does not show (overwritten, deleted, hidden by an
// opaque directory), i.e. what squashing to the final tree would save; it counts bytes, not paths, so
// a folder removed with `rm -rf` counts every file in it even when dive sees no inefficiency.

export interface WastedPath {
  path: string;
  /** Layers in which the path appears (dive's node count). */
  count: number;
  cumulativeSize: number;
  /** Bytes stored at (or, for a directory, under) this path in all layers, less what the final image keeps there. */
  reclaimable: number;
}

export interface EfficiencyResult {
  score: number;
  wastedBytes: number;
  /** wasted / user size (layers 1..n), as dive's highestUserWastedPercent uses it. */
  wastedUserPercent: number;
  sizeBytes: number;
  userSizeBytes: number;
  /** All file bytes in the layers less the file bytes of the final tree (without one: Σ cumulative − min of the inefficiencies). */
  reclaimableBytes: number;
  /** Inefficiencies, largest cumulative size first. */
  inefficiencies: WastedPath[];
}

/** dive's stacked tree: path → size, children kept when a path is re-added (dive ignores opaque markers). */
class DiveTree {
  size = new Map<string, number>();
  isDir = new Map<string, boolean>();
  kids = new Map<string, Set<string>>([['', new Set()]]);
  add(p: string, size: number, dir: boolean): void {
    const parent = dirname(p);
    if (!this.size.has(parent) && parent !== '') this.add(parent, 0, true);
    this.kids.get(parent)!.add(p);
    this.size.set(p, size);
    this.isDir.set(p, dir);
    if (!this.kids.has(p)) this.kids.set(p, new Set());
  }
  remove(p: string): void {
    for (const k of this.kids.get(p) ?? []) this.remove(k);
    this.kids.delete(p);
    this.size.delete(p);
    this.isDir.delete(p);
    this.kids.get(dirname(p))?.delete(p);
  }
  subtreeSize(p: string): number {
    let s = this.size.get(p) ?? 0;
    for (const k of this.kids.get(p) ?? []) s += this.subtreeSize(k);
    return s;
  }
}

interface LayerNode {
  /** Efficiency key: the path (a whiteout's path is the path it deletes). */
  path: string;
  size: number;
  whiteout: boolean;
  dir: boolean;
}

/** One layer's own tree as dive builds it: later duplicates replace the payload; opaque markers are dropped. */
function layerTree(idx: LayerIndex): { nodes: Map<string, LayerNode>; parents: Set<string>; fileSize: number } {
  const nodes = new Map<string, LayerNode>();
  const parents = new Set<string>();
  let fileSize = 0;
  for (let i = 0; i < idx.count; i++) {
    fileSize += idx.cols.size[i]!;
    if (idx.isOpaque(i)) continue;
    const path = idx.paths[i]!;
    const whiteout = idx.isWhiteout(i);
    // A whiteout node is named ".wh.x" in its directory: a different node from "x" itself.
    const key = whiteout ? join(dirname(path), `.wh.${path.slice(path.lastIndexOf('/') + 1)}`) : path;
    nodes.set(key, { path, size: idx.cols.size[i]!, whiteout, dir: idx.type(i) === 'dir' });
    for (let d = dirname(key); d !== '' && !parents.has(d); d = dirname(d)) parents.add(d);
    if (dirname(key) !== '') parents.add(dirname(key));
  }
  return { nodes, parents, fileSize };
}

export function efficiency(indexes: LayerIndex[], final?: MergedTree): EfficiencyResult {
  const cumulative = new Map<string, number>();
  const minimum = new Map<string, number>();
  const count = new Map<string, number>();
  const order: string[] = [];
  const stack = new DiveTree();
  let sizeBytes = 0;
  let userSizeBytes = 0;
  indexes.forEach((idx, li) => {
    const { nodes, parents, fileSize } = layerTree(idx);
    sizeBytes += fileSize;
    if (li > 0) userSizeBytes += fileSize;
    const leaves = [...nodes.keys()].filter((k) => !parents.has(k)).sort(comparePaths);
    for (const key of leaves) {
      const n = nodes.get(key)!;
      let size = n.size;
      if (n.whiteout) {
        size = 0;
        // dive: a whiteout of something absent below is an error that stops this layer's visit.
        if (!stack.size.has(n.path)) break;
        if (stack.isDir.get(n.path)) size = stack.subtreeSize(n.path);
      }
      const c = count.get(n.path) ?? 0;
      if (c === 0) order.push(n.path);
      count.set(n.path, c + 1);
      cumulative.set(n.path, (cumulative.get(n.path) ?? 0) + size);
      const m = minimum.get(n.path);
      if (m === undefined || size < m) minimum.set(n.path, size);
    }
    // Stack this layer (dive's Stack: whiteouts remove, everything else is added keeping children).
    const all = [...nodes.keys()].sort((a, b) => -comparePaths(a, b));
    for (const key of all) {
      const n = nodes.get(key)!;
      if (n.whiteout) stack.remove(n.path);
      else stack.add(n.path, n.size, n.dir);
    }
  });
  let sumMin = 0;
  let sumCum = 0;
  for (const p of order) {
    sumMin += minimum.get(p)!;
    sumCum += cumulative.get(p)!;
  }
  const inefficiencies: WastedPath[] = [];
  let wasted = 0;
  let reclaimable = 0;
  for (const p of order) {
    const c = count.get(p)!;
    if (c < 2) continue;
    const cum = cumulative.get(p)!;
    wasted += cum;
    const r = cum - minimum.get(p)!;
    if (!final) reclaimable += r;
    inefficiencies.push({ path: p, count: c, cumulativeSize: cum, reclaimable: r });
  }
  if (final) {
    const paths = inefficiencies.map((w) => w.path);
    const stored = bytesUnder(paths, (add) => {
      for (const idx of indexes) for (let i = 0; i < idx.count; i++) if (idx.type(i) === 'file') add(idx.paths[i]!, idx.cols.size[i]!);
    });
    const kept = bytesUnder(paths, (add) => keptFiles(final, add));
    for (const w of inefficiencies) w.reclaimable = Math.max(0, (stored.at.get(w.path) ?? 0) - (kept.at.get(w.path) ?? 0));
    reclaimable = Math.max(0, stored.total - kept.total);
  }
  inefficiencies.sort((a, b) => b.cumulativeSize - a.cumulativeSize || comparePaths(a.path, b.path));
  return {
    score: sumCum === 0 ? 1 : sumMin / sumCum,
    wastedBytes: wasted,
    wastedUserPercent: userSizeBytes ? wasted / userSizeBytes : 0,
    sizeBytes,
    userSizeBytes,
    reclaimableBytes: reclaimable,
    inefficiencies,
  };
}

/** Sums file bytes in total and at/under each of `paths` (ancestors walked only while any is wanted). */
function bytesUnder(paths: string[], each: (add: (path: string, size: number) => void) => void): { total: number; at: Map<string, number> } {
  const want = new Set(paths);
  const at = new Map<string, number>();
  let total = 0;
  each((p, size) => {
    total += size;
    if (!want.size) return;
    for (let q = p; q !== ''; q = dirname(q)) if (want.has(q)) at.set(q, (at.get(q) ?? 0) + size);
  });
  return { total, at };
}

/** The final tree's file bytes: each file once; a hard link only when its target is not a file there (it keeps the bytes alive). */
function keptFiles(final: MergedTree, add: (path: string, size: number) => void): void {
  for (const p of final.walk()) {
    const e = final.get(p)!;
    if (e.type === 'file') add(p, e.size);
    else if (e.type === 'hardlink' && !e.problem) {
      const t = final.linkTarget(p);
      if (t === undefined || final.get(t)?.type !== 'file') add(p, e.size);
    }
  }
}
