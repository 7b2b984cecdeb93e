import * as zlib from 'node:zlib';
import { ExplorerError } from '../../errors.js';
import { shortDigest, type Digest } from '../../oci/digest.js';
import { crc32 } from '../crc32.js';
import type { RawPoint } from './native.js';

// The restart points of one compressed layer, kept with its index. A row per point (48 bytes):
//   out f64 · in f64 · window offset f64 · window length u32 · window crc32 u32 · window size u32 ·
//   bits i32 (0–7 unused bits of the byte before `in`; -1 a gzip member start; -2 a zstd frame start)
//   · crc32 of the 40 bytes before it · pad.
// Windows (the 32 KiB of output before a point) are raw-deflated, one after another, in `windows`.
// The start of the blob is always a restart point and is not stored.

const ROW = 48;
export const MEMBER = -1;
export const FRAME = -2;
const FRAME_GAP = 64 * 1024;

export interface RestartPoint {
  out: number;
  in: number;
  bits: number;
  /** The inflated window, checked against its crc32 (empty at member and frame starts). */
  window(): Buffer;
}

export class RestartPoints {
  constructor(
    /** Output bytes between points the index pass aimed at. */
    readonly span: number,
    readonly table: Buffer,
    readonly windows: Buffer,
    private readonly digest: Digest,
  ) {}

  get count(): number {
    return this.table.length / ROW;
  }

  /** Bytes this costs on disk (and in memory). */
  get byteLength(): number {
    return this.table.length + this.windows.length;
  }

  out(i: number): number {
    return this.table.readDoubleLE(i * ROW);
  }

  /** The last point at or before uncompressed offset `at`; -1 is the start of the blob. */
  find(at: number): number {
    let lo = 0;
    let hi = this.count - 1;
    let best = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.out(mid) <= at) {
        best = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return best;
  }

  /** Point i, its record checked; -1 gives the start of the blob. Throws LAYER_INDEX_CORRUPT. */
  point(i: number): RestartPoint {
    if (i < 0) return { out: 0, in: 0, bits: MEMBER, window: () => Buffer.alloc(0) };
    const r = this.table.subarray(i * ROW, (i + 1) * ROW);
    if (crc32(r.subarray(0, 40)) !== r.readUInt32LE(40)) throw this.corrupt(i, 'its record fails its checksum');
    const woff = r.readDoubleLE(16);
    const wlen = r.readUInt32LE(24);
    const wcrc = r.readUInt32LE(28);
    const wsize = r.readUInt32LE(32);
    return {
      out: r.readDoubleLE(0),
      in: r.readDoubleLE(8),
      bits: r.readInt32LE(36),
      window: () => {
        if (!wsize) return Buffer.alloc(0);
        if (woff + wlen > this.windows.length) throw this.corrupt(i, 'its window lies outside the index');
        let w: Buffer;
        try {
          w = zlib.inflateRawSync(this.windows.subarray(woff, woff + wlen));
        } catch {
          throw this.corrupt(i, 'its window does not inflate');
        }
        if (w.length !== wsize || crc32(w) !== wcrc) throw this.corrupt(i, 'its window fails its checksum');
        return w;
      },
    };
  }

  private corrupt(i: number, why: string): ExplorerError {
    return new ExplorerError(
      'LAYER_INDEX_CORRUPT',
      `Restart point ${i} of layer ${shortDigest(this.digest)} is damaged (${why}), so the file was not read from it. Clear the cache (or delete the layer's index file) and open the image again to rebuild the index.`,
      { digest: this.digest, point: i },
    );
  }

  /** Checks the table's shape (rows, ascending offsets, windows in bounds); false when it cannot be used. */
  static valid(table: Buffer, windows: Buffer): boolean {
    if (table.length % ROW) return false;
    let prevOut = 0;
    let prevIn = 0;
    for (let i = 0; i < table.length / ROW; i++) {
      const r = table.subarray(i * ROW, (i + 1) * ROW);
      const out = r.readDoubleLE(0);
      const inn = r.readDoubleLE(8);
      if (!(out > prevOut) || !(inn > prevIn) || r.readDoubleLE(16) + r.readUInt32LE(24) > windows.length) return false;
      prevOut = out;
      prevIn = inn;
    }
    return true;
  }
}

/** Collects points as the index pass reports them. */
export class RestartPointsBuilder {
  private rows: Buffer[] = [];
  private wins: Buffer[] = [];
  private woff = 0;
  private lastOut = 0;

  constructor(readonly span: number) {}

  add(p: RawPoint): void {
    if (p.out <= this.lastOut) return; // never two at one offset (nor one at 0: the start is implicit)
    this.lastOut = p.out;
    const r = Buffer.alloc(ROW);
    r.writeDoubleLE(p.out, 0);
    r.writeDoubleLE(p.in, 8);
    const wlen = p.window?.length ?? 0;
    r.writeDoubleLE(wlen ? this.woff : 0, 16);
    r.writeUInt32LE(wlen, 24);
    r.writeUInt32LE(p.crc >>> 0, 28);
    r.writeUInt32LE(wlen ? p.windowSize : 0, 32);
    r.writeInt32LE(p.bits, 36);
    r.writeUInt32LE(crc32(r.subarray(0, 40)), 40);
    this.rows.push(r);
    if (p.window && wlen) {
      this.wins.push(p.window);
      this.woff += wlen;
    }
  }

  /** A zstd frame start (frames are independent: no window); kept when 64 KiB have passed since the last point. */
  addFrame(out: number, inOffset: number): void {
    if (out - this.lastOut < FRAME_GAP) return;
    this.add({ out, in: inOffset, bits: FRAME, crc: 0, windowSize: 0, window: null });
  }

  finish(digest: Digest): RestartPoints {
    return new RestartPoints(this.span, Buffer.concat(this.rows), Buffer.concat(this.wins), digest);
  }
}
