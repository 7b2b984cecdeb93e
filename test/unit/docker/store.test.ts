import { execFileSync, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { chainIds, familiarName, normalizeReference } from '../../../shared/docker/store.js';
import { openImage } from '../../../shared/layers/open-image.js';
import type { DockerStoreSource } from '../../../shared/sources/docker-store.js';
import { openSource } from '../../../shared/sources/open.js';
import { disassemble, sha256, writeTarSplit } from './tarsplit-fixture.js';

// Docker's overlay2 store laid out by hand (DESIGN.md §3): repositories.json, imagedb, layerdb by
// chain id with cache-id/diff/size/parent/tar-split.json.gz, overlay2/<cache-id>/diff. The real one
// (dockerd's) is covered by test/integration/docker-sources.test.ts.

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'docker-store-'));
chmodSync(tmp, 0o755);
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const hex = (d: string) => d.slice('sha256:'.length);

/** Builds a store at `root` with one image `demo:latest` of two layers; returns its facts. */
function makeStore(root: string): { id: string; diffIds: string[]; chains: string[]; cacheIds: string[] } {
  const img = path.join(root, 'image/overlay2');
  const work = path.join(root, '..', `${path.basename(root)}-src`);
  const layers = [
    (d: string) => {
      mkdirSync(path.join(d, 'etc'), { recursive: true });
      writeFileSync(path.join(d, 'etc/os-release'), 'ID=demo\n');
      writeFileSync(path.join(d, 'etc/motd'), 'hello\n');
      writeFileSync(path.join(d, 'data.bin'), randomBytes(200_000));
    },
    (d: string) => {
      mkdirSync(path.join(d, 'etc'), { recursive: true });
      writeFileSync(path.join(d, 'etc/os-release'), 'ID=demo\nVERSION=2\n');
      writeFileSync(path.join(d, 'etc/.wh.motd'), '');
    },
  ];
  const diffIds: string[] = [];
  const cacheIds: string[] = [];
  const tars: Buffer[] = [];
  for (const [i, fill] of layers.entries()) {
    const d = path.join(work, String(i));
    fill(d);
    const tar = execFileSync('tar', ['--format=pax', '--sort=name', '--owner=0', '--group=0', '--numeric-owner', '-C', d, '-cf', '-', '.']);
    tars.push(tar);
    diffIds.push(sha256(tar));
    const cacheId = createHash('sha256').update(`cache-${i}-${root}`).digest('hex');
    cacheIds.push(cacheId);
    mkdirSync(path.join(root, 'overlay2', cacheId), { recursive: true });
    cpSync(d, path.join(root, 'overlay2', cacheId, 'diff'), { recursive: true });
  }
  const chains = chainIds(diffIds);
  for (const [i, chain] of chains.entries()) {
    const dir = path.join(img, 'layerdb/sha256', hex(chain));
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'diff'), diffIds[i]!);
    writeFileSync(path.join(dir, 'cache-id'), cacheIds[i]!);
    writeFileSync(path.join(dir, 'size'), '12345');
    if (i > 0) writeFileSync(path.join(dir, 'parent'), chains[i - 1]!);
    writeTarSplit(path.join(dir, 'tar-split.json.gz'), disassemble(tars[i]!));
  }
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: diffIds }, history: [{ created_by: 'one' }, { created_by: 'two' }] }));
  const id = sha256(config);
  mkdirSync(path.join(img, 'imagedb/content/sha256'), { recursive: true });
  writeFileSync(path.join(img, 'imagedb/content/sha256', hex(id)), config);
  writeFileSync(path.join(img, 'repositories.json'), JSON.stringify({ Repositories: { demo: { 'demo:latest': id, 'demo@sha256:0000000000000000000000000000000000000000000000000000000000000000': id } } }));
  return { id, diffIds, chains, cacheIds };
}

describe('chain ids and names', () => {
  it('chain(0) = diff_id(0), chain(n) = sha256(chain(n-1) + " " + diff_id(n))', () => {
    const d = ['sha256:' + 'a'.repeat(64), 'sha256:' + 'b'.repeat(64), 'sha256:' + 'c'.repeat(64)];
    const c1 = 'sha256:' + createHash('sha256').update(`${d[0]} ${d[1]}`).digest('hex');
    const c2 = 'sha256:' + createHash('sha256').update(`${c1} ${d[2]}`).digest('hex');
    expect(chainIds(d)).toEqual([d[0], c1, c2]);
    expect(chainIds([])).toEqual([]);
  });

  it('normalises references as Docker does and prints them familiar', () => {
    expect(normalizeReference('busybox')).toBe('docker.io/library/busybox:latest');
    expect(normalizeReference('me/app:1')).toBe('docker.io/me/app:1');
    expect(normalizeReference('localhost:5000/app')).toBe('localhost:5000/app:latest');
    expect(normalizeReference('reg.io/a/b@sha256:' + 'f'.repeat(64))).toBe('reg.io/a/b@sha256:' + 'f'.repeat(64));
    expect(familiarName('docker.io/library/busybox:latest')).toBe('busybox:latest');
    expect(familiarName('docker.io/me/app:1')).toBe('me/app:1');
    expect(familiarName('127.0.0.1:5000/x:y')).toBe('127.0.0.1:5000/x:y');
  });
});

describe('docker-store: on a store laid out by hand', () => {
  const root = path.join(tmp, 'data');
  const facts = makeStore(root);

  it('opens by name, by ID and by ID prefix; layers are the rebuilt tars, verified against their diff_ids', async () => {
    for (const spec of [`docker-store:${root}:demo`, `docker-store:${root}:demo:latest`, `docker-store:${root}:${facts.id}`, `docker-store:${root}:${hex(facts.id).slice(0, 12)}`]) {
      const { source } = await openSource(spec);
      try {
        const [r] = await source.roots();
        expect(r?.synthetic).toBe(true);
        expect(r?.label).toMatch(/made up/);
        expect(r?.names).toEqual(['demo:latest']);
        expect(await source.statBlob(facts.id)).toBeGreaterThan(0);
      } finally {
        await source.close();
      }
    }
    const cacheDir = path.join(tmp, 'cache');
    const r = await openImage(`docker-store:${root}:demo`, {}, { cacheDir });
    try {
      expect(r.image.layers.layers.map((l) => [l.descriptor.digest, l.state, l.problems])).toEqual(facts.diffIds.map((d) => [d, 'ready', []]));
      const tree = r.image.layers.mergedTree();
      expect(tree.has('etc/motd')).toBe(false);
      expect((await r.image.layers.readFileBuffer('etc/os-release')).toString()).toBe('ID=demo\nVERSION=2\n');
      expect((await r.image.layers.readFileBuffer('data.bin')).length).toBe(200_000);
      const walk = await (r.image.source as DockerStoreSource).storeWalk();
      expect(walk.layers.map((l) => [l.chainId, l.cacheId, l.parent])).toEqual(facts.chains.map((c, i) => [c, facts.cacheIds[i], i ? facts.chains[i - 1] : undefined]));
      expect(walk.repositories.names).toEqual(['demo:latest']);
    } finally {
      await r.close();
    }
  });

  it('remembers verified tar sizes by diff_id: a second open reads no tar-split', async () => {
    const cacheDir = mkdtempSync(path.join(tmp, 'sizes-'));
    // The source and the layer engine share the cache root (as the CLI and the app do, by default).
    const first = await openImage((await openSource(`docker-store:${root}:demo`, { cacheDir })).source, {}, { cacheDir });
    const sizes = first.image.layers.layers.map((l) => l.descriptor.size);
    await first.close();
    const ts = path.join(root, 'image/overlay2/layerdb/sha256', hex(facts.chains[1]!), 'tar-split.json.gz');
    const orig = readFileSync(ts);
    writeFileSync(ts, 'damaged');
    try {
      const { source } = await openSource(`docker-store:${root}:demo`, { cacheDir });
      try {
        expect(source.warnings?.()).toEqual([]);
        expect(await source.statBlob(facts.diffIds[1]!)).toBe(sizes[1]);
      } finally {
        await source.close();
      }
      // Without the remembered size the damaged tar-split is found at open, and said so.
      const { source: fresh } = await openSource(`docker-store:${root}:demo`, { cacheDir: mkdtempSync(path.join(tmp, 'sizes-')) });
      expect(fresh.warnings?.().join('\n')).toContain('not a valid tar-split file');
      await fresh.close();
    } finally {
      writeFileSync(ts, orig);
    }
  });

  it('a file changed in a diff folder is a DIFFID_MISMATCH on that layer, naming the file', async () => {
    const file = path.join(root, 'overlay2', facts.cacheIds[0]!, 'diff/data.bin');
    const orig = readFileSync(file);
    const bad = Buffer.from(orig);
    bad[1000] = bad[1000]! ^ 1;
    writeFileSync(file, bad);
    try {
      const r = await openImage(`docker-store:${root}:demo`, {}, { cacheDir: mkdtempSync(path.join(tmp, 'c-')) });
      try {
        const [l0, l1] = r.image.layers.layers;
        expect(l0?.problems.map((p) => p.code)).toEqual(['DIFFID_MISMATCH']);
        expect(l0?.problems[0]?.message).toContain('data.bin (content changed)');
        expect(l1?.problems).toEqual([]);
      } finally {
        await r.close();
      }
    } finally {
      writeFileSync(file, orig);
    }
  });

  it('a missing diff folder is noted and that layer is BLOB_MISSING, naming the folder', async () => {
    const diff = path.join(root, 'overlay2', facts.cacheIds[1]!, 'diff');
    renameSync(diff, diff + '.gone');
    try {
      const r = await openImage(`docker-store:${root}:demo`, {}, { cacheDir: mkdtempSync(path.join(tmp, 'c-')) });
      try {
        expect(r.image.source.warnings?.().join('\n')).toContain(diff);
        expect(r.image.layers.layers[1]?.problems[0]).toMatchObject({ code: 'BLOB_MISSING', message: expect.stringContaining(diff) });
        expect(r.image.layers.layers[0]?.problems).toEqual([]);
      } finally {
        await r.close();
      }
    } finally {
      renameSync(diff + '.gone', diff);
    }
  });

  it('says what is wrong with the spec or the data root', async () => {
    await expect(openSource(`docker-store:${root}:nope`)).rejects.toMatchObject({ code: 'IMAGE_NOT_FOUND', message: expect.stringContaining('demo:latest') });
    await expect(openSource(`docker-store:${root}`)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(openSource(`docker-store:/no/such/root:demo`)).rejects.toMatchObject({ code: 'SOURCE_NOT_FOUND', message: expect.stringContaining('/no/such/root') });
    const containerd = path.join(tmp, 'containerd-root');
    mkdirSync(path.join(containerd, 'containerd'), { recursive: true });
    await expect(openSource(`docker-store:${containerd}:demo`)).rejects.toMatchObject({ code: 'STORE_INVALID', message: expect.stringContaining('containerd image store') });
    const vfsRoot = path.join(tmp, 'vfs-root');
    mkdirSync(path.join(vfsRoot, 'image/vfs'), { recursive: true });
    await expect(openSource(`docker-store:${vfsRoot}:demo`)).rejects.toMatchObject({ code: 'SOURCE_UNSUPPORTED', message: expect.stringContaining('vfs') });
    const broken = path.join(tmp, 'broken');
    cpSync(root, broken, { recursive: true });
    writeFileSync(path.join(broken, 'image/overlay2/repositories.json'), '{not json');
    await expect(openSource(`docker-store:${broken}:demo`)).rejects.toMatchObject({ code: 'STORE_INVALID', message: expect.stringContaining('repositories.json') });
  });

  it('without permission to read the store (a non-root user), the error names the path', () => {
    const locked = path.join(tmp, 'locked');
    cpSync(root, locked, { recursive: true });
    chmodSync(path.join(locked, 'image'), 0o700); // as Docker leaves it
    const asUser = process.getuid?.() === 0 ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'] : [];
    const r = spawnSync(asUser[0] ?? process.execPath, [...asUser.slice(1), ...(asUser.length ? [process.execPath] : []), '--import', 'tsx', path.join(REPO, 'shared/cli/main.ts'), 'inspect', `docker-store:${locked}:demo`], { cwd: REPO, encoding: 'utf8', env: { ...process.env, HOME: tmp } });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`Permission denied reading ${path.join(locked, 'image')}`);
    expect(r.stderr).toContain('run as root');
  });
});
