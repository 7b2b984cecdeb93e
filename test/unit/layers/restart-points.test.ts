import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import * as zlib from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { indexLayerStream } from '../../../shared/layers/indexer.js';
import { openLayerRange } from '../../../shared/layers/read.js';
import { deserializeIndex, serializeIndex } from '../../../shared/layers/store.js';
import type { LayerIndex } from '../../../shared/layers/tarindex.js';
import { addon, addonStatus } from '../../../shared/layers/zran/native.js';
import { MEMBER, RestartPoints } from '../../../shared/layers/zran/points.js';
import { digestOf } from '../../../shared/oci/digest.js';
import type { Descriptor } from '../../../shared/oci/types.js';
import { RangeSource } from './range-source.js';

// Restart points against real compressors: every file of a realistic layer (GNU tar of a package
// tree plus binary and zero-filled files) read through the points must equal what GNU tar extracts.

const SPAN = 256 * 1024;
const CI = process.env.CI === 'true';
const native = addon() !== undefined;
const inflaters = native ? (['native', 'js'] as const) : (['js'] as const);
const tmp = (p: string) => mkdtempSync(path.join(os.tmpdir(), p));
const run = (cmd: string, args: string[], input?: Buffer) => {
  const r = spawnSync(cmd, args, { input, maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
};

let tar: Buffer;
/** Regular files as GNU tar extracts them. */
const files = new Map<string, Buffer>();

beforeAll(() => {
  const extra = tmp('oci-rp-extra-');
  let x = 12345;
  const noise = Buffer.alloc(1_500_000);
  for (let i = 0; i < noise.length; i++) noise[i] = (x = (Math.imul(x, 1103515245) + 12345) >>> 0) >>> 24;
  writeFileSync(path.join(extra, 'noise.bin'), noise);
  writeFileSync(path.join(extra, 'zeros.bin'), Buffer.alloc(1_200_000));
  writeFileSync(path.join(extra, 'empty'), '');
  const pkgs = path.resolve('node_modules');
  tar = run('tar', ['-cf', '-', '--sort=name', '-C', pkgs, '@shikijs', 'pako', '-C', extra, '.']);
  const out = tmp('oci-rp-x-');
  run('tar', ['-xf', '-', '-C', out], tar);
  const list = run('tar', ['-tvf', '-'], tar).toString('utf8').split('\n');
  for (const l of list) {
    if (!l.startsWith('-')) continue;
    const name = l.split(/\s+/).slice(5).join(' ').replace(/^\.\//, '');
    files.set(name, readFileSync(path.join(out, name)));
  }
}, 120_000);

function pieces(buf: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < buf.length; i += size) out.push(buf.subarray(i, i + size));
  return out;
}

const variants: Record<string, () => Buffer> = {
  'gzip -1': () => run('gzip', ['-1', '-c'], tar),
  'gzip -6': () => run('gzip', ['-6', '-c'], tar),
  'gzip -9': () => run('gzip', ['-9', '-c'], tar),
  "Node's zlib": () => zlib.gzipSync(tar, { level: 6 }),
  // eStargz style: many members, of uneven sizes, then zero padding.
  'multi-member gzip': () => Buffer.concat([...pieces(tar, 300_007).map((p) => zlib.gzipSync(p)), Buffer.alloc(64)]),
  // Concatenated frames, a skippable frame between two of them.
  'zstd frames': () => {
    // Frames that declare their size (zstd-js decodes those whole) and frames that do not (streamed).
    const frames = pieces(tar, 200_003).map((p, i) => run('zstd', ['-3', '-c', '-q', ...(i % 2 ? [`--stream-size=${p.length}`] : [])], p));
    const skip = Buffer.alloc(8 + 10);
    skip.writeUInt32LE(0x184d2a50, 0);
    skip.writeUInt32LE(10, 4);
    return Buffer.concat([...frames.slice(0, 3), skip, ...frames.slice(3)]);
  },
};

async function indexOf(blob: Buffer, js: boolean, span = SPAN): Promise<LayerIndex> {
  return indexLayerStream(Readable.from(pieces(blob, 100_000)), { digest: digestOf(blob), compressedSize: blob.length, restartSpan: span, jsInflater: js });
}

async function readAll(s: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of s) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

function setup(blob: Buffer) {
  const src = new RangeSource();
  const desc: Descriptor = { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: digestOf(blob), size: blob.length };
  src.blobs.set(desc.digest, blob);
  return { src, desc };
}

function fileEntries(idx: LayerIndex): number[] {
  const out: number[] = [];
  for (let i = 0; i < idx.count; i++) if (idx.type(i) === 'file' && !idx.isMarker(i)) out.push(i);
  return out;
}

describe('restart points', () => {
  it('the addon is built where CI runs (elsewhere the JavaScript inflater stands in)', () => {
    if (CI) expect(addonStatus()).toBe('native');
    else if (!native) console.warn(`restart points: addon ${addonStatus()}; testing the JavaScript inflater only`);
  });

  for (const [name, make] of Object.entries(variants)) {
    const zstd = name.startsWith('zstd');
    for (const inf of zstd ? (['native'] as const) : inflaters) {
      it(`${name}${zstd ? '' : ` (${inf} inflater)`}: every file read through the points equals GNU tar's extraction`, async () => {
        const blob = make();
        const js = inf === 'js';
        const idx = await indexOf(blob, js);
        expect(idx.meta.complete).toBe(true);
        expect(idx.meta.uncompressedSize).toBe(tar.length);
        const rp = idx.restart!;
        // Points about every SPAN bytes (zstd: at frame starts, one per 200,003 bytes).
        expect(rp.count).toBeGreaterThan(tar.length / (zstd ? 200_003 : SPAN) / 4);
        for (let i = 1; i < rp.count; i++) expect(rp.out(i) - rp.out(i - 1)).toBeGreaterThanOrEqual(zstd || rp.point(i).bits === MEMBER ? 64 * 1024 : SPAN);
        const { src, desc } = setup(blob);
        const entries = fileEntries(idx);
        expect(entries.length).toBe(files.size);
        // The JavaScript inflater (and zstd in JavaScript) reads every third file; the addon all of them.
        const bad: string[] = [];
        for (const [k, e] of entries.entries()) {
          if ((js || zstd) && k % 3) continue;
          const off = idx.cols.offset[e]!;
          const got = await readAll(await openLayerRange(src, desc, idx, off, off + idx.cols.size[e]!, { entry: e, jsInflater: js }));
          if (!got.equals(files.get(idx.paths[e]!)!)) bad.push(idx.paths[e]!);
        }
        expect(bad).toEqual([]);
        // A range inside a file, across restart points.
        const big = entries.find((e) => idx.paths[e] === 'noise.bin')!;
        const off = idx.cols.offset[big]!;
        const part = await readAll(await openLayerRange(src, desc, idx, off + 300_000, off + 1_100_000, { entry: big, jsInflater: js }));
        expect(part.equals(files.get('noise.bin')!.subarray(300_000, 1_100_000))).toBe(true);
      }, 120_000);
    }
  }

  it.skipIf(!native)('the addon and the JavaScript inflater find the same points', async () => {
    const blob = variants['gzip -6']!();
    const [a, b] = [(await indexOf(blob, false)).restart!, (await indexOf(blob, true)).restart!];
    expect(a.count).toBe(b.count);
    const rows = (r: RestartPoints) => Array.from({ length: r.count }, (_, i) => r.point(i)).map((p) => [p.out, p.in, p.bits, p.window().toString('base64')]);
    expect(rows(a)).toEqual(rows(b));
  });

  it('a read fetches only the compressed bytes from its point to the next point past its end', async () => {
    const blob = variants['gzip -6']!();
    const idx = await indexOf(blob, false);
    const rp = idx.restart!;
    const { src, desc } = setup(blob);
    const e = fileEntries(idx).find((i) => idx.paths[i] === 'zeros.bin')!;
    const off = idx.cols.offset[e]!;
    await readAll(await openLayerRange(src, desc, idx, off, off + 1000, { entry: e }));
    expect(src.requests).toHaveLength(1);
    const { start, end } = src.requests[0]!;
    const p = rp.point(rp.find(off - 512));
    expect(p.out).toBeGreaterThan(0);
    expect(start).toBe(p.bits > 0 ? p.in - 1 : p.in);
    const next = rp.find(off + 999) + 1;
    expect(end).toBe(next < rp.count ? rp.point(next).in : blob.length);
    expect(end - start).toBeLessThan(blob.length / 4);
  });

  it('persists the points with the index and reads the same bytes after a reload', async () => {
    const blob = variants['multi-member gzip']!();
    const idx = await indexOf(blob, false);
    const again = deserializeIndex(serializeIndex(idx), idx.meta.digest)!;
    expect(again.restart!.table.equals(idx.restart!.table)).toBe(true);
    expect(again.restart!.windows.equals(idx.restart!.windows)).toBe(true);
    const { src, desc } = setup(blob);
    const e = fileEntries(again).at(-2)!;
    const off = again.cols.offset[e]!;
    expect((await readAll(await openLayerRange(src, desc, again, off, off + again.cols.size[e]!, { entry: e }))).equals(files.get(again.paths[e]!)!)).toBe(true);
    // A table whose offsets do not ascend is not an index: reload refuses it (the layer is re-indexed).
    const t = Buffer.from(idx.restart!.table);
    t.writeDoubleLE(0, 48);
    expect(RestartPoints.valid(t, idx.restart!.windows)).toBe(false);
  });

  for (const inf of inflaters) {
    it(`a damaged window or record, a blob that does not match the index, or a truncated blob is a clear error, never other bytes (${inf})`, async () => {
      const js = inf === 'js';
      const blob = variants['gzip -6']!();
      const idx = await indexOf(blob, js);
      const { src, desc } = setup(blob);
      const e = fileEntries(idx).find((i) => idx.paths[i] === 'noise.bin')!;
      const off = idx.cols.offset[e]!;
      const read = (i: LayerIndex, s = src, d = desc) => openLayerRange(s, d, i, off, off + idx.cols.size[e]!, { entry: e, jsInflater: js }).then(readAll);
      const k = idx.restart!.find(off - 512);
      expect(k).toBeGreaterThanOrEqual(0);
      // One flipped bit in the point's window: its crc32 says so.
      const wins = Buffer.from(idx.restart!.windows);
      const woff = idx.restart!.table.readDoubleLE(k * 48 + 16);
      wins[woff + 5]! ^= 1;
      const badWindow = deserializeIndex(serializeIndex(idx), idx.meta.digest)!;
      badWindow.restart = new RestartPoints(SPAN, idx.restart!.table, wins, idx.meta.digest);
      await expect(read(badWindow)).rejects.toMatchObject({ code: 'LAYER_INDEX_CORRUPT', message: expect.stringContaining(`Restart point ${k}`) });
      // A changed offset in its record: the record's own crc32.
      const table = Buffer.from(idx.restart!.table);
      table.writeDoubleLE(table.readDoubleLE(k * 48 + 8) + 1, k * 48 + 8);
      const badRecord = deserializeIndex(serializeIndex(idx), idx.meta.digest)!;
      badRecord.restart = new RestartPoints(SPAN, table, idx.restart!.windows, idx.meta.digest);
      await expect(read(badRecord)).rejects.toMatchObject({ code: 'LAYER_INDEX_CORRUPT' });
      // The index of another blob (same names, other sizes) with this blob's digest: the tar header check stops it.
      const otherIdx = await indexOf(zlib.gzipSync(run('tar', ['-cf', '-', '-C', path.resolve('node_modules'), 'pako'])), js);
      const oe = fileEntries(otherIdx)[0]!;
      const oo = otherIdx.cols.offset[oe]!;
      await expect(openLayerRange(src, desc, otherIdx, oo, oo + otherIdx.cols.size[oe]!, { entry: oe, jsInflater: js }).then(readAll)).rejects.toMatchObject({ code: 'LAYER_INDEX_CORRUPT' });
      // A truncated blob: the read ends before the file does.
      const cut = blob.subarray(0, Math.floor(blob.length * 0.3));
      const short = new RangeSource();
      short.blobs.set(desc.digest, cut);
      const last = fileEntries(idx).at(-1)!;
      const lo = idx.cols.offset[last]!;
      await expect(openLayerRange(short, desc, idx, lo, lo + idx.cols.size[last]! + 1, { entry: last, jsInflater: js }).then(readAll)).rejects.toMatchObject({ code: 'LAYER_DECODE_FAILED' });
      // The same bytes read fine from the intact blob (the errors above are not the reader's own).
      expect((await read(idx)).equals(files.get('noise.bin')!)).toBe(true);
    }, 60_000);
  }

  it('a read stops mid-way when its signal aborts, and its source stream is closed', async () => {
    const blob = variants['gzip -1']!();
    const idx = await indexOf(blob, false);
    const { src, desc } = setup(blob);
    src.chunk = 16 * 1024;
    const e = fileEntries(idx).find((i) => idx.paths[i] === 'noise.bin')!;
    const off = idx.cols.offset[e]!;
    let release!: () => void;
    let served = 0;
    const ac = new AbortController();
    // The source serves 4 chunks, then holds the next until the read was cancelled.
    src.gate = () => (++served > 4 && !ac.signal.aborted ? new Promise<void>((r) => (release = r)) : Promise.resolve());
    const s = await openLayerRange(src, desc, idx, off, off + idx.cols.size[e]!, { entry: e, signal: ac.signal });
    const got: Buffer[] = [];
    let settled = false;
    const done = (async () => {
      for await (const c of s) {
        got.push(c as Buffer);
      }
    })().finally(() => (settled = true));
    while (served <= 4 && !settled) await new Promise((r) => setTimeout(r, 5));
    ac.abort();
    release();
    await expect(done).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(Buffer.concat(got).length).toBeLessThan(idx.cols.size[e]!);
    await new Promise((r) => setTimeout(r, 20));
    expect(src.streams.every((x) => x.destroyed)).toBe(true);
  });

  it('a layer indexed without points (span 0) is read from its start', async () => {
    const blob = variants["Node's zlib"]!();
    const idx = await indexOf(blob, false, 0);
    expect(idx.restart).toBeUndefined();
    const { src, desc } = setup(blob);
    const e = fileEntries(idx).at(-1)!;
    const off = idx.cols.offset[e]!;
    expect((await readAll(await openLayerRange(src, desc, idx, off, off + idx.cols.size[e]!, { entry: e }))).equals(files.get(idx.paths[e]!)!)).toBe(true);
    expect(src.requests[0]).toMatchObject({ start: 0, end: blob.length });
  });
});

