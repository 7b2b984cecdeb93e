import { promises as fsp, unlinkSync } from 'node:fs';
import path from 'node:path';
import { ensureDirs, readNoFollow, realDirs, writeAtomic } from './fsafe.js';
import { seal, unseal } from './key.js';
import { isAlive, parseProcTag, procTag, selfId } from './proc.js';

// Leases: one small sealed file per process (per Cache object) under meta/leases/, naming the process
// (pid + start time) and holding what it pins and how many bytes it has reserved. Every process reads the
// others' leases before it evicts; a lease whose process is gone, or that is not sealed with our key, is
// ignored (and deleted under the lock). Leases are removed when they hold nothing, and at exit.

const LEASE_RE = /^(\d{1,10}-\d{1,20})\.[0-9a-f]{8}\.lease$/;

const live = new Set<string>();
let exitHook = false;
function track(file: string): void {
  live.add(file);
  if (exitHook) return;
  exitHook = true;
  process.once('exit', () => {
    for (const f of live) {
      try {
        unlinkSync(f);
      } catch {
        // already gone
      }
    }
  });
}

/** This process's lease file in one cache root; writes are serialised and carry the latest state. */
export class OwnLease {
  readonly rel: string;
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly root: string,
    inst: string,
  ) {
    this.rel = `meta/leases/${procTag()}.${inst}.lease`;
  }

  write(key: Buffer, state: () => { pins: string[]; reserved: number }): Promise<void> {
    const run = this.queue.then(() => this.flush(key, state()));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async flush(key: Buffer, s: { pins: string[]; reserved: number }): Promise<void> {
    const abs = path.join(this.root, this.rel);
    if (!s.pins.length && s.reserved <= 0) {
      live.delete(abs);
      await fsp.unlink(abs).catch(() => undefined);
      return;
    }
    await ensureDirs(this.root, 'meta/leases');
    track(abs);
    await writeAtomic(abs, seal(key, this.rel, Buffer.from(JSON.stringify({ ...selfId(), ...s }))));
  }
}

/** Pins and reserved bytes of the other live leases (other Cache objects of this process included); `clean` deletes dead or forged ones. */
export async function otherLeases(root: string, key: Buffer, own: OwnLease, clean: boolean): Promise<{ pins: Set<string>; reserved: number }> {
  const out = { pins: new Set<string>(), reserved: 0 };
  if (!(await realDirs(root, 'meta/leases'))) return out;
  const ownName = path.posix.basename(own.rel);
  for (const name of await fsp.readdir(path.join(root, 'meta', 'leases')).catch(() => [] as string[])) {
    const m = LEASE_RE.exec(name);
    if (name === ownName || (!m && name.endsWith('.tmp'))) continue;
    const abs = path.join(root, 'meta', 'leases', name);
    const got = m ? await readNoFollow(abs, 16 * 1024 * 1024) : undefined;
    await got?.fh.close();
    const payload = got && unseal(key, `meta/leases/${name}`, got.bytes);
    let lease: { pid?: unknown; start?: unknown; pins?: unknown; reserved?: unknown } | undefined;
    try {
      lease = payload ? (JSON.parse(payload.toString('utf8')) as typeof lease) : undefined;
    } catch {
      lease = undefined;
    }
    const owner = m ? parseProcTag(m[1]!) : undefined;
    const valid = lease && owner && lease.pid === owner.pid && (lease.start || '') === owner.start && Array.isArray(lease.pins) && typeof lease.reserved === 'number';
    if (valid && isAlive(owner)) {
      for (const k of lease!.pins as unknown[]) if (typeof k === 'string') out.pins.add(k);
      out.reserved += Math.max(0, lease!.reserved as number);
    } else if (clean) await fsp.rm(abs, { force: true, recursive: true });
  }
  return out;
}
