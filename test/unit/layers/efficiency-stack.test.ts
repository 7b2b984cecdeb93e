import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { efficiency } from '../../../shared/layers/efficiency.js';
import { MergedTree } from '../../../shared/layers/merge.js';
import { openImage } from '../../../shared/layers/open-image.js';
import { B, STACK_EFFICIENCY as WANT, stackTars } from './eff-stack.js';
import { indexBuffer, makeTar } from './helpers.js';
import { writeLayout } from './layout.js';

// The stack and its figures worked out by hand: eff-stack.ts.

describe('efficiency on a hand-computed stack', () => {
  it('per-path counts, score, wasted, user percent and reclaimable match the figures worked out by hand', async () => {
    const indexes = await Promise.all((await stackTars()).map((t) => indexBuffer(t)));
    const final = new MergedTree(indexes, [0, 1, 2, 3]);
    // The merged tree the reclaimable figure keeps against.
    expect([...final.walk()]).toEqual(['base', 'etc', 'etc/conf', 'opq', 'opq/new']);
    expect(final.get('etc/conf')!.size).toBe(300);
    const e = efficiency(indexes, final);
    expect(e).toEqual(WANT);
    expect(e.reclaimableBytes).toBeLessThan(e.wastedBytes);
    // Without the final tree, reclaimable keeps the smallest copy instead.
    const noFinal = efficiency(indexes);
    expect(noFinal.reclaimableBytes).toBe(685);
    expect(noFinal.inefficiencies.map((w) => [w.path, w.reclaimable])).toEqual([
      ['etc/conf', 500],
      ['cache', 100],
      ['opq/old', 35],
      ['junk', 50],
    ]);
    expect({ ...noFinal, reclaimableBytes: 0, inefficiencies: [] }).toEqual({ ...WANT, reclaimableBytes: 0, inefficiencies: [] });
  });

  it('the engine (an OCI layout, gzip layers) gives the same figures', async () => {
    const dir = writeLayout([{ layers: await stackTars(), gzip: true }]);
    const r = await openImage(dir, {}, { cacheDir: mkdtempSync(path.join(os.tmpdir(), 'oci-eff-cache-')), workers: 0 });
    try {
      expect(r.image.layers.efficiency()).toEqual(WANT);
    } finally {
      await r.close();
    }
  });

  it('a whiteout of something absent below stops that layer\'s count, as dive does', async () => {
    // dive: GetNode fails for ".wh.ghost" → the visit of L1 ends there; "z" (after it) is not counted.
    const indexes = await Promise.all(
      [
        await makeTar([{ name: 'z', content: B(10) }]),
        await makeTar([{ name: '.wh.ghost' }, { name: 'z', content: B(5) }]),
      ].map((t) => indexBuffer(t)),
    );
    const e = efficiency(indexes, new MergedTree(indexes, [0, 1]));
    // Only L0's z is counted (count 1): no inefficiency, score 10 / 10. Reclaimable counts bytes, not dive's
    // visit: L0's 10-byte z is overwritten by L1's, so squashing saves those 10.
    expect(e).toMatchObject({ score: 1, wastedBytes: 0, reclaimableBytes: 10, inefficiencies: [] });
  });
});
