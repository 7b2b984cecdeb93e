import { execFileSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { DirPage, ImageSummary } from '../../../shared/api/contract.js';
import { defaultCore } from '../../../shared/api/core.js';
import { createHandlerTable } from '../../../shared/api/handlers.js';
import { fx, noSharedFixtures } from '../../helpers/fixtures.js';

// Directory totals count a hard-linked file's bytes once (as du does): busybox's /bin holds ~400 hard
// links to one binary, and the folder must not weigh 400 binaries.

describe.skipIf(noSharedFixtures)('directory totals with hard links', () => {
  it("/bin of dive's test image weighs its regular files, not every link to them", async () => {
    const file = fx('dive/.data/test-docker-image.tar');
    const core = defaultCore({ cacheDir: path.join(os.tmpdir(), `oe-totals-${process.pid}`), workers: 0 });
    const t = createHandlerTable({ core, mode: 'web', appVersion: 'test' });
    const call = async <T,>(m: string, a: unknown): Promise<T> => {
      const r = await t.dispatch(m, a);
      if (!r.ok) throw new Error(r.error.message);
      return r.value as T;
    };
    const h = await call<{ id: string }>('openSource', { spec: file });
    const s = await call<ImageSummary>('selectImage', { sourceId: h.id });
    const root = await call<DirPage>('listDir', { image: s.ref, view: { kind: 'merged' }, path: '/', offset: 0, limit: 100 });
    const bin = root.entries.find((e) => e.name === 'bin')!;

    // Independent figure: GNU tar's verbose listing of the base layer (the only one touching bin/).
    const manifest = JSON.parse(execFileSync('tar', ['-xOf', file, 'manifest.json']).toString()) as { Layers: string[] }[];
    const listing = execFileSync('tar', ['-xOf', file, manifest[0]!.Layers[0]!], { maxBuffer: 64 << 20 });
    const tv = execFileSync('tar', ['-tvf', '-'], { input: listing }).toString().split('\n');
    const regular = tv.filter((l) => l.startsWith('-') && / bin\//.test(l)).map((l) => Number(l.split(/\s+/)[2]));
    const links = tv.filter((l) => l.startsWith('h') && / bin\//.test(l));
    expect(links.length).toBeGreaterThan(300);
    expect(bin.totalSize).toBe(regular.reduce((a, b) => a + b, 0));
  });
});

describe.skipIf(noSharedFixtures)('search with a sort', () => {
  it('lists depth first with every folder in listDir order, so Expand builds the same rows as folder-by-folder', async () => {
    const core = defaultCore({ cacheDir: path.join(os.tmpdir(), `oe-totals-${process.pid}`), workers: 0 });
    const t = createHandlerTable({ core, mode: 'web', appVersion: 'test' });
    const call = async <T,>(m: string, a: unknown): Promise<T> => {
      const r = await t.dispatch(m, a);
      if (!r.ok) throw new Error(r.error.message);
      return r.value as T;
    };
    try {
      const h = await call<{ id: string }>('openSource', { spec: fx('dive/.data/test-docker-image.tar') });
      const s = await call<ImageSummary>('selectImage', { sourceId: h.id });
      for (const sort of [{ by: 'size', order: 'desc' }, { by: 'name', order: 'desc' }, { by: 'size', order: 'asc' }]) {
        const view = { kind: 'merged' };
        const all = await call<{ total: number; hits: { path: string }[] }>('search', { image: s.ref, view, query: { pattern: '**', mode: 'glob' }, limit: 5000, sort });
        expect(all.hits.length).toBe(all.total);
        // Folder by folder, the way the tree loads without Expand.
        const walk: string[] = [];
        const visit = async (dir: string) => {
          const page = await call<DirPage>('listDir', { image: s.ref, view, path: dir, limit: 5000, sort });
          for (const e of page.entries) {
            walk.push(e.path);
            if (e.type === 'dir') await visit(e.path);
          }
        };
        await visit('/');
        expect(all.hits.map((x) => x.path), JSON.stringify(sort)).toEqual(walk);
      }
    } finally {
      await t.close();
    }
  });
});
