import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { compareImages } from '../shared/compare/compare.js';
import { openImage } from '../shared/layers/open-image.js';
import { packagesOf } from '../shared/packages/scan.js';

// Issue 14: the package scan and image-vs-image compare against the tools one would use instead, in
// the same run, alternating, median of BENCH_RUNS (default 5):
//  packages: openImage (index from the cache, blobs re-hashed) + packagesOf of the realistic fixture (all
//            ecosystems, files and bytes per package) vs GNU tar extracting var/lib/dpkg from its base
//            layer blob + dpkg-query -W (dpkg only, no files or bytes).
//  compare:  two images (realistic OCI layout vs the dockerd-built docker save) opened and compared vs
//            skopeo copy (docker-archive → OCI) + umoci raw unpack of both + diff -rq (files only).
// Uses the test fixtures (npm run fixtures builds them into test/.cache/fixtures).

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const FX = path.join(REPO, 'test/.cache/fixtures');
const RUNS = Math.max(3, Number(process.env.BENCH_RUNS ?? 5));
const realistic = path.join(FX, 'realistic/layout');
const dockerBuilt = path.join(FX, 'dockerd-built/dockerd-built.tar');
if (!existsSync(realistic) || !existsSync(dockerBuilt)) {
  process.stderr.write('packages bench: run `npm run fixtures` first (needs the realistic and dockerd-built fixtures).\n');
  process.exit(2);
}
const work = mkdtempSync(path.join(os.tmpdir(), 'oe-bench-packages-'));
const cacheDir = path.join(work, 'cache');

function sh(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { stdio: 'ignore' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status})`);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function time(fn: () => Promise<unknown> | unknown): Promise<number> {
  const t = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t) / 1e6;
}

async function ours(): Promise<number> {
  const r = await openImage(`oci:${realistic}:latest`, {}, { cacheDir });
  try {
    return (await packagesOf(r.image)).packages.length;
  } finally {
    await r.close();
  }
}

function peerPackages(): void {
  const index = JSON.parse(readFileSync(path.join(realistic, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
  const blob = (d: string) => path.join(realistic, 'blobs/sha256', d.slice(7));
  const manifest = JSON.parse(readFileSync(blob(index.manifests[0]!.digest), 'utf8')) as { layers: { digest: string }[] };
  const dir = mkdtempSync(path.join(work, 'dpkg-'));
  sh('tar', ['-xzf', blob(manifest.layers[0]!.digest), '-C', dir, 'var/lib/dpkg']);
  sh('dpkg-query', ['--admindir', path.join(dir, 'var/lib/dpkg'), '-W']);
  rmSync(dir, { recursive: true, force: true });
}

async function oursCompare(): Promise<number> {
  const a = await openImage(`oci:${realistic}:latest`, {}, { cacheDir });
  const b = await openImage(`docker-archive:${dockerBuilt}`, {}, { cacheDir });
  try {
    return (await compareImages(a.image, b.image)).files.entries.length;
  } finally {
    await a.close();
    await b.close();
  }
}

function peerCompare(): void {
  const dir = mkdtempSync(path.join(work, 'cmp-'));
  sh('umoci', ['raw', 'unpack', '--image', `${realistic}:latest`, path.join(dir, 'a')]);
  sh('skopeo', ['copy', '-q', `docker-archive:${dockerBuilt}`, `oci:${path.join(dir, 'oci')}:b`]);
  sh('umoci', ['raw', 'unpack', '--image', `${path.join(dir, 'oci')}:b`, path.join(dir, 'b')]);
  // diff exits 1 when the trees differ: that is the answer, not a failure.
  const r = spawnSync('diff', ['-rq', '--no-dereference', path.join(dir, 'a'), path.join(dir, 'b')], { stdio: 'ignore' });
  if (r.status !== 0 && r.status !== 1) throw new Error(`diff failed (${r.status})`);
  rmSync(dir, { recursive: true, force: true });
}

async function pair(name: string, a: () => Promise<unknown>, b: () => Promise<unknown> | unknown, peer: string): Promise<void> {
  await a(); // warm: index cache, sql.js, the page cache
  const ta: number[] = [];
  const tb: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    if (i % 2) {
      tb.push(await time(b));
      ta.push(await time(a));
    } else {
      ta.push(await time(a));
      tb.push(await time(b));
    }
  }
  const [ma, mb] = [median(ta), median(tb)];
  process.stdout.write(`${name}: ours ${ma.toFixed(0)} ms, ${peer} ${mb.toFixed(0)} ms, ratio ${(ma / mb).toFixed(2)} (median of ${RUNS})\n`);
}

try {
  mkdirSync(cacheDir, { recursive: true });
  process.stdout.write(`packages: ${await ours()} packages in the realistic image\n`);
  await pair('packages (realistic, all ecosystems, files+bytes)', ours, peerPackages, 'tar -xzf base var/lib/dpkg + dpkg-query -W');
  process.stdout.write(`compare: ${await oursCompare()} changed paths (realistic vs dockerd-built)\n`);
  await pair('compare (realistic vs dockerd-built)', oursCompare, peerCompare, 'skopeo copy + 2× umoci raw unpack + diff -rq');
} finally {
  rmSync(work, { recursive: true, force: true });
}
