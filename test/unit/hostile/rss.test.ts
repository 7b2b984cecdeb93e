import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { file, hdr, layoutOf, pax, zstdFrameHeader, zstdRleFrame } from './build.js';

// Issue 15 acceptance: peak RSS of `oci-explorer ls` on each bomb class stays under 512 MB, measured in
// a child process (its own VmHWM). The figures are recorded in docs/benchmarks.md.

const LIMIT_KIB = 512 * 1024;
const CHILD = path.join(__dirname, 'rss-child.mjs');

/** Runs `ls` on a layout in a child; returns its exit code, stderr and peak RSS (KiB). */
function lsPeak(dir: string): Promise<{ code: number | null; err: string; maxRssKiB: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, 'ls', dir], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, OCI_EXPLORER_CACHE: mkdtempSync(path.join(os.tmpdir(), 'oci-rss-cache-')) } });
    let err = '';
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const m = /MAXRSS_KIB (\d+)/.exec(err);
      resolve({ code, err, maxRssKiB: m ? Number(m[1]) : NaN });
    });
  });
}

/** A gzip bomb as a real layer: a tar holding one 1.25 GiB file of zeros, as 20 gzip members of 64 MiB each. */
function gzipBomb(): { blob: Buffer; mediaType: string } {
  const zeros = zlib.gzipSync(Buffer.alloc(64 * 1024 * 1024), { level: 9 });
  const size = 20 * 64 * 1024 * 1024 - 512;
  const first = zlib.gzipSync(Buffer.concat([hdr({ name: 'zeros', size }), Buffer.alloc(64 * 1024 * 1024 - 512)]), { level: 9 });
  return { blob: Buffer.concat([first, ...Array.from({ length: 19 }, () => zeros)]), mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip' };
}

const CLASSES: [string, () => { blob: Buffer; mediaType?: string }[], RegExp][] = [
  ['zstd run-length bomb (640 KB → 20 GiB)', () => [{ blob: zstdRleFrame(160_000), mediaType: 'application/vnd.oci.image.layer.v1.tar+zstd' }], /DECOMPRESSION_BOMB/],
  ['zstd frame declaring a 1.9 GiB window (3 KB)', () => [{ blob: Buffer.concat([zstdFrameHeader(30, 7), Buffer.alloc(3000, 7)]), mediaType: 'application/vnd.oci.image.layer.v1.tar+zstd' }], /DECOMPRESSION_BOMB.*window/],
  ['gzip bomb (1.3 MB → 1.25 GiB)', () => [gzipBomb()], /DECOMPRESSION_BOMB/],
  [
    'huge PAX names (1 MiB records and 15 KiB names, gzip)',
    () => {
      const parts: Buffer[] = [];
      for (let i = 0; i < 100; i++) parts.push(pax({ path: `${i}/${'p'.repeat(1024 * 1024 - 40)}` }), file(`x${i}`, ''));
      for (let i = 0; i < 12_000; i++) parts.push(pax({ path: `n${i}/${'q'.repeat(15 * 1024)}` }), file(`y${i}`, ''));
      parts.push(Buffer.alloc(1024));
      return [{ blob: zlib.gzipSync(Buffer.concat(parts)), mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip' }];
    },
    /LAYER_TAR_INVALID|TOO_LARGE/,
  ],
];

describe('peak memory of ls on each bomb class', () => {
  for (const [name, layers, problem] of CLASSES) {
    it(`${name}: under 512 MB, the bomb reported`, { timeout: 300_000 }, async () => {
      const dir = layoutOf(layers());
      const r = await lsPeak(dir);
      console.log(`[rss] ${name}: peak RSS ${Math.round(r.maxRssKiB / 1024)} MiB`);
      expect(r.err).toMatch(problem);
      expect(r.maxRssKiB).toBeLessThan(LIMIT_KIB);
    });
  }
});
