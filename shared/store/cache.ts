import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { ExplorerError } from '../errors.js';
import { makeRoom, type Evicted } from './evict.js';
import { capOf, openRoot, type CacheLimit } from './root.js';
import { ensureDirs, readNoFollow, realDirs, touchNoFollow, writeAtomic } from './fsafe.js';
import { seal, SEAL_BYTES, unseal } from './key.js';
import { withLock, type LockOptions } from './lock.js';
import { defaultKeyFile } from './paths.js';
import { otherLeases, OwnLease } from './leases.js';
import { scanCache, type CacheEntry, type CacheScan } from './scan.js';
import { blobRel } from './store-scan.js';

/*
 * One cache under one root, bounded, shared by every process of the user, trusting nothing it reads.
 *
 *   <root>/                     0700, checked to be ours
 *     layer-index/v<N>/<alg>/<hex>.idx   layer indexes (with restart points), sealed (key.ts)
 *     store/                    pulled images: an OCI image layout (written by store/layout.ts)
 *     meta/lock                 the cache lock (lock.ts)
 *     meta/leases/<pid>-<start>.<id>.lease   per process: its pins and reserved bytes, sealed
 *     layer-content/            legacy uncompressed copies: counted and evicted, never written here
 *
 * Cap: the smaller of 5 GiB and 10 % of the disk, or Settings.cacheMaxBytes, or OCI_EXPLORER_CACHE_MAX
 * (what `--cache-max SIZE` sets), strongest last. Every file under the managed folders counts, these
 * bookkeeping files included. Writers reserve bytes first (under the lock: the least recently used
 * unpinned entries are evicted until the reservation fits; if it cannot fit, nothing is written), so the
 * folder never holds more than the cap. Last use = the entry file's mtime, set through an open handle
 * when it is read (no rewrite, independent of atime and of noatime mounts).
 *
 * Pins: while an image is open its layer digests are pinned (`blob:<digest>` protects that digest's
 * index, legacy copy and store blob; `image:<digest>` a whole store image). Pins live in the process's
 * lease file, so other processes see them; a lease whose process is gone (pid + start time) is ignored
 * and deleted.
 *
 * API for the store's layout writer (registry pulls), in this order:
 *   const cache = openCache(ctx.cacheDir, { env: ctx.env });
 *   const pin = await cache.pin(digests.map((d) => `blob:${d}`)); // blobs not yet in index.json are orphans: pin them
 *   const res = await cache.reserve(bytesToWrite);                 // undefined: does not fit, read through without storing
 *   …write each blob to tempName(file) (fsafe.ts), rename once verified…
 *   …update index.json atomically under store/index.json.lock (as store/layout.ts does: eviction takes it too)…
 *   await res.release(); await pin.release();
 * Blobs that no index.json entry reaches are "loose" entries of their own once an hour old (younger: a pull
 * in progress, counted but not evicted); temp files named `<x>.<pid>.<random>.tmp` count while <pid> runs.
 * Opening an image from the store: `cache.pin([`image:${digest}`])` while open, `cache.touch(`image:${digest}`)`.
 * Never call reserve/pin/prune from inside withLock (the lock is not re-entrant).
 */

type Env = Record<string, string | undefined>;

/** Room kept for bookkeeping files that change between two scans (leases, the lock). */
export const SLACK_BYTES = 64 * 1024;
/** How long a save waits for another process's lock before giving up (the entry is then not stored). */
const SAVE_WAIT_MS = 60_000;
/** How long pinning waits for the lock before pinning without it (an eviction then in flight may still take them). */
const PIN_WAIT_MS = 5_000;
/** At most this much is reserved ahead (never more than a sixteenth of the cap, never by evicting). */
const POOL_CHUNK = 64 * 1024 * 1024;
const POOL_IDLE_MS = 10_000;
const PIN_RE = /^(blob|image):[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,256}$/;

export type { CacheLimit };

export interface CacheOptions {
  /** For OCI_EXPLORER_CACHE_MAX and the key's config folder. Default process.env. */
  env?: Env;
  /** The app's Settings.cacheMaxBytes (0 = automatic). */
  settingMaxBytes?: number;
  /** Where the key lives (default `<config dir>/cache.key`). */
  keyFile?: string;
}

export interface Reservation {
  readonly bytes: number;
  release(): Promise<void>;
}

export interface CacheLease {
  readonly keys: readonly string[];
  release(): Promise<void>;
}

export interface CacheReport {
  dir: string;
  usedBytes: number;
  reservedBytes: number;
  limit: CacheLimit;
  entries: CacheEntry[];
  /** Names at the top of the folder the cache does not manage (never touched). */
  foreign: string[];
  /** Why the cache is off (nothing is read from it or written to it), if it is. */
  disabled?: string;
}

export interface PruneResult {
  removed: CacheEntry[];
  removedBytes: number;
  usedBytes: number;
  maxBytes: number;
  /** Pinned entries (open images) that were kept. */
  keptPinned: number;
}

type Ready = { ok: true; key: Buffer } | { ok: false; reason: string };

const finalizer = new FinalizationRegistry<{ cache: Cache; keys: string[] }>((h) => void h.cache.unpin(h.keys).catch(() => undefined));

export class Cache {
  private env: Env = process.env;
  private settingMax = 0;
  private keyFile?: string;
  private readyP?: Promise<Ready>;
  private readyFor?: string;
  private readonly pins = new Map<string, number>();
  /** Bytes in our lease's reservation: handed-out reservations plus the pool. */
  private reserved = 0;
  /** Reserved but not handed out yet: later reservations take from it without a scan. */
  private pool = 0;
  private poolTimer?: ReturnType<typeof setTimeout>;
  private readonly lease: OwnLease;

  constructor(readonly root: string) {
    this.lease = new OwnLease(root, randomBytes(4).toString('hex'));
  }

  configure(o: CacheOptions): void {
    if (o.env) this.env = o.env;
    if (o.settingMaxBytes !== undefined) this.settingMax = o.settingMaxBytes;
    if (o.keyFile !== undefined) this.keyFile = o.keyFile;
  }

  private keyPath(): string {
    return path.resolve(this.keyFile ?? defaultKeyFile(this.env));
  }

  /** The key, once the root is a private folder of ours; else why the cache is off. */
  ready(): Promise<Ready> {
    // A new key location (another env or keyFile) means another key: start over.
    if (this.readyFor !== this.keyPath()) this.readyP = undefined;
    this.readyFor = this.keyPath();
    return (this.readyP ??= this.init());
  }

  private async init(): Promise<Ready> {
    try {
      return { ok: true, key: await openRoot(this.root, this.keyPath()) };
    } catch (e) {
      return { ok: false, reason: (e as Error).message };
    }
  }

  async limit(): Promise<CacheLimit> {
    return capOf(this.root, this.env, this.settingMax);
  }

  /** Runs `fn` under the lock every process of this cache shares (for store/index.json edits). */
  async withLock<T>(fn: () => Promise<T>, opts: LockOptions = {}): Promise<T> {
    const r = await this.ready();
    if (!r.ok) throw new ExplorerError('FORBIDDEN', `The cache is off: ${r.reason}.`);
    await ensureDirs(this.root, 'meta');
    return withLock(path.join(this.root, 'meta', 'lock'), r.key, fn, opts);
  }

  /** The payload of a sealed file at `rel` (posix, below the root), or undefined; marks it used. */
  async readSealed(rel: string, maxBytes: number): Promise<Buffer | undefined> {
    const r = await this.ready();
    if (!r.ok || !(await realDirs(this.root, path.posix.dirname(rel)))) return undefined;
    const got = await readNoFollow(path.join(this.root, rel), maxBytes + SEAL_BYTES);
    if (!got) return undefined;
    try {
      const payload = unseal(r.key, rel, got.bytes);
      if (payload) await got.fh.utimes(new Date(), new Date()).catch(() => undefined);
      return payload;
    } finally {
      await got.fh.close();
    }
  }

  /** Writes a sealed file at `rel` if it fits under the cap (evicting what must go); false when not stored. */
  async writeSealed(rel: string, payload: Uint8Array, opts: LockOptions = {}): Promise<boolean> {
    const r = await this.ready();
    if (!r.ok) return false;
    const res = await this.reserve(payload.length + SEAL_BYTES, { maxWaitMs: SAVE_WAIT_MS, ...opts }).catch((e: unknown) => {
      if ((e as ExplorerError).code === 'CANCELLED') throw e;
      return undefined;
    });
    if (!res) return false;
    try {
      await ensureDirs(this.root, path.posix.dirname(rel));
      await writeAtomic(path.join(this.root, rel), seal(r.key, rel, payload));
      return true;
    } finally {
      await res.release();
    }
  }

  /** Makes room for `bytes` and holds it until released; undefined when it cannot fit (or the cache is off). */
  async reserve(bytes: number, opts: LockOptions = {}): Promise<Reservation | undefined> {
    if (!Number.isSafeInteger(bytes) || bytes < 0) throw new ExplorerError('INVALID_ARGUMENT', `Cannot reserve ${bytes} bytes in the cache.`);
    const r = await this.ready();
    if (!r.ok) return undefined;
    const cap = (await this.limit()).bytes;
    if (bytes + SLACK_BYTES > cap) return undefined;
    if (this.pool >= bytes) return this.handOut(bytes);
    return this.withLock(async () => {
      if (this.pool >= bytes) return this.handOut(bytes);
      // Our pool is already counted as reserved: only the rest is new.
      const need = bytes - this.pool;
      const room = await this.makeRoom(need, cap);
      if (!room.fits) return undefined;
      // Take a little more if it is free anyway (no eviction for it), so the next saves need no scan.
      const extra = Math.max(0, Math.min(POOL_CHUNK, Math.floor(cap / 16), cap - SLACK_BYTES - room.used - need));
      this.reserved += need + extra;
      this.pool += need + extra;
      try {
        await this.writeLease();
      } catch (e) {
        this.reserved -= need + extra;
        this.pool -= need + extra;
        throw e;
      }
      return this.handOut(bytes);
    }, opts);
  }

  /** Hands `bytes` of the pool (reserved in our lease already) to one writer. */
  private handOut(bytes: number): Reservation {
    this.pool -= bytes;
    this.armPoolReturn();
    let done = false;
    return {
      bytes,
      release: async () => {
        if (done) return;
        done = true;
        this.reserved -= bytes;
        await this.writeLease();
      },
    };
  }

  /** An unused pool goes back after a quiet while, so other processes get that room again. */
  private armPoolReturn(): void {
    clearTimeout(this.poolTimer);
    this.poolTimer = setTimeout(() => void this.returnPool().catch(() => undefined), POOL_IDLE_MS);
    this.poolTimer.unref?.();
  }

  private async returnPool(): Promise<void> {
    if (!this.pool) return;
    this.reserved -= this.pool;
    this.pool = 0;
    await this.writeLease();
  }

  /** Protects `keys` (blob:<digest>, image:<digest>) from eviction by any process until released (or `owner` is collected). */
  async pin(keys: readonly string[], opts: { owner?: object } & LockOptions = {}): Promise<CacheLease> {
    for (const k of keys) if (!PIN_RE.test(k)) throw new ExplorerError('INVALID_ARGUMENT', `"${k}" is not a cache key (blob:<digest> or image:<digest>).`);
    const held = [...keys];
    let done = false;
    const lease: CacheLease = {
      keys: held,
      release: async () => {
        if (done) return;
        done = true;
        finalizer.unregister(lease);
        await this.unpin(held);
      },
    };
    const add = async () => {
      for (const k of held) this.pins.set(k, (this.pins.get(k) ?? 0) + 1);
      await this.writeLease();
    };
    const r = await this.ready();
    if (!r.ok) return lease;
    // Under the lock, so an eviction that has already read the leases finishes before the pin shows.
    await this.withLock(add, { maxWaitMs: PIN_WAIT_MS, ...opts }).catch(async (e: unknown) => {
      if ((e as ExplorerError).code !== 'CACHE_BUSY') throw e;
      await add();
    });
    if (opts.owner) finalizer.register(opts.owner, { cache: this, keys: held }, lease);
    return lease;
  }

  /** @internal for leases: drops one pin of each key. */
  async unpin(keys: readonly string[]): Promise<void> {
    for (const k of keys) {
      const n = (this.pins.get(k) ?? 0) - 1;
      if (n > 0) this.pins.set(k, n);
      else this.pins.delete(k);
    }
    await this.writeLease();
  }

  /** Marks a store image or blob (image:<digest>, blob:<digest>) as used now. Layer indexes are marked when read. */
  async touch(key: string): Promise<void> {
    const m = /^(?:blob|image):(.+)$/.exec(key);
    const rel = m ? blobRel(m[1]!) : undefined;
    if (!rel || !(await this.ready()).ok || !(await realDirs(this.root, path.posix.dirname(rel)))) return;
    await touchNoFollow(path.join(this.root, rel));
  }

  /** What the cache holds (no lock: a snapshot). */
  async report(): Promise<CacheReport> {
    const r = await this.ready();
    const limit = await this.limit();
    if (!r.ok) return { dir: this.root, usedBytes: 0, reservedBytes: 0, limit, entries: [], foreign: [], disabled: r.reason };
    const s = await this.scan(false);
    return { dir: this.root, usedBytes: s.usedBytes - s.reservedBytes, reservedBytes: s.reservedBytes, limit, entries: s.entries.map(({ reach: _r, ...e }) => e), foreign: s.foreign };
  }

  /** Evicts least recently used entries until the cache holds at most `maxBytes` (default: the cap), and removes stale files. */
  async prune(maxBytes?: number, opts: LockOptions = {}): Promise<PruneResult> {
    const max = maxBytes ?? (await this.limit()).bytes;
    return this.withLock(async () => {
      await this.returnPool();
      return this.makeRoom(0, max + SLACK_BYTES, opts);
    }, opts).then((x) => result(x, max));
  }

  /** Removes every entry that no open image pins. */
  async clear(opts: LockOptions = {}): Promise<PruneResult> {
    return this.withLock(async () => {
      await this.returnPool();
      return this.makeRoom(0, 0, { ...opts, all: true });
    }, opts).then((x) => result(x, 0));
  }

  private writeLease(): Promise<void> {
    return this.ready().then((r) => (r.ok ? this.lease.write(r.key, () => ({ pins: [...this.pins.keys()], reserved: this.reserved })) : undefined));
  }

  private async scan(clean: boolean): Promise<CacheScan> {
    const r = await this.ready();
    // Leases before files: a writer renames its file into place before it drops its reservation, so
    // a scan sees the bytes at least once.
    const others = r.ok ? await otherLeases(this.root, r.key, this.lease, clean) : { pins: new Set<string>(), reserved: 0 };
    const pins = new Set([...others.pins, ...this.pins.keys()]);
    return scanCache(this.root, { pins, reserved: others.reserved + this.reserved });
  }

  /** Under the lock: removes stale files, then LRU entries (all of them with `all`) until `need` fits under `cap`. */
  private async makeRoom(need: number, cap: number, o: { all?: boolean; signal?: AbortSignal } = {}): Promise<Evicted> {
    return makeRoom(this.root, await this.scan(true), { need, cap, slack: SLACK_BYTES, ...o });
  }
}

function result(x: Evicted, maxBytes: number): PruneResult {
  return { removed: x.removed, removedBytes: x.removedBytes, usedBytes: x.used - x.reservedBytes, maxBytes, keptPinned: x.keptPinned };
}

const caches = new Map<string, Cache>();

/** The process's Cache for `root` (one object per folder), configured with `opts`. */
export function openCache(root: string, opts: CacheOptions = {}): Cache {
  const abs = path.resolve(root);
  let c = caches.get(abs);
  if (!c) caches.set(abs, (c = new Cache(abs)));
  c.configure(opts);
  return c;
}
