import { createReadStream, promises as fsp } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
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

  async readFile(rel: string, max = Infinity): Promise<Buffer> {
    const p = await this.resolve(rel);
    const size = p ? await this.stat(rel) : undefined;
    if (!p || size === undefined) throw missing(this.label, rel);
    if (size > max) throw new ExplorerError('TOO_LARGE', `${rel} in ${this.label} is ${size} bytes, more than the ${max} allowed for it.`, { path: rel });
    return fsp.readFile(p);
  }

  async createReadStream(rel: string, opts: { start?: number; end?: number; signal?: AbortSignal } = {}): Promise<Readable> {
    const p = await this.resolve(rel);
    if (!p || (await this.stat(rel)) === undefined) throw missing(this.label, rel);
    const o: { start?: number; end?: number; signal?: AbortSignal } = {};
    if (opts.start !== undefined) o.start = opts.start;
    if (opts.end !== undefined) o.end = opts.end - 1; // fs streams take an inclusive end
    if (opts.signal) o.signal = opts.signal;
    // An empty range: fs streams reject end < start (end: -1 throws), so answer with an empty stream.
    if (o.end !== undefined && o.end < (o.start ?? 0)) return Readable.from([]);
    return createReadStream(p, o);
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

export function missing(label: string, rel: string): ExplorerError {
  return new ExplorerError('BLOB_MISSING', `${rel} is missing from ${label}.`, { path: rel });
}
