import { readFileSync } from 'node:fs';

// Who owns a lock, a lease or a temp file: a pid plus that process's start time, so a pid reused by a
// later process does not keep a dead owner's pins alive. The start time is the kernel's (Linux
// /proc/<pid>/stat field 22, clock ticks since boot); elsewhere it is '' and liveness is the pid alone.

export interface ProcId {
  pid: number;
  start: string;
}

function startTime(pid: number | 'self'): string | undefined {
  if (process.platform !== 'linux') return '';
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    // comm (field 2) may hold spaces and parentheses: count fields after the last ')'.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return rest[19] ?? '';
  } catch {
    return undefined;
  }
}

let self: ProcId | undefined;

/** This process. */
export function selfId(): ProcId {
  if (!self || self.pid !== process.pid) self = { pid: process.pid, start: startTime('self') ?? '' };
  return self;
}

/** `<pid>-<start>`: the owner tag put in lease and temp file names. */
export function procTag(p: ProcId = selfId()): string {
  return `${p.pid}-${p.start || '0'}`;
}

/** The owner encoded by procTag, or undefined. */
export function parseProcTag(tag: string): ProcId | undefined {
  const m = /^(\d{1,10})-(\d{1,20})$/.exec(tag);
  if (!m) return undefined;
  return { pid: Number(m[1]), start: m[2] === '0' ? '' : m[2]! };
}

/** True while the process that wrote `p` runs (same pid and, where known, same start time). */
export function isAlive(p: ProcId): boolean {
  if (!Number.isSafeInteger(p.pid) || p.pid <= 0) return false;
  if (p.pid === process.pid) return !p.start || p.start === selfId().start;
  try {
    process.kill(p.pid, 0);
  } catch (e) {
    // EPERM: it exists but belongs to someone else (still alive).
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  if (!p.start) return true;
  const now = startTime(p.pid);
  return now === undefined ? false : now === '' || now === p.start;
}
