import { Transform } from 'node:stream';
import { decompress as fzstdDecompress, Decompress as FzstdDecompress } from 'fzstd';

// zstd in JavaScript, for runtimes whose zlib has no zstd (Node < 22.15; Electron has it natively).
// fzstd's streaming decoder allocates a whole window (often 32 MiB) for every frame and shifts it after
// every block, and zstd:chunked layers are thousands of small frames (16,870 in a 96 MB layer: 33 s). So
// frames are cut out here and each decoded on its own into a buffer of its declared size (frames without
// one still pay the window); a frame that is big, or declares a big size, goes through the streaming
// decoder on its own (bounded memory), and the frames after it are cut out again.

/** Largest frame (compressed, and declared decoded size) decoded whole. */
const MAX_WHOLE = 8 * 1024 * 1024;

interface Frame {
  end: number;
  /** Decoded size the frame header declares (absent: fzstd allocates a window instead, as streaming does for every frame). */
  declared?: number;
  skip?: boolean;
}

/** Length of the frame header at the start of `b` (and whether a checksum ends the frame); undefined when incomplete. */
function headerOf(b: Uint8Array): { len: number; checksum: boolean; declared?: number } | undefined {
  if (b.length < 5) return undefined;
  const flg = b[4]!;
  const fcf = flg >> 6;
  const single = (flg >> 5) & 1;
  const p = 5 + (single ? 0 : 1) + [0, 1, 2, 4][flg & 3]!;
  const fsb = fcf ? 1 << fcf : single;
  if (b.length < p + fsb) return undefined;
  let size = 0;
  for (let i = 0; i < fsb; i++) size += b[p + i]! * 2 ** (8 * i);
  if (fcf === 1) size += 256;
  return { len: p + fsb, checksum: ((flg >> 2) & 1) === 1, ...(fsb ? { declared: size } : {}) };
}

/** Follows a frame's blocks byte by byte (no buffering) to find where it ends. */
class BlockWalker {
  private hdr: number[] = [];
  private content = 0;
  private last = false;
  private tail: number;
  done = false;
  constructor(checksum: boolean) {
    this.tail = checksum ? 4 : 0;
  }
  /** How many bytes at the start of `b` belong to the frame. */
  feed(b: Uint8Array): number {
    let i = 0;
    while (i < b.length && !this.done) {
      if (this.content > 0) {
        const n = Math.min(this.content, b.length - i);
        this.content -= n;
        i += n;
      } else if (this.last) {
        const n = Math.min(this.tail, b.length - i);
        this.tail -= n;
        i += n;
      } else {
        this.hdr.push(b[i++]!);
        if (this.hdr.length < 3) continue;
        const bh = this.hdr[0]! | (this.hdr[1]! << 8) | (this.hdr[2]! << 16);
        this.hdr = [];
        if (((bh >> 1) & 3) === 3) throw new Error('invalid zstd data (reserved block type)');
        this.content = ((bh >> 1) & 3) === 1 ? 1 : bh >>> 3;
        this.last = (bh & 1) === 1;
      }
      if (this.last && this.content === 0 && this.tail === 0) this.done = true;
    }
    return i;
  }
}

/** The frame at the start of `b`, or undefined when it is not complete yet. Throws on bad magic. */
export function frameAt(b: Uint8Array): Frame | undefined {
  if (b.length < 5) return undefined;
  const magic = (b[0]! | (b[1]! << 8) | (b[2]! << 16) | (b[3]! << 24)) >>> 0;
  if ((magic & 0xfffffff0) >>> 0 === 0x184d2a50) {
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
  return h.declared !== undefined ? { end: h.len + n, declared: h.declared } : { end: h.len + n };
}

/** `onFrame` hears of each data frame's start: its offset in the blob and in the decoded stream (restart points). */
export function jsZstdTransform(onFrame?: (compressedOffset: number, decodedOffset: number) => void): Transform {
  let pending: Buffer = Buffer.alloc(0);
  let received = 0;
  let decoded = 0;
  /** A big frame being decoded by the streaming decoder, and where it ends. */
  let big: { dec: FzstdDecompress; walker: BlockWalker } | undefined;
  const out = (data: Uint8Array) => {
    decoded += data.length;
    if (data.length) t.push(Buffer.from(data.buffer, data.byteOffset, data.length));
  };
  /** Feeds the big frame what belongs to it; returns the rest (the frames after it). */
  const feedBig = (b: Buffer): Buffer => {
    const n = big!.walker.feed(b);
    if (n) big!.dec.push(b.subarray(0, n));
    if (big!.walker.done) {
      big!.dec.push(new Uint8Array(0), true);
      big = undefined;
    }
    return b.subarray(n);
  };
  const startBig = () => {
    const h = headerOf(pending)!;
    big = { dec: new FzstdDecompress(out), walker: new BlockWalker(h.checksum) };
    big.dec.push(pending.subarray(0, h.len));
    const rest = pending.subarray(h.len);
    pending = Buffer.alloc(0);
    return rest;
  };
  /** Bytes of a skippable frame (metadata, e.g. zstd:chunked's TOC) still to drop. */
  let skipLeft = 0;
  const drain = (chunk: Buffer) => {
    let rest: Buffer = chunk;
    for (;;) {
      if (skipLeft) {
        const n = Math.min(skipLeft, rest.length);
        skipLeft -= n;
        rest = rest.subarray(n);
        if (skipLeft) return;
      }
      if (big) {
        rest = feedBig(rest);
        if (big) return;
      }
      pending = pending.length ? Buffer.concat([pending, rest]) : rest;
      rest = Buffer.alloc(0);
      for (;;) {
        if (!pending.length) return;
        const f = frameAt(pending);
        if (f?.skip) {
          pending = pending.subarray(f.end);
          continue;
        }
        if (!f && pending.length >= 8 && (pending.readUInt32LE(0) & 0xfffffff0) >>> 0 === 0x184d2a50) {
          // An incomplete skippable frame: drop it as it arrives instead of holding it.
          skipLeft = 8 + pending.readUInt32LE(4) - pending.length;
          pending = Buffer.alloc(0);
          return;
        }
        const h = f ? undefined : headerOf(pending);
        if (f && (f.declared ?? 0) <= MAX_WHOLE && f.end <= MAX_WHOLE) {
          onFrame?.(received - pending.length, decoded);
          out(fzstdDecompress(pending.subarray(0, f.end)));
          pending = pending.subarray(f.end);
          continue;
        }
        // Big (or not yet complete and already big): stream this frame on its own.
        if (f || (h && ((h.declared ?? 0) > MAX_WHOLE || pending.length > MAX_WHOLE))) {
          onFrame?.(received - pending.length, decoded);
          rest = startBig();
          break;
        }
        return;
      }
    }
  };
  const t: Transform = new Transform({
    transform(chunk: Buffer, _e, cb) {
      try {
        received += chunk.length;
        drain(chunk);
        cb();
      } catch (e) {
        cb(e as Error);
      }
    },
    flush(cb) {
      cb(big || skipLeft || pending.length ? new Error('unexpected end of zstd data') : null);
    },
  });
  return t;
}
