import { randomBytes } from 'node:crypto';
import { constants, promises as fsp, type Stats } from 'node:fs';
import path from 'node:path';
import { procTag } from './proc.js';

// File operations for a folder other people may have planted things in. Nothing here follows a
// symlink below the root: folders are checked with lstat (a symlink or file where a folder belongs is
// removed, never entered), files are opened with O_NOFOLLOW, new files with O_EXCL (temp + rename,
// so a reader never sees half a file and a planted name is never written through).

const NOFOLLOW = constants.O_NOFOLLOW ?? 0;
// A FIFO planted at a file's name must not block the open (reads of regular files ignore the flag).
const NONBLOCK = constants.O_NONBLOCK ?? 0;
const uid = process.getuid?.();

export const DIR_MODE = 0o700;
export const FILE_MODE = 0o600;

function code(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException)?.code;
}

export async function lstatOrUndefined(p: string): Promise<Stats | undefined> {
  try {
    return await fsp.lstat(p);
  } catch (e) {
    if (code(e) === 'ENOENT' || code(e) === 'ENOTDIR') return undefined;
    throw e;
  }
}

/** True when the file or folder is ours (always on platforms without uids). */
export function ownedByUs(st: Stats): boolean {
  return uid === undefined || st.uid === uid;
}

/**
 * Makes `root/rel` a chain of real folders (0700) and returns its path. `root` itself must already be
 * checked (see Cache); below it, a symlink or a file where a folder belongs is unlinked (the link, not its
 * target) and replaced by a folder.
 */
export async function ensureDirs(root: string, rel: string): Promise<string> {
  // The root again too: it may have been removed (`rm -rf ~/.cache/oci-explorer`) while we run.
  await fsp.mkdir(root, { recursive: true, mode: DIR_MODE });
  let cur = root;
  for (const part of rel.split('/')) {
    if (!part || part === '.' || part === '..') continue;
    cur = path.join(cur, part);
    for (let attempt = 0; ; attempt++) {
      const st = await lstatOrUndefined(cur);
      if (st?.isDirectory()) break;
      if (st) await fsp.unlink(cur).catch(() => undefined);
      try {
        await fsp.mkdir(cur, { mode: DIR_MODE });
        break;
      } catch (e) {
        if (code(e) !== 'EEXIST' || attempt >= 3) throw e;
      }
    }
  }
  return cur;
}

/** A temp name beside `file` that says who writes it (so a dead writer's leftovers can be told apart). */
export function tempName(file: string): string {
  return `${file}.${procTag()}.${randomBytes(6).toString('hex')}.tmp`;
}

const TEMP_RE = /\.(\d{1,10}-\d{1,20})\.[0-9a-f]{12}\.tmp$/;

/** The owner tag of a temp file made by tempName, if it is one. */
export function tempOwner(name: string): string | undefined {
  return TEMP_RE.exec(name)?.[1];
}

/** Creates `tmp` exclusively (never through a planted name) and writes `parts` into it. */
export async function writeExclusive(tmp: string, parts: readonly Uint8Array[]): Promise<void> {
  const fh = await fsp.open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | NOFOLLOW, FILE_MODE);
  try {
    for (const p of parts) {
      let off = 0;
      while (off < p.length) off += (await fh.write(p, off, p.length - off)).bytesWritten;
    }
  } finally {
    await fh.close();
  }
}

/**
 * Writes `file` atomically: a fresh temp file (O_EXCL) in the same folder, then rename. The rename
 * replaces whatever sits at `file` (a planted symlink is replaced, its target untouched). No fsync:
 * every cache file is authenticated, so one cut short by a crash is ignored and rebuilt, never believed.
 */
export async function writeAtomic(file: string, parts: readonly Uint8Array[], tmp = tempName(file)): Promise<void> {
  try {
    await writeExclusive(tmp, parts);
    await fsp.rename(tmp, file);
  } catch (e) {
    await fsp.unlink(tmp).catch(() => undefined);
    throw e;
  }
}

/**
 * Reads a regular file without following a symlink at its name, refusing anything bigger than `max`.
 * Undefined when it is missing, not a regular file, not ours, or too big. The caller closes `fh` (it may
 * first set the mtime through it, once it has checked the bytes).
 */
export async function readNoFollow(file: string, max: number): Promise<{ bytes: Buffer; fh: fsp.FileHandle } | undefined> {
  let fh: fsp.FileHandle;
  try {
    fh = await fsp.open(file, constants.O_RDONLY | NOFOLLOW | NONBLOCK);
  } catch {
    return undefined;
  }
  try {
    const st = await fh.stat();
    if (!st.isFile() || !ownedByUs(st) || st.size > max) {
      await fh.close();
      return undefined;
    }
    const bytes = Buffer.allocUnsafe(st.size);
    let off = 0;
    while (off < st.size) {
      const { bytesRead } = await fh.read(bytes, off, st.size - off, off);
      if (bytesRead === 0) break;
      off += bytesRead;
    }
    return { bytes: bytes.subarray(0, off), fh };
  } catch {
    await fh.close();
    return undefined;
  }
}

/** Sets a file's mtime to now without following a symlink at its name (last-use tracking). */
export async function touchNoFollow(file: string, when = new Date()): Promise<void> {
  try {
    const fh = await fsp.open(file, constants.O_RDONLY | NOFOLLOW | NONBLOCK);
    try {
      if ((await fh.stat()).isFile()) await fh.utimes(when, when);
    } finally {
      await fh.close();
    }
  } catch {
    // missing or not ours: nothing to track
  }
}

/** True when every folder from `root` down to `root/relDir` exists as a real folder (no symlink on the way). */
export async function realDirs(root: string, relDir: string): Promise<boolean> {
  let cur = root;
  for (const part of relDir.split('/')) {
    if (!part || part === '.') continue;
    if (part === '..') return false;
    cur = path.join(cur, part);
    const st = await lstatOrUndefined(cur).catch(() => undefined);
    if (!st?.isDirectory()) return false;
  }
  return true;
}
