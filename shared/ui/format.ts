// Pure formatting for the UI (no DOM): sizes, modes, percentages, digests.

export { humanBytes } from '../util/bytes.js';

/** 32025 → "32,025" (grouping independent of the browser locale, so tests and screenshots agree). */
export function groupDigits(n: number): string {
  const s = String(Math.trunc(Math.abs(n)));
  return (n < 0 ? '-' : '') + s.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** 0.98442 → "98.44 %". */
export function percent(x: number, digits = 2): string {
  return `${(x * 100).toFixed(digits)} %`;
}

const TYPE_CHAR: Record<string, string> = { file: '-', dir: 'd', symlink: 'l', hardlink: '-', char: 'c', block: 'b', fifo: 'p' };

/** ls-style mode string, e.g. "drwxr-xr-x", "-rwsr-xr-x" (setuid), "drwxrwxrwt" (sticky). */
export function modeString(type: string, mode: number): string {
  const t = TYPE_CHAR[type] ?? '?';
  const bit = (m: number, c: string) => (mode & m ? c : '-');
  const special = (exec: number, flag: number, on: string, onNoExec: string) =>
    mode & flag ? (mode & exec ? on : onNoExec) : mode & exec ? 'x' : '-';
  return (
    t +
    bit(0o400, 'r') + bit(0o200, 'w') + special(0o100, 0o4000, 's', 'S') +
    bit(0o040, 'r') + bit(0o020, 'w') + special(0o010, 0o2000, 's', 'S') +
    bit(0o004, 'r') + bit(0o002, 'w') + special(0o001, 0o1000, 't', 'T')
  );
}

/** "sha256:abcdef…" → "sha256:abcdef012345" (algorithm + 12 hex). */
export function shortDigest(d: string | undefined, n = 12): string {
  if (!d) return '';
  const i = d.indexOf(':');
  return i < 0 ? d.slice(0, n) : d.slice(0, i + 1 + n);
}

export function platformString(p: { os: string; architecture: string; variant?: string } | undefined): string {
  if (!p) return '';
  return `${p.os}/${p.architecture}${p.variant ? '/' + p.variant : ''}`;
}

export function parentPath(p: string): string {
  if (p === '/' || !p.includes('/')) return '/';
  const i = p.lastIndexOf('/');
  return i <= 0 ? '/' : p.slice(0, i);
}

/** "/a/b/c" → ["/", "/a", "/a/b"] (the folders to expand to show c). */
export function ancestors(p: string): string[] {
  const out = ['/'];
  const parts = p.split('/').filter(Boolean);
  let cur = '';
  for (let i = 0; i < parts.length - 1; i++) {
    cur += '/' + parts[i];
    out.push(cur);
  }
  return out;
}
