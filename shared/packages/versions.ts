import type { Ecosystem } from './types.js';

// Version order per ecosystem, for "upgraded" vs "downgraded": dpkg's (deb-version(7)), rpm's
// rpmvercmp, and for the rest a segment comparison (numbers numerically, words lexically, a
// pre-release suffix before the release) that orders apk, PEP 440, semver and Go versions right
// in the common cases. Returns <0, 0, >0.

export function compareVersions(eco: Ecosystem, a: string, b: string): number {
  if (a === b) return 0;
  if (eco === 'dpkg') return dpkgCompare(a, b);
  if (eco === 'rpm') return rpmCompare(a, b);
  return genericCompare(a, b);
}

function splitEpoch(v: string): [number, string] {
  const i = v.indexOf(':');
  if (i > 0 && /^\d+$/.test(v.slice(0, i))) return [Number(v.slice(0, i)), v.slice(i + 1)];
  return [0, v];
}

/** dpkg: epoch, then upstream and revision with verrevcmp (~ before anything, letters before other characters). */
export function dpkgCompare(a: string, b: string): number {
  const [ea, ra] = splitEpoch(a);
  const [eb, rb] = splitEpoch(b);
  if (ea !== eb) return ea - eb;
  const cut = (v: string): [string, string] => {
    const i = v.lastIndexOf('-');
    return i < 0 ? [v, ''] : [v.slice(0, i), v.slice(i + 1)];
  };
  const [ua, va] = cut(ra);
  const [ub, vb] = cut(rb);
  return verrevcmp(ua, ub) || verrevcmp(va, vb);
}

function order(c: string | undefined): number {
  if (c === undefined) return 0;
  if (c === '~') return -1;
  if (/[0-9]/.test(c)) return 0;
  if (/[A-Za-z]/.test(c)) return c.charCodeAt(0);
  return c.charCodeAt(0) + 256;
}

function verrevcmp(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    let diff = 0;
    while ((i < a.length && !/[0-9]/.test(a[i]!)) || (j < b.length && !/[0-9]/.test(b[j]!))) {
      const ac = order(i < a.length && !/[0-9]/.test(a[i]!) ? a[i] : undefined);
      const bc = order(j < b.length && !/[0-9]/.test(b[j]!) ? b[j] : undefined);
      if (ac !== bc) return ac - bc;
      if (i < a.length && !/[0-9]/.test(a[i]!)) i++;
      if (j < b.length && !/[0-9]/.test(b[j]!)) j++;
    }
    while (a[i] === '0') i++;
    while (b[j] === '0') j++;
    while (i < a.length && /[0-9]/.test(a[i]!) && j < b.length && /[0-9]/.test(b[j]!)) {
      if (!diff) diff = a.charCodeAt(i) - b.charCodeAt(j);
      i++;
      j++;
    }
    if (i < a.length && /[0-9]/.test(a[i]!)) return 1;
    if (j < b.length && /[0-9]/.test(b[j]!)) return -1;
    if (diff) return diff;
  }
  return 0;
}

/** rpm: epoch, then version and release with rpmvercmp (alphanumeric segments; ~ before, ^ after the end). */
export function rpmCompare(a: string, b: string): number {
  const [ea, ra] = splitEpoch(a);
  const [eb, rb] = splitEpoch(b);
  if (ea !== eb) return ea - eb;
  const cut = (v: string): [string, string] => {
    const i = v.lastIndexOf('-');
    return i < 0 ? [v, ''] : [v.slice(0, i), v.slice(i + 1)];
  };
  const [va, la] = cut(ra);
  const [vb, lb] = cut(rb);
  return rpmvercmp(va, vb) || rpmvercmp(la, lb);
}

function rpmvercmp(a: string, b: string): number {
  if (a === b) return 0;
  let i = 0;
  let j = 0;
  const sep = /[^A-Za-z0-9~^]/;
  for (;;) {
    while (i < a.length && sep.test(a[i]!)) i++;
    while (j < b.length && sep.test(b[j]!)) j++;
    if (a[i] === '~' || b[j] === '~') {
      if (a[i] !== '~') return 1;
      if (b[j] !== '~') return -1;
      i++;
      j++;
      continue;
    }
    if (a[i] === '^' || b[j] === '^') {
      if (i >= a.length) return -1;
      if (j >= b.length) return 1;
      if (a[i] !== '^') return 1;
      if (b[j] !== '^') return -1;
      i++;
      j++;
      continue;
    }
    if (i >= a.length || j >= b.length) break;
    const numeric = /[0-9]/.test(a[i]!);
    const take = (s: string, k: number) => {
      const re = numeric ? /[0-9]/ : /[A-Za-z]/;
      let e = k;
      while (e < s.length && re.test(s[e]!)) e++;
      return e;
    };
    const ie = take(a, i);
    const je = take(b, j);
    if (je === j) return numeric ? 1 : -1; // segments of different kinds: numeric is newer
    let sa = a.slice(i, ie);
    let sb = b.slice(j, je);
    if (numeric) {
      sa = sa.replace(/^0+/, '');
      sb = sb.replace(/^0+/, '');
      if (sa.length !== sb.length) return sa.length - sb.length;
    }
    if (sa !== sb) return sa < sb ? -1 : 1;
    i = ie;
    j = je;
  }
  if (i >= a.length && j >= b.length) return 0;
  return i >= a.length ? -1 : 1;
}

const PRE = /^(a|alpha|b|beta|c|rc|pre|preview|dev)$/i;

function genericCompare(a: string, b: string): number {
  const seg = (v: string) => v.replace(/^v/, '').match(/\d+|[A-Za-z]+/g) ?? [];
  const sa = seg(a);
  const sb = seg(b);
  for (let k = 0; k < Math.max(sa.length, sb.length); k++) {
    const x = sa[k];
    const y = sb[k];
    if (x === y) continue;
    // One ran out: a following pre-release word makes the longer one older (1.0rc1 < 1.0).
    if (x === undefined) return PRE.test(y!) ? 1 : -1;
    if (y === undefined) return PRE.test(x) ? -1 : 1;
    const nx = /^\d/.test(x);
    const ny = /^\d/.test(y);
    if (nx && ny) {
      const d = Number(x) - Number(y);
      if (d) return d;
      continue;
    }
    if (nx !== ny) return nx ? 1 : -1;
    return x < y ? -1 : 1;
  }
  return a < b ? -1 : 1;
}
