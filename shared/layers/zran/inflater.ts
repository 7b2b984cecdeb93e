import type { Handle, OpenOptions, RawPoint, ZranAddon } from './native.js';
import { MEMBER_END, type Inflater, type Step } from './types.js';
import { addon } from './native.js';
import { PakoInflater } from './pako.js';

// One interface over the two inflaters (the addon on the thread pool, pako on this thread), and the
// stream loop both run in: the index pass (recording restart points) and reads resumed at a point.

export { MEMBER_END, type Inflater, type Step } from './types.js';

class NativeInflater implements Inflater {
  readonly native = true;
  private h: Handle;
  private busy = false;
  private closed = false;
  constructor(
    private readonly z: ZranAddon,
    o: OpenOptions,
    private readonly sync: boolean,
  ) {
    this.h = z.open(o);
  }
  write(input: Buffer, output: Buffer): Promise<Step> {
    if (this.sync) {
      const [err, consumed, produced, points] = this.z.writeSync(this.h, input, output);
      return err ? Promise.reject(err) : Promise.resolve({ consumed, produced, points });
    }
    this.busy = true;
    return new Promise((resolve, reject) =>
      this.z.write(this.h, input, output, (err, consumed, produced, points) => {
        this.busy = false;
        if (this.closed) this.z.close(this.h);
        if (err) reject(err);
        else resolve({ consumed, produced, points });
      }),
    );
  }
  state(): number {
    return this.z.state(this.h);
  }
  close(): void {
    // A job still on the pool owns the z_stream: it is ended when that job comes back.
    this.closed = true;
    if (!this.busy) this.z.close(this.h);
  }
}

/**
 * The addon's inflater when it is built, else pako's (or pako's when `js` is set). `sync` keeps the
 * addon on this thread: for reads, which decode at most a span, the thread-pool round trips cost more.
 */
export function openInflater(o: OpenOptions, opts: { js?: boolean; sync?: boolean } = {}): Inflater {
  const z = opts.js ? undefined : addon();
  return z ? new NativeInflater(z, o, opts.sync === true) : new PakoInflater(o);
}

const OUT_SIZE = 1024 * 1024;
const EMPTY = Buffer.alloc(0);

/**
 * Inflates a stream of compressed chunks. The next job starts before a chunk is handed on, so the
 * pool inflates while this thread hashes and scans (what Node's zlib stream does). `checkEnd`: the
 * input must stop between gzip members (the index pass); reads stop early and leave it off.
 * `discard` (reads): output before that many bytes is dropped without a fresh buffer per job (one
 * scratch buffer; what is kept is copied out), `outStart` being the offset of the first output byte.
 */
export async function* inflateChunks(
  source: AsyncIterable<Buffer>,
  inf: Inflater,
  opts: { onPoints?: (p: RawPoint[]) => void; checkEnd?: boolean; outSize?: number; discard?: number; outStart?: number } = {},
): AsyncGenerator<Buffer> {
  let job: { step: Promise<Step>; out: Buffer } | undefined;
  const OUT = opts.outSize ?? OUT_SIZE;
  const scratch = opts.discard !== undefined ? Buffer.allocUnsafe(OUT) : undefined;
  let pos = opts.outStart ?? 0;
  const start = (input: Buffer) => {
    const out = scratch ?? Buffer.allocUnsafe(OUT);
    return { step: inf.write(input, out), out };
  };
  try {
    for await (const chunk of source as AsyncIterable<Buffer>) {
      let off = 0;
      let cur = start(chunk);
      job = cur;
      for (;;) {
        const { consumed, produced, points }: Step = await cur.step;
        off += consumed;
        let piece: Buffer | undefined;
        if (produced && scratch) {
          const a = Math.max(0, opts.discard! - pos);
          if (a < produced) piece = Buffer.from(cur.out.subarray(a, produced)); // before the scratch is reused
        } else if (produced) piece = cur.out.subarray(0, produced);
        pos += produced;
        // More to do while input is left or the output filled up (zlib may hold more for it).
        const more: boolean = off < chunk.length || produced === OUT;
        job = undefined;
        if (more) job = cur = start(off < chunk.length ? chunk.subarray(off) : EMPTY);
        if (points.length) opts.onPoints?.(points);
        if (piece) yield piece;
        if (!more) break;
      }
    }
    if (opts.checkEnd && inf.state() !== MEMBER_END) throw Object.assign(new Error('unexpected end of file'), { code: 'Z_BUF_ERROR' });
  } finally {
    if (job) await job.step.catch(() => undefined);
    inf.close();
  }
}
