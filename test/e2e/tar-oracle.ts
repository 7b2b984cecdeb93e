import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

// Facts about a `docker save` archive read with GNU tar only (never with our core): each layer's
// entry names, and the merged path sets after whiteouts, so UI counts can be checked independently.

function tarOut(args: string[], input?: Buffer): Buffer {
  return execFileSync('tar', args, { maxBuffer: 1 << 30, ...(input ? { input } : {}) });
}

export interface SaveFacts {
  /** Per layer, entry paths as absolute paths ("/etc/passwd"), in tar order. */
  layers: string[][];
  /** Reads one file's bytes from layer i. */
  read(layer: number, path: string): Buffer;
}

export function dockerSaveFacts(archive: string): SaveFacts {
  const manifest = JSON.parse(tarOut(['-xOf', archive, 'manifest.json']).toString()) as { Layers: string[] }[];
  const layerPaths = manifest[0]!.Layers;
  const blobs = layerPaths.map((l) => tarOut(['-xOf', archive, l]));
  const layers = blobs.map((b) =>
    tarOut(['-t'], b)
      .toString()
      .split('\n')
      .filter(Boolean)
      .map((p) => '/' + p.replace(/^\.\//, '').replace(/\/$/, ''))
      .filter((p) => p !== '/' && p !== '/.'),
  );
  return { layers, read: (i, p) => tarOut(['-xO', p.replace(/^\//, '')], blobs[i]) };
}

const parent = (p: string) => p.slice(0, p.lastIndexOf('/')) || '/';
const base = (p: string) => p.slice(p.lastIndexOf('/') + 1);

/** Paths in the merged filesystem after layers 0..upTo (OCI whiteouts: `.wh.NAME`, `.wh..wh..opq`). */
export function mergedPaths(layers: string[][], upTo: number): Set<string> {
  const s = new Set<string>();
  const dropUnder = (p: string, self: boolean) => {
    for (const x of [...s]) if ((self && x === p) || x.startsWith(p === '/' ? '/' : p + '/')) s.delete(x);
  };
  for (let i = 0; i <= upTo; i++) {
    const entries = layers[i]!;
    for (const p of entries) if (base(p) === '.wh..wh..opq') dropUnder(parent(p), false);
    for (const p of entries) {
      const b = base(p);
      if (b.startsWith('.wh.') && b !== '.wh..wh..opq') dropUnder((parent(p) === '/' ? '' : parent(p)) + '/' + b.slice(4), true);
    }
    for (const p of entries) {
      if (base(p).startsWith('.wh.')) continue;
      for (let a = parent(p); a !== '/'; a = parent(a)) s.add(a);
      s.add(p);
    }
  }
  return s;
}

/** dive's counts between two merged trees: added = new paths, removed = paths gone. */
export function addedRemoved(before: Set<string>, after: Set<string>): { added: number; removed: number } {
  let added = 0;
  let removed = 0;
  for (const p of after) if (!before.has(p)) added++;
  for (const p of before) if (!after.has(p)) removed++;
  return { added, removed };
}

// ---------------------------------------------------------------------------------------------------
// OCI layouts (gzip layers), read with GNU tar only: each entry's type, mode, owner, size and link, the
// merged tree after each layer, and dive's change kinds between two layers (content compared by hashing
// what GNU tar extracts).

export type TarType = 'file' | 'dir' | 'symlink' | 'hardlink' | 'char' | 'block' | 'fifo';

export interface TarEntryFacts {
  /** Absolute, normalised ("/etc/passwd"). */
  path: string;
  /** The member name as stored (for extracting it again). */
  member: string;
  type: TarType;
  /** Permission and special bits. */
  mode: number;
  uid: number;
  gid: number;
  size: number;
  /** Symlink target or hard link target (as stored). */
  link?: string;
}

const TYPE_OF: Record<string, TarType> = { '-': 'file', d: 'dir', l: 'symlink', h: 'hardlink', c: 'char', b: 'block', p: 'fifo' };

/** GNU tar's `--quoting-style=c` string body → the name's bytes as UTF-8 text. */
function unquoteC(s: string): string {
  const bytes: number[] = [];
  const simple: Record<string, number> = { n: 10, t: 9, r: 13, f: 12, v: 11, b: 8, a: 7, '\\': 92, '"': 34, '?': 63 };
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c !== '\\') {
      bytes.push(...Buffer.from(c, 'utf8'));
      continue;
    }
    const n = s[i + 1]!;
    if (/[0-7]/.test(n)) {
      const oct = /^[0-7]{1,3}/.exec(s.slice(i + 1))![0];
      bytes.push(parseInt(oct, 8));
      i += oct.length;
    } else {
      bytes.push(simple[n] ?? n.charCodeAt(0));
      i += 1;
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

/** ls-style permission letters (with s/S/t/T) → mode bits. */
function modeOf(perm: string): number {
  let m = 0;
  const bit = (i: number, v: number) => (perm[i] !== '-' ? v : 0);
  m |= bit(0, 0o400) | bit(1, 0o200) | bit(3, 0o040) | bit(4, 0o020) | bit(6, 0o004) | bit(7, 0o002);
  const x = (c: string, exec: number, special: number) => (c === 'x' ? exec : c === 's' || c === 't' ? exec | special : c === 'S' || c === 'T' ? special : 0);
  m |= x(perm[2]!, 0o100, 0o4000) | x(perm[5]!, 0o010, 0o2000) | x(perm[8]!, 0o001, 0o1000);
  return m;
}

const Q = '"((?:[^"\\\\]|\\\\.)*)"';
const LINE = new RegExp(`^(.)(\\S{9})\\s+(\\d+)/(\\d+)\\s+(\\d+|\\d+,\\s*\\d+)\\s+\\S+\\s+\\S+\\s+${Q}(?: (->|link to) ${Q})?$`);

/** `tar -tvz --numeric-owner --quoting-style=c` of one gzip layer, parsed. */
export function listGzipLayer(blob: string): TarEntryFacts[] {
  const out: TarEntryFacts[] = [];
  for (const line of tarOut(['-tvz', '--numeric-owner', '--quoting-style=c', '-f', blob]).toString('utf8').split('\n')) {
    if (!line) continue;
    const m = LINE.exec(line);
    if (!m) throw new Error(`unexpected tar -tv line: ${line}`);
    const member = unquoteC(m[6]!);
    const p = '/' + member.replace(/^\.\//, '').replace(/\/$/, '');
    if (p === '/' || p === '/.') continue;
    const e: TarEntryFacts = { path: p, member, type: TYPE_OF[m[1]!] ?? 'file', mode: modeOf(m[2]!), uid: Number(m[3]), gid: Number(m[4]), size: m[5]!.includes(',') ? 0 : Number(m[5]) };
    if (m[8] !== undefined) e.link = unquoteC(m[8]);
    out.push(e);
  }
  return out;
}

/** Layer blob files of the layout's only (or `manifestDigest`) image, in manifest order. */
export function layoutLayerBlobs(layout: string, manifestDigest?: string): string[] {
  const blob = (d: string) => path.join(layout, 'blobs', ...d.split(':'));
  const index = JSON.parse(readFileSync(path.join(layout, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
  const digest = manifestDigest ?? index.manifests[0]!.digest;
  const manifest = JSON.parse(readFileSync(blob(digest), 'utf8')) as { layers: { digest: string }[] };
  return manifest.layers.map((l) => blob(l.digest));
}

/** The merged tree after layers 0..upTo: path → the entry that provides it (whiteouts applied as layer.md says). */
export function mergedEntries(layers: TarEntryFacts[][], upTo: number): Map<string, { entry: TarEntryFacts; layer: number }> {
  const s = new Map<string, { entry: TarEntryFacts; layer: number }>();
  const dropUnder = (p: string, self: boolean) => {
    for (const x of [...s.keys()]) if ((self && x === p) || x.startsWith(p === '/' ? '/' : p + '/')) s.delete(x);
  };
  for (let i = 0; i <= upTo; i++) {
    const entries = layers[i]!;
    for (const e of entries) if (base(e.path) === '.wh..wh..opq') dropUnder(parent(e.path), false);
    for (const e of entries) {
      const b = base(e.path);
      if (b.startsWith('.wh.') && b !== '.wh..wh..opq') dropUnder((parent(e.path) === '/' ? '' : parent(e.path)) + '/' + b.slice(4), true);
    }
    for (const e of entries) if (!base(e.path).startsWith('.wh.')) s.set(e.path, { entry: e, layer: i });
  }
  return s;
}

/**
 * dive's change kinds between merged(0..a) and merged(0..b): added and removed paths, and paths present in
 * both whose type, content (size or sha256 of the bytes GNU tar extracts), mode, uid, gid or link differ.
 * Parent folders that no layer lists are not entries of either tree here (umoci lists every folder).
 */
export function layoutChanges(blobs: string[], layers: TarEntryFacts[][], a: number, b: number): { added: Set<string>; modified: Set<string>; removed: Set<string> } {
  const before = mergedEntries(layers, a);
  const after = mergedEntries(layers, b);
  const added = new Set([...after.keys()].filter((p) => !before.has(p)));
  const removed = new Set([...before.keys()].filter((p) => !after.has(p)));
  const modified = new Set<string>();
  const sameContent: { p: string; x: { entry: TarEntryFacts; layer: number }; y: { entry: TarEntryFacts; layer: number } }[] = [];
  for (const [p, y] of after) {
    const x = before.get(p);
    if (!x || (x.layer === y.layer && x.entry === y.entry)) continue;
    const e = x.entry;
    const f = y.entry;
    const typeDiffers = e.type !== f.type;
    if (typeDiffers || e.mode !== f.mode || e.uid !== f.uid || e.gid !== f.gid || (e.type === f.type && (e.link ?? '') !== (f.link ?? ''))) modified.add(p);
    else if (e.type === 'file' && e.size !== f.size) modified.add(p);
    else if (e.type === 'file') sameContent.push({ p, x, y });
  }
  // Same size: compare the bytes, extracting each needed member once per layer.
  const need = new Map<number, Set<string>>();
  for (const { x, y } of sameContent) for (const v of [x, y]) (need.get(v.layer) ?? need.set(v.layer, new Set()).get(v.layer)!).add(v.entry.member);
  const hashes = new Map<string, string>();
  for (const [layer, members] of need) {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'oci-e2e-oracle-'));
    try {
      tarOut(['-xz', '-f', blobs[layer]!, '-C', dir, '--no-same-owner', '--no-same-permissions', ...members]);
      for (const m of members) hashes.set(`${layer}|${m}`, createHash('sha256').update(readFileSync(path.join(dir, m))).digest('hex'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  for (const { p, x, y } of sameContent) if (hashes.get(`${x.layer}|${x.entry.member}`) !== hashes.get(`${y.layer}|${y.entry.member}`)) modified.add(p);
  return { added, modified, removed };
}
