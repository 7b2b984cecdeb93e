// Tar names arrive as `./a`, `a`, `/a`, `a/`: one normal form (no leading/trailing slash, no `.`)
// so the same file matches across layers. `..` never climbs: such names are refused (PATH_ESCAPE).

export type NormalResult = { path: string } | { escape: true };

export function normalizeEntryPath(raw: string): NormalResult {
  const out: string[] = [];
  for (const seg of raw.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') return { escape: true };
    out.push(seg);
  }
  return { path: out.join('/') };
}

export function dirname(p: string): string {
  const i = p.lastIndexOf('/');
  return i < 0 ? '' : p.slice(0, i);
}

export function basename(p: string): string {
  return p.slice(p.lastIndexOf('/') + 1);
}

export function join(dir: string, name: string): string {
  return dir ? `${dir}/${name}` : name;
}

/** Resolves a link target relative to the directory of `from`, clamped at the image root (as chroot does). */
export function resolveInRoot(fromDir: string, target: string): string {
  const parts = target.startsWith('/') ? [] : fromDir.split('/').filter(Boolean);
  for (const seg of target.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') parts.pop();
    else parts.push(seg);
  }
  return parts.join('/');
}
