import { describe, expect, it } from 'vitest';
import { layoutTreemap, squarify, type Rect } from '../../../shared/ui/treemap.js';

// Facts checked independently of the algorithm: areas (w·h) against the sizes, containment, overlap.

const EPS = 1e-6;
const inside = (t: Rect, b: Rect) => t.x >= b.x - EPS && t.y >= b.y - EPS && t.x + t.w <= b.x + b.w + EPS && t.y + t.h <= b.y + b.h + EPS;
const overlap = (a: Rect, b: Rect) => Math.min(a.x + a.w, b.x + b.w) - Math.max(a.x, b.x) > EPS && Math.min(a.y + a.h, b.y + b.h) - Math.max(a.y, b.y) > EPS;

// A fixed pseudo-random list (no Math.random: the test is the same every run).
function sizes(n: number, seed = 7): number[] {
  const out: number[] = [];
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    out.push(1 + (s % 10_000) * (i % 5 === 0 ? 100 : 1));
  }
  return out;
}

describe('squarify', () => {
  for (const [name, bounds, list] of [
    ['wide', { x: 10, y: 20, w: 600, h: 200 }, sizes(40)],
    ['tall', { x: 0, y: 0, w: 90, h: 700 }, sizes(13, 3)],
    ['one item', { x: 5, y: 5, w: 100, h: 50 }, [42]],
    ['equal items', { x: 0, y: 0, w: 300, h: 300 }, [1, 1, 1, 1, 1, 1, 1, 1, 1]],
  ] as const) {
    it(`${name}: areas proportional to sizes, inside the bounds, no overlap, bounds covered`, () => {
      const tiles = squarify(list.map((size, i) => ({ i, size })), (t) => t.size, bounds);
      expect(tiles).toHaveLength(list.length);
      const total = list.reduce((a, b) => a + b, 0);
      const area = bounds.w * bounds.h;
      for (const t of tiles) {
        expect(t.w * t.h).toBeCloseTo((t.item.size / total) * area, 6);
        expect(inside(t, bounds)).toBe(true);
      }
      for (let a = 0; a < tiles.length; a++) for (let b = a + 1; b < tiles.length; b++) expect(overlap(tiles[a]!, tiles[b]!), `${a} vs ${b}`).toBe(false);
      expect(tiles.reduce((s, t) => s + t.w * t.h, 0)).toBeCloseTo(area, 6);
    });
  }

  it('keeps tiles near square (the point of squarifying): equal items in a square give squares', () => {
    const tiles = squarify(Array.from({ length: 16 }, () => 1), (x) => x, { x: 0, y: 0, w: 400, h: 400 });
    for (const t of tiles) expect(Math.max(t.w / t.h, t.h / t.w)).toBeLessThan(1.01);
  });

  it('leaves out empty items and empty bounds', () => {
    expect(squarify([0, 5, 0], (x) => x, { x: 0, y: 0, w: 10, h: 10 }).map((t) => t.item)).toEqual([5]);
    expect(squarify([1, 2], (x) => x, { x: 0, y: 0, w: 0, h: 10 })).toEqual([]);
  });
});

describe('layoutTreemap', () => {
  it('nests children inside their parent, below its header, without overlapping siblings', () => {
    const kids = (p: string, list: number[]) => list.map((size, i) => ({ path: `${p}/f${i}`, name: `f${i}`, size, dir: false }));
    const roots = [
      { path: '/usr', name: 'usr', size: 600, dir: true, children: kids('/usr', [300, 200, 100]) },
      { path: '/etc', name: 'etc', size: 300, dir: true, children: kids('/etc', [150, 150]) },
      { path: '/bin', name: 'bin', size: 100, dir: true },
    ];
    const bounds = { x: 0, y: 0, w: 800, h: 500 };
    const tiles = layoutTreemap(roots, bounds, { pad: 2, header: 16, minSide: 10 });
    expect(tiles).toHaveLength(3 + 5);
    for (const t of tiles.filter((x) => x.depth === 1)) {
      const parent = tiles.find((p) => p.depth === 0 && t.node.path.startsWith(p.node.path + '/'))!;
      expect(inside(t, { x: parent.x + 2, y: parent.y + 16, w: parent.w - 4, h: parent.h - 18 })).toBe(true);
      for (const s of tiles) if (s !== t && s.depth === 1) expect(overlap(s, t)).toBe(false);
    }
    // Children share their parent's inner area in proportion to their sizes.
    const usr = tiles.filter((t) => t.node.path.startsWith('/usr/'));
    expect(usr[0]!.w * usr[0]!.h / (usr[2]!.w * usr[2]!.h)).toBeCloseTo(3, 6);
  });

  it('does not subdivide a tile too small to read', () => {
    const roots = [{ path: '/a', name: 'a', size: 1, dir: true, children: [{ path: '/a/b', name: 'b', size: 1, dir: false }] }];
    expect(layoutTreemap(roots, { x: 0, y: 0, w: 30, h: 30 }, { minSide: 24, header: 16 })).toHaveLength(1);
  });
});
