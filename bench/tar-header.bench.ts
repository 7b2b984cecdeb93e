import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import tarStream from 'tar-stream';
import { indexLayerStream } from '../shared/layers/indexer.js';
import { TarVfs } from '../shared/sources/tarfs.js';

// Issue 15: the one tar header parser (shared/tar/header.ts) validates every field; it must not cost the
// readers their speed. Figures, on one uncompressed tar of 60,000 small files (written by tar-stream):
// the layer index (tarscan + index) and the archive scan (tarfs, reading headers in place) against GNU
// `tar -tvf` (which parses the same headers and prints them), alternating, median of BENCH_RUNS (default 7).

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CACHE = path.join(REPO, 'bench/.cache/tar-header');
const RUNS = Math.max(3, Number(process.env.BENCH_RUNS ?? 7));
const ENTRIES = 60_000;

async function makeTar(file: string): Promise<void> {
  const pack = tarStream.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (c: unknown) => void chunks.push(c as Buffer));
  const done = new Promise<void>((r) => pack.on('end', () => r()));
  for (let i = 0; i < ENTRIES; i++) {
    // Every 50th name is long (a PAX path), as in real layers with deep node_modules trees.
    const name = i % 50 === 0 ? `usr/lib/node_modules/pkg${i}/${'deep/'.repeat(30)}file-${i}.js` : `usr/share/pkg${i % 300}/file-${i}.txt`;
    pack.entry({ name, mode: 0o644, mtime: new Date(1_700_000_000_000) }, 'x'.repeat(i % 700));
  }
  pack.finalize();
  await done;
  writeFileSync(file, Buffer.concat(chunks));
}

const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;

async function main(): Promise<void> {
  mkdirSync(CACHE, { recursive: true });
  const file = path.join(CACHE, `entries-${ENTRIES}.tar`);
  if (!existsSync(file)) await makeTar(file);
  const bytes = readFileSync(file);
  const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
  const index: number[] = [];
  const scan: number[] = [];
  const gnu: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    let t = performance.now();
    const idx = await indexLayerStream(Readable.from([bytes]), { digest, compressedSize: bytes.length });
    index.push(performance.now() - t);
    if (idx.count !== ENTRIES) throw new Error(`indexed ${idx.count} entries`);
    t = performance.now();
    const vfs = await TarVfs.open(file);
    scan.push(performance.now() - t);
    await vfs.close();
    t = performance.now();
    const g = spawnSync('tar', ['-tvf', file], { stdio: ['ignore', 'ignore', 'inherit'] });
    gnu.push(performance.now() - t);
    if (g.status !== 0) throw new Error('tar -tvf failed');
  }
  const ms = (n: number) => `${n.toFixed(0)} ms`;
  console.log(`tar of ${ENTRIES} files (${(bytes.length / 2 ** 20).toFixed(1)} MiB), median of ${RUNS}:`);
  console.log(`index (tarscan + layer index) ${ms(median(index))} vs tar -tvf ${ms(median(gnu))}: ${(median(index) / median(gnu)).toFixed(2)}x`);
  console.log(`archive scan (tarfs, headers in place) ${ms(median(scan))} vs tar -tvf ${ms(median(gnu))}: ${(median(scan) / median(gnu)).toFixed(2)}x`);
}

await main();
