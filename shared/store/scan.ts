import { lstatSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { tempOwner } from './fsafe.js';
import { isAlive, parseProcTag } from './proc.js';
import { lockHolderAlive, storeBlobs, storeImages, type BlobFile, type StoreImage } from './store-scan.js';

// One pass over the cache root: every file under the folders the cache manages, sorted into entries
// (what eviction removes, least recently used first), fixed bytes (bookkeeping, blobs shared by kept
// images, files being written) and stale files (a dead writer's temp files, symlinks, foreign or
// misplaced files: removed at the next eviction whatever the cap). Top-level names the cache does
// not manage are listed as foreign and never touched: OCI_EXPLORER_CACHE may point at a folder that
// also holds other things.

export const MANAGED = ['layer-index', 'layer-content', 'store', 'meta'] as const;
/** Files of unknown writers younger than this are taken for work in progress, not garbage. */
export const GRACE_MS = 60 * 60 * 1000;
const MAX_FILES = 2_000_000;
/** No layer index is bigger (the reader refuses bigger files): a bigger file at an index name is garbage. */
export const MAX_INDEX_BYTES = 2 ** 30;

export type EntryKind = 'layer-index' | 'image' | 'blob' | 'layer-content' | 'stale';

export interface CacheEntry {
  /** index:<digest>, image:<digest>, blob:<digest> (a store blob no image lists), content:<digest>, stale:<path>. */
  key: string;
  kind: EntryKind;
  /** What evicting it frees (an image: its blobs no other kept image reaches). */
  bytes: number;
  /** Last use (ms since the epoch): the mtime the cache sets when the entry is used. */
  lastUsed: number;
  pinned: boolean;
  /** Paths relative to the root. */
  files: string[];
  /** Image entries: their tags in store/index.json. */
  refs?: string[];
  /** Image entries: the digest and everything it reaches. */
  reach?: Set<string>;
}

export interface FileFact extends BlobFile {
  regular: boolean;
}

export interface CacheScan {
  entries: CacheEntry[];
  /** Bytes of files that are not entries (bookkeeping, shared or pinned blobs, work in progress). */
  fixedBytes: number;
  /** Bytes promised to writers still writing (leases of live processes). */
  reservedBytes: number;
  /** Everything that counts against the cap: entries + fixed + reserved. */
  usedBytes: number;
  foreign: string[];
  images: StoreImage[];
  blobs: Map<string, BlobFile>;
  /** Every live pin (all processes). */
  pins: ReadonlySet<string>;
}

// Synchronous lstat in batches: an order of magnitude faster than one thread-pool round trip per file,
// and the event loop gets a turn every few hundred files.
async function walk(root: string): Promise<{ files: FileFact[]; foreign: string[] }> {
  const files: FileFact[] = [];
  const foreign: string[] = [];
  let since = 0;
  const visit = async (rel: string, depth: number): Promise<void> => {
    if (++since >= 256) {
      since = 0;
      await new Promise((r) => setImmediate(r));
    }
    let st;
    try {
      st = lstatSync(path.join(root, rel));
    } catch {
      return;
    }
    if (st.isDirectory() && depth < 6) {
      let names: string[];
      try {
        names = readdirSync(path.join(root, rel));
      } catch {
        return;
      }
      for (const n of names) if (files.length < MAX_FILES) await visit(`${rel}/${n}`, depth + 1);
      return;
    }
    files.push({ rel, bytes: st.isFile() ? st.size : 0, mtimeMs: st.mtimeMs, regular: st.isFile() });
  };
  let top: string[] = [];
  try {
    top = readdirSync(root);
  } catch {
    // no root yet: an empty cache
  }
  for (const n of top) {
    if ((MANAGED as readonly string[]).includes(n)) await visit(n, 0);
    else foreign.push(n);
  }
  return { files, foreign };
}

const INDEX_RE = /^layer-index\/v\d{1,4}\/([a-z0-9]+)\/([a-f0-9]{32,256})\.idx$/;
const CONTENT_RE = /^layer-content\/([a-z0-9]+)\/([a-f0-9]{32,256})\.tar$/;
// The lock files exist only while held (a hundred bytes, within the cap's slack): not counted.
const LOCK_RE = /^meta\/lock(\.break)?$/;
const META_RE = /^meta\/leases\/[A-Za-z0-9.-]+\.lease$/;
// Temp files of writers that do not use tempName (the store's layout writer, the legacy content copy):
// `<name>.<pid>.<random>.tmp`, in progress while that pid runs.
const OTHER_TEMP_RE = /\.(\d{1,10})\.[a-z0-9]{1,16}\.tmp$/;


export async function scanCache(root: string, o: { pins: ReadonlySet<string>; reserved: number; now?: number }): Promise<CacheScan> {
  const now = o.now ?? Date.now();
  // A last use in the future is not believed (planted, or a skewed clock): such files go first.
  const used = (mtime: number) => (mtime > now + 5 * 60_000 ? 0 : mtime);
  const young = (f: FileFact) => now - f.mtimeMs < GRACE_MS && f.mtimeMs <= now + 5 * 60_000;
  const { files, foreign } = await walk(root);
  const entries: CacheEntry[] = [];
  let fixedBytes = 0;
  const fixed = (f: BlobFile) => void (fixedBytes += f.bytes);
  // Unknown writers' files: work in progress while young, garbage once old.
  const youngOrStale = (f: FileFact) => (young(f) ? fixed(f) : stale(f));
  const stale = (f: FileFact) => entries.push({ key: `stale:${f.rel}`, kind: 'stale', bytes: f.bytes, lastUsed: used(f.mtimeMs), pinned: false, files: [f.rel] });
  const blobFiles: FileFact[] = [];
  for (const f of files) {
    const name = f.rel.slice(f.rel.lastIndexOf('/') + 1);
    const owner = tempOwner(name);
    const otherWriter = OTHER_TEMP_RE.exec(name);
    if (LOCK_RE.test(f.rel) && f.regular) continue;
    if (!f.regular) stale(f);
    else if (owner !== undefined) {
      // Ours (tempName): a live writer's is covered by its reservation; a dead one's is garbage.
      const p = parseProcTag(owner);
      if (!p || !isAlive(p)) stale(f);
    } else if (otherWriter) {
      if (isAlive({ pid: Number(otherWriter[1]), start: '' })) fixed(f);
      else stale(f);
    } else if (name.endsWith('.tmp')) youngOrStale(f);
    else if (f.rel.startsWith('store/') && name.endsWith('.lock')) {
      const held = await lockHolderAlive(path.join(root, f.rel));
      if (held === true || (held === undefined && young(f))) fixed(f);
      else stale(f);
    }
    else if (INDEX_RE.test(f.rel) && f.bytes > MAX_INDEX_BYTES + 64) stale(f);
    else if (INDEX_RE.test(f.rel) || CONTENT_RE.test(f.rel)) {
      const m = (INDEX_RE.exec(f.rel) ?? CONTENT_RE.exec(f.rel))!;
      const digest = `${m[1]}:${m[2]}`;
      const kind = f.rel.startsWith('layer-index/') ? 'layer-index' : 'layer-content';
      entries.push({ key: `${kind === 'layer-index' ? 'index' : 'content'}:${digest}`, kind, bytes: f.bytes, lastUsed: used(f.mtimeMs), pinned: o.pins.has(`blob:${digest}`), files: [f.rel] });
    } else if (f.rel.startsWith('store/blobs/')) blobFiles.push(f);
    else if (f.rel === 'store/index.json' || f.rel === 'store/oci-layout' || META_RE.test(f.rel)) fixed(f);
    else if (f.rel.startsWith('store/')) youngOrStale(f);
    else stale(f);
  }
  const blobs = storeBlobs(blobFiles);
  for (const f of blobFiles) if (!blobs.has(blobDigest(f.rel))) youngOrStale(f);
  const images = await storeImages(root, blobs);
  const reachCount = new Map<string, number>();
  for (const img of images) for (const d of img.reach) reachCount.set(d, (reachCount.get(d) ?? 0) + 1);
  for (const [d, b] of blobs) {
    const n = reachCount.get(d) ?? 0;
    if (n > 1 || o.pins.has(`blob:${d}`)) fixed(b);
    // A loose blob (a layer read from a registry without a pull, or one a pull has not listed yet):
    // its own entry once it is clearly not a pull in progress.
    else if (n === 0 && young({ ...b, regular: true })) fixed(b);
    else if (n === 0) entries.push({ key: `blob:${d}`, kind: 'blob', bytes: b.bytes, lastUsed: used(b.mtimeMs), pinned: false, files: [b.rel] });
  }
  for (const img of images) {
    const own = [...img.reach].filter((d) => blobs.has(d) && reachCount.get(d) === 1 && !o.pins.has(`blob:${d}`));
    const top = blobs.get(img.digest);
    entries.push({
      key: `image:${img.digest}`,
      kind: 'image',
      bytes: own.reduce((s, d) => s + blobs.get(d)!.bytes, 0),
      lastUsed: top ? used(top.mtimeMs) : 0,
      pinned: o.pins.has(`image:${img.digest}`),
      files: own.map((d) => blobs.get(d)!.rel),
      refs: img.refs,
      reach: img.reach,
    });
  }
  const entryBytes = entries.reduce((s, e) => s + e.bytes, 0);
  return { entries, fixedBytes, reservedBytes: o.reserved, usedBytes: entryBytes + fixedBytes + o.reserved, foreign, images, blobs, pins: o.pins };
}

function blobDigest(rel: string): string {
  const parts = rel.split('/');
  return `${parts[2]}:${parts[3]}`;
}

/** Eviction order: stale files first, then least recently used. */
export function evictionOrder(entries: readonly CacheEntry[]): CacheEntry[] {
  return entries.filter((e) => !e.pinned).sort((a, b) => Number(b.kind === 'stale') - Number(a.kind === 'stale') || a.lastUsed - b.lastUsed);
}
