import os from 'node:os';
import path from 'node:path';

// Where the cache and its key live, by platform convention. The key sits in the config folder, never in
// the cache folder: whoever can plant files in the cache (a shared OCI_EXPLORER_CACHE, a CI cache restored
// from an untrusted build) must not also hold the key that makes them believed (see docs/cache.md).

type Env = Record<string, string | undefined>;

/** The cache folder per platform conventions; OCI_EXPLORER_CACHE overrides (tests, portable installs). */
export function defaultCacheDir(env: Env = process.env): string {
  if (env.OCI_EXPLORER_CACHE) return env.OCI_EXPLORER_CACHE;
  if (process.platform === 'darwin') return path.join(os.homedir(), 'Library', 'Caches', 'oci-explorer');
  if (process.platform === 'win32') return path.join(env.LOCALAPPDATA ?? path.join(os.homedir(), 'AppData', 'Local'), 'oci-explorer', 'Cache');
  return path.join(env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'oci-explorer');
}

/** The config folder (as the CLI's recent/settings files use; same rules as cli/commands/serve.ts configDir). */
export function defaultConfigDir(env: Env = process.env): string {
  if (process.platform === 'win32') return path.join(env.APPDATA ?? path.join(os.homedir(), 'AppData', 'Roaming'), 'OCI Explorer');
  if (process.platform === 'darwin') return path.join(os.homedir(), 'Library', 'Application Support', 'OCI Explorer');
  return path.join(env.XDG_CONFIG_HOME || path.join(os.homedir(), '.config'), 'oci-explorer');
}

/** The per-user key that authenticates cache files: `<config dir>/cache.key`. */
export function defaultKeyFile(env: Env = process.env): string {
  return path.join(defaultConfigDir(env), 'cache.key');
}

/** True when `p` is `dir` or below it (both absolute). */
export function isInside(dir: string, p: string): boolean {
  const rel = path.relative(dir, p);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}
