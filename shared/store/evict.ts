import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { ExplorerError } from '../errors.js';
import { evictionOrder, type CacheEntry, type CacheScan } from './scan.js';
import { dropFromIndexJson } from './store-scan.js';

// Eviction, under the cache lock, over a fresh scan: stale files always go, then entries least recently
// used first until the need fits. An image goes whole: its index.json entries first, then the blobs no
// kept image reaches and no live pin protects.

export interface Evicted {
  fits: boolean;
  /** Bytes counted against the cap afterwards (reservations included). */
  used: number;
  /** Of which reserved by writers (this process's pool included). */
  reservedBytes: number;
  removed: CacheEntry[];
  removedBytes: number;
  /** Pinned entries (open images) that were kept. */
  keptPinned: number;
}

/** Frees room until `used + need + slack ≤ cap` (or everything unpinned with `all`). */
export async function makeRoom(root: string, s: CacheScan, o: { need: number; cap: number; slack: number; all?: boolean; signal?: AbortSignal }): Promise<Evicted> {
  let used = s.usedBytes;
  const removed: CacheEntry[] = [];
  const kept = new Map(s.images.map((i) => [i.digest, i]));
  const fits = () => used + o.need + o.slack <= o.cap;
  for (const e of evictionOrder(s.entries)) {
    if (e.kind !== 'stale' && fits() && !o.all) break;
    if (o.signal?.aborted) throw new ExplorerError('CANCELLED', 'Cleaning the cache was cancelled; what was removed so far stays removed.');
    const freed = await evict(root, e, s, kept);
    used -= freed;
    const { reach: _r, ...shown } = e;
    removed.push({ ...shown, bytes: freed });
  }
  return { fits: fits(), used, reservedBytes: s.reservedBytes, removed, removedBytes: removed.reduce((a, e) => a + e.bytes, 0), keptPinned: s.entries.filter((e) => e.pinned).length };
}

async function evict(root: string, e: CacheEntry, s: CacheScan, kept: Map<string, { reach: Set<string> }>): Promise<number> {
  if (e.kind !== 'image') {
    for (const f of e.files) await fsp.rm(path.join(root, f), { force: true, recursive: true });
    return e.bytes;
  }
  const digest = e.key.slice('image:'.length);
  // index.json first: a crash after it leaves unreferenced blobs (removed later), never a dangling entry.
  if (!(await dropFromIndexJson(root, digest))) return 0;
  kept.delete(digest);
  const stillReached = new Set<string>();
  for (const img of kept.values()) for (const d of img.reach) stillReached.add(d);
  let freed = 0;
  for (const d of e.reach ?? []) {
    const b = s.blobs.get(d);
    if (!b || stillReached.has(d) || s.pins.has(`blob:${d}`)) continue;
    await fsp.rm(path.join(root, b.rel), { force: true });
    s.blobs.delete(d);
    freed += b.bytes;
  }
  return freed;
}
