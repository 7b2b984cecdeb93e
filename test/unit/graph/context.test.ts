import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { markVerified } from '../../../shared/graph/build.js';
import { Kit } from './layout-kit.js';

const kits: Kit[] = [];
afterEach(() => {
  while (kits.length) kits.pop()!.remove();
});

describe('GraphContext and markVerified', () => {
  it('keeps the verified bytes, parsed documents and descriptors of what it read; layers are not kept', async () => {
    const k = new Kit();
    kits.push(k);
    const img = k.image({ layers: ['L1', 'L2'] });
    k.index([{ ...img.manifest, annotations: { 'org.opencontainers.image.ref.name': 'v1' } }]);
    const ctx = await k.graph();
    const bytes = readFileSync(k.blobPath(img.manifest.digest));
    expect(ctx.raw(img.manifest.digest)?.equals(bytes)).toBe(true);
    expect(`sha256:${createHash('sha256').update(ctx.raw(img.config.digest)!).digest('hex')}`).toBe(img.config.digest);
    expect(ctx.doc(img.manifest.digest)).toEqual(JSON.parse(bytes.toString()));
    expect(ctx.descriptor(img.manifest.digest)).toMatchObject({ digest: img.manifest.digest, size: img.manifest.size, annotations: { 'org.opencontainers.image.ref.name': 'v1' } });
    for (const l of img.layers) {
      expect(ctx.raw(l.digest)).toBeUndefined();
      expect(ctx.node(l.digest)!.verify).toBe('pending');
    }
    const root = ctx.graph.roots[0]!;
    expect(ctx.raw(root)?.equals(readFileSync(`${k.dir}/index.json`))).toBe(true);
  });

  it('markVerified records what the layer engine found', async () => {
    const k = new Kit();
    kits.push(k);
    const img = k.image({ layers: ['L1', 'L2'] });
    k.index([img.manifest]);
    const { graph } = await k.graph();
    const [a, b] = img.layers as [typeof img.layers[0], typeof img.layers[0]];
    expect(markVerified(graph, a.digest, 'verified')).toMatchObject({ verify: 'verified', problems: [] });
    const p = { code: 'DIGEST_MISMATCH' as const, message: 'bad' };
    markVerified(graph, b.digest, 'failed', p);
    markVerified(graph, b.digest, 'failed', p); // reported once
    expect(graph.nodes.find((n) => n.digest === b.digest)).toMatchObject({ verify: 'failed', problems: [p] });
    expect(markVerified(graph, `sha256:${'0'.repeat(64)}`, 'verified')).toBeUndefined();
  });
});
