import { randomUUID } from 'node:crypto';
import { constants as fsConstants, createWriteStream, promises as fsp } from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { ExplorerError, type Problem } from '../errors.js';
import { markVerified } from '../graph/build.js';
import { mapHistoryToLayers } from '../graph/history.js';
import type { VerifyState } from '../graph/types.js';
import type { ImageConfig } from '../oci/types.js';
import type { ImageSource } from '../sources/types.js';
import { MAX_CONFIG_BYTES, readVerified } from '../sources/verify.js';
import { diffTrees, comparePaths, type DiffEntry } from '../layers/diff.js';
import { ImageLayers, type LayerEngineOptions } from '../layers/engine.js';
import { MergedTree, type MergedEntry } from '../layers/merge.js';
import { removeExtracted } from '../layers/extract.js';
import type {
  ChangeAspect,
  ChangeKind,
  ChangesPage,
  DirPage,
  FileView,
  LayerRange,
  LayerSummary,
  SearchQuery,
  TreeEntry,
  TreeFilter,
  TreeSort,
  TreeView,
} from './contract.js';
import type { EngineImage, LayerEngine, ProgressSink } from './core.js';

// The contract's tree/diff/file methods over the layer engine (shared/layers). Paths in the contract are
// absolute ("/etc/passwd", root "/"); the engine's have no leading slash (root ""). Views are built once
// per image and kept (a few per image), so paging a 100k-entry directory does not rebuild anything.

const VIEW_CACHE = 8;
const FILTER_CACHE = 8;
const DIFF_CACHE = 8;

/** A tree the list/search/stat calls read: merged (from a MergedTree) or a diff (with change marks). */
interface ViewTree {
  has(p: string): boolean;
  entry(p: string): TreeEntry | undefined;
  children(dir: string): string[];
  /** Every path, depth first, in comparePaths order. */
  walk(): Iterable<string>;
  /** Bytes of files below each directory, computed once. */
  totals(): Map<string, number>;
}

const join = (dir: string, name: string) => (dir ? `${dir}/${name}` : name);
const parentOf = (p: string) => {
  const i = p.lastIndexOf('/');
  return i < 0 ? '' : p.slice(0, i);
};

/** Contract path → engine path; refuses "..". */
export function toEnginePath(p: string): string {
  const parts: string[] = [];
  for (const seg of p.split('/')) {
    if (!seg || seg === '.') continue;
    if (seg === '..') throw new ExplorerError('PATH_ESCAPE', `${p} climbs out of the image root with "..": give a path inside the image.`, { path: p });
    parts.push(seg);
  }
  return parts.join('/');
}
const toApiPath = (p: string) => '/' + p;

function fromMerged(e: MergedEntry, extra: Partial<TreeEntry> = {}): TreeEntry {
  const out: TreeEntry = { path: toApiPath(e.path), name: e.name, type: e.type, size: e.type === 'dir' ? 0 : e.size, mode: e.mode & 0o7777, uid: e.uid, gid: e.gid, layer: e.layer };
  if (e.mtime) out.mtime = e.mtime;
  if (e.linkname !== undefined) out.linkname = e.linkname;
  if (e.children !== undefined) out.childCount = e.children;
  return Object.assign(out, extra);
}

function computeTotals(walk: Iterable<string>, sizeOf: (p: string) => number): Map<string, number> {
  const totals = new Map<string, number>();
  for (const p of walk) {
    const s = sizeOf(p);
    if (!s) continue;
    for (let d = parentOf(p); ; d = parentOf(d)) {
      totals.set(d, (totals.get(d) ?? 0) + s);
      if (d === '') break;
    }
  }
  return totals;
}

function mergedView(tree: MergedTree): ViewTree {
  let totals: Map<string, number> | undefined;
  return {
    has: (p) => tree.has(p),
    entry: (p) => {
      const e = p === '' ? undefined : tree.get(p);
      if (p === '') return { path: '/', name: '/', type: 'dir', size: 0, mode: 0o755, uid: 0, gid: 0, layer: 0, childCount: tree.childNames('').length };
      return e && fromMerged(e);
    },
    children: (dir) => tree.childNames(dir),
    walk: () => tree.walk(),
    totals: () =>
      (totals ??= computeTotals(tree.walk(), (p) => {
        const e = tree.get(p);
        if (!e || e.type === 'dir') return 0;
        // A hard link shares its target's bytes: count them once, where the target is (as du does).
        if (e.type === 'hardlink') {
          const target = tree.linkTarget(p);
          if (target !== undefined && tree.has(target)) return 0;
        }
        return e.size;
      })),
  };
}

const ASPECT: Record<string, ChangeAspect> = { linkname: 'link', type: 'type', content: 'content', mode: 'mode', uid: 'uid', gid: 'gid', xattrs: 'xattrs' };

function fromDiff(d: DiffEntry): TreeEntry {
  const base = (d.after ?? d.before)!;
  const extra: Partial<TreeEntry> = { change: d.status, sizeDelta: d.sizeDelta };
  if (d.status === 'removed' && d.removedBy !== undefined) extra.layer = d.removedBy;
  if (d.changes?.length) extra.changed = d.changes.map((c) => ASPECT[c] ?? 'content');
  return fromMerged(base, extra);
}

/** A diff as a tree: the union of both sides, each path marked; `onlyChanges` keeps changed paths and their parents. */
function diffView(entries: DiffEntry[], onlyChanges: boolean): ViewTree {
  const byPath = new Map<string, TreeEntry>();
  const kids = new Map<string, Set<string>>([['', new Set()]]);
  const add = (p: string, e: TreeEntry) => {
    byPath.set(p, e);
    for (let c = p, d = parentOf(p); ; c = d, d = parentOf(d)) {
      let set = kids.get(d);
      if (!set) kids.set(d, (set = new Set()));
      if (set.has(c.slice(d ? d.length + 1 : 0))) break;
      set.add(c.slice(d ? d.length + 1 : 0));
      if (d === '') break;
    }
  };
  const all = new Map(entries.map((d) => [d.path, d]));
  for (const d of entries) {
    if (onlyChanges && d.status === 'unchanged') continue;
    add(d.path, fromDiff(d));
    if (onlyChanges) {
      // Parents that did not change themselves are shown as context.
      for (let p = parentOf(d.path); p !== '' && !byPath.has(p); p = parentOf(p)) {
        const parent = all.get(p);
        byPath.set(p, parent ? fromDiff(parent) : { path: toApiPath(p), name: p.slice(p.lastIndexOf('/') + 1), type: 'dir', size: 0, mode: 0o755, uid: 0, gid: 0, layer: 0, change: 'unchanged' });
      }
    }
  }
  const sorted = new Map<string, string[]>();
  const children = (dir: string) => {
    let s = sorted.get(dir);
    if (!s) sorted.set(dir, (s = [...(kids.get(dir) ?? [])].sort()));
    return s;
  };
  function* walk(dir = ''): IterableIterator<string> {
    for (const n of children(dir)) {
      const p = join(dir, n);
      yield p;
      if (kids.has(p)) yield* walk(p);
    }
  }
  let totals: Map<string, number> | undefined;
  return {
    has: (p) => p === '' || byPath.has(p),
    entry: (p) => {
      if (p === '') return { path: '/', name: '/', type: 'dir', size: 0, mode: 0o755, uid: 0, gid: 0, layer: 0, childCount: children('').length };
      const e = byPath.get(p);
      return e && (e.type === 'dir' ? { ...e, childCount: children(p).length } : e);
    },
    children,
    walk: () => walk(),
    totals: () =>
      (totals ??= computeTotals(walk(), (p) => {
        const e = byPath.get(p);
        // Hard links carry no data of their own in a changeset; their target's bytes are counted there.
        return e && e.type !== 'dir' && e.type !== 'hardlink' && e.change !== 'removed' ? e.size : 0;
      })),
  };
}

/** Compiles a search into a predicate over engine paths. */
export function searchMatcher(q: SearchQuery): (p: string) => boolean {
  const flags = q.caseSensitive ? '' : 'i';
  if (q.mode === 'substring') {
    const needle = q.caseSensitive ? q.pattern : q.pattern.toLowerCase();
    return (p) => (q.caseSensitive ? '/' + p : ('/' + p).toLowerCase()).includes(needle);
  }
  let re: RegExp;
  if (q.mode === 'regex') {
    try {
      re = new RegExp(q.pattern, flags);
    } catch (e) {
      throw new ExplorerError('INVALID_ARGUMENT', `The search is not a valid regular expression: ${(e as Error).message}.`);
    }
    return (p) => re.test('/' + p);
  }
  // glob: `**` any depth, `*` within a segment, `?` one character; no "/" in the pattern → match the name.
  const onName = !q.pattern.includes('/');
  let src = '';
  for (let i = 0; i < q.pattern.length; i++) {
    const c = q.pattern[i]!;
    if (c === '*' && q.pattern[i + 1] === '*') {
      src += '.*';
      i++;
    } else if (c === '*') src += '[^/]*';
    else if (c === '?') src += '[^/]';
    else src += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  re = new RegExp(`^${onName ? src : src.startsWith('/') ? src : '/' + src}$`, flags);
  return (p) => re.test(onName ? p.slice(p.lastIndexOf('/') + 1) : '/' + p);
}

interface ImageState {
  layers: ImageLayers;
  views: Map<string, ViewTree>;
  filters: Map<string, { included: Set<string>; hits: number }>;
  diffs: Map<string, ReturnType<typeof diffTrees>>;
}

export interface ApiLayerEngineOptions extends LayerEngineOptions {
  /** Least time between two extract-progress reports (ms; the final one is always sent). Default 100. */
  extractProgressMs?: number;
}

type ExtractProgress = Parameters<NonNullable<ProgressSink['extractProgress']>>[0];

/**
 * Rate-limits progress reports: at most one every `ms` (the first at once; those in between are
 * dropped), and `final` always sent (unless it repeats the last one sent).
 */
export function throttleProgress<P>(send: (p: P) => void, ms: number, now: () => number = Date.now): { push(p: P): void; final(p: P): void } {
  let last = -Infinity;
  let sent: string | undefined;
  const emit = (p: P) => {
    sent = JSON.stringify(p);
    send(p);
  };
  return {
    push(p) {
      const t = now();
      if (t - last < ms) return;
      last = t;
      emit(p);
    },
    final(p) {
      if (JSON.stringify(p) !== sent) emit(p);
    },
  };
}

export function createLayerEngine(apiOpts: ApiLayerEngineOptions = {}): LayerEngine {
  const { extractProgressMs = 100, ...opts } = apiOpts;
  const images = new WeakMap<ImageSource, Map<string, Promise<ImageState>>>();

  async function state(img: EngineImage, signal?: AbortSignal): Promise<ImageState> {
    let perSource = images.get(img.source);
    if (!perSource) images.set(img.source, (perSource = new Map()));
    let p = perSource.get(img.image.manifest);
    if (!p) {
      p = ImageLayers.open(img.source, img.image, { ...opts, ...(signal ? { signal } : {}) }).then((layers) => ({ layers, views: new Map(), filters: new Map(), diffs: new Map() }));
      perSource.set(img.image.manifest, p);
      p.catch(() => perSource.delete(img.image.manifest));
    }
    return p;
  }

  /** State of an image that has been indexed (selectImage did it); indexes now if not. */
  async function ready(img: EngineImage, signal: AbortSignal): Promise<ImageState> {
    const s = await state(img, signal);
    if (s.layers.indexes.some((x, i) => !x && s.layers.layers[i]!.state !== 'failed')) await s.layers.index({ signal });
    return s;
  }

  const stackTree = (s: ImageState, from: number, to: number): MergedTree => {
    if (to < from) return new MergedTree(s.layers.indexes, []);
    return from === 0 ? s.layers.mergedTree(to) : s.layers.mergedTree(to, from);
  };

  function checkLayer(s: ImageState, i: number, what = 'layer'): void {
    if (i < 0 || i >= s.layers.count) throw new ExplorerError('INVALID_ARGUMENT', `This image has ${s.layers.count} layers (0–${s.layers.count - 1}); ${what} ${i} does not exist.`);
  }

  /** diffTrees of two stacks, kept per image (LRU): switching back to a layer does not diff again. */
  function diffOf(s: ImageState, bottom: LayerRange | null, top: LayerRange, includeUnchanged: boolean): ReturnType<typeof diffTrees> {
    const key = JSON.stringify([bottom, top, includeUnchanged]);
    let d = s.diffs.get(key);
    if (d) s.diffs.delete(key);
    else {
      d = computeDiff(s, bottom, top, includeUnchanged);
      if (s.diffs.size >= DIFF_CACHE) s.diffs.delete(s.diffs.keys().next().value!);
    }
    s.diffs.set(key, d);
    return d;
  }

  function computeDiff(s: ImageState, bottom: LayerRange | null, top: LayerRange, includeUnchanged: boolean) {
    if (bottom) {
      checkLayer(s, bottom.start);
      checkLayer(s, bottom.end);
    }
    checkLayer(s, top.start);
    checkLayer(s, top.end);
    const lower = bottom ? stackTree(s, bottom.start, bottom.end) : new MergedTree(s.layers.indexes, []);
    // Contiguous stacks (the usual case: this layer, aggregated, a vs b) reuse the engine's cached trees.
    const from = bottom ? bottom.start : top.start;
    const contiguous = !bottom || bottom.end + 1 === top.start;
    const upper = contiguous ? stackTree(s, from, top.end) : new MergedTree(s.layers.indexes, [...(bottom ? range(bottom.start, bottom.end) : []), ...range(top.start, top.end)]);
    return diffTrees(lower, upper, { includeUnchanged });
  }

  function view(s: ImageState, v: TreeView): ViewTree {
    const key = JSON.stringify(v);
    let t = s.views.get(key);
    if (t) {
      s.views.delete(key);
      s.views.set(key, t);
      return t;
    }
    if (v.kind === 'merged') {
      const upTo = v.upTo ?? s.layers.count - 1;
      checkLayer(s, upTo);
      t = mergedView(s.layers.mergedTree(upTo));
    } else if (v.kind === 'layer') {
      checkLayer(s, v.layer);
      const bottom = v.layer > 0 ? { start: 0, end: v.layer - 1 } : null;
      t = diffView(diffOf(s, bottom, { start: v.layer, end: v.layer }, true).entries, true);
    } else {
      t = diffView(diffOf(s, v.bottom, v.top, true).entries, false);
    }
    s.views.set(key, t);
    if (s.views.size > VIEW_CACHE) s.views.delete(s.views.keys().next().value!);
    return t;
  }

  /** Paths kept by a filter (matches and their parents) and the hit count. */
  function filtered(s: ImageState, v: TreeView, t: ViewTree, f: TreeFilter): { included: Set<string>; hits: number } {
    const key = JSON.stringify([v, f]);
    const cached = s.filters.get(key);
    if (cached) return cached;
    const match = f.search ? searchMatcher(f.search) : () => true;
    const kinds = f.changes?.length ? new Set<ChangeKind>(f.changes) : undefined;
    const included = new Set<string>(['']);
    let hits = 0;
    for (const p of t.walk()) {
      const e = t.entry(p)!;
      if (kinds && !kinds.has(e.change ?? 'unchanged')) continue;
      if (!match(p)) continue;
      if (f.search) hits++;
      for (let q = p; !included.has(q); q = parentOf(q)) included.add(q);
    }
    const r = { included, hits };
    s.filters.set(key, r);
    if (s.filters.size > FILTER_CACHE) s.filters.delete(s.filters.keys().next().value!);
    return r;
  }

  const sortedCache = new WeakMap<ViewTree, Map<string, string[]>>();
  function sortNames(t: ViewTree, dir: string, names: string[], sort: TreeSort | undefined, filterKey: string): string[] {
    if (!sort || (sort.by === 'name' && sort.order === 'asc')) return names;
    let perView = sortedCache.get(t);
    if (!perView) sortedCache.set(t, (perView = new Map()));
    const key = JSON.stringify([dir, sort, filterKey]);
    const hit = perView.get(key);
    if (hit) return hit;
    let out: string[];
    if (sort.by === 'name') out = [...names].reverse();
    else {
      // Sizes looked up once per name (not per comparison): sorting 100k children stays cheap.
      const totals = t.totals();
      const sizes = names.map((n) => {
        const p = join(dir, n);
        const e = t.entry(p);
        return e?.type === 'dir' ? (totals.get(p) ?? 0) : (e?.size ?? 0);
      });
      const sign = sort.order === 'asc' ? 1 : -1;
      const order = names.map((_, i) => i).sort((a, b) => sign * (sizes[a]! - sizes[b]!) || a - b);
      out = order.map((i) => names[i]!);
    }
    perView.set(key, out);
    if (perView.size > FILTER_CACHE) perView.delete(perView.keys().next().value!);
    return out;
  }

  function withTotals(t: ViewTree, e: TreeEntry): TreeEntry {
    if (e.type !== 'dir') return e;
    return { ...e, totalSize: t.totals().get(toEnginePath(e.path)) ?? 0 };
  }

  /** One page of a directory's children in a view, after filter and sort (listDir and listDirs). */
  function dirPage(s: ImageState, t: ViewTree, a: { view: TreeView; limit?: number; sort?: TreeSort; filter?: TreeFilter }, path: string, offset: number): DirPage {
    const dir = toEnginePath(path);
    const self = t.entry(dir);
    if (!t.has(dir) || !self) throw new ExplorerError('PATH_NOT_FOUND', `${path} is not in this view of the image.`, { path });
    if (self.type !== 'dir') throw new ExplorerError('INVALID_ARGUMENT', `${path} is a ${self.type}, not a directory.`, { path });
    const f = a.filter && (a.filter.search || a.filter.changes?.length) ? filtered(s, a.view, t, a.filter) : undefined;
    let names = t.children(dir);
    if (f) names = names.filter((n) => f.included.has(join(dir, n)));
    names = sortNames(t, dir, names, a.sort, f ? JSON.stringify(a.filter) : '');
    const page = names.slice(offset, offset + (a.limit ?? 1000));
    const match = a.filter?.search ? searchMatcher(a.filter.search) : undefined;
    const entries = page.map((n) => {
      const p = join(dir, n);
      let e = withTotals(t, t.entry(p)!);
      if (f && e.type === 'dir') e = { ...e, childCount: t.children(p).filter((c) => f.included.has(join(p, c))).length };
      if (match) e = { ...e, match: match(p) };
      return e;
    });
    const out: DirPage = { path: toApiPath(dir), total: names.length, offset, entries };
    if (f && a.filter?.search) out.searchHits = f.hits;
    return out;
  }

  function fileLayer(s: ImageState, v: FileView | undefined): number | undefined {
    if (!v) return undefined;
    const l = v.kind === 'layer' ? v.layer : v.upTo;
    if (l !== undefined) checkLayer(s, l);
    return l;
  }

  return {
    async summarize(img, { signal, progress }) {
      const s = await state(img, signal);
      await s.layers.index({
        signal,
        onProgress: (p) => progress.indexProgress?.({ layer: p.layer, digest: p.layerDigest, bytesDone: p.bytesDone, bytesTotal: p.bytesTotal, entries: p.entries, done: !!p.done }),
      });
      const configNode = img.graph.nodes.find((n) => n.digest === img.image.config);
      let history: ReturnType<typeof mapHistoryToLayers> = [];
      if (configNode) {
        try {
          const cfg = JSON.parse((await readVerified(img.source, { mediaType: configNode.mediaType, digest: configNode.digest, size: configNode.size }, MAX_CONFIG_BYTES, signal)).toString('utf8')) as ImageConfig;
          history = mapHistoryToLayers(cfg, s.layers.count);
        } catch {
          // the graph already carries the config's problem
        }
      }
      const layers: LayerSummary[] = s.layers.layers.map((info) => {
        const idx = s.layers.indexes[info.index];
        const verify: VerifyState = info.state === 'ready' ? 'verified' : info.state === 'failed' ? (info.problems.some((p) => p.code === 'BLOB_MISSING') ? 'missing' : 'failed') : 'pending';
        markVerified(img.graph, info.descriptor.digest, verify, info.problems[0] as Problem | undefined);
        const out: LayerSummary = { index: info.index, digest: info.descriptor.digest, mediaType: info.descriptor.mediaType, compressedSize: info.descriptor.size, verify, problems: info.problems };
        if (info.diffId) out.diffId = info.diffId;
        if (idx) {
          // A layer that failed part-way has no true uncompressed size: leave it out rather than show a partial one.
          if (idx.meta.complete) out.uncompressedSize = idx.meta.uncompressedSize;
          out.fileCount = info.entries;
          const d = diffOf(s, info.index > 0 ? { start: 0, end: info.index - 1 } : null, { start: info.index, end: info.index }, false).summary;
          out.added = d.added;
          out.modified = d.modified;
          out.removed = d.removed;
        }
        const h = history.find((x) => x.layerIndex === info.index)?.history;
        if (h?.created_by) out.command = h.created_by;
        if (h?.created) out.created = h.created;
        if (h?.comment) out.comment = h.comment;
        return out;
      });
      const all = layers.every((l) => l.uncompressedSize !== undefined);
      const summary = {
        config: img.image.config,
        names: img.image.names,
        layers,
        history: history.map((h) => {
          const step: { createdBy?: string; created?: string; author?: string; comment?: string; emptyLayer: boolean; layerIndex?: number } = { emptyLayer: h.history.empty_layer === true };
          if (h.history.created_by) step.createdBy = h.history.created_by;
          if (h.history.created) step.created = h.history.created;
          if (h.history.author) step.author = h.history.author;
          if (h.history.comment) step.comment = h.history.comment;
          if (h.layerIndex !== undefined) step.layerIndex = h.layerIndex;
          return step;
        }),
        compressedSize: layers.reduce((a, l) => a + l.compressedSize, 0),
        problems: s.layers.count ? s.layers.mergedTree().problems : [],
        ...(all ? { uncompressedSize: layers.reduce((a, l) => a + (l.uncompressedSize ?? 0), 0) } : {}),
        ...(all && s.layers.count ? { fileCount: s.layers.mergedTree().size } : {}),
        ...(img.image.platform ? { platform: img.image.platform } : {}),
      };
      return summary;
    },

    async listDir(img, a, signal) {
      const s = await ready(img, signal);
      return dirPage(s, view(s, a.view), a, a.path, a.offset ?? 0);
    },

    async listDirs(img, a, signal) {
      const s = await ready(img, signal);
      const t = view(s, a.view);
      const pages: DirPage[] = [];
      const missing: string[] = [];
      for (const p of a.paths) {
        const dir = toEnginePath(p);
        // A folder expanded in another view may be absent (or a file) here: reported, not an error.
        if (!t.has(dir) || t.entry(dir)?.type !== 'dir') missing.push(p);
        else pages.push(dirPage(s, t, a, p, 0));
      }
      return { pages, missing };
    },

    async search(img, a, signal) {
      const s = await ready(img, signal);
      const t = view(s, a.view);
      const match = searchMatcher(a.query);
      const offset = a.offset ?? 0;
      const limit = a.limit ?? 1000;
      const hits: TreeEntry[] = [];
      let total = 0;
      for (const p of t.walk()) {
        if (!match(p)) continue;
        if (total >= offset && hits.length < limit) hits.push(withTotals(t, { ...t.entry(p)!, match: true }));
        total++;
      }
      return { total, offset, hits };
    },

    async diff(img, a, signal) {
      const s = await ready(img, signal);
      const d = diffOf(s, a.bottom, a.top, false).summary;
      return { added: d.added, modified: d.modified, removed: d.removed, unchanged: d.unchanged, addedBytes: d.addedBytes, removedBytes: d.removedBytes, modifiedBytesDelta: d.modifiedBytes };
    },

    async listChanges(img, a, signal) {
      const s = await ready(img, signal);
      const kinds = new Set<ChangeKind>(a.changes?.length ? a.changes : ['added', 'modified', 'removed']);
      const d = diffOf(s, a.bottom, a.top, kinds.has('unchanged'));
      let entries = d.entries.filter((e) => kinds.has(e.status)).map(fromDiff);
      if (a.sort && !(a.sort.by === 'name' && a.sort.order === 'asc')) {
        const sign = a.sort.order === 'asc' ? 1 : -1;
        entries = entries.sort((x, y) => (a.sort!.by === 'size' ? sign * (Math.abs(x.sizeDelta ?? 0) - Math.abs(y.sizeDelta ?? 0)) : 0) || sign * comparePaths(x.path, y.path));
      }
      const offset = a.offset ?? 0;
      const page: ChangesPage = { total: entries.length, offset, entries: entries.slice(offset, offset + (a.limit ?? 1000)) };
      return page;
    },

    async efficiency(img, a, signal) {
      const s = await ready(img, signal);
      const r = s.layers.efficiency();
      const top = r.inefficiencies.slice(0, a.top ?? 50);
      const norm = (p: string) => toEnginePath(p);
      const wanted = new Map(top.map((w) => [norm(w.path), [] as number[]]));
      s.layers.indexes.forEach((idx, li) => {
        if (!idx) return;
        for (let i = 0; i < idx.count; i++) {
          const list = wanted.get(idx.paths[i]!);
          if (list && list[list.length - 1] !== li) list.push(li);
        }
      });
      return {
        score: r.score,
        wastedBytes: r.wastedBytes,
        reclaimableBytes: r.reclaimableBytes,
        userWastedPercent: r.wastedUserPercent,
        totalBytes: r.sizeBytes,
        top: top.map((w) => ({ path: toApiPath(norm(w.path)), count: w.count, wastedBytes: w.cumulativeSize, reclaimableBytes: w.reclaimable, layers: wanted.get(norm(w.path)) ?? [] })),
      };
    },

    async stat(img, a, signal) {
      const s = await ready(img, signal);
      const t = view(s, a.view);
      const p = toEnginePath(a.path);
      const e = t.entry(p);
      if (!e) throw new ExplorerError('PATH_NOT_FOUND', `${a.path} is not in this view of the image.`, { path: a.path });
      const out = withTotals(t, e) as TreeEntry & { resolvedPath?: string };
      if (e.type === 'symlink' && a.view.kind === 'merged') {
        const r = s.layers.mergedTree(a.view.upTo ?? s.layers.count - 1).resolve(p);
        if (r !== undefined) out.resolvedPath = toApiPath(r);
      }
      return out;
    },

    async readFile(img, a, signal) {
      const s = await ready(img, signal);
      const layer = fileLayer(s, a.view);
      const p = toEnginePath(a.path);
      const asLayer = a.view?.kind === 'layer' ? layer : undefined;
      const loc = s.layers.locate(p, asLayer ?? (a.view?.kind === 'merged' ? layer : undefined));
      if (!loc) {
        const e = s.layers.mergedTree(layer ?? s.layers.count - 1).get(p);
        const why = e ? `it is a ${e.type}, not a file` : 'it is not in this view of the image';
        throw new ExplorerError('PATH_NOT_FOUND', `Cannot read ${a.path}: ${why}.`, { path: a.path });
      }
      const start = Math.min(a.offset ?? 0, loc.size);
      const end = Math.min(start + (a.length ?? loc.size), loc.size);
      const data = end > start ? await s.layers.readFileBuffer(p, { ...(layer !== undefined ? { layer } : {}), start, end, signal }) : Buffer.alloc(0);
      const tree = s.layers.mergedTree(layer ?? s.layers.count - 1);
      const resolved = tree.resolve(p) ?? p;
      return { path: a.path, resolvedPath: toApiPath(resolved), size: loc.size, offset: start, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), eof: start + data.length >= loc.size };
    },

    async extract(img, a, { signal, progress }) {
      const s = await ready(img, signal);
      if (a.upTo !== undefined && a.upTo !== s.layers.count - 1) {
        throw new ExplorerError('INVALID_ARGUMENT', 'Extracting the tree at an earlier layer is not supported yet; extract the final image (leave upTo out).');
      }
      // extractTree makes the folder (and removes it again on failure or cancel if it made it).
      let totalBytes: number | undefined;
      const report = throttleProgress((p: ExtractProgress) => progress.extractProgress?.(p), extractProgressMs);
      const r = await s.layers.extract(a.target, {
        ...(a.path ? { path: toEnginePath(a.path) } : {}),
        signal,
        onProgress: (p) => {
          totalBytes = p.bytesTotal;
          report.push({ files: p.files, bytes: p.bytes, totalBytes: p.bytesTotal });
        },
      });
      if (signal.aborted) {
        // Cancelled after the last check inside the extraction: the caller is told "cancelled", so the
        // folder must not be left full either.
        await removeExtracted(a.target, false);
        throw new ExplorerError('CANCELLED', 'Extraction was cancelled.');
      }
      report.final({ files: r.files, bytes: r.bytes, totalBytes: totalBytes ?? r.bytes });
      return { target: a.target, files: r.files + r.symlinks + r.hardlinks, dirs: r.dirs, bytes: r.bytes, skipped: r.skipped };
    },

    async saveFile(img, a, { signal, progress }) {
      const s = await ready(img, signal);
      const layer = fileLayer(s, a.view);
      const p = toEnginePath(a.path);
      // Never overwrite: an existing target is refused (the UI asks, or picks a new name).
      const exists = () => new ExplorerError('TARGET_EXISTS', `${a.target} already exists; choose another name (nothing was overwritten).`, { path: a.target });
      if (await fsp.lstat(a.target).then(() => true, () => false)) throw exists();
      const stream = await s.layers.readFile(p, { ...(layer !== undefined ? { layer } : {}), signal });
      // Write beside the target (a unique temp name), then link it in place: link() fails when the name
      // was taken meanwhile, where rename() would replace it; a failed save never leaves half a file.
      const tmp = path.join(path.dirname(a.target), `.${path.basename(a.target)}.${process.pid}.${randomUUID()}.part`);
      let bytes = 0;
      stream.on('data', (c: Buffer) => {
        bytes += c.length;
      });
      try {
        await pipeline(stream, createWriteStream(tmp, { flags: 'wx', mode: 0o644 }), { signal });
        await fsp
          .link(tmp, a.target)
          // A file system without hard links (FAT, some network mounts): an exclusive copy instead.
          .catch((e: NodeJS.ErrnoException) => (e.code === 'EPERM' || e.code === 'ENOTSUP' || e.code === 'EOPNOTSUPP' ? fsp.copyFile(tmp, a.target, fsConstants.COPYFILE_EXCL) : Promise.reject(e)))
          .catch((e: NodeJS.ErrnoException) => {
            if (e.code === 'EEXIST') throw exists();
            throw e;
          });
      } finally {
        await fsp.rm(tmp, { force: true });
      }
      progress.extractProgress?.({ files: 1, bytes });
      return { target: a.target, bytes };
    },
  };
}

function range(a: number, b: number): number[] {
  return Array.from({ length: Math.max(0, b - a + 1) }, (_, k) => a + k);
}
