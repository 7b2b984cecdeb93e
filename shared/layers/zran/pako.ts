import * as zlib from 'node:zlib';
import pakoInflate from 'pako/lib/zlib/inflate.js';
import PakoZStream from 'pako/lib/zlib/zstream.js';
import { crc32 } from '../crc32.js';
import type { OpenOptions, RawPoint } from './native.js';
import { MEMBER_END, type Inflater, type Step } from './types.js';

// The JavaScript inflater: pako is a line-by-line port of zlib, so its inflate stops at block
// boundaries (Z_BLOCK, data_type) and its state holds the bit buffer and the window, which is what
// a restart point needs. Used when the addon is absent: to index (2–3× slower than zlib, measured in
// docs/benchmarks.md) and to resume at a restart point (≤ one span of output per read).

interface ZStream {
  input: Uint8Array | null;
  next_in: number;
  avail_in: number;
  output: Uint8Array | null;
  next_out: number;
  avail_out: number;
  data_type: number;
  msg: string;
  state: { hold: number; bits: number; window: Uint8Array | null; whave: number; wnext: number };
}
interface PakoInflate {
  inflateInit2(s: ZStream, windowBits: number): number;
  inflateReset2(s: ZStream, windowBits: number): number;
  inflate(s: ZStream, flush: number): number;
  inflateEnd(s: ZStream): number;
  inflateSetDictionary(s: ZStream, dict: Uint8Array): number;
}
// Static imports (not createRequire) so that the Electron build bundles them like everything else.
const pako = pakoInflate as unknown as PakoInflate;
const ZStreamCtor = PakoZStream as unknown as new () => ZStream;

const Z_OK = 0;
const Z_STREAM_END = 1;
const Z_BUF_ERROR = -5;
const Z_NO_FLUSH = 0;
const Z_BLOCK = 5;
const INFLATING = 0;
const TRAILER = 2;

export class PakoInflater implements Inflater {
  readonly native = false;
  private s = new ZStreamCtor();
  private mode = INFLATING;
  private trailerLeft = 0;
  private raw: boolean;
  private inTotal: number;
  private outTotal: number;
  private lastOut: number;

  constructor(private readonly o: OpenOptions) {
    this.raw = o.raw === true;
    this.inTotal = o.inOffset ?? 0;
    this.outTotal = o.outOffset ?? 0;
    this.lastOut = this.outTotal;
    let ret = pako.inflateInit2(this.s, this.raw ? -15 : 31);
    if (ret === Z_OK && this.raw && o.bits) {
      const st = this.s.state;
      st.hold += ((o.byte ?? 0) >> (8 - o.bits)) << st.bits;
      st.bits += o.bits;
    }
    if (ret === Z_OK && this.raw && o.window?.length) ret = pako.inflateSetDictionary(this.s, o.window);
    if (ret !== Z_OK) throw Object.assign(new Error('cannot start the inflater at this restart point'), { code: 'Z_DATA_ERROR' });
  }

  state(): number {
    return this.mode;
  }

  write(input: Buffer, output: Buffer): Promise<Step> {
    try {
      return Promise.resolve(this.step(input, output));
    } catch (e) {
      return Promise.reject(e as Error);
    }
  }

  private step(input: Buffer, output: Buffer): Step {
    const s = this.s;
    s.input = input;
    s.next_in = 0;
    s.avail_in = input.length;
    s.output = output;
    s.next_out = 0;
    s.avail_out = output.length;
    const points: RawPoint[] = [];
    const record = this.o.record === true;
    const span = this.o.span ?? 1 << 21;
    for (;;) {
      if (this.mode === TRAILER) {
        const n = Math.min(s.avail_in, this.trailerLeft);
        s.next_in += n;
        s.avail_in -= n;
        this.inTotal += n;
        this.trailerLeft -= n;
        if (this.trailerLeft) break;
        this.mode = MEMBER_END;
      }
      if (this.mode === MEMBER_END) {
        while (s.avail_in && input[s.next_in] === 0) {
          s.next_in++;
          s.avail_in--;
          this.inTotal++;
        }
        if (!s.avail_in) break;
        pako.inflateReset2(s, 31);
        // pako's reset zeroes wsize but keeps the window array, and its updatewindow then never fills
        // the window again (zlib re-sizes it): drop the array so the next member gets a fresh one.
        s.state.window = null;
        this.mode = INFLATING;
        if (record && this.outTotal - this.lastOut >= (this.o.memberSpan ?? 1 << 16)) {
          points.push({ out: this.outTotal, in: this.inTotal, bits: -1, crc: 0, windowSize: 0, window: null });
          this.lastOut = this.outTotal;
        }
      }
      if (!s.avail_in || !s.avail_out) break;
      // As in native/zran.c: plain inflate up to where the next point falls due, then block by block.
      const due = record && this.outTotal - this.lastOut >= span;
      let held = 0;
      if (record && !due) {
        const left = span - (this.outTotal - this.lastOut);
        if (left < s.avail_out) {
          held = s.avail_out - left;
          s.avail_out = left;
        }
      }
      const bi = s.avail_in;
      const bo = s.avail_out;
      const ret = pako.inflate(s, due ? Z_BLOCK : Z_NO_FLUSH);
      this.inTotal += bi - s.avail_in;
      this.outTotal += bo - s.avail_out;
      s.avail_out += held;
      if (ret === Z_STREAM_END) {
        if (this.raw) {
          this.raw = false;
          this.trailerLeft = 8;
          this.mode = TRAILER;
        } else this.mode = MEMBER_END;
        continue;
      }
      if (ret === Z_BUF_ERROR) break;
      if (ret !== Z_OK) throw Object.assign(new Error(s.msg || 'invalid deflate data'), { code: 'Z_DATA_ERROR' });
      if (due && s.data_type & 128 && !(s.data_type & 64)) {
        points.push(this.point());
        this.lastOut = this.outTotal;
      }
    }
    return { consumed: input.length - s.avail_in, produced: output.length - s.avail_out, points };
  }

  /** zlib's inflateGetDictionary: the window, oldest byte first. */
  private point(): RawPoint {
    const st = this.s.state;
    const w = Buffer.alloc(st.whave);
    if (st.whave && st.window) {
      w.set(st.window.subarray(st.wnext, st.whave));
      w.set(st.window.subarray(0, st.wnext), st.whave - st.wnext);
    }
    return { out: this.outTotal, in: this.inTotal, bits: this.s.data_type & 7, crc: crc32(w), windowSize: w.length, window: zlib.deflateRawSync(w, { level: this.o.level ?? 6 }) };
  }

  close(): void {
    pako.inflateEnd(this.s);
  }
}
