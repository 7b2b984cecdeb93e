import path from 'node:path';
import { parseDigest, type Digest } from '../oci/digest.js';
import { openCache, type Cache, type CacheLease } from '../store/cache.js';
import { defaultCacheDir } from '../store/paths.js';
// Bigger index files are not read: a planted 1 PB file is skipped, not slurped.
import { MAX_INDEX_BYTES } from '../store/scan.js';
import { decodeName, encodeName } from '../tar/names.js';
import { crc32 } from './crc32.js';
import { RestartPoints } from './zran/points.js';
import { COLUMN_CTORS, COLUMN_NAMES, LayerIndex, type IndexColumns, type LayerIndexMeta } from './tarindex.js';

// Persisted layer indexes, keyed by the layer (blob) digest: a layer indexed once is never scanned
// again, in any image. File = magic, JSON header, then 8-aligned sections (strings, columns, and for
// compressed layers the restart points: `rpoints` rows and `rwindows`), with a crc32 of the body;
// anything that does not validate is ignored and re-indexed.

const MAGIC = Buffer.from('OCIXIDX\0', 'latin1');
// v4: restart points (rpoints, rwindows) and paths stored as their raw bytes (tar/names.ts).
export const INDEX_FORMAT_VERSION = 4;

/** The cache folder per platform conventions; OCI_EXPLORER_CACHE overrides (tests, portable installs). */
export { defaultCacheDir } from '../store/paths.js';

export function indexPath(cacheDir: string, digest: Digest): string {
  const { algorithm, hex } = parseDigest(digest);
  return path.join(cacheDir, 'layer-index', `v${INDEX_FORMAT_VERSION}`, algorithm, `${hex}.idx`);
}

interface Header {
  version: number;
  meta: LayerIndexMeta;
  count: number;
  sections: Record<string, [number, number]>;
  bodyCrc: number;
  /** Output bytes between restart points, when the layer has them (sections rpoints, rwindows). */
  restartSpan?: number;
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
  if (idx.restart) {
    add('rpoints', idx.restart.table);
    add('rwindows', idx.restart.windows);
  }
  const body = Buffer.concat(parts);
  const header: Header = { version: INDEX_FORMAT_VERSION, meta: idx.meta, count: idx.count, sections, bodyCrc: crc32(body), ...(idx.restart ? { restartSpan: idx.restart.span } : {}) };
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
    const idx = new LayerIndex(header.meta, n, paths, extras, cols as unknown as IndexColumns);
    if (header.restartSpan !== undefined) {
      // Copies: the file buffer is not kept alive by a slice of it.
      const table = Buffer.from(sec('rpoints'));
      const windows = Buffer.from(sec('rwindows'));
      if (!RestartPoints.valid(table, windows)) return undefined;
      idx.restart = new RestartPoints(header.restartSpan, table, windows, digest);
    }
    return idx;
  } catch {
    return undefined;
  }
}


/**
 * Layer indexes in the cache (shared/store/cache.ts): sealed with the per-user key, so a planted,
 * swapped or truncated file is ignored (and replaced by the next save); saved only when it fits under
 * the cache cap; pinned while an image that uses them is open.
 */
export class IndexStore {
  readonly cache: Cache;

  constructor(readonly dir: string = defaultCacheDir()) {
    this.cache = openCache(dir);
  }

  private rel(digest: Digest): string {
    return path.relative(this.dir, indexPath(this.dir, digest)).split(path.sep).join('/');
  }

  async load(digest: Digest): Promise<LayerIndex | undefined> {
    const buf = await this.cache.readSealed(this.rel(digest), MAX_INDEX_BYTES).catch(() => undefined);
    return buf && deserializeIndex(buf, digest);
  }

  /** Stores the index if it fits under the cap; false when it was not stored. */
  async save(idx: LayerIndex): Promise<boolean> {
    return this.cache.writeSealed(this.rel(idx.meta.digest), serializeIndex(idx));
  }

  /** Keeps these layers' cache entries while `owner` (an open image) lives or until released. */
  async pin(digests: readonly Digest[], owner?: object): Promise<CacheLease | undefined> {
    return this.cache.pin([...new Set(digests)].map((d) => `blob:${d}`), owner ? { owner } : {}).catch(() => undefined);
  }
}
