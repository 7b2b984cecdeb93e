import { ExplorerError, toExplorerError, type Problem } from '../errors.js';
import type { ImageLayers } from '../layers/engine.js';
import type { OpenImage } from '../layers/open-image.js';
import { apk } from './apk.js';
import { LIMITS, basename, problem, type Cataloger } from './cataloger.js';
import { dpkg } from './dpkg.js';
import { measurePackages } from './files.js';
import { go } from './go.js';
import { ImageFs, ReadCache } from './image-fs.js';
import { npm } from './npm.js';
import { normalizePyName, python } from './python.js';
import { rpm } from './rpm.js';
import { compareVersions } from './versions.js';
import type { Ecosystem, LayerPackages, Package, PackageChange, PackageDelta, PackagesResult, ParseResult, RawPackage } from './types.js';

// packagesOf: the packages of an image (as of its last layer, or of `layer`) and, per layer, what its
// package databases added, removed and changed. A layer is rescanned only when its own tar touches a
// database (or could: whiteouts, symlinks, executables for Go); a database file is parsed once per
// content (layer diff_id + entry), so a file no later layer changed is never read again, and a
// ParseCache shared between images (compareImages) reads a base layer's databases once for both.

export const CATALOGERS: readonly Cataloger[] = [dpkg, apk, rpm, python, npm, go];

/** Basenames a layer may write a database under, also through a symlinked folder. */
const DB_NAMES = new Set(['status', 'installed', 'rpmdb.sqlite', 'rpmdb.sqlite-wal', 'Packages', 'Packages.db', 'METADATA', 'PKG-INFO', 'package.json']);
/** Files whose change alters a database's parse beside the database itself. */
const COMPANIONS: Partial<Record<Ecosystem, (path: string) => string[]>> = { rpm: (p) => [`${p}-wal`] };

export class ParseCache {
  readonly parses = new Map<string, ParseResult>();
  /** File lists and copyright files (read when files are counted), by content. */
  readonly reads = new ReadCache();
  /** Database files parsed (read) so far: a cache hit does not count. */
  parsed = 0;
}

export interface PackagesOptions {
  /** Scan the image as of this layer (default: the last). */
  layer?: number;
  signal?: AbortSignal;
  ecosystems?: readonly Ecosystem[];
  cache?: ParseCache;
}

export function packageKey(p: RawPackage): string {
  switch (p.ecosystem) {
    case 'python':
      return `python:${p.scope ?? ''}:${normalizePyName(p.name)}`;
    case 'npm':
      return `npm:${p.scope ?? p.location}`;
    case 'go':
      return `go:${p.scope ?? p.location}:${p.name}`;
    default:
      return `${p.ecosystem}:${p.name}:${p.arch ?? ''}`;
  }
}

export async function packagesOf(img: OpenImage, opts: PackagesOptions = {}): Promise<PackagesResult> {
  const signal = opts.signal ?? new AbortController().signal;
  await img.ready(signal);
  const layers = img.layers;
  if (layers.count === 0) return { packages: [], problems: [], perLayer: [] };
  const top = opts.layer ?? layers.count - 1;
  img.checkLayer(top);
  const cats = CATALOGERS.filter((c) => !opts.ecosystems || opts.ecosystems.includes(c.ecosystem));
  const cache = opts.cache ?? new ParseCache();
  const perLayer: LayerPackages[] = [];
  const changedAt = new Map<string, number>();
  let prev = new Map<string, RawPackage>();
  let problems: Problem[] = [];
  let lastFs: ImageFs | undefined;
  for (let l = 0; l <= top; l++) {
    if (signal.aborted) throw cancelled();
    if (l > 0 && !touches(layers, l, cats)) {
      perLayer.push({ layer: l, added: [], removed: [], changed: [] });
      continue;
    }
    const fs = new ImageFs(layers, l, signal, cache.reads);
    const snap = await snapshot(fs, layers, cats, cache, signal);
    const delta = diffSnapshots(prev, snap.packages);
    for (const p of [...delta.added, ...delta.changed.map((c) => c.after)]) changedAt.set(p.key, l);
    perLayer.push({ layer: l, ...delta });
    prev = snap.packages;
    problems = snap.problems;
    lastFs = fs;
  }
  // Files are counted in the tree at `top`: a later layer may change owned files without touching a database.
  const fs = lastFs?.upTo === top ? lastFs : new ImageFs(layers, top, signal, cache.reads);
  const raws = [...prev.values()];
  const m = await measurePackages(fs, raws, signal);
  const packages = raws.map((r, k) => {
    const p = toPackage(r, m.measured[k]!.files, m.measured[k]!.bytes);
    if (!p.license && m.measured[k]!.license) p.license = m.measured[k]!.license;
    const at = changedAt.get(p.key);
    if (at !== undefined) p.layer = at;
    return p;
  });
  // Per-layer entries share the final measurements when they describe the package as it ends up.
  const final = new Map(packages.map((p) => [p.key, p]));
  const fill = (p: Package) => {
    const f = final.get(p.key);
    if (f && f.version === p.version) Object.assign(p, { files: f.files, bytes: f.bytes, ...(f.license ? { license: f.license } : {}) });
  };
  for (const d of perLayer) for (const p of [...d.added, ...d.changed.map((c) => c.after)]) fill(p);
  packages.sort(byName);
  return { packages, problems: [...problems, ...m.problems], perLayer };
}

/** Does layer l's own tar touch a database of these catalogers (or might it: markers, symlinks, renamed parents)? */
function touches(layers: ImageLayers, l: number, cats: readonly Cataloger[]): boolean {
  const idx = layers.indexes[l];
  if (!idx) return false;
  const wantExec = cats.some((c) => c.ecosystem === 'go');
  for (let i = 0; i < idx.count; i++) {
    if (idx.isMarker(i)) return true;
    const t = idx.type(i);
    if (t === 'symlink') return true;
    if (t !== 'file' && t !== 'hardlink') continue;
    const path = idx.paths[i]!;
    if (DB_NAMES.has(basename(path)) || path.endsWith('.egg-info') || path.includes('/status.d/')) return true;
    if (wantExec && idx.cols.mode[i]! & 0o111) return true;
    const e = { type: t, size: idx.cols.size[i]!, mode: idx.cols.mode[i]! };
    if (cats.some((c) => c.match(path, e))) return true;
  }
  return false;
}

/** The packages of one tree: every database file found, parsed (or taken from the cache). */
async function snapshot(fs: ImageFs, layers: ImageLayers, cats: readonly Cataloger[], cache: ParseCache, signal: AbortSignal): Promise<{ packages: Map<string, RawPackage>; problems: Problem[] }> {
  const problems: Problem[] = [];
  const found: { cat: Cataloger; path: string; id: string }[] = [];
  const counts = new Map<Ecosystem, number>();
  const tree = fs.tree;
  for (const path of tree.paths()) {
    const loc = tree.locate(path);
    if (!loc) continue;
    const idx = layers.indexes[loc.layer]!;
    const e = { type: 'file' as const, size: idx.cols.size[loc.entry]!, mode: idx.cols.mode[loc.entry]! };
    for (const cat of cats) {
      if (!cat.match(path, e)) continue;
      const n = (counts.get(cat.ecosystem) ?? 0) + 1;
      counts.set(cat.ecosystem, n);
      const cap = cat.ecosystem === 'go' ? LIMITS.executables : LIMITS.dbFiles;
      if (n > cap) {
        if (n === cap + 1) problems.push(problem('PACKAGES_TRUNCATED', `More than ${cap} ${cat.ecosystem === 'go' ? 'executables' : `${cat.ecosystem} package records`} in the image; only the first ${cap} were read.`));
        continue;
      }
      const companions = (COMPANIONS[cat.ecosystem]?.(path) ?? []).map((c) => fs.contentId(c) ?? '-');
      found.push({ cat, path, id: `${cat.ecosystem}|${contentKey(layers, loc.layer, loc.entry)}|${path}|${companions.join(',')}` });
    }
  }
  // Walk order is unordered: sort so results (and duplicates kept first) are stable.
  found.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const results = await mapChunked(
    found,
    async (f) => {
      let r = cache.parses.get(f.id);
      if (!r) {
        try {
          r = await f.cat.parse(fs, f.path, signal);
        } catch (e) {
          const err = toExplorerError(e);
          if (err.code === 'CANCELLED' || signal.aborted) throw cancelled();
          r = { packages: [], problems: [problem('PACKAGE_DB_INVALID', `${f.path} could not be read (${err.message}); its packages are not listed.`, f.path)] };
        }
        cache.parses.set(f.id, r);
        cache.parsed++;
      }
      return r;
    },
  );
  const packages = new Map<string, RawPackage>();
  for (const r of results) {
    problems.push(...r.problems);
    for (const p of r.packages) {
      const key = packageKey(p);
      if (!packages.has(key)) packages.set(key, p);
    }
  }
  return { packages, problems };
}

/** A file's content identity that holds across images: its layer's diff_id (or digest) and entry index. */
function contentKey(layers: ImageLayers, layer: number, entry: number): string {
  const info = layers.layers[layer]!;
  return `${info.diffId ?? info.descriptor.digest}#${entry}`;
}

function toPackage(r: RawPackage, files = 0, bytes = 0): Package {
  const { files: _f, fileList: _l, folder: _d, binary: _b, scope: _s, copyright: _c, ...rest } = r;
  return { ...rest, key: packageKey(r), files, bytes };
}

/** What changed between two package sets (keyed): added, removed, and version changes with their direction. */
export function diffSnapshots(before: Map<string, RawPackage | Package>, after: Map<string, RawPackage | Package>): PackageDelta {
  const added: Package[] = [];
  const removed: Package[] = [];
  const changed: PackageChange[] = [];
  const pkg = (p: RawPackage | Package): Package => ('key' in p ? p : toPackage(p));
  for (const [k, a] of after) {
    const b = before.get(k);
    if (!b) added.push(pkg(a));
    else if (b.version !== a.version) {
      const c = compareVersions(a.ecosystem, b.version, a.version);
      changed.push({ before: pkg(b), after: pkg(a), direction: c < 0 ? 'upgrade' : c > 0 ? 'downgrade' : 'same' });
    }
  }
  for (const [k, b] of before) if (!after.has(k)) removed.push(pkg(b));
  added.sort(byName);
  removed.sort(byName);
  changed.sort((x, y) => byName(x.after, y.after));
  return { added, removed, changed };
}

/** Parses run this many at a time: their reads are served together, and their buffers stay bounded. */
const PARSE_CHUNK = 2048;

async function mapChunked<T, R>(items: T[], fn: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += PARSE_CHUNK) out.push(...(await Promise.all(items.slice(i, i + PARSE_CHUNK).map(fn))));
  return out;
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

function byName(a: Package, b: Package): number {
  return cmp(a.ecosystem, b.ecosystem) || cmp(a.name, b.name) || cmp(a.key, b.key);
}

function cancelled(): ExplorerError {
  return new ExplorerError('CANCELLED', 'The package scan was cancelled.');
}
