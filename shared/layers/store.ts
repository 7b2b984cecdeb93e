import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseDigest, type Digest } from '../oci/digest.js';
import { decodeName, encodeName } from '../tar/names.js';
import { crc32 } from './crc32.js';
import { COLUMN_CTORS, COLUMN_NAMES, LayerIndex, type IndexColumns, type LayerIndexMeta } from './tarindex.js';

// Persisted layer indexes, keyed by the layer (blob) digest: a layer indexed once is never scanned
// again, in any image. File = magic, JSON header, then 8-aligned sections (strings, columns), with a
// crc32 of the body; anything that does not validate is ignored and re-indexed.

const MAGIC = Buffer.from('OCIXIDX\0', 'latin1');
// v3: paths are stored as their raw bytes (non-UTF-8 names were Latin-1 before: see tar/names.ts).
export const INDEX_FORMAT_VERSION = 3;

/** The cache folder per platform conventions; OCI_EXPLORER_CACHE overrides (tests, portable installs). */
export function defaultCacheDir(env: Record<string, string | undefined> = process.env): string {
  if (env.OCI_EXPLORER_CACHE) return env.OCI_EXPLORER_CACHE;
  if (process.platform === 'darwin') return path.join(os.homedir(), 'Library', 'Caches', 'oci-explorer');
  if (process.platform === 'win32') return path.join(env.LOCALAPPDATA ?? path.join(os.homedir(), 'AppData', 'Local'), 'oci-explorer', 'Cache');
  return path.join(env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'oci-explorer');
}

export function indexPath(cacheDir: string, digest: Digest): string {
  const { algorithm, hex } = parseDigest(digest);
  return path.join(cacheDir, 'layer-index', `v${INDEX_FORMAT_VERSION}`, algorithm, `${hex}.idx`);
}

export function contentPath(cacheDir: string, digest: Digest): string {
  const { algorithm, hex } = parseDigest(digest);
  return path.join(cacheDir, 'layer-content', algorithm, `${hex}.tar`);
}

interface Header {
  version: number;
  meta: LayerIndexMeta;
  count: number;
  sections: Record<string, [number, number]>;
  bodyCrc: number;
}

export function serializeIndex(idx: LayerIndex): Buffer {
  const parts: Buffer[] = [];
  const sections: Record<string, [number, number]> = {};
  let off = 0;
  const add = (name: string, b: Buffer) => {
    sections[name] = [off, b.length];
    parts.push(b);
    off += b.length;
    const pad = (8 - (off % 8)) % 8;
    if (pad) {
      parts.push(Buffer.alloc(pad));
      off += pad;
    }
  };
  add('paths', encodeName(idx.paths.join('\0')));
  add('extras', Buffer.from(JSON.stringify(idx.extras), 'utf8'));
  for (const k of COLUMN_NAMES) {
    const a = idx.cols[k];
    add(k, Buffer.from(a.buffer, a.byteOffset, a.byteLength));
  }
  const body = Buffer.concat(parts);
  const header: Header = { version: INDEX_FORMAT_VERSION, meta: idx.meta, count: idx.count, sections, bodyCrc: crc32(body) };
  const hjson = Buffer.from(JSON.stringify(header), 'utf8');
  const lenBuf = Buffer.alloc(8);
  lenBuf.writeUInt32LE(hjson.length, 0);
  const hpad = (8 - ((MAGIC.length + 8 + hjson.length) % 8)) % 8;
  return Buffer.concat([MAGIC, lenBuf, hjson, Buffer.alloc(hpad), body]);
}

/** Parses a persisted index; returns undefined (never throws) when it is not a valid index for `digest`. */
export function deserializeIndex(buf: Buffer, digest: Digest): LayerIndex | undefined {
  try {
    if (buf.length < 16 || !buf.subarray(0, 8).equals(MAGIC)) return undefined;
    const hlen = buf.readUInt32LE(8);
    if (16 + hlen > buf.length) return undefined;
    const header = JSON.parse(buf.toString('utf8', 16, 16 + hlen)) as Header;
    if (header.version !== INDEX_FORMAT_VERSION || header.meta?.digest !== digest) return undefined;
    const start = 16 + hlen + ((8 - ((16 + hlen) % 8)) % 8);
    const body = buf.subarray(start);
    if (crc32(body) !== header.bodyCrc) return undefined;
    const sec = (name: string): Buffer => {
      const s = header.sections[name];
      if (!s || s[0] + s[1] > body.length) throw new Error(`section ${name}`);
      return body.subarray(s[0], s[0] + s[1]);
    };
    const n = header.count;
    const pathsText = decodeName(sec('paths'));
    const paths = n === 0 ? [] : pathsText.split('\0');
    if (paths.length !== n) return undefined;
    const extras = JSON.parse(sec('extras').toString('utf8')) as string[];
    const cols = {} as Record<string, unknown>;
    for (const k of COLUMN_NAMES) {
      const b = sec(k);
      const Ctor = COLUMN_CTORS[k];
      if (b.length !== n * Ctor.BYTES_PER_ELEMENT) return undefined;
      // Copy into a fresh, aligned buffer (the file buffer may be pooled and unaligned).
      const ab = new ArrayBuffer(b.length);
      new Uint8Array(ab).set(b);
      cols[k] = new Ctor(ab);
    }
    return new LayerIndex(header.meta, n, paths, extras, cols as unknown as IndexColumns);
  } catch {
    return undefined;
  }
}

/** Writes atomically (temp file + rename), so a crash never leaves a half index that looks valid. */
export async function writeFileAtomic(file: string, data: Buffer | string): Promise<void> {
  await fsp.mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  try {
    await fsp.writeFile(tmp, data);
    await fsp.rename(tmp, file);
  } catch (e) {
    await fsp.rm(tmp, { force: true });
    throw e;
  }
}

export class IndexStore {
  constructor(readonly dir: string = defaultCacheDir()) {}

  async load(digest: Digest): Promise<LayerIndex | undefined> {
    let buf: Buffer;
    try {
      buf = await fsp.readFile(indexPath(this.dir, digest));
    } catch {
      return undefined;
    }
    return deserializeIndex(buf, digest);
  }

  async save(idx: LayerIndex): Promise<void> {
    await writeFileAtomic(indexPath(this.dir, idx.meta.digest), serializeIndex(idx));
  }

  contentFile(digest: Digest): string {
    return contentPath(this.dir, digest);
  }
}
