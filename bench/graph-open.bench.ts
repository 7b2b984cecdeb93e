import { spawnSync } from 'node:child_process';
import { createHash, randomFillSync } from 'node:crypto';
import { createWriteStream, existsSync, linkSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import tarStream from 'tar-stream';
import { buildGraph } from '../shared/graph/build.js';
import { openSource } from '../shared/sources/open.js';

// Issue 2 acceptance: opening a ~1 GB docker-archive or OCI tarball to a full graph must not read the
// layer bytes. Figures: the whole `oci-explorer inspect FILE --json` process against `tar -tf FILE`
// on the same archive, alternating, median of BENCH_RUNS (default 7) runs; plus the bytes read.

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CACHE = path.join(REPO, 'bench/.cache/graph-open');
const LAYERS = Number(process.env.BENCH_GRAPH_LAYERS ?? 8);
const LAYER_BYTES = 128 * 1024 * 1024; // 8 × 128 MiB ≈ 1 GiB of layer data
const RUNS = Math.max(5, Number(process.env.BENCH_RUNS ?? 7));
const STAMP_VERSION = 1;

interface Blob {
  digest: string;
  size: number;
}
interface Facts {
  version: number;
  layers: Blob[];
  archives: Record<'docker-archive' | 'oci-archive', string>;
}

const sha = (b: Buffer | string): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const hex = (d: string): string => d.slice(7);
const mib = (n: number): string => `${(n / 1024 / 1024).toFixed(1)} MiB`;
const gib = (n: number): string => `${(n / 1024 ** 3).toFixed(2)} GiB`;

/** One uncompressed layer tar holding one file of incompressible bytes (a random block repeated, unique head). */
async function makeLayer(file: string, i: number, block: Buffer): Promise<Blob> {
  const pack = tarStream.pack();
  const hash = createHash('sha256');
  let size = 0;
  const count = new Transform({
    transform(c: Buffer, _e, cb) {
      hash.update(c);
      size += c.length;
      cb(null, c);
    },
  });
  const done = pipeline(pack, count, createWriteStream(file));
  const head = randomFillSync(Buffer.alloc(4096));
  const entry = pack.entry({ name: `data/layer-${i}.bin`, size: head.length + LAYER_BYTES, mtime: new Date(0), mode: 0o644 });
  const write = async (b: Buffer): Promise<void> => {
    if (!entry.write(b)) await new Promise<void>((r) => entry.once('drain', () => r()));
  };
  await write(head);
  for (let off = 0; off < LAYER_BYTES; off += block.length) await write(block.subarray(0, Math.min(block.length, LAYER_BYTES - off)));
  entry.end(Buffer.alloc(0));
  pack.finalize();
  await done;
  return { digest: `sha256:${hash.digest('hex')}`, size };
}

function tarDir(dir: string, out: string, members: string[]): void {
  const r = spawnSync('tar', ['-C', dir, '-cf', out, ...members], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`tar -cf ${out} failed`);
}

/** Builds (once) the layers, then a docker save archive and an OCI archive of the same image with tar. */
async function prepare(): Promise<Facts> {
  const stampFile = path.join(CACHE, 'facts.json');
  if (existsSync(stampFile)) {
    const f = JSON.parse(readFileSync(stampFile, 'utf8')) as Facts;
    if (f.version === STAMP_VERSION && f.layers.length === LAYERS && Object.values(f.archives).every((a) => existsSync(a))) return f;
  }
  rmSync(CACHE, { recursive: true, force: true });
  mkdirSync(path.join(CACHE, 'layers'), { recursive: true });
  process.stdout.write(`graph-open: building ${LAYERS} × ${mib(LAYER_BYTES)} layers in ${path.relative(REPO, CACHE)} (once)…\n`);
  const block = randomFillSync(Buffer.alloc(16 * 1024 * 1024));
  const layers: Blob[] = [];
  for (let i = 0; i < LAYERS; i++) layers.push(await makeLayer(path.join(CACHE, 'layers', `${i}.tar`), i, block));
  const layerFile = (i: number): string => path.join(CACHE, 'layers', `${i}.tar`);

  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      created: '2024-01-01T00:00:00Z',
      config: { Cmd: ['/bin/sh'] },
      rootfs: { type: 'layers', diff_ids: layers.map((l) => l.digest) },
      history: layers.map((_, i) => ({ created: '2024-01-01T00:00:00Z', created_by: `ADD data/layer-${i}.bin /data/` })),
    }),
  );
  const configDigest = sha(config);

  // docker save (legacy layout): <id>/layer.tar, <config>.json, manifest.json, repositories.
  const d = path.join(CACHE, 'stage-docker');
  mkdirSync(d, { recursive: true });
  const ids = layers.map((l) => hex(l.digest));
  layers.forEach((_, i) => {
    mkdirSync(path.join(d, ids[i]!));
    linkSync(layerFile(i), path.join(d, ids[i]!, 'layer.tar'));
    writeFileSync(path.join(d, ids[i]!, 'VERSION'), '1.0');
  });
  writeFileSync(path.join(d, `${hex(configDigest)}.json`), config);
  writeFileSync(path.join(d, 'manifest.json'), JSON.stringify([{ Config: `${hex(configDigest)}.json`, RepoTags: ['bench/graph-open:latest'], Layers: ids.map((id) => `${id}/layer.tar`) }]));
  writeFileSync(path.join(d, 'repositories'), JSON.stringify({ 'bench/graph-open': { latest: ids.at(-1) } }));
  const dockerTar = path.join(CACHE, 'docker-archive.tar');
  tarDir(d, dockerTar, [...ids, `${hex(configDigest)}.json`, 'manifest.json', 'repositories']);

  // OCI layout: oci-layout, index.json, blobs/sha256/….
  const o = path.join(CACHE, 'stage-oci');
  mkdirSync(path.join(o, 'blobs/sha256'), { recursive: true });
  layers.forEach((l, i) => linkSync(layerFile(i), path.join(o, 'blobs/sha256', hex(l.digest))));
  writeFileSync(path.join(o, 'blobs/sha256', hex(configDigest)), config);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.length },
      layers: layers.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: l.digest, size: l.size })),
    }),
  );
  writeFileSync(path.join(o, 'blobs/sha256', hex(sha(manifest))), manifest);
  writeFileSync(path.join(o, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  writeFileSync(
    path.join(o, 'index.json'),
    JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: sha(manifest), size: manifest.length, annotations: { 'org.opencontainers.image.ref.name': 'latest' }, platform: { os: 'linux', architecture: 'amd64' } }] }),
  );
  const ociTar = path.join(CACHE, 'oci-archive.tar');
  tarDir(o, ociTar, ['oci-layout', 'index.json', 'blobs']);

  for (const x of [d, o, path.join(CACHE, 'layers')]) rmSync(x, { recursive: true, force: true });
  const facts: Facts = { version: STAMP_VERSION, layers, archives: { 'docker-archive': dockerTar, 'oci-archive': ociTar } };
  writeFileSync(stampFile, JSON.stringify(facts, null, 2));
  return facts;
}

/** Wall time of one whole process, output discarded. */
function timeProcess(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'ignore', 'inherit'], cwd: REPO, env });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}`);
  return ms;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/** Milliseconds from openSource to a complete graph (and closed source) in this process. */
async function inProcessGraphMs(file: string): Promise<number> {
  const t0 = process.hrtime.bigint();
  const { source } = await openSource(file);
  await buildGraph(source);
  await source.close();
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

/** Bytes served per digest when the graph is built in process (a counting wrapper on openBlob). */
async function bytesReadInProcess(file: string): Promise<{ perDigest: Map<string, number>; ms: number }> {
  const perDigest = new Map<string, number>();
  const t0 = process.hrtime.bigint();
  const { source } = await openSource(file);
  const open = source.openBlob.bind(source);
  source.openBlob = async (desc, opts) => {
    const s: Readable = await open(desc, opts);
    const counter = new Transform({
      transform(c: Buffer, _e, cb) {
        perDigest.set(desc.digest, (perDigest.get(desc.digest) ?? 0) + c.length);
        cb(null, c);
      },
    });
    s.on('error', (e) => counter.destroy(e));
    counter.on('close', () => s.destroy());
    return s.pipe(counter);
  };
  await buildGraph(source);
  await source.close();
  return { perDigest, ms: Number(process.hrtime.bigint() - t0) / 1e6 };
}

async function benchOne(kind: 'docker-archive' | 'oci-archive', facts: Facts): Promise<boolean> {
  const file = facts.archives[kind];
  const size = statSync(file).size;
  const bin = path.join(REPO, 'bin/oci-explorer.mjs');
  const probe = path.join(os.tmpdir(), `graph-open-probe-${process.pid}.txt`);
  const ours = (): number => timeProcess(process.execPath, ['--import', path.join(REPO, 'bench/read-probe.mjs'), bin, 'inspect', file, '--json'], { ...process.env, BENCH_READ_PROBE: probe });
  const tar = (): number => timeProcess('tar', ['-tf', file]);
  // Secondary peer: GNU tar skips file data with lseek on a regular file; --no-seek makes it read the
  // archive through, as it must for a pipe or a .tar.gz.
  const tarStreamed = (): number => timeProcess('tar', ['--no-seek', '-tf', file]);
  // Warm-up (tsx compile cache, page cache) is not counted.
  ours();
  tar();
  tarStreamed();
  rmSync(probe, { force: true });
  const a: number[] = [];
  const b: number[] = [];
  const c: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    if (i % 2 === 0) {
      a.push(ours());
      b.push(tar());
      c.push(tarStreamed());
    } else {
      c.push(tarStreamed());
      b.push(tar());
      a.push(ours());
    }
  }
  // The app's figure: the desktop/web process is already running when the user opens an archive, so
  // time from openSource to a full graph in a live process, alternating with tar -tf.
  const d: number[] = [];
  const e: number[] = [];
  await inProcessGraphMs(file);
  for (let i = 0; i < RUNS; i++) {
    if (i % 2 === 0) {
      d.push(await inProcessGraphMs(file));
      e.push(tar());
    } else {
      e.push(tar());
      d.push(await inProcessGraphMs(file));
    }
  }
  const md = median(d);
  const me = median(e);
  process.stdout.write(
    `graph-open ${kind} (${gib(size)}): time to graph in a running app ${md.toFixed(1)} ms vs tar -tf ${me.toFixed(1)} ms, ratio ${(md / me).toFixed(2)}× (goal ≤ 1×; median of ${RUNS}, alternating)\n`,
  );
  const reads = readFileSync(probe, 'utf8').trim().split('\n').map(Number);
  rmSync(probe, { force: true });
  const ma = median(a);
  const mb = median(b);
  const layerBytes = facts.layers.reduce((s, l) => s + l.size, 0);
  const inproc = await bytesReadInProcess(file);
  const layerRead = facts.layers.reduce((s, l) => s + (inproc.perDigest.get(l.digest) ?? 0), 0);
  const docRead = [...inproc.perDigest.values()].reduce((s, n) => s + n, 0) - layerRead;
  const maxRchar = Math.max(...reads);
  process.stdout.write(
    `graph-open ${kind} (${gib(size)}, ${facts.layers.length} layers): whole CLI process inspect --json ${(ma / 1000).toFixed(3)} s vs tar -tf ${(mb / 1000).toFixed(3)} s, ratio ${(ma / mb).toFixed(2)}× (goal ≤ 1×; median of ${RUNS}, alternating)\n`,
  );
  const mc = median(c);
  process.stdout.write(`graph-open ${kind}: inspect --json ${(ma / 1000).toFixed(3)} s vs tar --no-seek -tf ${(mc / 1000).toFixed(3)} s, ratio ${(ma / mc).toFixed(2)}× (secondary peer)\n`);
  process.stdout.write(`graph-open ${kind}: whole inspect process read ${mib(maxRchar)} in total (rchar, incl. Node and its modules) of a ${gib(size)} archive\n`);
  process.stdout.write(`graph-open ${kind}: in process, open + graph ${inproc.ms.toFixed(0)} ms; blob bytes read: documents ${docRead} B, layers ${layerRead} B of ${layerBytes}\n`);
  const ok = layerRead === 0 && maxRchar < layerBytes / 8;
  if (!ok) process.stdout.write(`graph-open ${kind}: FAIL: layer bytes were read while building the graph\n`);
  return ok;
}

const facts = await prepare();
let ok = true;
for (const kind of ['docker-archive', 'oci-archive'] as const) ok = (await benchOne(kind, facts)) && ok;
process.exitCode = ok ? 0 : 1;
