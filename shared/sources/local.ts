import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ExplorerError, isExplorerError } from '../errors.js';
import type { LocalProbe } from './backend.js';
import { openTarVfs } from './tarfs.js';
import { DirVfs, type Vfs } from './vfs.js';

// Paths as the path backends take them: `~` expanded, relative ones against the caller's folder,
// `PATH[:SELECTOR]` split where PATH may itself hold colons, and the folder or tar opened once.

export async function exists(p: string): Promise<boolean> {
  return (await fsp.stat(p).catch(() => undefined)) !== undefined;
}

export function expandHome(p: string): string {
  return p === '~' || p.startsWith('~/') ? path.join(os.homedir(), p.slice(1)) : p;
}

/** `~` expanded and a relative path made absolute against `cwd`. */
export function absolutePath(p: string, cwd: string): string {
  const e = expandHome(p);
  return e && !path.isAbsolute(e) ? path.resolve(cwd, e) : e;
}

/** True for what can only be meant as a path (so a missing one is "not found", not a registry reference). */
export function looksLikePath(s: string): boolean {
  return /^[/.~]/.test(s) || /\.(tar|tgz|tar\.gz|tar\.zst|tzst|zst|gz)$/i.test(s);
}

/** `PATH[:SELECTOR]` where PATH may itself hold colons: the shortest prefix that exists is the path. */
export async function splitPathAndSelector(s: string, cwd: string): Promise<{ file: string; rest: string }> {
  const whole = absolutePath(s, cwd);
  if (await exists(whole)) return { file: whole, rest: '' };
  for (let i = s.indexOf(':'); i >= 0; i = s.indexOf(':', i + 1)) {
    const head = s.slice(0, i) ? absolutePath(s.slice(0, i), cwd) : '';
    if (head && (await exists(head))) return { file: head, rest: s.slice(i + 1) };
  }
  const i = s.indexOf(':');
  const file = absolutePath(i >= 0 ? s.slice(0, i) : s, cwd);
  throw new ExplorerError('SOURCE_NOT_FOUND', `${file || s} does not exist. Check the path and try again.`, { path: file });
}

/** Opens an existing path as a folder or a tar read in place (compressed tarballs decompressed first). */
export async function openProbe(file: string, spec: string, signal: AbortSignal): Promise<LocalProbe> {
  const st = await fsp.stat(file);
  let vfs: Vfs;
  if (st.isDirectory()) vfs = new DirVfs(file);
  else {
    try {
      vfs = await openTarVfs(file, { signal });
    } catch (e) {
      if (isExplorerError(e) && e.code === 'ARCHIVE_INVALID' && e.details?.notTar === true) {
        throw new ExplorerError('SOURCE_UNRECOGNISED', `${file} is neither a tar archive nor a folder, so it is not an image. Give an OCI layout folder, an OCI archive (.tar, .tar.gz) or a docker save archive.`, { path: file }, { cause: e });
      }
      throw e;
    }
  }
  return { path: file, spec, isDir: st.isDirectory(), vfs, has: async (rel) => (await vfs.stat(rel)) !== undefined };
}

/** Runs `fn` on a freshly opened probe and closes the probe's files when `fn` fails. */
export async function withProbe<T>(file: string, spec: string, signal: AbortSignal, fn: (p: LocalProbe) => Promise<T>): Promise<T> {
  const probe = await openProbe(file, spec, signal);
  try {
    return await fn(probe);
  } catch (e) {
    await probe.vfs.close();
    throw e;
  }
}
