import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { openImage } from '../../shared/layers/open-image.js';
import type { BlobProgress } from '../../shared/registry/fetcher.js';
import { closeIdleConnections } from '../../shared/registry/http.js';
import { pull, type PullOptions } from '../../shared/registry/pull.js';
import type { RetryPolicy } from '../../shared/registry/retry.js';
import { openSource } from '../../shared/sources/open.js';
import { cliRunner } from '../helpers/cli.js';
import { startFaultProxy, type FaultProxy } from '../helpers/fault-proxy.js';
import { push, verifiedBlobs } from '../helpers/registry.js';
import { hasCommand, startRegistry, type TestRegistry } from '../helpers/tools.js';
import type { AttestedFacts, MultiplatformFacts, RealisticFacts } from '../fixtures/types.js';

// Faults between us and a real registry, injected by a loopback proxy of the tests: 500/503, 429 with
// Retry-After (short: waited for; long: one clear error), a reset, a truncated body and a stall
// mid-blob (resumed by Range from the last byte), a flipped byte (never kept). Each pull ends in a
// verified image or one clear error, and the store never holds an unverified blob or a temp file.
// Then eight concurrent pulls of overlapping images into one store (each shared blob crosses the
// proxy once), two CLI processes at once, and cancellation mid-download.

const fixtures = inject('fixtures');
const rf = JSON.parse(readFileSync(fixtures.realistic.facts, 'utf8')) as RealisticFacts;
const big = [...rf.layers].sort((a, b) => b.size - a.size)[0]!;
const tmp = mkdtempSync(path.join(os.tmpdir(), 'oci-registry-faults-'));
const env = { PATH: process.env.PATH, HOME: tmp, DOCKER_CONFIG: path.join(tmp, 'docker'), XDG_CONFIG_HOME: path.join(tmp, 'config') };
const need = !hasCommand('docker-registry') || !hasCommand('skopeo');
if (need && process.env.CI === 'true') throw new Error('docker-registry and skopeo are required under CI=true');
/** Quick backoff so the tests do not sleep; Retry-After is still honoured as sent. */
const retry: RetryPolicy = { attempts: 5, baseDelayMs: 20, maxDelayMs: 200, maxRetryAfterMs: 10_000 };

let reg: TestRegistry;
let proxy: FaultProxy;
let n = 0;
const newCache = () => path.join(tmp, `cache-${++n}`);
const blobUrl = (digest: string) => new RegExp(`/blobs/${digest}$`);
const run = (cache: string, o: Partial<PullOptions> = {}, name = 'realistic:latest') => pull(`${proxy.host}/${name}`, { env, cacheDir: cache, retry, stallMs: 1_000, ...o });

/** The pull left a store of verified blobs only, with every blob of the realistic image. */
async function expectComplete(cache: string): Promise<void> {
  const stored = await verifiedBlobs(path.join(cache, 'store'));
  for (const d of [rf.manifestDigest, rf.configDigest, ...rf.layers.map((l) => l.digest)]) expect(stored).toContain(d);
}

beforeAll(async () => {
  reg = await startRegistry();
  proxy = await startFaultProxy(reg.url);
  await push(reg, `oci:${fixtures.realistic.layout}:${rf.tag}`, 'realistic:latest');
  const at = JSON.parse(readFileSync(fixtures.attested.facts, 'utf8')) as AttestedFacts;
  for (const r of ['r1', 'r2', 'r3', 'r4']) await push(reg, `oci:${fixtures.realistic.layout}:${rf.tag}`, `${r}/img:latest`);
  for (const r of ['a1', 'a2']) await push(reg, `oci:${fixtures.attested.layout}:${at.tag}`, `${r}/img:latest`, { all: true });
  for (const r of ['m1', 'm2']) await push(reg, `oci:${fixtures.multiplatform.layout}:latest`, `${r}/img:latest`, { all: true });
}, 600_000);

afterEach(() => {
  proxy.rules.length = 0;
});

afterAll(async () => {
  await proxy?.stop();
  await reg?.stop();
  closeIdleConnections();
  rmSync(tmp, { recursive: true, force: true });
});

/** Requests for `re` after index `from`, in order. */
const seen = (re: RegExp, from: number) => proxy.requests.slice(from).filter((q) => re.test(q.url));

describe.skipIf(need)('faults between us and the registry', () => {
  it('503 twice on the manifest and 500 on a layer: retried, verified', async () => {
    const from = proxy.requests.length;
    proxy.rules.push({ match: /\/manifests\/latest$/, method: 'GET', fault: { kind: 'status', status: 503 }, times: 2 }, { match: blobUrl(big.digest), fault: { kind: 'status', status: 500 } });
    const cache = newCache();
    const r = await run(cache);
    expect(r.descriptor.digest).toBe(rf.manifestDigest);
    await expectComplete(cache);
    expect(seen(/\/manifests\/latest$/, from).map((q) => q.status)).toEqual([503, 503, 200]);
    expect(seen(blobUrl(big.digest), from).map((q) => q.status)).toEqual([500, 200]);
  });

  it('429 with Retry-After: 1 is waited for; 429 with an hour is one clear RATE_LIMITED error', async () => {
    const from = proxy.requests.length;
    proxy.rules.push({ match: blobUrl(big.digest), fault: { kind: 'status', status: 429, retryAfter: 1 } });
    const cache = newCache();
    await run(cache);
    await expectComplete(cache);
    const hits = seen(blobUrl(big.digest), from);
    expect(hits.map((q) => q.status)).toEqual([429, 200]);

    proxy.rules.push({ match: /\/manifests\/latest$/, fault: { kind: 'status', status: 429, retryAfter: 3600 } });
    const e = await run(newCache()).catch((x: unknown) => x);
    expect(e).toMatchObject({ code: 'RATE_LIMITED' });
    expect((e as Error).message).toMatch(/limiting requests.*Try again in 60 minutes/);
  });

  for (const kind of ['reset', 'truncate', 'stall'] as const) {
    it(`${kind} half-way through a layer: resumed with Range from the last byte, verified`, async () => {
      const from = proxy.requests.length;
      proxy.rules.push({ match: blobUrl(big.digest), fault: { kind, at: 0.5 } });
      const resumes: BlobProgress[] = [];
      const cache = newCache();
      await run(cache, { onProgress: (p) => p.state === 'resuming' && resumes.push(p) });
      await expectComplete(cache);
      const hits = seen(blobUrl(big.digest), from);
      expect(hits).toHaveLength(2);
      expect(hits[0]!.fault).toBe(kind);
      // The second request starts at the first byte not received (a reset may lose what was in flight;
      // a truncated or stalled body delivered all it sent): nothing received is fetched again.
      const start = Number(/^bytes=(\d+)-(\d+)$/.exec(String(hits[1]!.headers.range))?.[1]);
      expect(hits[1]!.headers.range).toBe(`bytes=${start}-${big.size - 1}`);
      if (kind === 'reset') expect(start).toBeLessThanOrEqual(hits[0]!.bytes);
      else expect(start).toBe(hits[0]!.bytes);
      expect(start).toBeGreaterThan(0);
      expect(hits[1]!.bytes).toBe(big.size - start);
      expect(resumes.map((p) => p.digest)).toEqual([big.digest]);
    });
  }

  it('the CLI takes the stall time from OCI_EXPLORER_STALL_TIMEOUT (seconds)', async () => {
    const from = proxy.requests.length;
    proxy.rules.push({ match: blobUrl(big.digest), fault: { kind: 'stall', at: 0.25 } });
    const cache = newCache();
    const r = await cliRunner(cache, { ...env, OCI_EXPLORER_STALL_TIMEOUT: '1' })('pull', `${proxy.host}/realistic:latest`);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    await expectComplete(cache);
    expect(seen(blobUrl(big.digest), from).map((q) => q.headers.range ?? 'whole')).toEqual(['whole', expect.stringMatching(/^bytes=\d+-/)]);
  });

  it('a flipped byte: the blob is fetched again whole and verified; flipped every time → DIGEST_MISMATCH, nothing kept', async () => {
    const from = proxy.requests.length;
    proxy.rules.push({ match: blobUrl(big.digest), fault: { kind: 'flip' } });
    const cache = newCache();
    await run(cache);
    await expectComplete(cache);
    expect(seen(blobUrl(big.digest), from).map((q) => q.fault ?? 'clean')).toEqual(['flip', 'clean']);

    proxy.rules.push({ match: blobUrl(big.digest), fault: { kind: 'flip' }, times: Infinity });
    const bad = newCache();
    const e = await run(bad).catch((x: unknown) => x);
    expect(e).toMatchObject({ code: 'DIGEST_MISMATCH', details: { digest: big.digest } });
    const stored = await verifiedBlobs(path.join(bad, 'store'));
    expect(stored).not.toContain(big.digest);
    expect((await (await import('node:fs/promises')).readFile(path.join(bad, 'store', 'index.json'), 'utf8'))).not.toContain(rf.manifestDigest);
  });

  it('a manifest altered on the way (by tag: against Docker-Content-Digest; by digest: against it) is one DIGEST_MISMATCH', async () => {
    proxy.rules.push({ match: /\/manifests\/latest$/, method: 'GET', fault: { kind: 'flip' } });
    const e = await run(newCache()).catch((x: unknown) => x);
    expect(e).toMatchObject({ code: 'DIGEST_MISMATCH' });
    expect((e as Error).message).toMatch(/as the registry said/);
    proxy.rules.push({ match: new RegExp(`/manifests/${rf.manifestDigest}$`), method: 'GET', fault: { kind: 'flip' } });
    const byDigest = await pull(`${proxy.host}/realistic@${rf.manifestDigest}`, { env, cacheDir: newCache(), retry }).catch((x: unknown) => x);
    expect(byDigest).toMatchObject({ code: 'DIGEST_MISMATCH' });
    expect((byDigest as Error).message).toMatch(/as asked/);
  });

  it('a manifest answer over 4 MiB is refused before it is read (TOO_LARGE)', async () => {
    proxy.rules.push({ match: /\/manifests\/latest$/, method: 'GET', fault: { kind: 'status', status: 200, body: ' '.repeat(5 * 1024 * 1024) } });
    const e = await run(newCache()).catch((x: unknown) => x);
    expect(e).toMatchObject({ code: 'TOO_LARGE' });
    expect((e as Error).message).toMatch(/over the 4194304-byte limit/);
  });

  it('500 on every try: one REGISTRY_ERROR naming the status, nothing unverified kept', async () => {
    proxy.rules.push({ match: blobUrl(big.digest), fault: { kind: 'status', status: 500 }, times: Infinity });
    const cache = newCache();
    const e = await run(cache).catch((x: unknown) => x);
    expect(e).toMatchObject({ code: 'REGISTRY_ERROR' });
    expect((e as Error).message).toMatch(/kept answering HTTP 500 .*after 5 tries/);
    expect(await verifiedBlobs(path.join(cache, 'store'))).not.toContain(big.digest);
  });

  it('open by reference through a reset: the layer engine gets every layer whole (indexed in the same pass)', async () => {
    proxy.rules.push({ match: blobUrl(big.digest), fault: { kind: 'reset', at: 0.3 } });
    const cache = newCache();
    const { source } = await openSource(`${proxy.host}/realistic:latest`, { env, cacheDir: cache });
    const r = await openImage(source, {}, { cacheDir: cache });
    try {
      expect(r.image.layers.layers.map((l) => [l.state, l.problems])).toEqual(rf.layers.map(() => ['ready', []]));
      // The same index as from the fixture's own layout (read locally, no network).
      const local = await openImage(`oci:${fixtures.realistic.layout}:${rf.tag}`, {}, { cacheDir: newCache() });
      expect(r.image.layers.layers.map((l) => l.entries)).toEqual(local.image.layers.layers.map((l) => l.entries));
      await local.close();
    } finally {
      await r.close();
    }
    await expectComplete(cache);
  });

  it('cancel mid-download (the layer hangs half-way): CANCELLED at once, no temp file, the layer not kept', async () => {
    proxy.rules.push({ match: blobUrl(big.digest), fault: { kind: 'stall', at: 0.5 }, times: Infinity });
    const ctrl = new AbortController();
    const cache = newCache();
    const p = run(cache, { stallMs: 60_000, signal: ctrl.signal, onProgress: (x) => x.digest === big.digest && x.done > 0 && ctrl.abort() });
    await expect(p).rejects.toMatchObject({ code: 'CANCELLED' });
    await vi.waitFor(() => verifiedBlobs(path.join(cache, 'store')), { timeout: 10_000 });
    expect(await verifiedBlobs(path.join(cache, 'store'))).not.toContain(big.digest);
  });

  it('eight concurrent pulls of overlapping images into one store: all verify, each shared blob crosses the proxy once', async () => {
    const cache = newCache();
    const from = proxy.requests.length;
    const names = ['r1', 'r2', 'r3', 'r4', 'a1', 'a2', 'm1', 'm2'].map((r) => `${r}/img:latest`);
    const results = await Promise.all(names.map((name, i) => run(cache, i % 2 ? { allPlatforms: true } : { platform: 'linux/amd64' }, name)));
    expect(new Set(results.map((r) => r.name)).size).toBe(8);
    const stored = await verifiedBlobs(path.join(cache, 'store'));
    const mp = JSON.parse(readFileSync(fixtures.multiplatform.facts, 'utf8')) as MultiplatformFacts;
    for (const d of [...rf.layers.map((l) => l.digest), ...mp.images.map((i) => i.configDigest)]) expect(stored).toContain(d);
    // Per digest, the bytes served for /blobs/<digest> across all repositories add up to one copy.
    const bytes = new Map<string, number>();
    for (const q of proxy.requests.slice(from)) {
      const m = /\/blobs\/(sha256:[a-f0-9]{64})$/.exec(q.url);
      if (m && q.method === 'GET') bytes.set(m[1]!, (bytes.get(m[1]!) ?? 0) + q.bytes);
    }
    for (const l of rf.layers) expect(bytes.get(l.digest), l.digest).toBe(l.size);
    const idx = JSON.parse(readFileSync(path.join(cache, 'store', 'index.json'), 'utf8')) as { manifests: { annotations: Record<string, string> }[] };
    expect(idx.manifests.map((m) => m.annotations['org.opencontainers.image.ref.name']).sort()).toEqual(names.map((x) => `${proxy.host}/${x}`).sort());
  });

  it('two CLI processes pulling one image into one store at once: each blob downloaded once', async () => {
    const cache = newCache();
    const from = proxy.requests.length;
    const bin = path.resolve('bin/oci-explorer.mjs');
    const cli = () =>
      new Promise<{ code: number; err: string }>((resolve) => {
        const c = spawn(process.execPath, [bin, 'pull', `${proxy.host}/realistic:latest`], { env: { ...env, OCI_EXPLORER_CACHE: cache }, stdio: ['ignore', 'ignore', 'pipe'] });
        let err = '';
        c.stderr.on('data', (b: Buffer) => (err += String(b)));
        c.on('close', (code) => resolve({ code: code ?? 1, err }));
      });
    const rs = await Promise.all([cli(), cli()]);
    expect(rs.map((r) => [r.code, r.err])).toEqual([
      [0, ''],
      [0, ''],
    ]);
    await expectComplete(cache);
    const got = new Map<string, number>();
    for (const q of proxy.requests.slice(from)) for (const l of rf.layers) if (blobUrl(l.digest).test(q.url) && q.method === 'GET') got.set(l.digest, (got.get(l.digest) ?? 0) + q.bytes);
    for (const l of rf.layers) expect(got.get(l.digest), l.digest).toBe(l.size);
  });
});

