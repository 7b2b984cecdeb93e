// SIZE arguments and figures for the cache: `--cache-max 2G`, OCI_EXPLORER_CACHE_MAX=500MiB.
// K, M, G, T alone or with "iB" are powers of 1024 (as du, docker -m and the "5 GiB" default);
// with "B" alone (KB, MB…) powers of 1000, as disks are sold. A bare number is bytes.

const UNITS: Record<string, number> = { '': 1, b: 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40, p: 2 ** 50 };

/** Bytes of a SIZE ("1048576", "1M", "1.5GiB", "500 kB"); undefined when it is not one. */
export function parseSize(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgtp]?)(i?b?)\s*$/i.exec(text);
  if (!m) return undefined;
  const unit = m[2]!.toLowerCase();
  const suffix = m[3]!.toLowerCase();
  if (suffix === 'i' || (!unit && suffix.startsWith('i'))) return undefined;
  const base = suffix === 'b' && unit ? 1000 ** ' kmgtp'.indexOf(unit) : UNITS[unit]!;
  const n = Math.floor(Number(m[1]) * base);
  return Number.isSafeInteger(n) ? n : undefined;
}

const BIN = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

/** 1572864 → "1.5 MiB" (binary units, matching how SIZE arguments are read). */
export function formatSize(n: number): string {
  let v = Math.max(0, n);
  let u = 0;
  while (v >= 1024 && u < BIN.length - 1) {
    v /= 1024;
    u++;
  }
  const s = u === 0 ? String(v) : v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2);
  return `${s} ${BIN[u]}`;
}
