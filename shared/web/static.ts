import { promises as fsp } from 'node:fs';
import path from 'node:path';

// Resolving a URL path to a file of the built renderer, for both shells (web server, Electron app://).
// Containment is checked twice: on the normalised path, and on the real path after symlinks.

export type Resolved = { ok: true; file: string } | { ok: false; status: 400 | 403 | 404 };

export async function resolveStatic(root: string, urlPath: string): Promise<Resolved> {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return { ok: false, status: 400 };
  }
  if (decoded.includes('\0') || decoded.includes('\\')) return { ok: false, status: 400 };
  // Refuse any dot-dot segment outright instead of normalising it away: a request that tries is hostile.
  if (decoded.split('/').some((s) => s === '..')) return { ok: false, status: 403 };
  const rel = decoded === '/' || decoded === '' ? 'index.html' : decoded.replace(/^\/+/, '');
  const rootAbs = path.resolve(root);
  const file = path.resolve(rootAbs, rel);
  if (file !== rootAbs && !file.startsWith(rootAbs + path.sep)) return { ok: false, status: 403 };
  try {
    const [real, realRoot] = await Promise.all([fsp.realpath(file), fsp.realpath(rootAbs)]);
    if (!real.startsWith(realRoot + path.sep)) return { ok: false, status: 403 };
    const st = await fsp.stat(real);
    if (!st.isFile()) return { ok: false, status: 404 };
    return { ok: true, file: real };
  } catch {
    return { ok: false, status: 404 };
  }
}
