import { beforeAll, describe, expect, it, vi } from 'vitest';
import type { useTree as UseTreeHook } from '../../../renderer/state/tree.js';
import { MAX_PAGE, type DirPage, type ExplorerApi, type ImageRef, type SearchPage, type TreeEntry } from '../../../shared/api/contract.js';

// The tree store's search walk against a fake core: 12,345 hits (three pages of MAX_PAGE). Next and
// previous must reach every hit, reading the pages beyond the first as they get there.

type UseTree = typeof UseTreeHook;

const TOTAL = 12_345;
const name = (i: number) => `f${String(i).padStart(5, '0')}.txt`;
const file = (i: number): TreeEntry => ({ path: `/d/${name(i)}`, name: name(i), type: 'file', size: 1, mode: 0o644, uid: 0, gid: 0, layer: 0 });
const dir: TreeEntry = { path: '/d', name: 'd', type: 'dir', size: 0, mode: 0o755, uid: 0, gid: 0, layer: 0, childCount: TOTAL };
const searches: number[] = [];

function listing(path: string, offset = 0, limit = 1000): DirPage {
  const all = path === '/' ? [dir] : path === '/d' ? Array.from({ length: TOTAL }, (_, i) => file(i)) : [];
  return { path, total: all.length, offset, entries: all.slice(offset, offset + limit) };
}

const fake = {
  on: () => () => undefined,
  listDir: async (a: { path: string; offset?: number; limit?: number }) => listing(a.path, a.offset, a.limit),
  listDirs: async (a: { paths: string[]; limit?: number }) => ({ pages: a.paths.map((p) => listing(p, 0, a.limit)), missing: [] }),
  search: async (a: { offset?: number; limit?: number }): Promise<SearchPage> => {
    const offset = a.offset ?? 0;
    searches.push(offset);
    const limit = Math.min(a.limit ?? 1000, MAX_PAGE);
    return { total: TOTAL, offset, hits: Array.from({ length: Math.max(0, Math.min(limit, TOTAL - offset)) }, (_, k) => ({ ...file(offset + k), match: true })) };
  },
} as unknown as ExplorerApi;

let useTree: UseTree;
const image: ImageRef = { sourceId: 's1', manifest: 'sha256:' + 'a'.repeat(64) };

beforeAll(async () => {
  (globalThis as { explorer?: ExplorerApi }).explorer = fake;
  ({ useTree } = await import('../../../renderer/state/tree.js'));
  useTree.getState().setContext({ sourceId: 's1', image, view: { kind: 'merged' } });
  await vi.waitFor(() => expect(useTree.getState().rows.length).toBe(1));
});

const selected = () => useTree.getState().selected;

describe('search next/previous beyond the first page of hits', () => {
  it('runs the search: the counter shows every hit and the first is selected', async () => {
    useTree.getState().setSearchText('*.txt');
    await useTree.getState().runSearch();
    expect(useTree.getState().hitTotal).toBe(TOTAL);
    expect(useTree.getState().hitIndex).toBe(0);
    expect(selected()).toBe(file(0).path);
    expect(searches).toEqual([0]);
  });

  it('previous from the first hit goes to the last one (its page read on demand)', async () => {
    await useTree.getState().gotoHit(-1);
    expect(useTree.getState().hitIndex).toBe(TOTAL - 1);
    expect(selected()).toBe(file(TOTAL - 1).path);
    expect(searches).toEqual([0, 10_000]);
    await useTree.getState().gotoHit(1);
    expect(selected()).toBe(file(0).path);
  });

  it('next crosses from one page into the next, reading each page once', async () => {
    const walk = async (from: number, steps: number) => {
      useTree.setState({ hitIndex: from });
      const seen: string[] = [];
      for (let k = 0; k < steps; k++) {
        await useTree.getState().gotoHit(1);
        seen.push(selected()!);
      }
      return seen;
    };
    expect(await walk(MAX_PAGE - 3, 5)).toEqual([-2, -1, 0, 1, 2].map((d) => file(MAX_PAGE + d).path));
    expect(useTree.getState().hitIndex).toBe(MAX_PAGE + 2);
    // Into the last page (already read above) and round to the first.
    expect(await walk(2 * MAX_PAGE - 2, 3)).toEqual([2 * MAX_PAGE - 1, 2 * MAX_PAGE, 2 * MAX_PAGE + 1].map((i) => file(i).path));
    expect(await walk(TOTAL - 2, 2)).toEqual([file(TOTAL - 1).path, file(0).path]);
    expect(searches).toEqual([0, 10_000, 5_000]);
  });

  it('quick clicks: the counter follows every click, the last one is revealed, a page is read once', async () => {
    // Run again: hit 1 of a fresh walk, with only the first page loaded.
    await useTree.getState().runSearch();
    searches.length = 0;
    const s = useTree.getState();
    await Promise.all([s.gotoHit(-1), s.gotoHit(-1), s.gotoHit(-1)]);
    expect(useTree.getState().hitIndex).toBe(TOTAL - 3);
    expect(selected()).toBe(file(TOTAL - 3).path);
    expect(searches).toEqual([10_000]);
  });

  it('a new search forgets the pages of the old one', async () => {
    searches.length = 0;
    await useTree.getState().runSearch();
    await useTree.getState().gotoHit(-1);
    expect(searches).toEqual([0, 10_000]);
  });
});
