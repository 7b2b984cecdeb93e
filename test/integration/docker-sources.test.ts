import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, inject, it, type TestContext } from 'vitest';
import type { MergedTree } from '../../shared/layers/merge.js';
import { openImage } from '../../shared/layers/open-image.js';
import { listDockerImages } from '../../shared/sources/docker-daemon.js';
import type { DockerStoreSource } from '../../shared/sources/docker-store.js';
import { openSource } from '../../shared/sources/open.js';
import { cliRunner } from '../helpers/cli.js';
import { canRunDockerd, startDockerd, type TestDockerd } from '../helpers/tools.js';
import { buildTestImage, LONG_PATH } from './docker-images.js';

// Issue 13 with a real engine: a private dockerd (temp data root) holds a small image built with RUN
// steps (add, modify, chmod, delete, a replaced folder → opaque marker, hard link, symlink, a path
// over 100 bytes) and the dockerd-built fixture loaded with `docker load`. For each, the docker-daemon:
// and docker-store: views equal the `docker save` archive's (graph, merged tree, every layer's diff),
// the tars rebuilt from tar-split hash to the config's diff_ids, and a file changed in a diff folder
// behind Docker's back is a DIFFID_MISMATCH on its layer. Under CI=true a dockerd that cannot start fails.

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const STRICT = process.env.CI === 'true';
const fixtures = inject('fixtures');
const work = mkdtempSync(path.join(os.tmpdir(), 'docker-sources-'));
const TAG = 'test/docker-sources:v1';
const LOADED_TAG = 'fixture/dockerd-built:latest';

let d: TestDockerd | undefined;
let skipWhy: string | undefined;
const images: { label: string; tag: string; archive: string }[] = [];
const savedEnv = { DOCKER_HOST: process.env.DOCKER_HOST, OCI_EXPLORER_CACHE: process.env.OCI_EXPLORER_CACHE };
// Sources opened by spec use the default cache root (engine exports, docker-store sizes): keep it in the test's folder.
process.env.OCI_EXPLORER_CACHE = path.join(work, 'default-cache');

beforeAll(async () => {
  if (!canRunDockerd()) {
    skipWhy = 'dockerd is not installed or this is not running as root';
    if (STRICT) throw new Error(`docker sources: ${skipWhy} (required under CI=true)`);
    return;
  }
  try {
    d = await startDockerd();
  } catch (e) {
    if (STRICT) throw e;
    skipWhy = `dockerd could not start: ${(e as Error).message.split('\n')[0]}`;
    return;
  }
  // The CLI commands and openSource read DOCKER_HOST from the environment.
  process.env.DOCKER_HOST = d.env.DOCKER_HOST;
  await buildTestImage(d, path.join(work, 'build'), TAG);
  images.push({ label: 'built with RUN steps', tag: TAG, archive: path.join(work, 'built.tar') });
  await d.docker(['save', '-o', images[0]!.archive, TAG]);
  if (fixtures.dockerBuilt) {
    await d.docker(['load', '-i', fixtures.dockerBuilt.file]);
    images.push({ label: 'dockerd-built fixture, docker load', tag: LOADED_TAG, archive: fixtures.dockerBuilt.file });
  } else if (STRICT) throw new Error(`the dockerd-built fixture is missing: ${fixtures.dockerBuiltSkipped ?? ''}`);
});

afterAll(async () => {
  for (const [k, v] of Object.entries(savedEnv)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  await d?.stop();
  rmSync(work, { recursive: true, force: true });
});

function need(ctx: TestContext): TestDockerd {
  if (!d) ctx.skip(skipWhy);
  return d!;
}

const cache = () => mkdtempSync(path.join(work, 'cache-'));
const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

function treeLines(tree: MergedTree): string[] {
  const out: string[] = [];
  for (const p of tree.walk()) {
    const e = tree.get(p)!;
    out.push([p, e.type, e.type === 'file' || e.type === 'hardlink' ? e.size : '-', e.mode.toString(8), e.uid, e.gid, e.linkname ?? '', e.hash ?? ''].join('\t'));
  }
  return out.sort();
}

/** What a person sees of one image: its graph, its merged tree and every layer's diff. */
async function view(spec: string) {
  const r = await openImage(spec, {}, { cacheDir: cache() });
  try {
    const L = r.image.layers;
    const img = r.image;
    return {
      config: r.image.image.config,
      layers: L.layers.map((l) => ({ mediaType: l.descriptor.mediaType, digest: l.descriptor.digest, size: l.descriptor.size, diffId: l.diffId })),
      states: L.layers.map((l) => [l.state, l.problems.map((p) => p.code)]),
      tree: treeLines(L.mergedTree()),
      diffs: L.layers.map((_, i) => img.layerDiff(i).entries.map((e) => `${e.status} ${e.path} ${(e.changes ?? []).join(',')} ${e.sizeDelta}`).sort()),
      walk: r.image.source.kind === 'docker-store' ? await (r.image.source as DockerStoreSource).storeWalk() : undefined,
    };
  } finally {
    await r.close();
  }
}

describe('docker-daemon: and docker-store: against docker save', () => {
  for (const which of [0, 1]) {
    it(`image ${which}: both views equal the docker save archive's (graph, merged tree, every layer diff)`, async (ctx) => {
      const dk = need(ctx);
      const img = images[which];
      if (!img) return ctx.skip('the dockerd-built fixture is not built here');
      const saved = await view(`docker-archive:${img.archive}`);
      expect(saved.states.every(([s, p]) => s === 'ready' && (p as string[]).length === 0)).toBe(true);
      expect(saved.tree.length).toBeGreaterThan(20);
      const daemon = await view(`docker-daemon:${img.tag}`);
      const store = await view(`docker-store:${dk.dataRoot}:${img.tag}`);
      for (const v of [daemon, store]) {
        expect(v.states).toEqual(saved.states);
        expect(v.config).toBe(saved.config);
        // The store's layers are the rebuilt tars: same digest (the diff_id) and size as docker save's layer.tar.
        expect(v.layers).toEqual(saved.layers);
        expect(v.tree).toEqual(saved.tree);
        expect(v.diffs).toEqual(saved.diffs);
      }
      const inspect = JSON.parse((await dk.docker(['image', 'inspect', img.tag])).stdout) as { Id: string; RootFS: { Layers: string[] } }[];
      expect(store.config).toBe(inspect[0]!.Id);
      expect(store.layers.map((l) => l.digest)).toEqual(inspect[0]!.RootFS.Layers);
      expect(store.walk!.layers.map((l) => l.diffId)).toEqual(inspect[0]!.RootFS.Layers);
      expect(store.walk!.layers.every((l) => l.diffDir.startsWith(path.join(dk.dataRoot, 'overlay2')) && !l.missing)).toBe(true);
    });
  }

  it('the built image has what its RUN steps made: whiteouts, an opaque folder, a hard link, a long path', async (ctx) => {
    const dk = need(ctx);
    const r = await openImage(`docker-store:${dk.dataRoot}:${TAG}`, {}, { cacheDir: cache() });
    try {
      const tree = r.image.layers.mergedTree();
      for (const gone of ['etc/motd', 'usr/share/doc/tiny', 'srv/replaced/old.txt']) expect(tree.has(gone), gone).toBe(false);
      expect(tree.has('srv/replaced/new.txt')).toBe(true);
      expect(LONG_PATH.length).toBeGreaterThan(100);
      expect((await r.image.layers.readFileBuffer(LONG_PATH)).toString()).toBe('long\n');
      expect(tree.get('srv/app/hello.txt')!.mode & 0o7777).toBe(0o4755);
      expect(tree.get('srv/app/hello-hardlink.txt')!.size).toBe(6);
      expect((await r.image.layers.readFileBuffer('srv/app/hello-symlink')).toString()).toBe('hello\n');
      // The replaced folder is an opaque marker in layer 3's own tar (whiteouts are entries there).
      const l3 = r.image.layerDiff(3).entries.map((e) => `${e.status} ${e.path}`);
      expect(l3).toContain('removed srv/replaced/old.txt');
      const tarNames = await layerTarNames(r.image.source, r.image.layers.layers[3]!.descriptor);
      expect(tarNames).toContain('srv/replaced/.wh..wh..opq');
      expect(tarNames).toContain('etc/.wh.motd');
    } finally {
      await r.close();
    }
  });

  it('the layer tars rebuilt from tar-split hash to the diff_ids and equal docker save\'s layer.tar byte for byte', async (ctx) => {
    const dk = need(ctx);
    const { source } = await openSource(`docker-store:${dk.dataRoot}:${TAG}`);
    try {
      const manifest = JSON.parse(spawnSync('tar', ['-xOf', images[0]!.archive, 'manifest.json'], { encoding: 'utf8' }).stdout) as { Layers: string[] }[];
      const walk = await (source as DockerStoreSource).storeWalk();
      for (const [i, l] of walk.layers.entries()) {
        const rebuilt = await readAll(await source.openBlob({ mediaType: 'application/vnd.docker.image.rootfs.diff.tar', digest: l.diffId, size: l.tarSize! }));
        expect(sha256(rebuilt)).toBe(l.diffId);
        const saved = spawnSync('tar', ['-xOf', images[0]!.archive, manifest[0]!.Layers[i]!], { maxBuffer: 256 * 1024 * 1024 }).stdout;
        expect(rebuilt.equals(saved)).toBe(true);
      }
    } finally {
      await source.close();
    }
  });

  it('a file changed in a diff folder behind Docker\'s back is a DIFFID_MISMATCH on that layer (naming the file); the other layers stay good', async (ctx) => {
    const dk = need(ctx);
    const { source } = await openSource(`docker-store:${dk.dataRoot}:${TAG}`);
    const walk = await (source as DockerStoreSource).storeWalk();
    await source.close();
    const file = path.join(walk.layers[1]!.diffDir, 'srv/app/blob.bin');
    const orig = readFileSync(file);
    const bad = Buffer.from(orig);
    bad[bad.length >> 1] = bad[bad.length >> 1]! ^ 0x20;
    writeFileSync(file, bad);
    try {
      const v = await view(`docker-store:${dk.dataRoot}:${TAG}`);
      expect(v.states[1]).toEqual(['failed', ['DIFFID_MISMATCH']]);
      expect(v.states.filter((_, i) => i !== 1).every(([s]) => s === 'ready')).toBe(true);
      const r = await openImage(`docker-store:${dk.dataRoot}:${TAG}`, {}, { cacheDir: cache() });
      expect(r.image.layers.layers[1]!.problems[0]!.message).toContain('srv/app/blob.bin (content changed)');
      await r.close();
    } finally {
      writeFileSync(file, orig);
    }
  });
});

describe('the CLI on Docker sources', () => {
  it('docker-images lists the engine\'s images with the spec that opens each; inspect shows the store walk; cat and extract work', async (ctx) => {
    const dk = need(ctx);
    const cli = cliRunner(cache());
    const list = await cli('docker-images');
    expect(list.code).toBe(0);
    expect(list.out).toContain(`docker-daemon:${TAG}`);
    const json = JSON.parse((await cli('docker-images', '--json')).out) as { images: { tags: string[]; id: string }[] };
    const id = (JSON.parse((await dk.docker(['image', 'inspect', TAG])).stdout) as { Id: string }[])[0]!.Id;
    expect(json.images.find((i) => i.tags.includes(TAG))?.id).toBe(id);
    const inspect = await cli('inspect', `docker-store:${dk.dataRoot}:${TAG}`);
    expect(inspect.code).toBe(0);
    expect(inspect.out).toContain("made up: Docker's store keeps no manifest");
    expect(inspect.out).toContain(`Docker store at ${dk.dataRoot} (overlay2)`);
    expect(inspect.out).toContain('tar-split');
    for (const spec of [`docker-daemon:${TAG}`, `docker-store:${dk.dataRoot}:${TAG}`, `docker-store:${dk.dataRoot}:${id.slice(7, 19)}`]) {
      const cat = await cli('cat', spec, 'srv/app/conf/app.conf');
      expect(cat.err).toBe('');
      expect(cat.bytes.toString()).toBe('a=2\n');
      expect((await cli('efficiency', spec)).code).toBe(0);
    }
    const to = path.join(work, 'extracted');
    expect((await cli('extract', `docker-store:${dk.dataRoot}:${TAG}`, '--to', to)).code).toBe(0);
    expect(readFileSync(path.join(to, 'srv/replaced/new.txt'), 'utf8')).toBe('new\n');
    expect(existsSync(path.join(to, 'etc/motd'))).toBe(false);
  });
});

describe('errors and cancellation with a real engine', () => {
  it('an unknown image, an engine error reply and a missing socket each get a sentence that says what to do', async (ctx) => {
    const dk = need(ctx);
    await expect(openSource('docker-daemon:no/such-image:1')).rejects.toMatchObject({ code: 'IMAGE_NOT_FOUND', message: expect.stringContaining('docker images') });
    await expect(openSource('docker-daemon:Bad_Upper_Name')).rejects.toMatchObject({ code: 'DOCKER_ERROR', message: expect.stringMatching(/answered 400 .*lowercase/) });
    await expect(openSource(`docker-store:${dk.dataRoot}:no/such-image:1`)).rejects.toMatchObject({ code: 'IMAGE_NOT_FOUND', message: expect.stringContaining(TAG) });
    await expect(listDockerImages({ env: { DOCKER_HOST: `unix://${dk.socket}.gone` }, signal: new AbortController().signal })).rejects.toMatchObject({ code: 'DOCKER_UNAVAILABLE' });
  });

  it('a user who may not use the socket or read the store is told so, with the path', async (ctx) => {
    const dk = need(ctx);
    if (process.getuid?.() !== 0) return ctx.skip('needs root to run the CLI as another user');
    const asNobody = (...args: string[]) =>
      spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, '--import', 'tsx', path.join(REPO, 'shared/cli/main.ts'), ...args], { cwd: REPO, encoding: 'utf8', env: { ...process.env, HOME: work, DOCKER_HOST: dk.env.DOCKER_HOST } });
    const engine = asNobody('docker-images');
    expect(engine.status).toBe(1);
    expect(engine.stderr).toContain(`Permission denied connecting to ${dk.env.DOCKER_HOST}`);
    const store = asNobody('inspect', `docker-store:${dk.dataRoot}:${TAG}`);
    expect(store.status).toBe(1);
    expect(store.stderr).toMatch(/Permission denied reading \/tmp\/.*run as root/);
  });

  it('cancelling an export midway stops it and leaves no temp files', async (ctx) => {
    need(ctx);
    const big = images[1] ?? images[0]!;
    const cacheDir = cache();
    const ac = new AbortController();
    let seen = 0;
    await expect(
      openSource(`docker-daemon:${big.tag}`, {
        signal: ac.signal,
        cacheDir,
        progress: (p) => {
          seen = Math.max(seen, p.done ?? 0);
          // Mid-stream when the image is big enough to report progress; else as soon as the export starts.
          if ((p.done ?? 0) > 0 || images.length === 1) ac.abort();
        },
      }),
    ).rejects.toMatchObject({ code: 'CANCELLED' });
    if (images.length > 1) expect(seen).toBeGreaterThan(0);
    expect(readdirSync(path.join(cacheDir, 'tmp'))).toEqual([]);
  });
});

async function readAll(s: NodeJS.ReadableStream): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of s) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

/** Entry names of one layer tar served by a source (GNU tar lists them). */
async function layerTarNames(source: { openBlob: (d: never) => Promise<NodeJS.ReadableStream> }, desc: unknown): Promise<string[]> {
  const bytes = await readAll(await source.openBlob(desc as never));
  return spawnSync('tar', ['-tf', '-'], { input: bytes, encoding: 'utf8' }).stdout.split('\n').map((l) => l.replace(/^\.\//, '').replace(/\/$/, ''));
}
