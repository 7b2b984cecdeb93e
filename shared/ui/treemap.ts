// Squarified treemap layout (Bruls, Huizing, van Wijk 2000): each item gets a rectangle whose area is
// proportional to its size, laid out in rows that keep the tiles close to square. Pure: no DOM.

export interface Rect {
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface Tile<T> extends Rect {
  item: T;
}

/** Lays out `items` (sizes > 0; others are left out) in `bounds`, biggest first. */
export function squarify<T>(items: readonly T[], sizeOf: (t: T) => number, bounds: Rect): Tile<T>[] {
  const list = items.filter((t) => sizeOf(t) > 0).sort((a, b) => sizeOf(b) - sizeOf(a));
  const total = list.reduce((a, t) => a + sizeOf(t), 0);
  const out: Tile<T>[] = [];
  if (!list.length || bounds.w <= 0 || bounds.h <= 0) return out;
  const scale = (bounds.w * bounds.h) / total;
  const areas = list.map((t) => sizeOf(t) * scale);
  let rect = { ...bounds };
  let i = 0;
  while (i < list.length) {
    const side = Math.min(rect.w, rect.h);
    // Grow the row while the worst aspect ratio in it improves.
    let j = i + 1;
    let sum = areas[i]!;
    let worst = worstRatio(areas, i, j, sum, side);
    while (j < list.length) {
      const next = worstRatio(areas, i, j + 1, sum + areas[j]!, side);
      if (next > worst) break;
      sum += areas[j]!;
      worst = next;
      j++;
    }
    // Lay the row along the short side; the rest of the rectangle remains for the next rows.
    const last = j === list.length;
    if (rect.w >= rect.h) {
      const w = last ? rect.w : sum / rect.h;
      let y = rect.y;
      for (let k = i; k < j; k++) {
        const h = k === j - 1 ? rect.y + rect.h - y : areas[k]! / w;
        out.push({ item: list[k]!, x: rect.x, y, w, h });
        y += h;
      }
      rect = { x: rect.x + w, y: rect.y, w: rect.w - w, h: rect.h };
    } else {
      const h = last ? rect.h : sum / rect.w;
      let x = rect.x;
      for (let k = i; k < j; k++) {
        const w = k === j - 1 ? rect.x + rect.w - x : areas[k]! / h;
        out.push({ item: list[k]!, x, y: rect.y, w, h });
        x += w;
      }
      rect = { x: rect.x, y: rect.y + h, w: rect.w, h: rect.h - h };
    }
    i = j;
  }
  return out;
}

function worstRatio(areas: number[], from: number, to: number, sum: number, side: number): number {
  let max = 0;
  let min = Infinity;
  for (let k = from; k < to; k++) {
    max = Math.max(max, areas[k]!);
    min = Math.min(min, areas[k]!);
  }
  const s2 = side * side;
  const sum2 = sum * sum;
  return Math.max((s2 * max) / sum2, sum2 / (s2 * min));
}

export interface TreemapNode {
  path: string;
  name: string;
  size: number;
  dir: boolean;
  /** Loaded children (directories whose children are not loaded are drawn as one tile). */
  children?: TreemapNode[];
}

export interface TreemapTile extends Rect {
  node: TreemapNode;
  depth: number;
}

/**
 * Nested layout: every node with loaded children gets a header strip of `header` px and its children inside,
 * inset by `pad`; tiles smaller than `minSide` on either side are not subdivided further.
 */
export function layoutTreemap(roots: readonly TreemapNode[], bounds: Rect, opts: { pad?: number; header?: number; minSide?: number } = {}): TreemapTile[] {
  const pad = opts.pad ?? 2;
  const header = opts.header ?? 16;
  const minSide = opts.minSide ?? 24;
  const out: TreemapTile[] = [];
  const place = (nodes: readonly TreemapNode[], r: Rect, depth: number) => {
    for (const t of squarify(nodes, (n) => n.size, r)) {
      out.push({ node: t.item, depth, x: t.x, y: t.y, w: t.w, h: t.h });
      const kids = t.item.children;
      if (!kids?.length) continue;
      const inner = { x: t.x + pad, y: t.y + header, w: t.w - 2 * pad, h: t.h - header - pad };
      if (inner.w >= minSide && inner.h >= minSide) place(kids, inner, depth + 1);
    }
  };
  place(roots, bounds, 0);
  return out;
}
