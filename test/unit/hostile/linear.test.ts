import { describe, expect, it } from 'vitest';
import { buildGraph } from '../../../shared/graph/build.js';
import { openSource } from '../../../shared/sources/open.js';
import { indexBuffer } from '../layers/helpers.js';
import { file, layoutOf, pax, tar } from './build.js';

// Issue 15 item 3: work is linear. A config with a million-entry history (each entry a schema violation)
// was quadratic in problem de-duplication; a layer of a hundred thousand bad entries must not be either.
// Timing is not asserted (the machine is shared): a quadratic path here takes hours, so the test's own
// time limit is the check, and the bounded problem lists are asserted.

describe('linear in entries, history and problems', () => {
  it('a 1M-entry history whose every entry is invalid: the graph is built, the config lists a bounded number of problems', { timeout: 240_000 }, async () => {
    const history = Array.from({ length: 1_000_000 }, (_, i) => ({ created_by: i, empty_layer: 'no' }));
    const dir = layoutOf([{ blob: tar(file('a', 'A')) }], { history });
    const { source } = await openSource(`oci:${dir}`);
    try {
      const g = await buildGraph(source);
      const config = g.nodes.find((n) => n.kind === 'config')!;
      expect(config.problems.length).toBeGreaterThan(100);
      expect(config.problems.length).toBeLessThanOrEqual(501);
      expect(config.problems.at(-1)!.message).toMatch(/only the first ones are listed/);
    } finally {
      await source.close();
    }
  });

  it('a layer of 100,000 refused entries: indexed in one pass, problems capped with a count of the rest', { timeout: 120_000 }, async () => {
    const bad = pax({ uid: String(2 ** 40) });
    const entries: Buffer[] = [];
    for (let i = 0; i < 100_000; i++) entries.push(bad, file(`f${i}`, ''));
    entries.push(file('last', 'ok'));
    entries.push(Buffer.alloc(1024));
    const idx = await indexBuffer(Buffer.concat(entries));
    expect(idx.paths).toEqual(['last']);
    expect(idx.meta.problems.length).toBe(201);
    expect(idx.meta.problems.at(-1)!.message).toMatch(/99800 more problems/);
  });
});
