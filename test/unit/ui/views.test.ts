import { describe, expect, it } from 'vitest';
import { fileUpTo, treeViewOf, viewKey } from '../../../shared/ui/views.js';

// The views follow dive's definitions as the contract states them (shared/api/contract.ts, TreeView).
describe('treeViewOf', () => {
  it('no layer selected: the final merged tree', () => {
    expect(treeViewOf(undefined)).toEqual({ kind: 'merged' });
    expect(treeViewOf({ mode: 'layer' })).toEqual({ kind: 'merged' });
  });
  it('"this layer" n: merged(0..n-1) vs merged(0..n); the first layer against nothing', () => {
    expect(treeViewOf({ layer: 4, mode: 'layer' })).toEqual({ kind: 'diff', bottom: { start: 0, end: 3 }, top: { start: 4, end: 4 } });
    expect(treeViewOf({ layer: 0, mode: 'layer' })).toEqual({ kind: 'diff', bottom: null, top: { start: 0, end: 0 } });
  });
  it('"aggregated" n: everything since the base layer', () => {
    expect(treeViewOf({ layer: 9, mode: 'aggregated' })).toEqual({ kind: 'diff', bottom: { start: 0, end: 0 }, top: { start: 1, end: 9 } });
    expect(treeViewOf({ layer: 0, mode: 'aggregated' })).toEqual({ kind: 'diff', bottom: null, top: { start: 0, end: 0 } });
  });
  it('compare a < b wins over the selected layer', () => {
    expect(treeViewOf({ layer: 1, mode: 'layer', compare: [3, 7] })).toEqual({ kind: 'diff', bottom: { start: 0, end: 3 }, top: { start: 4, end: 7 } });
  });
  it('keys differ between views and agree for equal ones', () => {
    expect(viewKey(treeViewOf({ layer: 2, mode: 'layer' }))).toBe(viewKey(treeViewOf({ layer: 2, mode: 'layer' })));
    expect(viewKey(treeViewOf({ layer: 2, mode: 'layer' }))).not.toBe(viewKey(treeViewOf({ layer: 2, mode: 'aggregated' })));
  });
});

describe('fileUpTo', () => {
  it('reads present files from the top of the view and removed ones from below it', () => {
    const v = treeViewOf({ layer: 5, mode: 'layer' });
    expect(fileUpTo(v, false)).toBe(5);
    expect(fileUpTo(v, true)).toBe(4);
    expect(fileUpTo(treeViewOf({ layer: 0, mode: 'layer' }), true)).toBeUndefined();
    expect(fileUpTo({ kind: 'merged' }, false)).toBeUndefined();
    expect(fileUpTo({ kind: 'merged', upTo: 2 }, false)).toBe(2);
    expect(fileUpTo({ kind: 'layer', layer: 3 }, false)).toBe(3);
  });
});
