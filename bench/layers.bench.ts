import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, linkSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import * as zlib from 'node:zlib';
import { ImageLayers } from '../shared/layers/engine.js';
import { indexLayerStream } from '../shared/layers/indexer.js';
import { IndexStore } from '../shared/layers/store.js';
import { IndexBuilder } from '../shared/layers/tarindex.js';
import type { Descriptor } from '../shared/oci/types.js';
import { OciLayoutSource } from '../shared/sources/oci-layout.js';
import { DirVfs } from '../shared/sources/vfs.js';

// Issue 3 figures, each against a peer measured in the same run (median of alternating runs):
// index vs plain zlib inflate, vs `gzip -dc | tar -t`, parallel vs sequential, extract vs
// `umoci raw unpack`, reopen of a synthetic 1M-entry index, bytes per entry, read latency in a
// ~1 GB gzip layer (from its restart points; details in restart-points.bench.ts). Inputs derive from the debootstrap rootfs of the fixture builder (npm run fixtures).

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CACHE = path.join(REPO, 'bench/.cache/layers');
const ROOTFS = path.join(REPO, 'test/.cache/fixtures/rootfs/rootfs.tar');
const REALISTIC = path.join(REPO, 'test/.cache/fixtures/realistic/layout');
const RUNS = Math.max(3, Number(process.env.BENCH_RUNS ?? 5));
const only = (process.env.BENCH_LAYERS_ONLY ?? '').split(',').filter(Boolean);
const want = (k: string) => !only.length || only.includes(k);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const ms = (n: number) => `${n < 10 ? n.toFixed(1) : n.toFixed(0)} ms`;
const mib = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MiB`;
const line = (s: string) => process.stdout.write(s + '\n');
const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

async function time(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

/** Alternates a and b RUNS times; returns medians. */
async function duel(a: () => Promise<unknown>, b: () => Promise<unknown>, runs = RUNS): Promise<[number, number]> {
  const ta: number[] = [];
  const tb: number[] = [];
  await a();
  await b(); // warm the page cache and JIT
  for (let i = 0; i < runs; i++) {
    if (i % 2) {
      tb.push(await time(b));
      ta.push(await time(a));
    } else {
      ta.push(await time(a));
      tb.push(await time(b));
    }
  }
  if (process.env.BENCH_VERBOSE) line(`  runs: ${ta.map((x) => x.toFixed(0)).join(' ')} | ${tb.map((x) => x.toFixed(0)).join(' ')}`);
  return [median(ta), median(tb)];
}

async function gzipFile(src: Readable, dest: string, level = 6): Promise<void> {
  await pipeline(src, zlib.createGzip({ level }), createWriteStream(dest + '.tmp'));
  renameSync(dest + '.tmp', dest);
}

/** The rootfs tar with one extra unique entry at the end (distinct digests), gzip'ed. */
async function layerVariant(k: number): Promise<string> {
  const out = path.join(CACHE, `rootfs-${k}.tar.gz`);
  if (existsSync(out)) return out;
  const tar = readFileSync(ROOTFS);
  // Strip the end-of-archive blocks, add an entry "bench-k", end again.
  let end = tar.length;
  while (end >= 512 && tar.subarray(end - 512, end).every((x) => x === 0)) end -= 512;
  const h = Buffer.alloc(512);
  h.write(`bench-${k}`, 0);
  h.write('0000644\0', 100);
  h.write('0000000\0', 108);
  h.write('0000000\0', 116);
  h.write('00000000000\0', 124);
  h.write('00000000000\0', 136);
  h.write('        ', 148);
  h.write('0', 156);
  h.write('ustar\x0000', 257, 'latin1');
  let sum = 0;
  for (const x of h) sum += x;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'latin1');
  await gzipFile(Readable.from([tar.subarray(0, end), h, Buffer.alloc(1024)]), out);
  return out;
}

function fileSource(files: string[]): { source: OciLayoutSource; descs: Descriptor[] } {
  // A throwaway OCI layout of hard links to the blobs, so the real source code path is measured.
  const dir = path.join(CACHE, 'layout');
  mkdirSync(path.join(dir, 'blobs/sha256'), { recursive: true });
  writeFileSync(path.join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  writeFileSync(path.join(dir, 'index.json'), '{"schemaVersion":2,"manifests":[]}');
  const descs = files.map((f) => {
    const digestFile = f + '.sha256';
    const digest = existsSync(digestFile) ? readFileSync(digestFile, 'utf8') : sha(readFileSync(f));
    writeFileSync(digestFile, digest);
    const blob = path.join(dir, 'blobs/sha256', digest.slice(7));
    if (!existsSync(blob)) linkSync(f, blob);
    return { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest, size: statSync(f).size };
  });
  return { source: new OciLayoutSource(new DirVfs(dir), dir), descs };
}

async function main(): Promise<void> {
  if (!existsSync(ROOTFS)) {
    line('layers: skipped — build the fixtures first (npm run fixtures) to get the debootstrap rootfs');
    return;
  }
  mkdirSync(CACHE, { recursive: true });
  const one = await layerVariant(0);
  const oneSize = statSync(one).size;
  line(`input: debootstrap rootfs layer, ${mib(statSync(ROOTFS).size)} tar, ${mib(oneSize)} gzip; ${RUNS} alternating runs, medians`);

  if (want('index')) {
    const inflate = () => pipeline(createReadStream(one, { highWaterMark: 1 << 20 }), zlib.createGunzip({ chunkSize: 1024 * 1024 }), new Writable({ write: (_c, _e, cb) => cb() }));
    const index = () => indexLayerStream(createReadStream(one, { highWaterMark: 1 << 20 }), { digest: `sha256:${'0'.repeat(64)}`, compressedSize: oneSize });
    const [ti, tz] = await duel(index, inflate);
    line(`index one layer: ${ms(ti)} vs plain zlib inflate ${ms(tz)} → ${(ti / tz).toFixed(2)}× (goal ≤ 1.15×)`);
    const gnu = async () => {
      const r = spawnSync('sh', ['-c', `gzip -dc '${one}' | tar -t > /dev/null`]);
      if (r.status !== 0) throw new Error('gzip | tar failed');
    };
    const [ti2, tg] = await duel(index, gnu);
    line(`index one layer: ${ms(ti2)} vs gzip -dc | tar -t ${ms(tg)} → ${(ti2 / tg).toFixed(2)}× (goal ≤ 0.8×)`);
  }

  if (want('parallel')) {
    const files = await Promise.all([0, 1, 2, 3].map(layerVariant));
    const { source, descs } = fileSource(files);
    const run = (workers: number) => async () => {
      const cacheDir = mkdtempSync(path.join(os.tmpdir(), 'bench-idx-'));
      const img = new ImageLayers(source, descs, descs.map(() => undefined), { cacheDir, workers });
      await img.index();
      if (img.layers.some((l) => l.state !== 'ready')) throw new Error('index failed');
      rmSync(cacheDir, { recursive: true, force: true });
    };
    const [tp, ts] = await duel(run(2), run(0), Math.max(3, Math.ceil(RUNS / 2)));
    line(`4 layers, 2 workers: ${ms(tp)} vs sequential in one thread ${ms(ts)} → ${(tp / ts).toFixed(2)}× (goal ≤ 0.6× on 2 cores; ${os.availableParallelism()} CPUs here)`);
  }

  if (want('extract') && existsSync(REALISTIC)) {
    const umoci = spawnSync('umoci', ['--version']).status === 0;
    const idx = JSON.parse(readFileSync(path.join(REALISTIC, 'index.json'), 'utf8')) as { manifests: { annotations?: Record<string, string> }[] };
    const tag = idx.manifests[0]?.annotations?.['org.opencontainers.image.ref.name'] ?? 'latest';
    const cacheDir = mkdtempSync(path.join(os.tmpdir(), 'bench-x-'));
    const { openImage } = await import('../shared/layers/open-image.js');
    const ours = async () => {
      const out = mkdtempSync(path.join(os.tmpdir(), 'bench-ours-'));
      const r = await openImage(`oci:${REALISTIC}:${tag}`, {}, { cacheDir });
      await r.image.layers.extract(path.join(out, 'rootfs'));
      await r.close();
      rmSync(out, { recursive: true, force: true });
    };
    const theirs = async () => {
      const out = mkdtempSync(path.join(os.tmpdir(), 'bench-umoci-'));
      const r = spawnSync('umoci', ['raw', 'unpack', '--image', `${REALISTIC}:${tag}`, path.join(out, 'rootfs')]);
      rmSync(out, { recursive: true, force: true });
      if (r.status !== 0) throw new Error(`umoci failed: ${r.stderr}`);
    };
    if (umoci) {
      const [to, tu] = await duel(ours, theirs);
      line(`extract realistic image (indexes cached): ${ms(to)} vs umoci raw unpack ${ms(tu)} → ${(to / tu).toFixed(2)}× (goal ≤ 0.8×)`);
    } else line('extract: umoci not installed, skipped');
    rmSync(cacheDir, { recursive: true, force: true });
  }

  if (want('reopen')) {
    const N = 1_000_000;
    const store = new IndexStore(path.join(CACHE, 'store'));
    const digest = `sha256:${createHash('sha256').update(`synthetic-${N}`).digest('hex')}`;
    if (!(await store.load(digest))) {
      const b = new IndexBuilder('synthetic');
      for (let i = 0; i < N; i++) {
        const dir = `usr/share/app${i % 97}/module-${Math.floor(i / 97) % 1000}`;
        b.entry({ name: `${dir}/file-${i}.dat`, type: 'file', typeflag: '0', mode: 0o644, uid: 0, gid: 0, size: i % 5000, mtime: 1_700_000_000, linkname: '', devmajor: 0, devminor: 0, offset: i * 1024, headerOffset: i * 1024 - 512 });
        b.entryEnd();
      }
      await store.save(b.finish({ digest, compression: 'gzip', compressedSize: 0, uncompressedSize: 0, complete: true }));
    }
    const file = (await import('../shared/layers/store.js')).indexPath(store.dir, digest);
    const loads: number[] = [];
    let held: Awaited<ReturnType<typeof store.load>>;
    const used = () => {
      const m = process.memoryUsage();
      return m.heapUsed + m.arrayBuffers;
    };
    for (let i = 0; i < RUNS; i++) {
      held = undefined;
      const t = performance.now();
      held = await store.load(digest);
      loads.push(performance.now() - t);
      if (held!.count !== N) throw new Error('bad synthetic index');
    }
    // Memory in a fresh process with a real --expose-gc (deltas of heap + array buffers).
    const child = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', fileURLToPath(import.meta.url)], {
      env: { ...process.env, BENCH_MEM_CHILD: digest },
      encoding: 'utf8',
      cwd: REPO,
    });
    const [bytesPerEntry, treePerEntry] = child.stdout.trim().split(/\s+/).map(Number) as [number, number];
    const { MergedTree } = await import('../shared/layers/merge.js');
    const tm = await time(async () => {
      new MergedTree([held!], [0]);
    });
    void used;
    line(`reopen 1M-entry index from cache (${mib(statSync(file).size)} on disk): ${ms(median(loads))} (goal ≤ 1.5 s); then the merged tree of its ${N} paths ${ms(tm)}`);
    line(`memory per entry of a loaded index: ${bytesPerEntry.toFixed(0)} bytes (goal ≤ 400); a merged tree over it adds ${treePerEntry.toFixed(0)} bytes per path`);
  }

  if (want('diff')) {
    // A 100,100-entry layer (100 folders × 1,000 files) and a layer changing 60 of them: the UI's case.
    const { MergedTree } = await import('../shared/layers/merge.js');
    const { diffTrees } = await import('../shared/layers/diff.js');
    const layer = (label: string, entries: [string, 'file' | 'dir', number][]) => {
      const b = new IndexBuilder(label);
      for (const [name, type, size] of entries) {
        b.entry({ name, type, typeflag: type === 'dir' ? '5' : '0', mode: 0o644, uid: 0, gid: 0, size, mtime: 0, linkname: '', devmajor: 0, devminor: 0, offset: 0, headerOffset: 0 });
        b.entryEnd();
      }
      return b.finish({ digest: sha(Buffer.from(label)), compression: 'none', compressedSize: 0, uncompressedSize: 0, complete: true });
    };
    const big: [string, 'file' | 'dir', number][] = [];
    for (let d = 0; d < 100; d++) {
      big.push([`data/d${d}`, 'dir', 0]);
      for (let f = 0; f < 1000; f++) big.push([`data/d${d}/f${f}`, 'file', f]);
    }
    const top: [string, 'file' | 'dir', number][] = [];
    for (let k = 0; k < 20; k++) top.push([`data/d${k}/f${k}`, 'file', 7], [`data/d${k}/.wh.f${k + 1}`, 'file', 0], [`data/d${k}/new${k}`, 'file', 1]);
    const idx = [layer('big', big), layer('top', top)];
    const fresh: number[] = [];
    const cached: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      let lower: InstanceType<typeof MergedTree> | undefined;
      let upper: InstanceType<typeof MergedTree> | undefined;
      fresh.push(
        await time(async () => {
          lower = new MergedTree(idx, [0]);
          upper = new MergedTree(idx, [0, 1]);
          diffTrees(lower, upper);
        }),
      );
      cached.push(await time(async () => diffTrees(lower!, upper!)));
    }
    line(`diff of a 100,100-entry layer and a 60-change layer: ${ms(median(fresh))} with both merged trees built, ${ms(median(cached))} on cached trees`);
  }

  if (want('read')) {
    // ~1 GB uncompressed gzip layer: the rootfs five times under different prefixes.
    const big = path.join(CACHE, 'big.tar.gz');
    if (!existsSync(big)) {
      const tar = readFileSync(ROOTFS);
      let end = tar.length;
      while (end >= 512 && tar.subarray(end - 512, end).every((x) => x === 0)) end -= 512;
      const parts: Buffer[] = [];
      for (let k = 0; k < 5; k++) parts.push(tar.subarray(0, end));
      parts.push(Buffer.alloc(1024));
      await gzipFile(Readable.from(parts), big, 1);
    }
    const { source, descs } = fileSource([big]);
    const cacheDir = mkdtempSync(path.join(os.tmpdir(), 'bench-read-'));
    const img = new ImageLayers(source, descs, [undefined], { cacheDir, workers: 0 });
    const tIndex = await time(() => img.index());
    const tree = img.mergedTree();
    const files = [...tree.walk()].filter((p) => tree.get(p)!.type === 'file');
    const lat: number[] = [];
    for (let i = 0; i < 60; i++) {
      const p = files[Math.floor((i * 7919) % files.length)]!;
      lat.push(await time(() => img.readFileBuffer(p)));
    }
    lat.sort((a, b) => a - b);
    // No uncompressed copy any more: reads decode from the nearest restart point (bench/restart-points.bench.ts).
    const du = spawnSync('du', ['-sb', cacheDir], { encoding: 'utf8' }).stdout.split('\t')[0];
    line(`read a file in a ${mib(img.indexes[0]!.meta.uncompressedSize)} gzip layer (${mib(descs[0]!.size)} blob) after indexing (${ms(tIndex)}): p50 ${ms(lat[30]!)}, p95 ${ms(lat[56]!)} (goal p95 ≤ 50 ms); cache on disk (index + restart points) ${mib(Number(du))}`);
    rmSync(cacheDir, { recursive: true, force: true });
  }
}

/** Child mode: prints bytes per entry of a loaded index and of a merged tree over it. */
async function memChild(digest: string): Promise<void> {
  const gc = (globalThis as unknown as { gc: () => void }).gc;
  const { MergedTree } = await import('../shared/layers/merge.js');
  const used = () => {
    const m = process.memoryUsage();
    return m.heapUsed + m.arrayBuffers;
  };
  const store = new IndexStore(path.join(CACHE, 'store'));
  gc();
  const a = used();
  const idx = (await store.load(digest))!;
  gc();
  const b = used();
  const tree = new MergedTree([idx], [0]);
  gc();
  const c = used();
  process.stdout.write(`${(b - a) / idx.count} ${(c - b) / tree.size}\n`);
}

if (process.env.BENCH_MEM_CHILD) await memChild(process.env.BENCH_MEM_CHILD);
else await main();
