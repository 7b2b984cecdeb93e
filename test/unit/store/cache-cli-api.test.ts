import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultCore } from '../../../shared/api/core.js';
import { createHandlerTable } from '../../../shared/api/handlers.js';
import type { CacheUsage } from '../../../shared/api/contract.js';
import { main } from '../../../shared/cli/main.js';
import type { CliIO } from '../../../shared/cli/io.js';
import { openCache } from '../../../shared/store/cache.js';
import { makeTar } from '../layers/helpers.js';
import { writeLayout } from '../layers/layout.js';
import { listFiles, tmp } from './kit.js';

// `oci-explorer cache ls|prune|clear`, the global --cache-max, and the API's Storage methods.

function cli(base: string, extraEnv: Record<string, string> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIO = {
    stdout: (s) => void out.push(s),
    stderr: (s) => void err.push(s),
    cwd: base,
    env: { OCI_EXPLORER_CACHE: path.join(base, 'cache'), XDG_CONFIG_HOME: path.join(base, 'config'), ...extraEnv },
  };
  const run = async (...argv: string[]) => {
    out.length = 0;
    err.length = 0;
    const code = await main(argv, io);
    return { code, stdout: out.join(''), stderr: err.join('') };
  };
  return run;
}

async function layouts(n: number, files: number): Promise<string[]> {
  const out = [];
  for (let i = 0; i < n; i++) {
    out.push(writeLayout([{ layers: [await makeTar(Array.from({ length: files }, (_, j) => ({ name: `img${i}/dir${j % 7}/file-${j}`, content: `${i}:${j}` })))] }]));
  }
  return out;
}

describe('oci-explorer cache', () => {
  it('lists entries with size and last use, prunes to --max, clears; --cache-max caps what ls may keep', async () => {
    const base = tmp('oci-cache-cli-');
    const run = cli(base);
    const [a, b] = await layouts(2, 400);
    expect((await run('ls', a!, '--json')).code).toBe(0);
    expect((await run('ls', b!)).code).toBe(0);
    const ls = await run('cache', 'ls');
    expect(ls.code).toBe(0);
    expect(ls.stdout).toMatch(/^KIND +SIZE +LAST USE +ENTRY\n/);
    expect(ls.stdout.match(/^layer-index +\S+ \S+ +\d{4}-\d\d-\d\d \d\d:\d\d +sha256:[0-9a-f]{64}$/gm)).toHaveLength(2);
    expect(ls.stdout).toMatch(/^2 entries, .* in all of 5\.00 GiB|2 entries, .* \(default/m);
    const json = JSON.parse((await run('cache', 'ls', '--json')).stdout) as { entries: { bytes: number; lastUsed: string }[]; maxSource: string };
    expect(json.entries).toHaveLength(2);
    expect(json.maxSource).toBe('default');
    const small = Math.min(...json.entries.map((e) => e.bytes));
    const big = Math.max(...json.entries.map((e) => e.bytes));
    // --max: keep only what fits (the most recently used goes last).
    const p = await run('cache', 'prune', '--max', String(big + 100));
    expect(p.stdout).toMatch(/^removed layer-index /m);
    expect(p.stdout).toMatch(/Removed 1 entry/);
    expect(JSON.parse((await run('cache', 'ls', '--json')).stdout).entries).toHaveLength(1);
    expect((await run('cache', 'clear')).stdout).toMatch(/Removed 1 entry/);
    expect(listFiles(path.join(base, 'cache'))).toEqual([]);
    // With a cap below one index, nothing is kept, and the command still works.
    const capped = await run('--cache-max', String(small - 1), 'ls', a!);
    expect(capped.code).toBe(0);
    expect(capped.stdout).toContain('img0/dir0/file-0');
    expect(listFiles(path.join(base, 'cache'))).toEqual([]);
    expect((await run('ls', a!, `--cache-max=${big * 4}`)).code).toBe(0);
    expect(listFiles(path.join(base, 'cache')).filter((f) => f.endsWith('.idx'))).toHaveLength(1);
  });

  it('refuses a bad SIZE; reports a bad OCI_EXPLORER_CACHE_MAX; escapes control characters in names', async () => {
    const base = tmp('oci-cache-cli-');
    const run = cli(base);
    expect(await run('--cache-max', '12 parsecs', 'cache', 'ls')).toMatchObject({ code: 2, stderr: expect.stringMatching(/--cache-max needs a size/) });
    expect((await run('cache', 'prune', '--max', 'lots')).code).toBe(2);
    expect((await run('cache', 'nope')).code).toBe(2);
    expect((await cli(base, { OCI_EXPLORER_CACHE_MAX: 'lots' })('cache', 'ls')).stderr).toMatch(/OCI_EXPLORER_CACHE_MAX="lots" is not a size/);
    const dir = path.join(base, 'cache', 'layer-index', 'v2');
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'evil\u001b]0;pwned\u0007\nfake line'), 'x');
    const ls = await run('cache', 'ls');
    expect(ls.stdout.includes('\u001b') || ls.stdout.includes('\u0007')).toBe(false);
    expect(ls.stdout).toContain('evil\\x1b]0;pwned\\x07\\x0afake line');
    expect((await run('cache', 'prune')).stdout).toMatch(/removed stale/);
  });
});

describe('Storage in the API', () => {
  it('cacheUsage reports the cache and its cap, setSettings({cacheMaxBytes}) caps it, clearCache empties it', async () => {
    const base = tmp('oci-cache-api-');
    const cacheDir = path.join(base, 'cache');
    openCache(cacheDir, { keyFile: path.join(base, 'config', 'cache.key'), env: {} });
    const [img] = await layouts(1, 300);
    const core = defaultCore({ cacheDir, workers: 0 });
    const t = createHandlerTable({ core, mode: 'web', appVersion: 'test', cacheDir, stateDir: path.join(base, 'state') });
    const usage = async () => ((await t.dispatch('cacheUsage', {})) as { ok: true; value: CacheUsage }).value;
    try {
      expect(await usage()).toMatchObject({ dir: cacheDir, entries: 0, usedBytes: 0, maxSource: 'default' });
      // Open and index an image through the API, as the app does: its layer index is cached and pinned.
      const opened = (await t.dispatch('openSource', { spec: img! })) as { ok: true; value: { id: string } };
      expect(await t.dispatch('selectImage', { sourceId: opened.value.id })).toMatchObject({ ok: true });
      const open = await usage();
      expect(open.entries).toBe(1);
      expect(open.layerIndexBytes).toBeGreaterThan(0);
      expect(open.pinnedBytes).toBe(open.layerIndexBytes);
      expect(((await t.dispatch('clearCache', {})) as { ok: true; value: { removedEntries: number } }).value.removedEntries).toBe(0);
      // Closing the source lets go of the pins at once (not when it is garbage-collected).
      await t.dispatch('closeSource', { sourceId: opened.value.id });
      expect((await usage()).pinnedBytes).toBe(0);
      const set = await t.dispatch('setSettings', { patch: { cacheMaxBytes: 123_456_789 } });
      expect(set).toMatchObject({ ok: true, value: { cacheMaxBytes: 123_456_789 } });
      expect(((await t.dispatch('cacheUsage', {})) as { ok: true; value: CacheUsage }).value).toMatchObject({ maxBytes: 123_456_789, maxSource: 'setting' });
      expect(await t.dispatch('setSettings', { patch: { cacheMaxBytes: -1 } })).toMatchObject({ ok: false, error: { code: 'INVALID_ARGUMENT' } });
      expect(await t.dispatch('cacheUsage', { x: 1 })).toMatchObject({ ok: false, error: { code: 'INVALID_ARGUMENT' } });
      const cleared = (await t.dispatch('clearCache', {})) as { ok: true; value: { removedEntries: number; removedBytes: number } };
      expect(cleared.value.removedEntries).toBe(1);
      expect(((await t.dispatch('cacheUsage', {})) as { ok: true; value: CacheUsage }).value.entries).toBe(0);
    } finally {
      await t.close();
    }
  });
});
