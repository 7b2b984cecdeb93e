import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { ExplorerError } from '../errors.js';
import { readNoFollow, tempName, writeExclusive } from './fsafe.js';
import { seal, unseal } from './key.js';
import { isAlive, selfId, type ProcId } from './proc.js';

// One lock per cache root, shared by every process: held while deciding what to evict and deleting it,
// while pinning, and by the store's writer while it updates store/index.json. The lock file is created
// complete (written to a temp file, then hard-linked into place: link fails when the name exists) and
// sealed with the cache key; it names its holder (pid + start time). A lock whose holder is gone, or that
// is not sealed with our key (planted), is broken under a second, short-lived "break" lock, so two
// processes never both break it and both believe they hold it. Within one process, callers queue.

export interface LockOptions {
  signal?: AbortSignal;
  /** Give up after this long (ms) with CACHE_BUSY; default: wait as long as the holder lives. */
  maxWaitMs?: number;
}

interface Holder extends ProcId {
  nonce: string;
}

const queues = new Map<string, Promise<unknown>>();

/** Runs `fn` holding the lock file `file` (sealed with `key`). */
export async function withLock<T>(file: string, key: Buffer, fn: () => Promise<T>, opts: LockOptions = {}): Promise<T> {
  const prev = queues.get(file) ?? Promise.resolve();
  let done!: () => void;
  const mine = new Promise<void>((r) => (done = r));
  const tail = prev.then(() => mine);
  queues.set(file, tail);
  try {
    await prev;
    const nonce = await acquire(file, key, opts);
    try {
      return await fn();
    } finally {
      await release(file, key, nonce);
    }
  } finally {
    done();
    if (queues.get(file) === tail) queues.delete(file);
  }
}

async function readHolder(file: string, key: Buffer): Promise<{ holder?: Holder; bytes?: Buffer } | undefined> {
  const got = await readNoFollow(file, 4096);
  if (!got) {
    // Missing (released meanwhile) → undefined; present but unreadable (symlink, FIFO…) → no holder.
    return (await fsp.lstat(file).catch(() => undefined)) ? {} : undefined;
  }
  await got.fh.close();
  const payload = unseal(key, 'meta/lock', got.bytes);
  try {
    const h = payload ? (JSON.parse(payload.toString('utf8')) as Holder) : undefined;
    if (h && Number.isSafeInteger(h.pid) && typeof h.start === 'string' && typeof h.nonce === 'string') return { holder: h, bytes: got.bytes };
  } catch {
    // not JSON: planted
  }
  return { bytes: got.bytes };
}

async function acquire(file: string, key: Buffer, opts: LockOptions): Promise<string> {
  const nonce = randomBytes(8).toString('hex');
  const body = Buffer.from(JSON.stringify({ ...selfId(), nonce }), 'utf8');
  const t0 = Date.now();
  let wait = 5;
  for (;;) {
    if (opts.signal?.aborted) throw new ExplorerError('CANCELLED', 'Waiting for the cache lock was cancelled.');
    const tmp = tempName(file);
    try {
      await writeExclusive(tmp, seal(key, 'meta/lock', body));
      await fsp.link(tmp, file);
      return nonce;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    } finally {
      await fsp.unlink(tmp).catch(() => undefined);
    }
    const seen = await readHolder(file, key);
    if (!seen) continue; // released meanwhile
    if (!seen.holder || !isAlive(seen.holder)) {
      await breakStale(file, key, seen.bytes);
      continue;
    }
    if (opts.maxWaitMs !== undefined && Date.now() - t0 > opts.maxWaitMs) {
      const who = seen.holder ? ` by process ${seen.holder.pid}` : '';
      throw new ExplorerError('CACHE_BUSY', `The cache ${file.replace(/[/\\]meta[/\\]lock$/, '')} is locked${who}; wait for it to finish, or stop it and try again.`, { lock: file });
    }
    await sleep(wait + Math.random() * wait, opts.signal);
    wait = Math.min(wait * 2, 200);
  }
}

/** Removes a lock judged stale, only if it is still the same file (under the break lock). */
async function breakStale(file: string, key: Buffer, staleBytes: Buffer | undefined): Promise<void> {
  const brk = `${file}.break`;
  const tmp = tempName(brk);
  try {
    await writeExclusive(tmp, [Buffer.from(JSON.stringify(selfId()))]);
    await fsp.link(tmp, brk);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    // Someone is breaking it now (held for microseconds). One left by a process that died in that
    // window is removed once it is clearly old.
    const st = await fsp.lstat(brk).catch(() => undefined);
    if (st && Date.now() - st.mtimeMs > 30_000) await fsp.unlink(brk).catch(() => undefined);
    return;
  } finally {
    await fsp.unlink(tmp).catch(() => undefined);
  }
  try {
    const now = await readHolder(file, key);
    const same = now && (staleBytes ? now.bytes?.equals(staleBytes) : !now.bytes);
    if (same) await fsp.rm(file, { recursive: true, force: true });
  } finally {
    await fsp.unlink(brk).catch(() => undefined);
  }
}

async function release(file: string, key: Buffer, nonce: string): Promise<void> {
  const seen = await readHolder(file, key);
  if (seen?.holder?.nonce === nonce) await fsp.unlink(file).catch(() => undefined);
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
