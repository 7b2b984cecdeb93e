import { describe, expect, it } from 'vitest';
import type { TreeEntry } from '../../../shared/api/contract.js';
import { hitAt, pageOf, pageOffset, stepHit, withPage } from '../../../shared/ui/search-hits.js';

const entry = (i: number): TreeEntry => ({ path: `/f${i}`, name: `f${i}`, type: 'file', size: 0, mode: 0o644, uid: 0, gid: 0, layer: 0 });
const page = (n: number, size: number, total: number) => Array.from({ length: Math.min(size, total - n * size) }, (_, k) => entry(n * size + k));

describe('stepHit', () => {
  it('from no hit: next is the first, previous the last', () => {
    expect(stepHit(-1, 1, 12_345)).toBe(0);
    expect(stepHit(-1, -1, 12_345)).toBe(12_344);
  });
  it('walks past the first page and wraps at both ends', () => {
    expect(stepHit(4_999, 1, 12_345)).toBe(5_000);
    expect(stepHit(5_000, -1, 12_345)).toBe(4_999);
    expect(stepHit(12_344, 1, 12_345)).toBe(0);
    expect(stepHit(0, -1, 12_345)).toBe(12_344);
  });
  it('every hit is reached by stepping next from the start', () => {
    const seen = new Set<number>();
    for (let i = -1, k = 0; k < 12; k++) seen.add((i = stepHit(i, 1, 12)));
    expect(seen.size).toBe(12);
  });
  it('no hits: nowhere to go; an index beyond a shrunk total starts over', () => {
    expect(stepHit(3, 1, 0)).toBe(-1);
    expect(stepHit(20, 1, 10)).toBe(0);
  });
});

describe('hit pages', () => {
  it('finds a hit only when its page is loaded, at the right place in it', () => {
    const size = 5_000;
    let pages = withPage({}, 0, page(0, size, 12_345));
    expect(hitAt(pages, 4_999, size)?.path).toBe('/f4999');
    expect(hitAt(pages, 5_000, size)).toBeUndefined();
    expect(pageOf(12_344, size)).toBe(2);
    expect(pageOffset(12_344, size)).toBe(10_000);
    pages = withPage(pages, 2, page(2, size, 12_345));
    expect(hitAt(pages, 12_344, size)?.path).toBe('/f12344');
    expect(hitAt(pages, -1, size)).toBeUndefined();
  });
  it('keeps at most `keep` pages, dropping those farthest from the newest', () => {
    let pages = {};
    for (let n = 0; n < 6; n++) pages = withPage(pages, n, page(n, 2, 100), 3);
    expect(Object.keys(pages).map(Number).sort()).toEqual([3, 4, 5]);
    pages = withPage(pages, 0, page(0, 2, 100), 3);
    expect(Object.keys(pages).map(Number).sort()).toEqual([0, 3, 4]);
  });
  it('does not change the pages it was given', () => {
    const before = withPage({}, 0, page(0, 2, 10));
    withPage(before, 1, page(1, 2, 10));
    expect(Object.keys(before)).toEqual(['0']);
  });
});
