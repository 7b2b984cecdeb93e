import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { deserializeIndex, IndexStore, indexPath, serializeIndex } from '../shared/layers/store.js';
import { IndexBuilder, type LayerIndex } from '../shared/layers/tarindex.js';
import { openCache } from '../shared/store/cache.js';
import { writeAtomic } from '../shared/store/fsafe.js';
import { SEAL_BYTES } from '../shared/store/key.js';

// What the bounded, authenticated cache costs (docs/cache.md), each against a peer in the same run
// (medians of alternating runs):
//   load  — reopening a big layer index: sealed (HMAC-SHA256 checked, mtime set) vs the same bytes read
//           plainly (what the unauthenticated cache did), and `sha256sum` of the file (GNU coreutils);
//   save  — storing an index in a cache of 5,000 entries: reserve + write vs a plain temp + rename;
//   scan  — a full scan under the lock (what a reservation costs when the pool is empty, and every
//           eviction) vs `du -sb` over the same cache (GNU coreutils walking the same tree).

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DIR = path.join(REPO, 'bench/.cache/cache');
const RUNS = Math.max(3, Number(process.env.BENCH_RUNS ?? 5));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const ms = (n: number) => `${n < 10 ? n.toFixed(1) : n.toFixed(0)} ms`;
const line = (s: string) => process.stdout.write(s + '\n');

async function time(fn: () => unknown): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

/** Alternates the contenders RUNS times after one warm-up each; medians. */
async function race(...fns: (() => unknown)[]): Promise<number[]> {
  const t: number[][] = fns.map(() => []);
  for (const f of fns) await f();
  for (let i = 0; i < RUNS; i++) {
    const order = i % 2 ? [...fns.keys()].reverse() : [...fns.keys()];
    for (const k of order) t[k]!.push(await time(fns[k]!));
  }
  return t.map(median);
}

function synthetic(n: number, label: string): LayerIndex {
  const b = new IndexBuilder(label);
  for (let i = 0; i < n; i++) {
    const dir = `usr/share/app${i % 97}/module-${Math.floor(i / 97) % 1000}`;
    b.entry({ name: `${dir}/file-${i}.dat`, type: 'file', typeflag: '0', mode: 0o644, uid: 0, gid: 0, size: i % 5000, mtime: 1_700_000_000, linkname: '', devmajor: 0, devminor: 0, offset: i * 1024, headerOffset: i * 1024 - 512 });
    b.entryEnd();
  }
  const digest = `sha256:${createHash('sha256').update(`${label}-${n}`).digest('hex')}`;
  return b.finish({ digest, compression: 'gzip', compressedSize: 0, uncompressedSize: 0, complete: true });
}

rmSync(DIR, { recursive: true, force: true });
mkdirSync(DIR, { recursive: true });
const keyFile = path.join(DIR, 'config', 'cache.key');

// load
{
  const N = 500_000;
  const root = path.join(DIR, 'load');
  openCache(root, { keyFile, env: {} });
  const store = new IndexStore(root);
  const idx = synthetic(N, 'load');
  if (!(await store.save(idx))) throw new Error('the cache did not store the index');
  const sealed = indexPath(root, idx.meta.digest);
  const plain = path.join(DIR, 'plain.idx');
  writeFileSync(plain, readFileSync(sealed).subarray(0, statSync(sealed).size - SEAL_BYTES));
  const [s, p, sum] = await race(
    async () => {
      if ((await store.load(idx.meta.digest))?.count !== N) throw new Error('sealed load failed');
    },
    async () => {
      if (deserializeIndex(await readFile(plain), idx.meta.digest)?.count !== N) throw new Error('plain load failed');
    },
    () => spawnSync('sha256sum', [sealed], { stdio: 'ignore' }),
  );
  line(`load a ${N}-entry index (${(statSync(sealed).size / 2 ** 20).toFixed(1)} MiB): sealed ${ms(s!)} vs plain ${ms(p!)} → ${(s! / p!).toFixed(2)}×; sha256sum of the file ${ms(sum!)}`);
}

// save
{
  const ENTRIES = 5000;
  const root = path.join(DIR, 'save');
  const cache = openCache(root, { keyFile, env: {}, settingMaxBytes: 2 ** 40 });
  for (let i = 0; i < ENTRIES; i++) await cache.writeSealed(`layer-index/v2/sha256/${randomBytes(32).toString('hex')}.idx`, randomBytes(2048));
  const store = new IndexStore(root);
  const pool = Array.from({ length: RUNS + 1 }, (_, i) => synthetic(1000, `save-${i}`));
  const payload = serializeIndex(pool[0]!);
  const other = path.join(DIR, 'plain-save');
  mkdirSync(other, { recursive: true });
  let a = 0;
  let b = 0;
  const [s, p] = await race(
    async () => {
      if (!(await store.save(pool[a++]!))) throw new Error('not stored');
    },
    () => writeAtomic(path.join(other, `${b}.idx`), [serializeIndex(pool[b++]!)]),
  );
  line(`save a 1,000-entry index (${(payload.length / 1024).toFixed(0)} KiB) into a cache of ${ENTRIES} entries: ${ms(s!)} (reserve from the pool + write) vs plain temp + rename ${ms(p!)}`);
  // The slow path every save took before the pool: a full scan under the lock (here with nothing to evict).
  const [scan, du2] = await race(
    () => cache.prune(2 ** 40),
    () => spawnSync('du', ['-sb', root], { stdio: 'ignore' }),
  );
  line(`scan a cache of ${ENTRIES + 2 * RUNS + 2} entries under the lock (prune, nothing to evict): ${ms(scan!)} vs \`du -sb\` of it ${ms(du2!)} → ${(scan! / du2!).toFixed(2)}×`);
}
rmSync(DIR, { recursive: true, force: true });
