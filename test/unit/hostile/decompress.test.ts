import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { openDecoded } from '../../../shared/layers/decode.js';
import { indexLayerStream } from '../../../shared/layers/indexer.js';
import { digestOf } from '../../../shared/oci/digest.js';
import { openTarVfs } from '../../../shared/sources/tarfs.js';
import { sniffCompression } from '../../../shared/tar/compression.js';
import { jsZstdTransform, MAX_WINDOW } from '../../../shared/tar/zstd.js';
import { file, tar, zstdFrameHeader, zstdRawFrame, zstdRleFrame, zstdSkippable } from './build.js';

// Issue 15 item 2: decompression is bounded before it allocates (zstd windows checked on the frame
// header), output is metered as it is produced (a run-length bomb never piles up), gzip bombs stop on
// ratio and size, and neither the layer cache copy nor an outer archive's temp copy can fill the disk.

const tmp = mkdtempSync(path.join(os.tmpdir(), 'oci-decomp-'));

/** Drains a stream slowly enough that only backpressure keeps memory flat; returns bytes and peak buffered. */
async function drain(s: Readable): Promise<{ bytes: number; peakBuffered: number }> {
  let bytes = 0;
  let peakBuffered = 0;
  await pipeline(
    s,
    new Writable({
      highWaterMark: 1 << 20,
      write(c: Buffer, _e, cb) {
        bytes += c.length;
        peakBuffered = Math.max(peakBuffered, s.readableLength);
        setImmediate(cb);
      },
    }),
  );
  return { bytes, peakBuffered };
}

describe('zstd: bounded before allocating', () => {
  it('a frame declaring a window over 128 MiB is refused from its header (no allocation), with the reason', async () => {
    for (const log of [28, 31, 41]) {
      const frame = Buffer.concat([zstdFrameHeader(log), Buffer.from([1, 0, 0])]);
      const t0 = process.memoryUsage().arrayBuffers;
      await expect(drain(Readable.from([frame]).pipe(jsZstdTransform()))).rejects.toMatchObject({ code: 'DECOMPRESSION_BOMB', message: expect.stringMatching(/window, over the 128 MiB/) as unknown });
      expect(process.memoryUsage().arrayBuffers - t0).toBeLessThan(64 * 1024 * 1024);
    }
    // 2^27 itself is accepted (zstd's own default limit; RFC 8878 asks for at least 8 MiB).
    expect(MAX_WINDOW).toBe(2 ** 27);
    const ok = Buffer.concat([zstdRawFrame(Buffer.from('fine'), 27)]);
    expect((await drain(Readable.from([ok]).pipe(jsZstdTransform()))).bytes).toBe(4);
  });

  it('a run-length bomb is decoded a block at a time under backpressure: little is buffered, the layer limits stop it', async () => {
    // 2,048 RLE blocks of 128 KiB in 8 KiB: 256 MiB out.
    const bomb = zstdRleFrame(2048);
    expect(bomb.length).toBeLessThan(9000);
    const { bytes, peakBuffered } = await drain(Readable.from([bomb]).pipe(jsZstdTransform()));
    expect(bytes).toBe(2048 * 128 * 1024);
    expect(peakBuffered).toBeLessThanOrEqual(8 * 1024 * 1024);
    const digest = digestOf(bomb);
    const dec = await openDecoded(Readable.from([bomb]), digest, { limits: { ratioGrace: 16 * 1024 * 1024 } });
    await expect(drain(dec.stream)).rejects.toMatchObject({ code: 'DECOMPRESSION_BOMB' });
  });

  it('many small frames each small enough to decode whole still wait for the reader', async () => {
    const frames = Buffer.concat(Array.from({ length: 64 }, () => zstdRleFrame(40)));
    const { bytes, peakBuffered } = await drain(Readable.from([frames]).pipe(jsZstdTransform()));
    expect(bytes).toBe(64 * 40 * 128 * 1024);
    expect(peakBuffered).toBeLessThanOrEqual(16 * 1024 * 1024);
  });

  it('skippable frames before the first frame (RFC 8878) are zstd, not a corrupt tar: the layer indexes', async () => {
    const t = tar(file('hello', 'world'));
    const z = Buffer.concat([zstdSkippable(Buffer.from('metadata first')), execFileSync('zstd', ['-q', '-c'], { input: t })]);
    expect(sniffCompression(z)).toBe('zstd');
    expect(sniffCompression(Buffer.from([0x5f, 0x2a, 0x4d, 0x18]))).toBe('zstd');
    expect(sniffCompression(Buffer.from([0x1f, 0x8b, 8, 0]))).toBe('gzip');
    expect(sniffCompression(Buffer.from('ustar'))).toBe('none');
    const idx = await indexLayerStream(Readable.from([z]), { digest: digestOf(z), compressedSize: z.length, diffId: digestOf(t) });
    expect(idx.meta).toMatchObject({ compression: 'zstd', complete: true, problems: [] });
    expect(idx.paths).toEqual(['hello']);
  });
});

describe('gzip bombs and disk', () => {
  it('a gzip bomb stops on the sustained ratio (deflate sits at ~1,000:1 for gigabytes; no real layer does)', async () => {
    const bomb = zlib.gzipSync(Buffer.alloc(64 * 1024 * 1024));
    const dec = await openDecoded(Readable.from([bomb]), digestOf(bomb), { limits: { sustainedGrace: 16 * 1024 * 1024 } });
    await expect(drain(dec.stream)).rejects.toMatchObject({ code: 'DECOMPRESSION_BOMB', message: expect.stringMatching(/ratio over 1000:1/) as unknown });
    // The same bytes as a normal layer (ratio under the limit) pass.
    const fine = zlib.gzipSync(Buffer.alloc(1024 * 1024));
    expect((await drain((await openDecoded(Readable.from([fine]), digestOf(fine), { limits: { sustainedGrace: 16 * 1024 * 1024 } })).stream)).bytes).toBe(1024 * 1024);
  });

  it('an outer .tar.gz bomb stops on its ratio and leaves no temp copy', async () => {
    const gz = path.join(tmp, 'outer.tar.gz');
    writeFileSync(gz, zlib.gzipSync(tar(file('big', Buffer.alloc(32 * 1024 * 1024)))));
    const scratch = path.join(tmp, 'scratch');
    execFileSync('mkdir', ['-p', scratch]);
    const saved = process.env.TMPDIR;
    process.env.TMPDIR = scratch;
    try {
      await expect(openTarVfs(gz, { ratioGrace: 4 * 1024 * 1024, maxRatio: 500 })).rejects.toMatchObject({ code: 'DECOMPRESSION_BOMB' });
    } finally {
      if (saved === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = saved;
    }
    expect(readdirSync(scratch)).toEqual([]);
  });
});

describe('cancelled mid-way', () => {
  it('a zstd bomb being decoded stops when its reader goes away (no decoding in the background)', async () => {
    const t = jsZstdTransform();
    // Count what the decoder produces, whether or not anyone can still read it.
    let produced = 0;
    const push = t.push.bind(t);
    t.push = (c: unknown) => {
      produced++;
      return push(c);
    };
    Readable.from([zstdRleFrame(100_000)]).pipe(t);
    let out = 0;
    await new Promise<void>((resolve) => {
      t.on('data', (c: Buffer) => {
        out += c.length;
        if (out > 32 * 1024 * 1024) {
          t.destroy();
          resolve();
        }
      });
    });
    const at = produced;
    await new Promise((r) => setTimeout(r, 500));
    expect(produced - at).toBeLessThanOrEqual(1);
    expect(t.destroyed).toBe(true);
  });

  it('an outer .tar.gz being decompressed into its temp copy: abort mid-way → CANCELLED, the temp copy removed', async () => {
    const gz = path.join(tmp, 'slow.tar.gz');
    // Incompressible-ish content so decompression takes a while and the temp file grows.
    const body = Buffer.alloc(96 * 1024 * 1024);
    for (let i = 0; i < body.length; i += 4) body.writeUInt32LE((i * 2654435761) >>> 0, i);
    writeFileSync(gz, zlib.gzipSync(tar(file('data', body)), { level: 1 }));
    const scratch = path.join(tmp, 'scratch-cancel');
    execFileSync('mkdir', ['-p', scratch]);
    const saved = process.env.TMPDIR;
    process.env.TMPDIR = scratch;
    const ac = new AbortController();
    try {
      const p = openTarVfs(gz, { signal: ac.signal });
      // Abort once the temp copy has started to grow: mid-operation, not before it.
      for (;;) {
        await new Promise((r) => setTimeout(r, 5));
        const dirs = readdirSync(scratch);
        const f = dirs[0] ? path.join(scratch, dirs[0], 'archive.tar') : '';
        if (f && existsSync(f) && statSync(f).size > 0) break;
      }
      ac.abort();
      await expect(p).rejects.toMatchObject({ code: 'CANCELLED' });
    } finally {
      if (saved === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = saved;
    }
    expect(readdirSync(scratch)).toEqual([]);
  });
});
