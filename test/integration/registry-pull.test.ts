import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildGraph } from '../../shared/graph/build.js';
import { closeIdleConnections } from '../../shared/registry/http.js';
import { openSource } from '../../shared/sources/open.js';
import { cliRunner } from '../helpers/cli.js';
import { startFaultProxy, type FaultProxy } from '../helpers/fault-proxy.js';
import { push, verifiedBlobs } from '../helpers/registry.js';
import { hasCommand, run, startRegistry, type TestRegistry } from '../helpers/tools.js';
import { parseOracle } from '../fixtures/oracle.js';
import type { MultiplatformFacts, RealisticFacts } from '../fixtures/types.js';

// `pull` writes OCI layouts that the peers read (skopeo inspect/copy, umoci unpack) and the store the
// app lists and opens offline; tags are paged with Link. Interop the other way (we read what skopeo
// pushed, OCI and Docker v2s2) is in registry.test.ts.

const fixtures = inject('fixtures');
const rf = JSON.parse(readFileSync(fixtures.realistic.facts, 'utf8')) as RealisticFacts;
const mp = JSON.parse(readFileSync(fixtures.multiplatform.facts, 'utf8')) as MultiplatformFacts;
const tmp = mkdtempSync(path.join(os.tmpdir(), 'oci-registry-pull-'));
const env = { PATH: process.env.PATH, HOME: tmp, DOCKER_CONFIG: path.join(tmp, 'docker'), XDG_CONFIG_HOME: path.join(tmp, 'config') };
const need = !hasCommand('docker-registry') || !hasCommand('skopeo') || !hasCommand('umoci');
if (need && process.env.CI === 'true') throw new Error('docker-registry, skopeo and umoci are required under CI=true');

let reg: TestRegistry;
let proxy: FaultProxy;
let n = 0;
const dir = (name: string) => path.join(tmp, `${name}-${++n}`);

beforeAll(async () => {
  reg = await startRegistry();
  proxy = await startFaultProxy(reg.url);
  await push(reg, `oci:${fixtures.realistic.layout}:${rf.tag}`, 'realistic:latest');
  await push(reg, `oci:${fixtures.multiplatform.layout}:latest`, 'multi:latest', { all: true });
  for (const t of ['a', 'b', 'c', 'd', 'e']) await push(reg, `oci:${fixtures.multiplatform.layout}:latest`, `paged:${t}`, { all: true });
}, 600_000);

afterAll(async () => {
  await proxy?.stop();
  await reg?.stop();
  closeIdleConnections();
  rmSync(tmp, { recursive: true, force: true });
});

describe.skipIf(need)('pull', () => {
  it('pull --to DIR: skopeo inspects and copies it by the tag, umoci unpacks it to the oracle tree', async () => {
    const out = dir('layout');
    const cli = cliRunner(dir('cache'), env);
    const r = await cli('pull', `${reg.host}/realistic:latest`, '--to', out);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(new RegExp(`Pulled latest into ${out}: ${rf.layers.length + 1} blobs downloaded`));
    const inspected = JSON.parse((await run('skopeo', ['inspect', `oci:${out}:latest`])).stdout) as { Digest: string; Layers: string[] };
    expect(inspected.Digest).toBe(rf.manifestDigest);
    expect(inspected.Layers).toEqual(rf.layers.map((l) => l.digest));
    await run('skopeo', ['copy', '-q', `oci:${out}:latest`, `oci:${dir('copy')}:x`]);
    const rootfs = dir('rootfs');
    await run('umoci', ['raw', 'unpack', '--image', `${out}:latest`, rootfs]);
    const found = await run('find', [rootfs, '-mindepth', '1', '-printf', '%P\\n']);
    const oracle = parseOracle(readFileSync(fixtures.oracle.realistic, 'utf8')).map((l) => l.path).sort();
    expect(found.stdout.split('\n').filter(Boolean).sort()).toEqual(oracle);
    expect(await verifiedBlobs(out)).toHaveLength(rf.layers.length + 2);
  });

  it('pull --all-platforms --to DIR: the whole index, which skopeo copies with --all', async () => {
    const out = dir('all');
    const cli = cliRunner(dir('cache'), env);
    expect((await cli('pull', `${reg.host}/multi`, '--all-platforms', '--to', out)).code).toBe(0);
    const raw = JSON.parse((await run('skopeo', ['inspect', '--raw', `oci:${out}:latest`])).stdout) as { manifests: { digest: string }[] };
    expect(raw.manifests.map((m) => m.digest).sort()).toEqual(mp.images.map((i) => i.manifestDigest).sort());
    await run('skopeo', ['copy', '-q', '--all', `oci:${out}:latest`, `oci:${dir('copy')}:x`]);
  });

  it('pull --platform into the store: `images` lists it; it opens offline, by oci:<store>:<name> and by its reference', async () => {
    const cache = dir('cache');
    const cli = cliRunner(cache, env);
    const spec = `${proxy.host}/multi:latest`;
    const r = await cli('pull', spec, '--platform', 'linux/arm64', '--json');
    expect(r.code).toBe(0);
    const arm = mp.images.find((i) => i.platform.architecture === 'arm64')!;
    expect(JSON.parse(r.out)).toMatchObject({ name: spec, digest: arm.manifestDigest, platforms: ['linux/arm64'] });
    const list = JSON.parse((await cli('images', '--json')).out) as { name: string; digest: string; platform: string; size: number; pulled: string }[];
    expect(list).toEqual([expect.objectContaining({ name: spec, digest: arm.manifestDigest, platform: 'linux/arm64' })]);
    expect(list[0]!.size).toBeGreaterThan(0);
    expect(Date.parse(list[0]!.pulled)).toBeGreaterThan(0);
    expect((await cli('images')).out).toMatch(/NAME\s+DIGEST\s+PLATFORM\s+SIZE\s+PULLED/);
    // skopeo reads the store by the full name too.
    expect(JSON.parse((await run('skopeo', ['inspect', `oci:${path.join(cache, 'store')}:${spec}`])).stdout)).toMatchObject({ Digest: arm.manifestDigest });
    const store = await cli('ls', `oci:${path.join(cache, 'store')}:${spec}`);
    expect(store.code).toBe(0);
    // The registry goes away: the reference still opens, from the store, and says so.
    await proxy.stop();
    const { source } = await openSource(spec, { env, cacheDir: cache });
    try {
      const g = await buildGraph(source);
      expect(g.roots).toEqual([arm.manifestDigest]);
      expect(source.warnings?.().join(' ')).toMatch(/cannot be reached.*copy pulled into the store/);
    } finally {
      await source.close();
    }
    const offline = await cli('ls', spec);
    expect(offline.code).toBe(0);
    expect(offline.out).toBe(store.out);
    proxy = await startFaultProxy(reg.url);
  });

  it('pull --to DIR after a pull into the store: the blobs come from the store, none over the network', async () => {
    const cache = dir('cache');
    const cli = cliRunner(cache, env);
    expect((await cli('pull', `${proxy.host}/realistic`)).code).toBe(0);
    const from = proxy.requests.length;
    const out = dir('again');
    const r = await cli('pull', `${proxy.host}/realistic`, '--to', out);
    expect(r.out).toMatch(/0 blobs downloaded/);
    expect(proxy.requests.slice(from).filter((q) => q.url.includes('/blobs/'))).toEqual([]);
    expect(await verifiedBlobs(out)).toHaveLength(rf.layers.length + 2);
  });

  it('a platform the index lacks, or a folder that is not a layout: one clear error, nothing written', async () => {
    const cli = cliRunner(dir('cache'), env);
    const r = await cli('pull', `${reg.host}/multi`, '--platform', 'linux/s390x');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/has no image for linux\/s390x; it has: linux\/amd64, linux\/arm64/);
    const busy = dir('busy');
    mkdirSync(busy);
    writeFileSync(path.join(busy, 'notes.txt'), 'mine');
    const b = await cli('pull', `${reg.host}/multi`, '--to', busy);
    expect(b.err).toMatch(/not empty and not an OCI image layout/);
  });

  it('tags: every page, following Link', async () => {
    const cli = cliRunner(dir('cache'), env);
    // distribution 2.8 answers every tag at once; the proxy pages its answer as Docker Hub and GHCR do.
    const whole = await cli('tags', `${proxy.host}/paged`, '--json');
    expect((JSON.parse(whole.out) as string[]).sort()).toEqual(['a', 'b', 'c', 'd', 'e']);
    proxy.pageTags = 2;
    const from = proxy.requests.length;
    const r = await cli('tags', `${proxy.host}/paged`, '--page-size', '2', '--json');
    proxy.pageTags = 0;
    expect(r.err).toBe('');
    expect(JSON.parse(r.out)).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(proxy.requests.slice(from).filter((q) => q.url.includes('/tags/list')).map((q) => q.url)).toEqual([
      '/v2/paged/tags/list?n=2',
      '/v2/paged/tags/list?n=2&last=b',
      '/v2/paged/tags/list?n=2&last=d',
    ]);
    const missing = await cli('tags', `${reg.host}/nothing/here`);
    expect(missing.err).toMatch(/not found/);
  });
});
