import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { buildGraph } from '../../shared/graph/build.js';
import { listImages, selectImage } from '../../shared/graph/select.js';
import { openImage } from '../../shared/layers/open-image.js';
import { closeIdleConnections } from '../../shared/registry/http.js';
import { openSource } from '../../shared/sources/open.js';
import { cliRunner } from '../helpers/cli.js';
import { startFaultProxy, type FaultProxy } from '../helpers/fault-proxy.js';
import { push, verifiedBlobs } from '../helpers/registry.js';
import { hasCommand, startRegistry, type TestRegistry } from '../helpers/tools.js';
import { parseOracle } from '../fixtures/oracle.js';
import type { AttestedFacts, MultiplatformFacts, RealisticFacts, ReferrerFacts } from '../fixtures/types.js';

// Opening images by reference against a real docker-registry (CNCF distribution 2.8) on loopback,
// with fixtures pushed by skopeo: the graph from manifests and configs only (no layer byte crosses the
// proxy in front), the merged tree equal to umoci's oracle, referrers by the tag fallback (2.8 has no
// referrers API), attestations under their subject, errors that say what is wrong.

const fixtures = inject('fixtures');
const facts = <T>(file: string): T => JSON.parse(readFileSync(file, 'utf8')) as T;
const tmp = mkdtempSync(path.join(os.tmpdir(), 'oci-registry-it-'));
/** No credential files of the machine: every lookup sees only what a test writes. */
const env = { PATH: process.env.PATH, HOME: tmp, DOCKER_CONFIG: path.join(tmp, 'docker'), XDG_CONFIG_HOME: path.join(tmp, 'config') };
const need = !hasCommand('docker-registry') || !hasCommand('skopeo');
if (need && process.env.CI === 'true') throw new Error('docker-registry and skopeo are required under CI=true');

let reg: TestRegistry;
let proxy: FaultProxy;
let n = 0;
const newCache = () => path.join(tmp, `cache-${++n}`);

beforeAll(async () => {
  reg = await startRegistry();
  proxy = await startFaultProxy(reg.url);
  const rf = facts<RealisticFacts>(fixtures.realistic.facts);
  await push(reg, `oci:${fixtures.realistic.layout}:${rf.tag}`, 'realistic:latest');
  await push(reg, `oci:${fixtures.realistic.layout}:${rf.tag}`, 'realistic:v2s2', { format: 'v2s2' });
  await push(reg, `oci:${fixtures.multiplatform.layout}:latest`, 'multi:latest', { all: true });
  await push(reg, `oci:${fixtures.attested.layout}:${facts<AttestedFacts>(fixtures.attested.facts).tag}`, 'attested:latest', { all: true });
  const ref = facts<ReferrerFacts>(fixtures.referrer.facts);
  await push(reg, `oci:${fixtures.referrer.layout}:${ref.tag}`, `referrer:${ref.tag}`);
  await push(reg, `oci:${fixtures.referrer.layout}:${ref.fallbackTag}`, `referrer:${ref.fallbackTag}`, { all: true });
  await push(reg, `oci:${fixtures.referrer.layout}:${ref.signatureTag}`, `referrer:${ref.signatureTag}`);
}, 600_000);

afterAll(async () => {
  await proxy?.stop();
  await reg?.stop();
  closeIdleConnections();
  rmSync(tmp, { recursive: true, force: true });
});

describe.skipIf(need)('open by reference (docker-registry on loopback)', () => {
  it('inspect: the graph from manifests and configs, 0 layer bytes fetched (counted at the proxy)', async () => {
    const f = facts<RealisticFacts>(fixtures.realistic.facts);
    const cli = cliRunner(newCache(), env);
    const before = proxy.requests.length;
    const r = await cli('inspect', `${proxy.host}/realistic:latest`, '--json');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const g = JSON.parse(r.out) as { nodes: { digest: string; kind: string; problems: unknown[] }[] };
    expect(g.nodes.find((x) => x.digest === f.manifestDigest)?.kind).toBe('manifest');
    expect(g.nodes.find((x) => x.digest === f.configDigest)?.kind).toBe('config');
    expect(g.nodes.filter((x) => x.kind === 'layer').map((x) => x.digest)).toEqual(f.layers.map((l) => l.digest));
    expect(g.nodes.flatMap((x) => x.problems)).toEqual([]);
    const seen = proxy.requests.slice(before);
    const layerBytes = seen.filter((q) => f.layers.some((l) => q.url.endsWith(`/blobs/${l.digest}`))).reduce((s, q) => s + q.bytes, 0);
    expect(layerBytes).toBe(0);
    const docBytes = seen.filter((q) => q.method === 'GET').reduce((s, q) => s + q.bytes, 0);
    expect(docBytes).toBeGreaterThanOrEqual(f.manifestSize);
    expect(docBytes).toBeLessThan(64 * 1024); // manifests, configs and small error answers only
  });

  it('ls --merged equals the umoci oracle; layers land verified in the store; a second open downloads nothing', async () => {
    const cache = newCache();
    const cli = cliRunner(cache, env);
    const from = proxy.requests.length;
    const r = await cli('ls', `docker://${proxy.host}/realistic:latest`, '--merged', '--json');
    expect(r.err).toBe('');
    // Layers after the one being indexed download ahead; the indexer follows them: each crosses the wire once.
    for (const l of facts<RealisticFacts>(fixtures.realistic.facts).layers) {
      const got = proxy.requests.slice(from).filter((q) => q.method === 'GET' && q.url.endsWith(`/blobs/${l.digest}`));
      expect(got.reduce((s, q) => s + q.bytes, 0), l.digest).toBe(l.size);
    }
    const ours = r.out.trim().split('\n').map((l) => (JSON.parse(l) as { path: string }).path).sort();
    const oracle = parseOracle(readFileSync(fixtures.oracle.realistic, 'utf8')).map((l) => l.path).sort();
    expect(ours).toEqual(oracle);
    const f = facts<RealisticFacts>(fixtures.realistic.facts);
    const stored = await verifiedBlobs(path.join(cache, 'store'));
    for (const l of f.layers) expect(stored).toContain(l.digest);
    const before = proxy.requests.length;
    const again = await cli('cat', `${proxy.host}/realistic:latest`, 'etc/debian_version');
    expect(again.code).toBe(0);
    expect(again.bytes.toString()).toMatch(/^\d+/);
    expect(proxy.requests.slice(before).filter((q) => q.url.includes('/blobs/') && q.method === 'GET').map((q) => q.url)).toEqual([]);
  });

  it('Docker v2 schema 2 media types (skopeo --format v2s2) read the same', async () => {
    const { source } = await openSource(`${reg.host}/realistic:v2s2`, { env, cacheDir: newCache() });
    try {
      const g = await buildGraph(source);
      const m = g.nodes.find((x) => x.kind === 'manifest')!;
      expect(m.mediaType).toBe('application/vnd.docker.distribution.manifest.v2+json');
      expect(g.nodes.filter((x) => x.kind === 'layer').every((x) => x.mediaType === 'application/vnd.docker.image.rootfs.diff.tar.gzip')).toBe(true);
      expect(g.nodes.flatMap((x) => x.problems)).toEqual([]);
    } finally {
      await source.close();
    }
  });

  it('a multi-platform index: both images in the graph, the chosen platform indexed', async () => {
    const f = facts<MultiplatformFacts>(fixtures.multiplatform.facts);
    const { source } = await openSource(`${reg.host}/multi`, { env, cacheDir: newCache() });
    try {
      const g = await buildGraph(source);
      expect(g.roots[0]).toBe(f.indexDigest);
      expect(listImages(g).map((i) => i.manifest).sort()).toEqual(f.images.map((i) => i.manifestDigest).sort());
      const arm = f.images.find((i) => i.platform.architecture === 'arm64')!;
      expect(selectImage(g, { platform: 'linux/arm64' }).manifest).toBe(arm.manifestDigest);
    } finally {
      await source.close();
    }
    const cli = cliRunner(newCache(), env);
    const r = await cli('ls', `${reg.host}/multi:latest`, '--platform', 'linux/arm64');
    expect(r.code).toBe(0);
    expect(r.out.length).toBeGreaterThan(0);
  });

  it('by digest: name@sha256 fetches that manifest; a digest the registry lacks is MANIFEST_UNKNOWN', async () => {
    const f = facts<RealisticFacts>(fixtures.realistic.facts);
    const { source } = await openSource(`${reg.host}/realistic@${f.manifestDigest}`, { env, cacheDir: newCache() });
    const g = await buildGraph(source);
    await source.close();
    expect(g.roots).toEqual([f.manifestDigest]);
    const cli = cliRunner(newCache(), env);
    const bad = await cli('inspect', `${reg.host}/realistic@sha256:${'0'.repeat(64)}`);
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/not found on 127\.0\.0\.1:\d+.*Check the repository name and tag/);
    const missing = await cli('inspect', `${reg.host}/no/such:thing`);
    expect(missing.err).toMatch(/not found/);
  });

  it('attestation manifests come with the index, under their subject', async () => {
    const f = facts<AttestedFacts>(fixtures.attested.facts);
    const { source } = await openSource(`${reg.host}/attested:latest`, { env, cacheDir: newCache() });
    try {
      const g = await buildGraph(source);
      expect(g.edges).toContainEqual({ from: f.image.manifestDigest, to: f.attestation.manifestDigest, role: 'attestation' });
      expect(g.nodes.find((x) => x.digest === f.attestation.manifestDigest)?.kind).toBe('attestation');
      expect(listImages(g).map((i) => i.manifest)).toEqual([f.image.manifestDigest]);
    } finally {
      await source.close();
    }
  });

  it('referrers: distribution 2.8 has no referrers API, so the sha256-<hex> tag is used; the cosign .sig tag too', async () => {
    const f = facts<ReferrerFacts>(fixtures.referrer.facts);
    const { source } = await openSource(`${reg.host}/referrer:${f.tag}`, { env, cacheDir: newCache() });
    try {
      const g = await buildGraph(source);
      expect(g.roots[0]).toBe(f.image.manifestDigest);
      for (const r of f.referrers) {
        expect(g.edges).toContainEqual({ from: f.image.manifestDigest, to: r.digest, role: 'referrer' });
        expect(g.nodes.find((x) => x.digest === r.digest)).toMatchObject({ artifactType: r.artifactType, verify: 'verified' });
      }
      // skopeo --all rewrote the fallback index on push: the registry's digest for the tag is the truth.
      const head = await fetch(`${reg.url}/v2/referrer/manifests/${f.fallbackTag}`, { method: 'HEAD', headers: { accept: 'application/vnd.oci.image.index.v1+json' } });
      const fallback = head.headers.get('docker-content-digest')!;
      expect(g.nodes.find((x) => x.digest === fallback)).toMatchObject({ kind: 'index', names: [`${reg.host}/referrer:${f.fallbackTag}`] });
      expect(g.nodes.some((x) => x.kind === 'signature')).toBe(true);
      expect(source.warnings?.()).toEqual([]);
    } finally {
      await source.close();
    }
  });

  it('referrers from the OCI 1.1 API when the registry has it (the proxy answers it): listed under the subject, no tag probe', async () => {
    const f = facts<ReferrerFacts>(fixtures.referrer.facts);
    proxy.referrersApi = true;
    const from = proxy.requests.length;
    const { source } = await openSource(`${proxy.host}/referrer:${f.tag}`, { env, cacheDir: newCache() });
    try {
      const g = await buildGraph(source);
      for (const r of f.referrers) expect(g.edges).toContainEqual({ from: f.image.manifestDigest, to: r.digest, role: 'referrer' });
      const list = g.nodes.find((x) => x.label === `referrers of ${f.image.manifestDigest.slice(7, 19)}`);
      expect(list).toMatchObject({ kind: 'index', synthetic: true });
      const seen = proxy.requests.slice(from).map((q) => q.url);
      expect(seen).toContain(`/v2/referrer/referrers/${f.image.manifestDigest}`);
      expect(seen).not.toContain(`/v2/referrer/manifests/${f.fallbackTag}`);
    } finally {
      proxy.referrersApi = false;
      await source.close();
    }
  });

  it('byte ranges of a layer not in the store are HTTP Range requests (what restart-point reads use)', async () => {
    const f = facts<RealisticFacts>(fixtures.realistic.facts);
    const big = [...f.layers].sort((a, b) => b.size - a.size)[0]!;
    const local = readFileSync(path.join(fixtures.realistic.layout, 'blobs', 'sha256', big.digest.slice(7)));
    const { source } = await openSource(`${proxy.host}/realistic:latest`, { env, cacheDir: newCache() });
    try {
      await buildGraph(source);
      const from = proxy.requests.length;
      for (const [start, end] of [[0, 10], [1_000_000, 1_000_777], [big.size - 100, big.size]] as const) {
        const parts: Buffer[] = [];
        for await (const c of await source.openBlob({ mediaType: big.mediaType, digest: big.digest, size: big.size }, { start, end })) parts.push(c as Buffer);
        expect(Buffer.concat(parts).equals(local.subarray(start, end)), `${start}-${end}`).toBe(true);
      }
      const hits = proxy.requests.slice(from).filter((q) => q.url.endsWith(`/blobs/${big.digest}`));
      expect(hits.map((q) => q.headers.range)).toEqual(['bytes=0-9', 'bytes=1000000-1000776', `bytes=${big.size - 100}-${big.size - 1}`]);
      expect(hits.reduce((s, q) => s + q.bytes, 0)).toBe(10 + 777 + 100);
    } finally {
      await source.close();
    }
  });

  it('open-image: layer indexes are built while the layers stream in (one pass), and cancel leaves nothing unverified', async () => {
    const f = facts<RealisticFacts>(fixtures.realistic.facts);
    const big = [...f.layers].sort((a, b) => b.size - a.size)[0]!;
    const cache = newCache();
    const ctrl = new AbortController();
    // The biggest layer stops half-way (a stall), and the user cancels while it hangs.
    proxy.rules.push({ match: new RegExp(`/blobs/${big.digest}$`), fault: { kind: 'stall', at: 0.5 }, times: Infinity });
    try {
      const { source } = await openSource(`${proxy.host}/realistic:latest`, { env, cacheDir: cache, signal: ctrl.signal });
      const p = openImage(source, {}, { signal: ctrl.signal, cacheDir: cache, onProgress: (x) => x.layerDigest === big.digest && x.bytesDone > 0 && !x.done && ctrl.abort() });
      await expect(p).rejects.toMatchObject({ code: 'CANCELLED' });
    } finally {
      proxy.rules.length = 0;
    }
    // The smaller layers indexed before it are kept (verified); the cancelled one is not, nor any temp file.
    await vi.waitFor(() => verifiedBlobs(path.join(cache, 'store')), { timeout: 10_000 });
    expect(await verifiedBlobs(path.join(cache, 'store'))).not.toContain(big.digest);
  });

  it('reading a layer downloads the next ones ahead; a reader that reaches one still arriving follows it (one download)', async () => {
    const f = facts<RealisticFacts>(fixtures.realistic.facts);
    const [first, second] = f.layers as [RealisticFacts['layers'][0], RealisticFacts['layers'][0]];
    const cache = newCache();
    const from = proxy.requests.length;
    // The second layer stops half-way until released: its prefetch is then in flight, half on disk.
    proxy.rules.push({ match: new RegExp(`/blobs/${second.digest}$`), fault: { kind: 'hold', at: 0.5 } });
    const { source } = await openSource(`${proxy.host}/realistic:latest`, { env, cacheDir: cache });
    try {
      await buildGraph(source);
      const a = await source.openBlob({ mediaType: first.mediaType, digest: first.digest, size: first.size });
      await vi.waitFor(() => expect(proxy.requests.slice(from).some((q) => q.url.endsWith(`/blobs/${second.digest}`))).toBe(true), { timeout: 60_000 });
      const b = await source.openBlob({ mediaType: second.mediaType, digest: second.digest, size: second.size });
      const parts: Buffer[] = [];
      let got = 0;
      // Bytes of the held layer reach this reader while its download is stopped: it follows the temp file.
      await new Promise<void>((resolve, reject) => {
        const onData = (c: Buffer) => {
          parts.push(c);
          got += c.length;
          if (got < Math.floor(second.size / 2)) return;
          b.off('data', onData).pause();
          resolve();
        };
        b.on('data', onData).once('error', reject);
      });
      expect(proxy.requests.slice(from).filter((q) => q.url.endsWith(`/blobs/${second.digest}`))).toHaveLength(1);
      proxy.release();
      for await (const c of b) parts.push(c as Buffer);
      const body = Buffer.concat(parts);
      expect(body.length).toBe(second.size);
      expect(`sha256:${createHash('sha256').update(body).digest('hex')}`).toBe(second.digest);
      a.destroy();
    } finally {
      proxy.rules.length = 0;
      proxy.release();
      await source.close();
    }
    expect(proxy.requests.slice(from).filter((q) => q.url.endsWith(`/blobs/${second.digest}`))).toHaveLength(1);
  });

  it('a Docker schema 1 manifest (signed; its Docker-Content-Digest covers the payload without signatures) is shown read-only; pull refuses it', async () => {
    // distribution 2.8 no longer takes schema 1 pushes: the test proxy answers this one tag with one.
    const v1 = JSON.stringify({ schemaVersion: 1, name: 'legacy', tag: 'v1', architecture: 'amd64', fsLayers: [{ blobSum: `sha256:${'a'.repeat(64)}` }], history: [{ v1Compatibility: '{}' }], signatures: [{ header: {}, signature: 'x', protected: 'e30' }] });
    const headers = { 'content-type': 'application/vnd.docker.distribution.manifest.v1+prettyjws', 'docker-content-digest': `sha256:${'b'.repeat(64)}` };
    proxy.rules.push({ match: /\/v2\/legacy\/manifests\/v1$/, fault: { kind: 'status', status: 200, body: v1, headers }, times: Infinity });
    try {
      const { source } = await openSource(`${proxy.host}/legacy:v1`, { env, cacheDir: newCache() });
      const g = await buildGraph(source);
      await source.close();
      const root = g.nodes.find((x) => x.digest === g.roots[0])!;
      expect(root.digest).toBe(`sha256:${createHash('sha256').update(v1).digest('hex')}`);
      expect(root.problems.map((p) => p.code)).toContain('LEGACY_SCHEMA1');
      const r = await cliRunner(newCache(), env)('pull', `${proxy.host}/legacy:v1`);
      expect(r.code).toBe(1);
      expect(r.err).toMatch(/schema 1 image, which this app shows read-only and does not pull/);
    } finally {
      proxy.rules.length = 0;
    }
  });

  it('bad references are refused with the reason; a closed port is a clear network error', async () => {
    const cli = cliRunner(newCache(), env);
    const upper = await cli('inspect', 'Ruby:2.7');
    expect(upper.code).toBe(1);
    expect(upper.err).toMatch(/lowercase/);
    const closed = await cli('inspect', '127.0.0.1:1/x:y');
    expect(closed.err).toMatch(/Cannot reach 127\.0\.0\.1:1: the connection was refused/);
  });
});
