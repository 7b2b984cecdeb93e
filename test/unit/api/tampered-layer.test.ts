import { cpSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { EventEnvelope, ImageSummary } from '../../../shared/api/contract.js';
import { defaultCore } from '../../../shared/api/core.js';
import { createHandlerTable } from '../../../shared/api/handlers.js';

// Acceptance (core issue): a flipped byte in a layer blob — same size, so nothing shows until the layer
// is read — ends up as DIGEST_MISMATCH on that layer's graph node once the image is indexed; the other
// layers still verify and the rest of the image stays browsable.

const DEMO = path.resolve(__dirname, '../../../resources/demo');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'oe-tampered-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('a tampered layer blob', () => {
  it('is DIGEST_MISMATCH on its own node after selectImage; the others are verified; graph-changed names them', async () => {
    const layout = path.join(tmp, 'demo');
    cpSync(DEMO, layout, { recursive: true });
    const index = JSON.parse(readFileSync(path.join(layout, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
    const blob = (d: string) => path.join(layout, 'blobs/sha256', d.slice(7));
    const inner = JSON.parse(readFileSync(blob(index.manifests[0]!.digest), 'utf8')) as { manifests: { digest: string; platform: { architecture: string } }[] };
    const amd = inner.manifests.find((m) => m.platform.architecture === 'amd64')!;
    const manifest = JSON.parse(readFileSync(blob(amd.digest), 'utf8')) as { layers: { digest: string; size: number }[] };
    const victim = manifest.layers[1]!;
    const bytes = readFileSync(blob(victim.digest));
    bytes[bytes.length >> 1] = bytes[bytes.length >> 1]! ^ 0x01;
    writeFileSync(blob(victim.digest), bytes);
    expect(statSync(blob(victim.digest)).size).toBe(victim.size);

    const core = defaultCore({ cacheDir: path.join(tmp, 'cache'), workers: 0 });
    const t = createHandlerTable({ core, mode: 'web', appVersion: 'test', demoPath: DEMO });
    const events: EventEnvelope[] = [];
    t.subscribe((e) => events.push(e));
    try {
      const call = async <T>(m: string, a: unknown): Promise<T> => {
        const r = await t.dispatch(m, a);
        if (!r.ok) throw Object.assign(new Error(r.error.message), r.error);
        return r.value as T;
      };
      const h = await call<{ id: string }>('openSource', { spec: layout });
      // Before any layer is read: pending, no problem (the size is right).
      const before = await call<{ nodes: { digest: string; verify: string; problems: { code: string }[] }[] }>('getGraph', { sourceId: h.id });
      expect(before.nodes.find((n) => n.digest === victim.digest)).toMatchObject({ verify: 'pending', problems: [] });

      const summary = await call<ImageSummary>('selectImage', { sourceId: h.id, platform: 'linux/amd64' });
      expect(summary.layers.map((l) => l.verify)).toEqual(manifest.layers.map((l) => (l === victim ? 'failed' : 'verified')));
      expect(summary.layers[1]!.problems.map((p) => p.code)).toContain('DIGEST_MISMATCH');

      const g = await call<{ nodes: { digest: string; verify: string; problems: { code: string; message: string }[] }[] }>('getGraph', { sourceId: h.id });
      const node = g.nodes.find((n) => n.digest === victim.digest)!;
      expect(node.verify).toBe('failed');
      expect(node.problems.map((p) => p.code)).toEqual(['DIGEST_MISMATCH']);
      expect(node.problems[0]!.message).toMatch(/fetch it again/);
      for (const l of manifest.layers) if (l !== victim) expect(g.nodes.find((n) => n.digest === l.digest)).toMatchObject({ verify: 'verified', problems: [] });
      const changed = events.find((e) => e.event === 'graph-changed')?.payload as { digests: string[] } | undefined;
      expect(changed?.digests).toContain(victim.digest);

      // The rest of the image stays browsable: the merged root lists.
      const page = await call<{ entries: unknown[] }>('listDir', { image: summary.ref, view: { kind: 'merged' }, path: '/' });
      expect(page.entries.length).toBeGreaterThan(0);
    } finally {
      await t.close();
    }
  });
});
