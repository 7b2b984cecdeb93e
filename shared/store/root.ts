import { promises as fsp } from 'node:fs';
import { DIR_MODE, ownedByUs } from './fsafe.js';
import { loadOrCreateKey } from './key.js';
import { isInside } from './paths.js';
import { parseSize } from './size.js';

// The cache root before anything is read from it or written to it: a folder of ours, 0700, with its key
// outside it; and the cap in force for it.

export const DEFAULT_MAX_BYTES = 5 * 2 ** 30;

export interface CacheLimit {
  bytes: number;
  source: 'env' | 'setting' | 'default';
  /** OCI_EXPLORER_CACHE_MAX that is not a size (ignored). */
  problem?: string;
}

/** Creates or checks the root (ours, 0700) and returns the key; throws a sentence saying why the cache is off. */
export async function openRoot(root: string, keyFile: string): Promise<Buffer> {
  await fsp.mkdir(root, { recursive: true, mode: DIR_MODE });
  const st = await fsp.stat(root);
  if (!st.isDirectory()) throw new Error(`${root} is not a folder`);
  if (!ownedByUs(st)) throw new Error(`${root} belongs to another user`);
  if (process.platform !== 'win32' && (st.mode & 0o077) !== 0) await fsp.chmod(root, DIR_MODE);
  const real = await fsp.realpath(root);
  if (isInside(real, keyFile) || isInside(root, keyFile)) throw new Error(`its key ${keyFile} would sit inside the cache folder`);
  return loadOrCreateKey(keyFile);
}

/** OCI_EXPLORER_CACHE_MAX (what --cache-max sets), else the setting, else the smaller of 5 GiB and 10 % of the disk. */
export async function capOf(root: string, env: Record<string, string | undefined>, settingMax: number): Promise<CacheLimit> {
  const text = env.OCI_EXPLORER_CACHE_MAX;
  let problem: string | undefined;
  if (text !== undefined && text !== '') {
    const n = parseSize(text);
    if (n !== undefined) return { bytes: n, source: 'env' };
    problem = `OCI_EXPLORER_CACHE_MAX="${text}" is not a size (e.g. 2G, 500MiB); it is ignored.`;
  }
  const withProblem = (l: CacheLimit): CacheLimit => (problem ? { ...l, problem } : l);
  if (settingMax > 0) return withProblem({ bytes: settingMax, source: 'setting' });
  let bytes = DEFAULT_MAX_BYTES;
  try {
    const s = await fsp.statfs(root);
    bytes = Math.min(bytes, Math.floor((s.blocks * s.bsize) / 10));
  } catch {
    // no statfs here: the fixed default
  }
  return withProblem({ bytes, source: 'default' });
}
