import { constants as fsc, promises as fsp } from 'node:fs';
import path from 'node:path';
import { addAbortSignal, Readable } from 'node:stream';
import { ExplorerError } from '../errors.js';

// Read-only file access shared by the folder and archive backends, so an OCI layout is read by one
// piece of code whether it sits in a folder or inside a tar (random access by entry offset).
export interface Vfs {
  /** Human description, e.g. the folder or archive path. */
  readonly label: string;
  /** Size of a regular file (after following links inside the container), or undefined. */
  stat(rel: string): Promise<number | undefined>;
  /** Whole file; throws SOURCE_NOT_FOUND-style errors via `missing` when absent. */
  readFile(rel: string, max?: number): Promise<Buffer>;
  /** Stream a file or a byte range [start, end). */
  createReadStream(rel: string, opts?: { start?: number; end?: number; signal?: AbortSignal }): Promise<Readable>;
  /** Optional fast path for small peeks (magic bytes): bytes [start, end) of a file, clamped to its size. */
  readRange?(rel: string, start: number, end: number): Promise<Buffer>;
  /** All regular-file paths (normalised, no leading ./), for detection and diagnostics. */
  list(): Promise<string[]>;
  close(): Promise<void>;
}

export function normalizeRel(p: string): string {
  const parts: string[] = [];
  for (const seg of p.replace(/\\/g, '/').split('/')) {
    if (!seg || seg === '.') continue;
    if (seg === '..') {
      parts.pop();
      continue;
    }
    parts.push(seg);
  }
  return parts.join('/');
}

/** A folder on disk; every path is contained in the root (no `..` escapes, symlinks may not leave it). */
export class DirVfs implements Vfs {
  readonly label: string;
  private readonly root: string;
  constructor(root: string) {
    this.root = path.resolve(root);
    this.label = this.root;
  }

  private async resolve(rel: string): Promise<string | undefined> {
    const p = path.join(this.root, normalizeRel(rel));
    let real: string;
    try {
      real = await fsp.realpath(p);
    } catch {
      return undefined;
    }
    const rootReal = await fsp.realpath(this.root);
    if (real !== rootReal && !real.startsWith(rootReal + path.sep)) return undefined;
    return real;
  }

  async stat(rel: string): Promise<number | undefined> {
    const p = await this.resolve(rel);
    if (!p) return undefined;
    const st = await fsp.stat(p).catch(() => undefined);
    return st?.isFile() ? st.size : undefined;
  }

  /**
   * Opens a file as what it claims to be: a regular file inside the root. O_NONBLOCK so a FIFO swapped
   * in after the check cannot block the open; the check is then made again on the open handle (fstat),
   * so a FIFO, a device or /dev/zero behind a link is refused before a single byte is read.
   */
  private async openRegular(rel: string): Promise<{ fh: fsp.FileHandle; size: number }> {
    const p = await this.resolve(rel);
    if (!p) throw missing(this.label, rel);
    const fh = await fsp.open(p, fsc.O_RDONLY | (fsc.O_NONBLOCK ?? 0)).catch(() => undefined);
    if (!fh) throw missing(this.label, rel);
    const st = await fh.stat().catch(() => undefined);
    if (!st?.isFile()) {
      await fh.close();
      throw new ExplorerError('BLOB_MISSING', `${rel} in ${this.label} is not a regular file (a FIFO, a device or a folder), so it is not read.`, { path: rel });
    }
    return { fh, size: st.size };
  }

  async readFile(rel: string, max = Infinity): Promise<Buffer> {
    const { fh, size } = await this.openRegular(rel);
    try {
      if (size > max) throw new ExplorerError('TOO_LARGE', `${rel} in ${this.label} is ${size} bytes, more than the ${max} allowed for it.`, { path: rel });
      // Read what fstat said, never more (the file may grow meanwhile).
      const buf = Buffer.alloc(size);
      let got = 0;
      while (got < size) {
        const { bytesRead } = await fh.read(buf, got, size - got, got);
        if (bytesRead === 0) break;
        got += bytesRead;
      }
      return got === size ? buf : buf.subarray(0, got);
    } finally {
      await fh.close();
    }
  }

  async createReadStream(rel: string, opts: { start?: number; end?: number; signal?: AbortSignal } = {}): Promise<Readable> {
    const p = await this.resolve(rel);
    const size = p ? await this.stat(rel) : undefined;
    if (!p || size === undefined) throw missing(this.label, rel);
    const start = Math.min(Math.max(0, opts.start ?? 0), size);
    // Bounded by the size seen now: a file that grows (or was swapped for /dev/zero) is not read past it.
    const end = Math.min(opts.end ?? size, size);
    // An empty range: fs streams reject end < start (end: -1 throws), so answer with an empty stream.
    if (end <= start) return Readable.from([]);
    // Opened lazily (on the first read), as consumers of fs streams expect; the open handle is checked
    // to be a regular file. (A custom `fs` for fs.createReadStream does this too, but reads slowly.)
    const stream = Readable.from(readRange(() => this.openRegular(rel), start, end), { objectMode: false, highWaterMark: CHUNK });
    return opts.signal ? addAbortSignal(opts.signal, stream) : stream;
  }

  async list(): Promise<string[]> {
    const out: string[] = [];
    const walk = async (dir: string, rel: string): Promise<void> => {
      for (const e of await fsp.readdir(dir, { withFileTypes: true })) {
        const r = rel ? `${rel}/${e.name}` : e.name;
        if (e.isDirectory()) await walk(path.join(dir, e.name), r);
        else out.push(r);
      }
    };
    await walk(this.root, '');
    return out;
  }

  async close(): Promise<void> {}
}

const CHUNK = 64 * 1024;

/** Bytes [start, end) of the file `open` gives, in chunks; the handle is closed however the read ends. */
async function* readRange(open: () => Promise<{ fh: fsp.FileHandle }>, start: number, end: number): AsyncGenerator<Buffer> {
  const { fh } = await open();
  try {
    for (let pos = start; pos < end; ) {
      const buf = Buffer.allocUnsafe(Math.min(CHUNK, end - pos));
      const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
      if (bytesRead === 0) return;
      pos += bytesRead;
      yield bytesRead === buf.length ? buf : buf.subarray(0, bytesRead);
    }
  } finally {
    await fh.close();
  }
}

export function missing(label: string, rel: string): ExplorerError {
  return new ExplorerError('BLOB_MISSING', `${rel} is missing from ${label}.`, { path: rel });
}
