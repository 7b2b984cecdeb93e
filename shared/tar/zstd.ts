import { Transform, type TransformCallback } from 'node:stream';
import * as zlib from 'node:zlib';
import { decompress as fzstdDecompress, Decompress as FzstdDecompress } from 'fzstd';
import { ExplorerError } from '../errors.js';
import { isZstdSkippable } from './compression.js';

// zstd decompression. Node's zlib when it has zstd (Node >= 22.15, Electron), told the window limit;
// else JavaScript (fzstd), frame by frame. fzstd's streaming decoder allocates a whole window for every
// frame, and zstd:chunked layers are thousands of small frames (16,870 in a 96 MB layer: 33 s), so
// small frames are cut out here and each decoded whole; a big frame goes through the streaming decoder
// on its own, fed one block at a time.
// Bounded before allocating: a frame header declaring a window (or single-segment size) over
// MAX_WINDOW is refused (RFC 8878 asks decoders to support at least 8 MiB; 128 MiB is zstd's own default
// limit); a frame is decoded whole only when its output is known to be small; and output waits for the
// consumer (backpressure) after every frame or block, so a run-length bomb never piles up in memory.

/** Largest window (or single-segment frame size) accepted: 2^27, zstd's default `windowLogMax`. */
export const MAX_WINDOW = 2 ** 27;
/** Largest frame (compressed, and decoded) decoded whole. */
const MAX_WHOLE = 8 * 1024 * 1024;
/** A compressed block regenerates at most this much (RFC 8878 Block_Maximum_Size). */
const BLOCK_MAX = 128 * 1024;

interface Frame {
  end: number;
  skip?: boolean;
  /** Most bytes the frame can decode to (declared size, or the sum over its blocks). */
  maxOut?: number;
  declared?: number;
}

function windowRefused(window: number): ExplorerError {
  return new ExplorerError(
    'DECOMPRESSION_BOMB',
    `A zstd frame declares a ${Math.round(window / 2 ** 20)} MiB window, over the ${MAX_WINDOW / 2 ** 20} MiB this app allocates: refused before decoding (a hostile stream, or one made with --long beyond 27; recompress it with a smaller window).`,
    { window, limit: MAX_WINDOW },
  );
}

/** The frame header at the start of `b`; undefined when incomplete. Throws on a window over MAX_WINDOW. */
function headerOf(b: Uint8Array): { len: number; checksum: boolean; declared?: number } | undefined {
  if (b.length < 6) return undefined;
  const flg = b[4]!;
  const fcf = flg >> 6;
  const single = (flg >> 5) & 1;
  const p = 5 + (single ? 0 : 1) + [0, 1, 2, 4][flg & 3]!;
  const fsb = fcf ? 1 << fcf : single;
  if (b.length < p + fsb) return undefined;
  let size = 0;
  for (let i = 0; i < fsb; i++) size += b[p + i]! * 2 ** (8 * i);
  if (fcf === 1) size += 256;
  let window = size;
  if (!single) {
    const wd = b[5]!;
    const base = 2 ** (10 + (wd >> 3));
    window = base + (base / 8) * (wd & 7);
  }
  if (window > MAX_WINDOW) throw windowRefused(window);
  return { len: p + fsb, checksum: ((flg >> 2) & 1) === 1, ...(fsb ? { declared: size } : {}) };
}

/** Follows a frame's blocks byte by byte (no buffering) to find where it ends and how much it can decode to. */
class BlockWalker {
  private hdr: number[] = [];
  private content = 0;
  private last = false;
  private tail: number;
  /** Upper bound of the decoded size of the blocks seen so far. */
  maxOut = 0;
  done = false;
  constructor(checksum: boolean) {
    this.tail = checksum ? 4 : 0;
  }
  /** How many bytes at the start of `b` belong to the frame; with `oneBlock`, stops after the first block that ends. */
  feed(b: Uint8Array, oneBlock = false): number {
    let i = 0;
    while (i < b.length && !this.done) {
      if (this.content > 0) {
        const n = Math.min(this.content, b.length - i);
        this.content -= n;
        i += n;
        if (oneBlock && this.content === 0 && !this.last) break;
      } else if (this.last) {
        const n = Math.min(this.tail, b.length - i);
        this.tail -= n;
        i += n;
      } else {
        this.hdr.push(b[i++]!);
        if (this.hdr.length < 3) continue;
        const bh = this.hdr[0]! | (this.hdr[1]! << 8) | (this.hdr[2]! << 16);
        this.hdr = [];
        const type = (bh >> 1) & 3;
        if (type === 3) throw new Error('invalid zstd data (reserved block type)');
        const size = bh >>> 3;
        this.content = type === 1 ? 1 : size;
        this.maxOut += type === 2 ? BLOCK_MAX : size;
        this.last = (bh & 1) === 1;
        if (oneBlock && this.content === 0 && !this.last) break;
      }
      if (this.last && this.content === 0 && this.tail === 0) this.done = true;
    }
    return i;
  }
}

const magicOf = (b: Uint8Array) => (b[0]! | (b[1]! << 8) | (b[2]! << 16) | (b[3]! << 24)) >>> 0;

/** The frame at the start of `b`, or undefined when it is not complete yet. Throws on bad magic or a refused window. */
export function frameAt(b: Uint8Array): Frame | undefined {
  if (b.length < 5) return undefined;
  const magic = magicOf(b);
  if (isZstdSkippable(magic)) {
    if (b.length < 8) return undefined;
    const n = (b[4]! | (b[5]! << 8) | (b[6]! << 16) | (b[7]! << 24)) >>> 0;
    return b.length >= 8 + n ? { end: 8 + n, skip: true } : undefined;
  }
  if (magic !== 0xfd2fb528) throw new Error('invalid zstd data (bad frame magic)');
  const h = headerOf(b);
  if (!h) return undefined;
  const walker = new BlockWalker(h.checksum);
  const n = walker.feed(b.subarray(h.len));
  if (!walker.done) return undefined;
  const f: Frame = { end: h.len + n, maxOut: Math.min(h.declared ?? Infinity, walker.maxOut) };
  if (h.declared !== undefined) f.declared = h.declared;
  return f;
}

/** The JavaScript decoder as a Transform whose output waits for its reader. */
class JsZstd extends Transform {
  private pending: Buffer = Buffer.alloc(0);
  /** A big frame being decoded by the streaming decoder. */
  private big: { dec: FzstdDecompress; walker: BlockWalker } | undefined;
  /** Bytes of a skippable frame (metadata, e.g. zstd:chunked's TOC) still to drop. */
  private skipLeft = 0;
  private wake: (() => void) | undefined;
  /** Compressed bytes taken in, decoded bytes put out: where each frame starts (restart points). */
  private received = 0;
  private decoded = 0;

  constructor(private readonly onFrame?: (compressedOffset: number, decodedOffset: number) => void) {
    super({ readableHighWaterMark: 4 * 1024 * 1024 });
  }

  override _read(size: number): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
    super._read(size);
  }

  private out = (data: Uint8Array): void => {
    this.decoded += data.length;
    if (data.length) this.push(Buffer.from(data.buffer, data.byteOffset, data.length));
  };

  /** Waits while the reader has not taken what was pushed; stops the decoding once the stream is destroyed (cancel). */
  private async room(): Promise<void> {
    while (this.readableLength >= this.readableHighWaterMark && !this.destroyed) await new Promise<void>((r) => (this.wake = r));
    if (this.destroyed) throw new Error('zstd decoding stopped: the stream was closed');
  }

  override _destroy(err: Error | null, cb: (e?: Error | null) => void): void {
    this.wake?.();
    this.wake = undefined;
    super._destroy(err, cb);
  }

  override _transform(chunk: Buffer, _e: BufferEncoding, cb: TransformCallback): void {
    this.received += chunk.length;
    this.drain(chunk).then(() => cb(), (e: unknown) => cb(e as Error));
  }

  override _flush(cb: TransformCallback): void {
    cb(this.big || this.skipLeft || this.pending.length ? new Error('unexpected end of zstd data') : null);
  }

  /** Feeds the big frame what belongs to it, a block at a time; returns the rest (the frames after it). */
  private async feedBig(b: Buffer): Promise<Buffer> {
    let rest = b;
    while (this.big && rest.length) {
      const n = this.big.walker.feed(rest, true);
      if (n) this.big.dec.push(rest.subarray(0, n));
      rest = rest.subarray(n);
      if (this.big.walker.done) {
        this.big.dec.push(new Uint8Array(0), true);
        this.big = undefined;
      }
      await this.room();
    }
    return rest;
  }

  private startBig(): Buffer {
    const h = headerOf(this.pending)!;
    this.big = { dec: new FzstdDecompress(this.out), walker: new BlockWalker(h.checksum) };
    this.big.dec.push(this.pending.subarray(0, h.len));
    const rest = this.pending.subarray(h.len);
    this.pending = Buffer.alloc(0);
    return rest;
  }

  private async drain(chunk: Buffer): Promise<void> {
    let rest: Buffer = chunk;
    for (;;) {
      if (this.skipLeft) {
        const n = Math.min(this.skipLeft, rest.length);
        this.skipLeft -= n;
        rest = rest.subarray(n);
        if (this.skipLeft) return;
      }
      if (this.big) {
        rest = await this.feedBig(rest);
        if (this.big) return;
      }
      this.pending = this.pending.length ? Buffer.concat([this.pending, rest]) : rest;
      rest = Buffer.alloc(0);
      for (;;) {
        const pending = this.pending;
        if (!pending.length) return;
        const f = frameAt(pending);
        if (f?.skip) {
          this.pending = pending.subarray(f.end);
          continue;
        }
        if (!f && pending.length >= 8 && isZstdSkippable(pending.readUInt32LE(0))) {
          // An incomplete skippable frame: drop it as it arrives instead of holding it.
          this.skipLeft = 8 + pending.readUInt32LE(4) - pending.length;
          this.pending = Buffer.alloc(0);
          return;
        }
        const h = f ? undefined : headerOf(pending);
        if (f && f.maxOut! <= MAX_WHOLE && f.end <= MAX_WHOLE) {
          this.onFrame?.(this.received - pending.length, this.decoded);
          this.out(fzstdDecompress(pending.subarray(0, f.end)));
          this.pending = pending.subarray(f.end);
          await this.room();
          continue;
        }
        // Big (or not yet complete and already big): stream this frame on its own.
        if (f || (h && ((h.declared ?? 0) > MAX_WHOLE || pending.length > MAX_WHOLE))) {
          this.onFrame?.(this.received - pending.length, this.decoded);
          rest = this.startBig();
          break;
        }
        return;
      }
    }
  }
}

/** `onFrame` hears of each data frame's start: its offset in the blob and in the decoded stream (restart points). */
export function jsZstdTransform(onFrame?: (compressedOffset: number, decodedOffset: number) => void): Transform {
  return new JsZstd(onFrame);
}

/** zstd decompression: Node's zlib when it has zstd (told the same window limit), else JavaScript. */
export function zstdDecompressor(): Transform {
  const z = zlib as unknown as { createZstdDecompress?: (o?: object) => Transform; constants: Record<string, number> };
  const windowLogMax = z.constants.ZSTD_d_windowLogMax;
  if (typeof z.createZstdDecompress === 'function') return z.createZstdDecompress(windowLogMax !== undefined ? { params: { [windowLogMax]: 27 } } : {});
  return jsZstdTransform();
}
