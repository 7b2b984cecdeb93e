import { closeSync, constants as C, fstatSync, lstatSync, openSync, promises as fsp, read, readSync } from 'node:fs';
import { ExplorerError } from '../errors.js';
import { storeFsError } from './fs-errors.js';

// A layer's `diff` folder in Docker's overlay2 store, read-only and contained: names come from
// tar-split (Docker wrote them, but a copied or damaged store is input like any other), so `..`
// is refused, the last component is opened without following links, and a folder on the way that is
// a link (it could lead outside the diff folder) is refused.

/** Reads up to this size are one synchronous pread (a thread-pool round trip costs more for small files). */
const SMALL_READ = 256 * 1024;

export interface DiffFile {
  /** Size on disk now (0 when missing). */
  size: number;
  /** Set when the file cannot serve its bytes: they read as zeros. */
  problem?: 'missing' | 'not a regular file';
  /** Reads into buf at `off`, `len` bytes from file position `pos`; fewer at the end of the file. */
  read(buf: Buffer, off: number, len: number, pos: number): Promise<number>;
  close(): Promise<void>;
}

const NONE: Omit<DiffFile, 'problem'> = { size: 0, read: async () => 0, close: async () => {} };

export class DiffFolder {
  private rootReal?: string;
  /** Parent folders already found inside the diff folder. */
  private readonly okDirs = new Set<string>();

  constructor(readonly root: string) {}

  private async realRoot(): Promise<string> {
    if (this.rootReal === undefined) {
      try {
        this.rootReal = await fsp.realpath(this.root);
      } catch (e) {
        throw storeFsError(e, this.root, "the layer's diff folder");
      }
    }
    return this.rootReal;
  }

  /**
   * True when folder `rel` (relative, '' = the diff folder) is a real folder inside the diff folder:
   * each folder on the way is checked once with lstat (a link there could lead anywhere).
   */
  private dirInside(root: string | Buffer, rel: string | Buffer): boolean | 'missing' {
    const key = typeof rel === 'string' ? rel : `\0${rel.toString('latin1')}`;
    if (rel.length === 0 || this.okDirs.has(key)) return true;
    const parent = parentOf(rel);
    const up = this.dirInside(root, parent);
    if (up !== true) return up;
    const full = typeof rel === 'string' ? `${root as string}/${rel}` : Buffer.concat([root as Buffer, Buffer.from('/'), rel]);
    let st;
    try {
      st = lstatSync(full);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return 'missing';
      throw storeFsError(e, String(full), 'a folder of the layer');
    }
    if (st.isSymbolicLink()) return false;
    if (!st.isDirectory()) return 'missing';
    this.okDirs.add(key);
    return true;
  }

  /** Opens entry `name` (tar-split's name, or its raw bytes) of the diff folder. */
  async open(name: string | Buffer): Promise<DiffFile> {
    const rel = relName(name, this.root);
    const rootReal = await this.realRoot();
    const root = typeof rel === 'string' ? rootReal : Buffer.from(rootReal);
    const full = typeof rel === 'string' ? `${rootReal}/${rel}` : Buffer.concat([root as Buffer, Buffer.from('/'), rel]);
    const inside = this.dirInside(root, parentOf(rel));
    if (inside === 'missing') return { ...NONE, problem: 'missing' };
    if (!inside) {
      throw new ExplorerError('STORE_INVALID', `${String(full)} lies outside the layer's diff folder ${this.root} (a folder on its way is a link): the Docker store is damaged or was tampered with; it is not read.`, { path: String(full) });
    }
    let fd: number;
    try {
      fd = openSync(full, C.O_RDONLY | C.O_NOFOLLOW | C.O_NONBLOCK);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return { ...NONE, problem: 'missing' };
      if (code === 'ELOOP' || code === 'ENXIO' || code === 'EISDIR') return { ...NONE, problem: 'not a regular file' };
      throw storeFsError(e, String(full), 'a file of the layer');
    }
    let closed = false;
    const close = async () => {
      if (closed) return;
      closed = true;
      closeSync(fd);
    };
    const st = fstatSync(fd);
    if (!st.isFile()) {
      await close();
      return { ...NONE, problem: 'not a regular file' };
    }
    return {
      size: st.size,
      close,
      read: async (buf, off, len, pos) => {
        let got = 0;
        try {
          while (got < len) {
            const n = len - got <= SMALL_READ ? readSync(fd, buf, off + got, len - got, pos + got) : await readAsync(fd, buf, off + got, len - got, pos + got);
            if (n === 0) break;
            got += n;
          }
        } catch (e) {
          throw storeFsError(e, String(full), 'a file of the layer');
        }
        return got;
      },
    };
  }
}

/** `a/b/c` → `a/b`; `c` → '' (the same kind as given). */
function parentOf(rel: string | Buffer): string | Buffer {
  const slash = rel.lastIndexOf('/');
  if (typeof rel === 'string') return slash < 0 ? '' : rel.slice(0, slash);
  return slash < 0 ? Buffer.alloc(0) : rel.subarray(0, slash);
}

function readAsync(fd: number, buf: Buffer, off: number, len: number, pos: number): Promise<number> {
  return new Promise((resolve, reject) => read(fd, buf, off, len, pos, (e, n) => (e ? reject(e) : resolve(n))));
}

/** The entry name relative to the diff folder: no leading `./` or `/`, `..` refused. */
function relName(name: string | Buffer, root: string): string | Buffer {
  const text = typeof name === 'string' ? name : name.toString('latin1');
  const parts = text.split('/').filter((s) => s !== '' && s !== '.');
  if (parts.includes('..') || parts.length === 0) {
    throw new ExplorerError('STORE_INVALID', `tar-split names "${typeof name === 'string' ? name : name.toString('utf8')}", which climbs out of the layer's diff folder ${root}: the Docker store is damaged or was tampered with; it is not read.`, { path: root });
  }
  const joined = parts.join('/');
  return typeof name === 'string' ? joined : Buffer.from(joined, 'latin1');
}
