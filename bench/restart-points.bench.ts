import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, linkSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import * as zlib from 'node:zlib';
import { indexLayerStream } from '../shared/layers/indexer.js';
import { openLayerRange } from '../shared/layers/read.js';
import { serializeIndex } from '../shared/layers/store.js';
import type { LayerIndex } from '../shared/layers/tarindex.js';
import { addonStatus } from '../shared/layers/zran/native.js';
import type { Descriptor } from '../shared/oci/types.js';
import { OciLayoutSource } from '../shared/sources/oci-layout.js';
import { DirVfs } from '../shared/sources/vfs.js';

// Issue 10 figures (restart points), each against a peer measured in the same run:
// - index a ~1 GB gzip layer recording restart points vs today's index pass (Node's zlib, no points),
//   alternating, medians (wall and CPU time, the pool threads included);
// - the points' disk cost against the blob's size;
// - random file reads from the points (addon, and pako) vs plain zlib decoding from the start;
// - the span sweep that chose RESTART_SPAN, and the pako fallback's index time.
// Inputs: the debootstrap rootfs of the fixture builder (npm run fixtures) and the layers bench's
// ~1 GB layer (the rootfs five times, gzip -1), shared through bench/.cache/layers.

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CACHE = path.join(REPO, 'bench/.cache/layers');
const ROOTFS = path.join(REPO, 'test/.cache/fixtures/rootfs/rootfs.tar');
const RUNS = Math.max(3, Number(process.env.BENCH_RUNS ?? 3));
const only = (process.env.BENCH_RP_ONLY ?? '').split(',').filter(Boolean);
const want = (k: string) => !only.length || only.includes(k);
const READS = 60;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil(xs.length * p) - 1)]!;
const ms = (n: number) => `${n < 10 ? n.toFixed(1) : n.toFixed(0)} ms`;
const mib = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MiB`;
const line = (s: string) => process.stdout.write(s + '\n');
const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

function stripEnd(tar: Buffer): Buffer {
  let end = tar.length;
  while (end >= 512 && tar.subarray(end - 512, end).every((x) => x === 0)) end -= 512;
  return tar.subarray(0, end);
}

async function gzipFile(parts: Buffer[], dest: string, level: number): Promise<string> {
  if (existsSync(dest)) return dest;
  await pipeline(Readable.from(parts), zlib.createGzip({ level }), createWriteStream(dest + '.tmp'));
  renameSync(dest + '.tmp', dest);
  return dest;
}

/** The layers bench's ~1 GB layer (same file, same recipe) and the rootfs alone at gzip -6. */
async function inputs(): Promise<{ big: string; small: string }> {
  mkdirSync(CACHE, { recursive: true });
  const tar = stripEnd(readFileSync(ROOTFS));
  const big = await gzipFile([tar, tar, tar, tar, tar, Buffer.alloc(1024)], path.join(CACHE, 'big.tar.gz'), 1);
  const small = await gzipFile([tar, Buffer.alloc(1024)], path.join(CACHE, 'rootfs-6.tar.gz'), 6);
  return { big, small };
}

function fileSource(file: string): { source: OciLayoutSource; desc: Descriptor } {
  const dir = path.join(CACHE, 'rp-layout');
  mkdirSync(path.join(dir, 'blobs/sha256'), { recursive: true });
  writeFileSync(path.join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  writeFileSync(path.join(dir, 'index.json'), '{"schemaVersion":2,"manifests":[]}');
  const digestFile = file + '.sha256';
  const digest = existsSync(digestFile) ? readFileSync(digestFile, 'utf8') : sha(readFileSync(file));
  writeFileSync(digestFile, digest);
  const blob = path.join(dir, 'blobs/sha256', digest.slice(7));
  if (!existsSync(blob)) linkSync(file, blob);
  return { source: new OciLayoutSource(new DirVfs(dir), dir), desc: { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: digest as Descriptor['digest'], size: statSync(file).size } };
}

interface Timed {
  wall: number;
  cpu: number;
}
async function timed(fn: () => Promise<unknown>): Promise<Timed> {
  const c = process.cpuUsage();
  const t = performance.now();
  await fn();
  const u = process.cpuUsage(c);
  return { wall: performance.now() - t, cpu: (u.user + u.system) / 1000 };
}

/** Alternates a and b; medians of wall and CPU time. */
async function duel(a: () => Promise<unknown>, b: () => Promise<unknown>, runs = RUNS): Promise<[Timed, Timed]> {
  const ta: Timed[] = [];
  const tb: Timed[] = [];
  for (let i = 0; i < runs; i++) {
    if (i % 2) {
      tb.push(await timed(b));
      ta.push(await timed(a));
    } else {
      ta.push(await timed(a));
      tb.push(await timed(b));
    }
  }
  if (process.env.BENCH_VERBOSE) line(`  runs: ${ta.map((x) => x.wall.toFixed(0)).join(' ')} | ${tb.map((x) => x.wall.toFixed(0)).join(' ')}`);
  const m = (xs: Timed[]): Timed => ({ wall: median(xs.map((x) => x.wall)), cpu: median(xs.map((x) => x.cpu)) });
  return [m(ta), m(tb)];
}

const index = (file: string, restartSpan: number, jsInflater = false) =>
  indexLayerStream(createReadStream(file, { highWaterMark: 1 << 20 }), { digest: `sha256:${'0'.repeat(64)}`, compressedSize: statSync(file).size, restartSpan, jsInflater });

/** READS files spread over the layer (every size, deterministic), read through openLayerRange. */
function sample(idx: LayerIndex): number[] {
  const files: number[] = [];
  for (let i = 0; i < idx.count; i++) if (idx.type(i) === 'file' && !idx.isMarker(i) && idx.cols.size[i]! > 0) files.push(i);
  return Array.from({ length: READS }, (_, k) => files[Math.floor((k * 7919) % files.length)]!);
}

/** Wall and CPU time of each read (CPU: this thread's work, which is all of a read; the wall time on a loaded machine waits for a core too). */
async function readLatencies(file: string, idx: LayerIndex, js: boolean): Promise<{ wall: number[]; cpu: number[] }> {
  const { source, desc } = fileSource(file);
  const wall: number[] = [];
  const cpu: number[] = [];
  for (const e of sample(idx)) {
    const off = idx.cols.offset[e]!;
    const c = process.cpuUsage();
    const t = performance.now();
    const s = await openLayerRange(source, desc, idx, off, off + idx.cols.size[e]!, { entry: e, jsInflater: js });
    for await (const _c of s) void _c;
    wall.push(performance.now() - t);
    const u = process.cpuUsage(c);
    cpu.push((u.user + u.system) / 1000);
  }
  return { wall, cpu };
}
const p95 = (l: { wall: number[]; cpu: number[] }) => `p95 ${ms(pct(l.wall, 0.95))} (CPU ${ms(pct(l.cpu, 0.95))})`;

/** The peer: what a reader without points does, plain zlib from the blob's start to the file's end. */
async function fromStart(file: string, end: number): Promise<void> {
  let pos = 0;
  const gun = zlib.createGunzip({ chunkSize: 1 << 20 });
  const sink = new Writable({
    write(c: Buffer, _e, cb) {
      pos += c.length;
      cb(pos >= end ? new Error('done') : null);
    },
  });
  await pipeline(createReadStream(file, { highWaterMark: 1 << 20 }), gun, sink).catch((e: Error) => {
    if (e.message !== 'done') throw e;
  });
}

async function main(): Promise<void> {
  if (!existsSync(ROOTFS)) {
    line('restart-points: skipped — build the fixtures first (npm run fixtures) to get the debootstrap rootfs');
    return;
  }
  const { big, small } = await inputs();
  const bigSize = statSync(big).size;
  line(`inflater: ${addonStatus()}; ${RUNS} alternating runs, medians; RESTART_SPAN ${mib((await import('../shared/layers/indexer.js')).RESTART_SPAN)}`);
  let bigIdx: LayerIndex | undefined;

  if (want('index')) {
    const [on, off] = await duel(async () => (bigIdx = await index(big, (await import('../shared/layers/indexer.js')).RESTART_SPAN)), () => index(big, 0));
    line(
      `index a ${mib(bigIdx!.meta.uncompressedSize)} gzip layer (${mib(bigSize)} blob) with restart points: ${ms(on.wall)} vs today's index (no points) ${ms(off.wall)} → ${(on.wall / off.wall).toFixed(2)}× wall, ${(on.cpu / off.cpu).toFixed(2)}× CPU (${ms(on.cpu)} vs ${ms(off.cpu)}) (goal ≤ 1.1×)`,
    );
  }
  bigIdx ??= await index(big, (await import('../shared/layers/indexer.js')).RESTART_SPAN);
  const rp = bigIdx.restart!;
  if (want('disk')) {
    line(`restart points of that layer: ${rp.count} points, ${mib(rp.byteLength)} (${((100 * rp.byteLength) / bigSize).toFixed(2)} % of the blob; goal ≤ 3 %); whole index file ${mib(serializeIndex(bigIdx).length)}`);
  }

  if (want('read')) {
    for (const js of [false, true]) {
      if (!js && !addonStatus().startsWith('native')) continue;
      const lat = await readLatencies(big, bigIdx, js);
      line(`read ${READS} files of that layer from the points (${js ? 'pako' : 'addon'}): p50 ${ms(pct(lat.wall, 0.5))}, ${p95(lat)}, max ${ms(Math.max(...lat.wall))} (goal p95 ≤ 50 ms)`);
    }
    // The peer, on every sixth sampled file (each decodes up to half a gigabyte).
    const peer: Timed[] = [];
    for (const e of sample(bigIdx).filter((_, k) => k % 6 === 0)) peer.push(await timed(() => fromStart(big, bigIdx!.cols.offset[e]! + bigIdx!.cols.size[e]!)));
    line(`the same files decoded from the blob's start with plain zlib (no points, ${peer.length} files): median ${ms(median(peer.map((x) => x.wall)))} (CPU ${ms(median(peer.map((x) => x.cpu)))}), max ${ms(Math.max(...peer.map((x) => x.wall)))}`);
  }

  if (want('span')) {
    const smallSize = statSync(small).size;
    for (const span of [1, 2, 4].map((m) => m * 1024 * 1024)) {
      const idx = await index(small, span);
      const lat = await readLatencies(small, idx, false);
      const latJs = await readLatencies(small, idx, true);
      line(
        `span ${mib(span)} on the rootfs layer at gzip -6 (${mib(smallSize)}): ${idx.restart!.count} points, ${((100 * idx.restart!.byteLength) / smallSize).toFixed(2)} % of the blob; reads ${p95(lat)} with the addon, ${p95(latJs)} with pako`,
      );
    }
  }

  if (want('fallback')) {
    const span = (await import('../shared/layers/indexer.js')).RESTART_SPAN;
    const [js, today] = await duel(() => index(small, span, true), () => index(small, 0));
    line(`fallback: index the rootfs layer with pako recording the points: ${ms(js.wall)} vs today's index ${ms(today.wall)} → ${(js.wall / today.wall).toFixed(2)}× wall, ${(js.cpu / today.cpu).toFixed(2)}× CPU`);
  }
}

await main();
