import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildGraph } from '../shared/graph/build.js';
import { openImage } from '../shared/layers/open-image.js';
import { openSource } from '../shared/sources/open.js';
import { canRunDockerd, DOCKER_CLI, startDockerd } from '../test/helpers/tools.js';

// Issue 13 figures, each against `docker save` of the same image measured in the same run (median of
// alternating runs): docker-store: open to the graph (goal ≤ 0.1×), docker-store: full merged tree with
// every layer rebuilt from tar-split and its diff_id verified (goal ≤ 1.0×), and, for the cost of the
// engine path, docker-daemon: (export spooled once + graph). Input: the dockerd-built fixture (debootstrap
// bookworm minbase + 5 RUN layers, ≈ 200 MB) loaded into a private dockerd.

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const FIXTURE = path.join(REPO, 'test/.cache/fixtures/dockerd-built/dockerd-built.tar');
const TAG = 'fixture/dockerd-built:latest';
const RUNS = Math.max(3, Number(process.env.BENCH_RUNS ?? 5));

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (n: number) => (n < 1000 ? `${n.toFixed(0)} ms` : `${(n / 1000).toFixed(2)} s`);
const line = (s: string): void => void process.stdout.write(s + '\n');

async function time(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

async function duel(a: () => Promise<unknown>, b: () => Promise<unknown>, runs = RUNS): Promise<[number, number]> {
  const ta: number[] = [];
  const tb: number[] = [];
  await a();
  await b();
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

async function main(): Promise<void> {
  if (!existsSync(FIXTURE)) return line('docker: skipped — build the fixtures first (npm run fixtures) to get dockerd-built.tar');
  if (!canRunDockerd()) return line('docker: skipped — needs dockerd and root');
  const d = await startDockerd();
  const work = mkdtempSync(path.join(os.tmpdir(), 'bench-docker-'));
  try {
    await d.docker(['load', '-i', FIXTURE]);
    const saved = path.join(work, 'saved.tar');
    const dockerSave = async () => {
      rmSync(saved, { force: true });
      const r = spawnSync(DOCKER_CLI, ['save', '-o', saved, TAG], { env: { ...process.env, ...d.env } });
      if (r.status !== 0) throw new Error(`docker save failed: ${r.stderr.toString()}`);
    };
    await dockerSave();
    const spec = `docker-store:${d.dataRoot}:${TAG}`;
    line(`input: ${TAG} (dockerd-built fixture), docker save = ${(statSync(saved).size / 1e6).toFixed(0)} MB; ${RUNS} alternating runs, medians, in process`);

    const graphOf = async (cacheDir: string) => {
      const { source } = await openSource(spec, { cacheDir });
      try {
        await buildGraph(source);
      } finally {
        await source.close();
      }
    };
    const fullTree = async (cacheDir = mkdtempSync(path.join(work, 'idx-'))) => {
      const { source } = await openSource(spec, { cacheDir });
      const r = await openImage(source, {}, { cacheDir });
      try {
        if (r.image.layers.layers.some((l) => l.state !== 'ready' || l.problems.length)) throw new Error('a layer did not verify');
        r.image.layers.mergedTree().walk().next();
      } finally {
        await r.close();
      }
    };
    // First open of an image: one pass over each layer's tar-split for the rebuilt tar's size.
    const [tg, ts1] = await duel(() => graphOf(mkdtempSync(path.join(work, 'cold-'))), dockerSave);
    line(`docker-store: open to graph, first time ${fmt(tg)} vs docker save -o ${fmt(ts1)} → ${(tg / ts1).toFixed(3)}× (goal ≤ 0.1×)`);
    // Once its layers were verified, their sizes are remembered by diff_id: no tar-split is read.
    const warm = mkdtempSync(path.join(work, 'warm-'));
    await fullTree(warm);
    const [tw, ts4] = await duel(() => graphOf(warm), dockerSave);
    line(`docker-store: open to graph, layers verified before ${fmt(tw)} vs docker save -o ${fmt(ts4)} → ${(tw / ts4).toFixed(3)}× (goal ≤ 0.1×)`);

    const [tf, ts2] = await duel(async () => {
      const dir = mkdtempSync(path.join(work, 'idx-'));
      await fullTree(dir);
      rmSync(dir, { recursive: true, force: true });
    }, dockerSave);
    line(`docker-store: full merged tree, every diff_id verified ${fmt(tf)} vs docker save -o ${fmt(ts2)} → ${(tf / ts2).toFixed(2)}× (goal ≤ 1.0×)`);

    // What it replaces (dive's way): docker save, then the same full tree from the saved archive.
    const saveThenOpen = async () => {
      await dockerSave();
      const cacheDir = mkdtempSync(path.join(work, 'arc-'));
      const { source } = await openSource(`docker-archive:${saved}`, { cacheDir });
      const r = await openImage(source, {}, { cacheDir });
      r.image.layers.mergedTree().walk().next();
      await r.close();
      rmSync(cacheDir, { recursive: true, force: true });
    };
    const [tf2, tso] = await duel(async () => {
      const dir = mkdtempSync(path.join(work, 'idx-'));
      await fullTree(dir);
      rmSync(dir, { recursive: true, force: true });
    }, saveThenOpen);
    line(`docker-store: full merged tree ${fmt(tf2)} vs docker save -o + the same tree from the saved archive ${fmt(tso)} → ${(tf2 / tso).toFixed(2)}×`);

    const prevHost = process.env.DOCKER_HOST;
    process.env.DOCKER_HOST = d.env.DOCKER_HOST;
    const daemon = async () => {
      const cacheDir = mkdtempSync(path.join(work, 'exp-'));
      const { source } = await openSource(`docker-daemon:${TAG}`, { cacheDir });
      try {
        await buildGraph(source);
      } finally {
        await source.close();
        rmSync(cacheDir, { recursive: true, force: true });
      }
    };
    const [td, ts3] = await duel(daemon, dockerSave, Math.max(3, Math.ceil(RUNS / 2)));
    if (prevHost === undefined) delete process.env.DOCKER_HOST;
    else process.env.DOCKER_HOST = prevHost;
    line(`docker-daemon: export + graph ${fmt(td)} vs docker save -o ${fmt(ts3)} → ${(td / ts3).toFixed(2)}× (the engine path costs one export)`);
  } finally {
    await d.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
