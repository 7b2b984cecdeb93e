import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync, utimesSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { openImage } from '../../shared/layers/open-image.js';
import { IndexStore } from '../../shared/layers/store.js';
import { openCache } from '../../shared/store/cache.js';
import { makeTar } from '../unit/layers/helpers.js';
import { writeLayout } from '../unit/layers/layout.js';
import { hasCommand, run } from '../helpers/tools.js';
import { diskBytes, kit, listFiles, tmp, writeStore } from '../unit/store/kit.js';

// Issue 10 item 3 end to end: the cache never holds more than its cap while ten images bigger than
// the cap are opened one after another, and two CLI processes sharing one cache at once never
// corrupt it. No timing: the checks are on what is on disk.

const CAP = 1024 * 1024;
const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** An image of two gzip layers: ~1.3 MB of incompressible files (the image is bigger than the cap) and many small ones (a big index). */
async function image(i: number, smallFiles: number): Promise<{ dir: string; files: string[] }> {
  const big = Array.from({ length: 4 }, (_, j) => ({ name: `img${i}/blob-${j}.bin`, content: randomBytes(330_000) }));
  const small = Array.from({ length: smallFiles }, (_, j) => ({ name: `img${i}/tree/d${j % 23}/f${j}.txt`, content: `${i}/${j}\n` }));
  const dir = writeLayout([{ layers: [await makeTar(big), await makeTar(small)], gzip: true }]);
  return { dir, files: [...big, ...small].map((f) => f.name).sort() };
}

/** Largest total seen by walking the folder over and over until `work` settles. */
async function peakWhile<T>(root: string, work: Promise<T>): Promise<{ result: T; peak: number }> {
  let peak = 0;
  let done = false;
  const settled = work.finally(() => (done = true));
  const walk = async (dir: string): Promise<number> => {
    let n = 0;
    let names: string[] = [];
    try {
      names = readdirSync(dir);
    } catch {
      return 0;
    }
    for (const name of names) {
      try {
        const st = lstatSync(path.join(dir, name));
        n += st.isDirectory() ? await walk(path.join(dir, name)) : st.isFile() ? st.size : 0;
      } catch {
        // renamed or removed meanwhile
      }
    }
    return n;
  };
  while (!done) {
    peak = Math.max(peak, await walk(root));
    await new Promise((r) => setImmediate(r));
  }
  return { result: await settled, peak: Math.max(peak, await walk(root)) };
}

describe('one bounded cache', () => {
  it('never exceeds its cap across opening ten images bigger than the cap', async () => {
    const base = tmp('oci-cache-cap-');
    const root = path.join(base, 'cache');
    openCache(root, { keyFile: path.join(base, 'config', 'cache.key'), env: {}, settingMaxBytes: CAP });
    const images = [];
    for (let i = 0; i < 10; i++) images.push(await image(i, i === 9 ? 14_000 : 1_500));
    let stored = 0;
    for (const img of images) {
      const { result: r, peak } = await peakWhile(root, openImage(img.dir, {}, { cacheDir: root, workers: 0 }));
      try {
        expect(diskBytes(img.dir)).toBeGreaterThan(CAP);
        expect(peak).toBeLessThanOrEqual(CAP);
        expect([...r.image.layers.mergedTree().walk()].filter((p) => r.image.layers.mergedTree().get(p)!.type === 'file').sort()).toEqual(img.files);
        expect((await r.image.layers.readFileBuffer(img.files[0]!)).length).toBe(330_000);
      } finally {
        await r.close();
      }
      expect(diskBytes(root)).toBeLessThanOrEqual(CAP);
      stored = Math.max(stored, listFiles(root).filter((f) => f.endsWith('.idx')).length);
    }
    // The cache was used (several images' indexes fit at once), and the last small image comes from it.
    expect(stored).toBeGreaterThanOrEqual(4);
    const again = await openImage(images[8]!.dir, {}, { cacheDir: root, workers: 0 });
    expect(again.image.layers.layers.every((l) => l.fromCache)).toBe(true);
    await again.close();
    // The tenth image's index alone is bigger than the cap: it was never stored, yet it opened.
    const huge = await openImage(images[9]!.dir, {}, { cacheDir: root, workers: 0 });
    expect(huge.image.layers.layers[1]!.fromCache).toBe(false);
    await huge.close();
    expect(diskBytes(root)).toBeLessThanOrEqual(CAP);
  });

  it('two CLI processes sharing one cache at once (and a third pruning it) never corrupt it', async () => {
    const base = tmp('oci-cache-procs-');
    const root = path.join(base, 'cache');
    const env = { ...process.env, OCI_EXPLORER_CACHE: root, XDG_CONFIG_HOME: path.join(base, 'config'), OCI_EXPLORER_CACHE_MAX: String(CAP) };
    const cli = (...args: string[]) =>
      new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
        const p = spawn(process.execPath, [path.join(repo, 'bin', 'oci-explorer.mjs'), ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
        let stdout = '';
        let stderr = '';
        p.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
        p.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
        p.on('close', (code) => resolve({ code, stdout, stderr }));
      });
    const images = [];
    for (let i = 0; i < 4; i++) images.push(await image(i, 3_000));
    const filesOf = (out: string) =>
      out
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { path: string; type: string })
        .filter((e) => e.type === 'file')
        .map((e) => e.path)
        .sort();
    // Rounds: the same image twice at once, then different images (each eviction races the other's writes).
    const rounds: [number, number][] = [[0, 0], [1, 2], [3, 0], [2, 1], [0, 3]];
    for (const [x, y] of rounds) {
      const runs = await Promise.all([cli('ls', images[x]!.dir, '--json'), cli('ls', images[y]!.dir, '--json'), ...(x === 3 ? [cli('cache', 'prune', '--max', '300K')] : [])]);
      for (const r of runs) expect(r.code, r.stderr).toBe(0);
      expect(filesOf(runs[0]!.stdout)).toEqual(images[x]!.files);
      expect(filesOf(runs[1]!.stdout)).toEqual(images[y]!.files);
      expect(diskBytes(root)).toBeLessThanOrEqual(CAP);
    }
    // Afterwards: every index file is a sealed, valid index for its name; nothing half-written or held is left.
    const files = listFiles(root);
    expect(files.filter((f) => f.endsWith('.tmp') || f.includes('leases') || f.endsWith('lock'))).toEqual([]);
    openCache(root, { keyFile: path.join(base, 'config', 'oci-explorer', 'cache.key'), env: {} });
    const store = new IndexStore(root);
    const idx = files.filter((f) => f.endsWith('.idx'));
    expect(idx.length).toBeGreaterThan(0);
    for (const f of idx) {
      const digest = `sha256:${path.basename(f, '.idx')}`;
      expect((await store.load(digest))?.meta.digest, f).toBe(digest);
    }
    expect(diskBytes(root)).toBeLessThanOrEqual(CAP);
    const ls = await cli('cache', 'ls', '--json');
    expect(JSON.parse(ls.stdout).entries.length).toBe(idx.length);
  });

  // Under CI a missing tool fails the test (run() throws); elsewhere it is skipped.
  it.skipIf(!process.env.CI && !(hasCommand('skopeo') && hasCommand('umoci')))('an image evicted from the store leaves a layout skopeo and umoci read', async () => {
    const k = kit(10_000_000);
    const layer = (n: number, fill: number) => Buffer.alloc(n, fill);
    writeStore(k.root, [
      { tag: 'old', layers: [layer(40_000, 1), layer(30_000, 2)] },
      { tag: 'new', layers: [layer(40_000, 1), layer(20_000, 3)] },
    ]);
    const top = JSON.parse((await run('skopeo', ['inspect', '--raw', `oci:${path.join(k.root, 'store')}:old`])).stdout) as { layers: { digest: string }[] };
    expect(top.layers).toHaveLength(2);
    const idx = JSON.parse(readFileSync(path.join(k.root, 'store', 'index.json'), 'utf8')) as { manifests: { digest: string; annotations: Record<string, string> }[] };
    const oldTop = idx.manifests.find((m) => m.annotations['org.opencontainers.image.ref.name'] === 'old')!.digest;
    utimesSync(path.join(k.root, 'store', 'blobs', 'sha256', oldTop.slice(7)), new Date(1e12), new Date(1e12));
    const p = await k.cache.prune(diskBytes(k.root) - 10_000);
    expect(p.removed.map((e) => e.refs)).toEqual([['old']]);
    const ls = await run('umoci', ['ls', '--layout', path.join(k.root, 'store')]);
    expect(ls.stdout.trim().split('\n')).toEqual(['new']);
    const out = path.join(tmp('oci-skopeo-'), 'copy');
    await run('skopeo', ['copy', `oci:${path.join(k.root, 'store')}:new`, `dir:${out}`]);
    expect(listFiles(out).length).toBeGreaterThanOrEqual(4);
    const gone = await run('skopeo', ['inspect', '--raw', `oci:${path.join(k.root, 'store')}:old`], { allowFail: true });
    expect(gone.code).not.toBe(0);
  });
});
