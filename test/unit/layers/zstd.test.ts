import { execFileSync } from 'node:child_process';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { jsZstdTransform } from '../../../shared/tar/zstd.js';

// The JavaScript zstd path (runtimes without zlib zstd) cuts frames out and decodes each whole; big frames
// stream on their own; skippable frames (zstd:chunked's TOC) are dropped. Inputs come from the zstd CLI.

const zstd = (input: Buffer, ...args: string[]) => execFileSync('zstd', ['-q', '-c', ...args], { input, maxBuffer: 1 << 30 });
const skippable = (payload: Buffer) => {
  const h = Buffer.alloc(8);
  h.writeUInt32LE(0x184d2a5e, 0);
  h.writeUInt32LE(payload.length, 4);
  return Buffer.concat([h, payload]);
};

async function decode(blob: Buffer, chunk = 1 << 20): Promise<Buffer> {
  const parts: Buffer[] = [];
  for (let i = 0; i < blob.length; i += chunk) parts.push(blob.subarray(i, i + chunk));
  const out: Buffer[] = [];
  await pipeline(Readable.from(parts), jsZstdTransform(), new Writable({ write: (c: Buffer, _e, cb) => (out.push(c), cb()) }));
  return Buffer.concat(out);
}

describe('zstd in JavaScript, frame by frame', () => {
  const small = Buffer.from('hello zstd '.repeat(2000));
  const big = Buffer.alloc(20_000_000);
  for (let i = 0; i < big.length; i++) big[i] = (i * 7919) % 251 < 200 ? 65 : i & 255;

  it('decodes many small frames, big frames (declared size or none), checksums and skippable frames in between', async () => {
    const blob = Buffer.concat([
      zstd(small),
      skippable(Buffer.alloc(50_000, 1)),
      zstd(big),
      zstd(small, '--no-check'),
      zstd(big, '--no-content-size'),
      skippable(Buffer.alloc(9_000_000, 2)), // bigger than what is held whole: dropped as it arrives
      zstd(small),
    ]);
    const want = Buffer.concat([small, big, small, big, small]);
    for (const chunk of [1 << 20, 4096, 7]) {
      if (chunk === 7) {
        // Byte-level cuts through headers and block headers, on a smaller input.
        const b = Buffer.concat([zstd(small), skippable(Buffer.from('toc')), zstd(small, '--no-content-size'), zstd(small)]);
        expect((await decode(b, chunk)).equals(Buffer.concat([small, small, small]))).toBe(true);
        continue;
      }
      expect((await decode(blob, chunk)).equals(want)).toBe(true);
    }
  });

  it('a truncated blob fails (in a small frame, in a big one, in a skippable one); bad magic fails', async () => {
    const s = zstd(small);
    await expect(decode(s.subarray(0, s.length - 3))).rejects.toThrow(/unexpected end/);
    const b = zstd(big);
    await expect(decode(b.subarray(0, b.length - 10))).rejects.toThrow(/unexpected end/);
    const k = skippable(Buffer.alloc(9_000_000));
    await expect(decode(Buffer.concat([s, k.subarray(0, 8_999_000)]))).rejects.toThrow(/unexpected end/);
    await expect(decode(Buffer.from('not zstd at all'))).rejects.toThrow(/bad frame magic/);
    expect((await decode(Buffer.alloc(0))).length).toBe(0);
  });
});
