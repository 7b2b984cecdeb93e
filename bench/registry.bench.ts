import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import * as zlib from 'node:zlib';
import tar from 'tar-stream';
import { closeIdleConnections } from '../shared/registry/http.js';
import { pull } from '../shared/registry/pull.js';
import { startFaultProxy } from '../test/helpers/fault-proxy.js';
import { startRegistry } from '../test/helpers/tools.js';

// Issue 11 figures against skopeo, same run, alternating (median of BENCH_RUNS, default 5), on a
// loopback docker-registry serving a ≥ 90 MB gzip image of 5 layers (the debootstrap rootfs of the
// fixture builder split by size, built once into bench/.cache/registry):
// - `pull REF --to DIR` (the CLI process, and the library call) vs `skopeo copy docker://REF oci:DIR`;
// - `ls REF --merged` with an empty cache (download + verify + decode + index) vs the same skopeo copy,
//   and vs `ls oci:LAYOUT --merged` of the same image on disk (what the layer engine alone costs);
// - `inspect REF`: bytes that crossed a counting proxy (manifests + configs; layer bytes must be 0).

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CACHE = path.join(REPO, 'bench/.cache/registry');
const LAYOUT = path.join(CACHE, 'layout');
const ROOTFS = path.join(REPO, 'test/.cache/fixtures/rootfs/rootfs.tar');
const CLI = path.join(REPO, 'bin/oci-explorer.mjs');
const RUNS = Math.max(3, Number(process.env.BENCH_RUNS ?? 5));
const LAYERS = 5;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const ms = (n: number) => `${n.toFixed(0)} ms`;
const line = (s: string) => process.stdout.write(s + '\n');
const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** A hashing pass-through: digest of what flowed, and its size. */
function hasher(): Transform & { digest(): string; size: number } {
  const h = createHash('sha256');
  const t = new Transform({
    transform(c: Buffer, _e, cb) {
      h.update(c);
      t.size += c.length;
      cb(null, c);
    },
  }) as Transform & { digest(): string; size: number };
  t.size = 0;
  t.digest = () => `sha256:${h.digest('hex')}`;
  return t;
}

/** The rootfs split into LAYERS gzip layers of about equal raw size, as an OCI layout tagged `latest`. */
async function buildImage(): Promise<void> {
  if (existsSync(path.join(LAYOUT, 'index.json'))) return;
  if (!existsSync(ROOTFS)) throw new Error(`${ROOTFS} is missing: run \`npm run fixtures\` first`);
  const work = `${LAYOUT}.tmp`;
  rmSync(work, { recursive: true, force: true });
  const blobs = path.join(work, 'blobs', 'sha256');
  mkdirSync(blobs, { recursive: true });
  // Split by the entries' own bytes (a first pass sums them), so the layers are of similar size.
  const sizes: number[] = [];
  const count = tar.extract();
  count.on('entry', (h, stream, next) => {
    sizes.push(h.size ?? 0);
    stream.on('end', next).resume();
  });
  await pipeline(createReadStream(ROOTFS), count);
  const total = sizes.reduce((a, b) => a + b, 0);
  const packs = Array.from({ length: LAYERS }, () => tar.pack());
  const outs = packs.map(async (p, i) => {
    const raw = hasher();
    const gz = hasher();
    const tmp = path.join(work, `layer${i}.tmp`);
    await pipeline(p, raw, zlib.createGzip({ level: 6 }), gz, createWriteStream(tmp));
    const digest = gz.digest();
    renameSync(tmp, path.join(blobs, digest.slice(7)));
    return { digest, size: gz.size, diffId: raw.digest() };
  });
  const ex = tar.extract();
  let seen = 0;
  ex.on('entry', (header, stream, next) => {
    const k = Math.min(LAYERS - 1, Math.floor((seen / total) * LAYERS));
    seen += header.size ?? 0;
    const entry = packs[k]!.entry(header, (err) => (err ? ex.destroy(err) : next()));
    stream.pipe(entry);
  });
  await pipeline(createReadStream(ROOTFS), ex);
  for (const p of packs) p.finalize();
  const layers = await Promise.all(outs);
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) }, history: layers.map((_, i) => ({ created_by: `bench layer ${i}` })) }));
  writeFileSync(path.join(blobs, sha(config).slice(7)), config);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha(config), size: config.length },
      layers: layers.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: l.digest, size: l.size })),
    }),
  );
  writeFileSync(path.join(blobs, sha(manifest).slice(7)), manifest);
  writeFileSync(path.join(work, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  writeFileSync(
    path.join(work, 'index.json'),
    JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: sha(manifest), size: manifest.length, annotations: { 'org.opencontainers.image.ref.name': 'latest' } }] }),
  );
  rmSync(LAYOUT, { recursive: true, force: true });
  renameSync(work, LAYOUT);
}

const TIME = existsSync('/usr/bin/time');
/** CPU seconds (user + system) of the last measured command or call, for the CPU column. */
let lastCpu = 0;

/** Runs a command without blocking this process (the counting proxy answers from its event loop); records its CPU time. */
function sh(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<void> {
  return new Promise((resolve, reject) => {
    const argv = TIME ? ['-f', '@cpu %U %S', cmd, ...args] : args;
    const c = spawn(TIME ? '/usr/bin/time' : cmd, argv, { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    c.stderr.on('data', (b: Buffer) => (err = (err + String(b)).slice(-2000)));
    c.on('error', reject);
    c.on('close', (code) => {
      const m = /@cpu ([\d.]+) ([\d.]+)/.exec(err);
      lastCpu = m ? Number(m[1]) + Number(m[2]) : NaN;
      if (code === 0) resolve();
      else reject(new Error(`${cmd} ${args.join(' ')} failed (${code}): ${err}`));
    });
  });
}

/** Runs an in-process call, recording its CPU time. */
async function inProcess(fn: () => Promise<unknown>): Promise<void> {
  const c0 = process.cpuUsage();
  await fn();
  const c = process.cpuUsage(c0);
  lastCpu = (c.user + c.system) / 1e6;
}

interface Timed {
  ms: number;
  cpu: number;
}

async function time(fn: () => Promise<unknown> | unknown): Promise<Timed> {
  const t = performance.now();
  await fn();
  return { ms: performance.now() - t, cpu: lastCpu };
}

/** Alternates a and b RUNS times (after one warm-up each); returns medians of wall time and CPU time. */
async function duel(a: () => Promise<unknown> | unknown, b: () => Promise<unknown> | unknown): Promise<[Timed, Timed]> {
  const ta: Timed[] = [];
  const tb: Timed[] = [];
  await a();
  await b();
  for (let i = 0; i < RUNS; i++) {
    if (i % 2) {
      tb.push(await time(b));
      ta.push(await time(a));
    } else {
      ta.push(await time(a));
      tb.push(await time(b));
    }
  }
  if (process.env.BENCH_VERBOSE) line(`  runs: ${ta.map((x) => x.ms.toFixed(0)).join(' ')} | ${tb.map((x) => x.ms.toFixed(0)).join(' ')}`);
  const med = (xs: Timed[]): Timed => ({ ms: median(xs.map((x) => x.ms)), cpu: median(xs.map((x) => x.cpu)) });
  return [med(ta), med(tb)];
}

const fmt = (a: Timed, b: Timed, what: string, goal: string) =>
  `${what}: ${ms(a.ms)} vs skopeo copy ${ms(b.ms)} → ${(a.ms / b.ms).toFixed(2)}× (goal ${goal}); CPU ${a.cpu.toFixed(2)} s vs ${b.cpu.toFixed(2)} s → ${(a.cpu / b.cpu).toFixed(2)}×`;

const scratch = mkdtempSync(path.join(os.tmpdir(), 'bench-registry-'));
/** A fresh empty folder per run (removed before the next one, so the disk stays bounded). */
const fresh = (() => {
  let n = 0;
  let last: string | undefined;
  return () => {
    if (last) rmSync(last, { recursive: true, force: true });
    last = path.join(scratch, `r${++n}`);
    mkdirSync(last);
    return last;
  };
})();

if (spawnSync('skopeo', ['--version']).status !== 0 || spawnSync('docker-registry', ['--version']).status !== 0) {
  line('registry: skopeo or docker-registry not installed, skipped');
  process.exit(0);
}
await buildImage();
const idx = JSON.parse(readFileSync(path.join(LAYOUT, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
const man = JSON.parse(readFileSync(path.join(LAYOUT, 'blobs/sha256', idx.manifests[0]!.digest.slice(7)), 'utf8')) as { layers: { size: number; digest: string }[] };
const imageBytes = man.layers.reduce((s, l) => s + l.size, 0);
line(`image: ${man.layers.length} gzip layers, ${(imageBytes / 1e6).toFixed(1)} MB compressed; ${os.availableParallelism?.() ?? os.cpus().length} CPUs; ${RUNS} runs each, alternating`);

const reg = await startRegistry();
const proxy = await startFaultProxy(reg.url);
try {
  await sh('skopeo', ['copy', '-q', '--dest-tls-verify=false', `oci:${LAYOUT}:latest`, `docker://${reg.host}/bench:latest`]);
  const ref = `${reg.host}/bench:latest`;
  const skopeo = () => {
    const d = fresh();
    return sh('skopeo', ['copy', '-q', '--src-tls-verify=false', `docker://${ref}`, `oci:${path.join(d, 'out')}:latest`]);
  };
  const ourCli = () => {
    const d = fresh();
    return sh(process.execPath, [CLI, 'pull', ref, '--to', path.join(d, 'out')], { OCI_EXPLORER_CACHE: path.join(d, 'cache') });
  };
  const ourLib = () => {
    const d = fresh();
    return inProcess(() => pull(ref, { env: process.env, cacheDir: path.join(d, 'cache'), to: path.join(d, 'out') }));
  };
  const ls = () => {
    const d = fresh();
    return sh(process.execPath, [CLI, 'ls', ref, '--merged'], { OCI_EXPLORER_CACHE: path.join(d, 'cache') });
  };
  const startup = () => sh(process.execPath, [CLI, '--help']);

  const [tStart] = await duel(startup, () => {});
  line(`CLI start-up (node + tsx loader, --help): ${ms(tStart.ms)}, CPU ${tStart.cpu.toFixed(2)} s (part of every CLI figure below)`);
  const [tPull, tSk] = await duel(ourCli, skopeo);
  line(fmt(tPull, tSk, 'pull REF --to DIR (CLI process)', '≤ 0.9×'));
  const [tLib, tSk2] = await duel(ourLib, skopeo);
  line(fmt(tLib, tSk2, 'pull (library call in this process: no start-up)', '≤ 0.9×'));
  const [tLs, tSk3] = await duel(ls, skopeo);
  line(fmt(tLs, tSk3, 'ls REF --merged, empty cache (CLI process)', '≤ 1.0×'));
  // Where the time of ls goes: the layer engine alone on the same image read from disk (no network).
  const lsLocal = () => {
    const d = fresh();
    return sh(process.execPath, [CLI, 'ls', `oci:${LAYOUT}:latest`, '--merged'], { OCI_EXPLORER_CACHE: path.join(d, 'cache') });
  };
  const [tLocal, tLs2] = await duel(lsLocal, ls);
  line(`  of which the layer engine: ls oci:LAYOUT --merged (same image on disk, empty cache) ${ms(tLocal.ms)}, CPU ${tLocal.cpu.toFixed(2)} s; ls REF ${ms(tLs2.ms)}, CPU ${tLs2.cpu.toFixed(2)} s → the registry adds ${ms(tLs2.ms - tLocal.ms)}, CPU ${(tLs2.cpu - tLocal.cpu).toFixed(2)} s`);

  // The floor under any tool that decompresses the layers: GNU gzip -dc of the same blobs.
  const gunzip = () => sh('sh', ['-c', man.layers.map((l) => `gzip -dc ${path.join(LAYOUT, 'blobs/sha256', l.digest.slice(7))} > /dev/null`).join(' && ')]);
  const [tGz, tSk4] = await duel(gunzip, skopeo);
  line(`  floor: gzip -dc of the 5 layers alone ${ms(tGz.ms)} (CPU ${tGz.cpu.toFixed(2)} s) vs skopeo copy ${ms(tSk4.ms)} → ${(tGz.ms / tSk4.ms).toFixed(2)}×`);

  // inspect through the counting proxy: what crossed the wire.
  const d = fresh();
  const before = proxy.requests.length;
  await sh(process.execPath, [CLI, 'inspect', `${proxy.host}/bench:latest`], { OCI_EXPLORER_CACHE: path.join(d, 'cache') });
  const seen = proxy.requests.slice(before);
  const layerBytes = seen.filter((q) => man.layers.some((l) => q.url.endsWith(`/blobs/${l.digest}`))).reduce((s, q) => s + q.bytes, 0);
  const all = seen.reduce((s, q) => s + q.bytes, 0);
  line(`inspect REF: ${seen.length} requests, ${all} body bytes (manifests, config, 404 answers of the referrer probes), layer bytes ${layerBytes} (goal 0)`);
} finally {
  await proxy.stop();
  await reg.stop();
  closeIdleConnections();
  rmSync(scratch, { recursive: true, force: true });
}

