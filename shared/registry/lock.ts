import { promises as fsp } from 'node:fs';
import os from 'node:os';
import { cancelled } from './http.js';
import { sleep } from './retry.js';

// A lock file shared by processes (O_EXCL create, holder's pid and host inside) with waiters in this
// process queued on a promise instead of polling. A lock whose holder died (same host, pid gone) is
// broken. Used for "one download per blob" and index.json updates in an OCI layout: the worst a lost
// race can do is a second download of a blob whose content is verified anyway.

export interface Lease {
  release(): Promise<void>;
}

const local = new Map<string, Promise<void>>();
const POLL_MS = 50;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Waits for `p`, or rejects CANCELLED when the signal aborts first. */
function until(p: Promise<void>, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(cancelled());
    const onAbort = () => reject(cancelled());
    signal?.addEventListener('abort', onAbort, { once: true });
    void p.then(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    });
  });
}

/** True when the lock file names a holder on this host that no longer runs. */
async function isStale(file: string): Promise<boolean> {
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch {
    return false; // gone already: the next try takes it
  }
  const [pid, host] = text.split('\n');
  if (!pid) {
    // Being written, or left empty by a crash: stale once it is old.
    const st = await fsp.stat(file).catch(() => undefined);
    return !!st && Date.now() - st.mtimeMs > 60_000;
  }
  return host === os.hostname() && !alive(Number(pid));
}

/** Takes the lock at `file`, waiting (cancellable) while another process or task of this one holds it. */
export async function acquireLock(file: string, signal?: AbortSignal): Promise<Lease> {
  for (;;) {
    const held = local.get(file);
    if (held) {
      await until(held, signal);
      continue;
    }
    let done!: () => void;
    const mine = new Promise<void>((r) => (done = r));
    local.set(file, mine);
    const release = async () => {
      await fsp.rm(file, { force: true });
      if (local.get(file) === mine) local.delete(file);
      done();
    };
    try {
      const fh = await fsp.open(file, 'wx');
      await fh.writeFile(`${process.pid}\n${os.hostname()}\n${Date.now()}\n`);
      await fh.close();
      return { release };
    } catch (e) {
      local.delete(file);
      done();
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    if (await isStale(file)) {
      await fsp.rm(file, { force: true });
      continue;
    }
    await sleep(POLL_MS, signal);
  }
}

/** Runs `fn` under the lock. */
export async function withLock<T>(file: string, fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
  const lease = await acquireLock(file, signal);
  try {
    return await fn();
  } finally {
    await lease.release();
  }
}
