import { describe, expect, it } from 'vitest';
import { historyProblem, mapHistoryToLayers } from '../../../shared/graph/build.js';
import { codes, Kit } from './layout-kit.js';

describe('config history mapped to layers', () => {
  const h = (empty: boolean, by: string) => (empty ? { empty_layer: true, created_by: by } : { created_by: by });

  it('empty_layer entries have no layer; the others map in order', () => {
    const config = { rootfs: { diff_ids: ['sha256:a', 'sha256:b'] }, history: [h(false, 'ADD'), h(true, 'ENV'), h(false, 'RUN'), h(true, 'CMD')] };
    expect(mapHistoryToLayers(config).map((x) => [x.history.created_by, x.layerIndex])).toEqual([
      ['ADD', 0],
      ['ENV', undefined],
      ['RUN', 1],
      ['CMD', undefined],
    ]);
    expect(historyProblem(config)).toBeUndefined();
  });

  it('more non-empty entries than layers, or fewer, is a problem; extras get no layer', () => {
    const more = { rootfs: { diff_ids: ['sha256:a'] }, history: [h(false, 'A'), h(false, 'B')] };
    expect(mapHistoryToLayers(more).map((x) => x.layerIndex)).toEqual([0, undefined]);
    expect(historyProblem(more)).toMatchObject({ code: 'HISTORY_MISMATCH', path: '/history' });
    const fewer = { rootfs: { diff_ids: ['sha256:a', 'sha256:b'] }, history: [h(false, 'A')] };
    expect(historyProblem(fewer)?.code).toBe('HISTORY_MISMATCH');
    expect(historyProblem({ rootfs: { diff_ids: ['sha256:a'] } })).toBeUndefined(); // history is optional
    expect(mapHistoryToLayers(null)).toEqual([]);
  });

  it('the mismatch is a problem on the config node', async () => {
    const k = new Kit();
    try {
      const img = k.image({ layers: ['one'], history: [h(false, 'A'), h(true, 'B'), h(false, 'C')] });
      k.index([img.manifest]);
      const g = await k.graph();
      expect(codes(g, img.config.digest)).toEqual(['HISTORY_MISMATCH']);
      expect(codes(g, img.manifest.digest)).toEqual([]);
    } finally {
      k.remove();
    }
  });
});
