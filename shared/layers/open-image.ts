import { LRUCache } from 'lru-cache';
import { ExplorerError } from '../errors.js';
import { buildGraphContext, markVerified, type GraphContext } from '../graph/build.js';
import { selectImage, type ImageChoice } from '../graph/select.js';
import type { GraphNode, ImageEntry } from '../graph/types.js';
import type { ImageSource } from '../sources/types.js';
import type { ChangesPage, DiffSummary, DirPage, EfficiencyReport, ExtractResult, FileChunk, ImageSummary, SearchPage, StatResult, TreeEntry } from '../api/results.js';
import type { ChangeKind, FileView, LayerRange, SearchQuery, TreeFilter, TreeSort, TreeView } from '../api/schemas.js';
import { openSource } from '../sources/open.js';
import { SharedRun } from '../util/shared-run.js';
import { comparePaths, type diffTrees } from './diff.js';
import { ImageLayers, type LayerEngineOptions } from './engine.js';
import type { MergedTree } from './merge.js';
import { searchMatcher } from './search.js';
import { efficiencyReport } from './efficiency-report.js';
import { extract, readChunk, saveFile, stat, type FileProgress } from './files.js';
import type { ImageView } from './image-view.js';
import { layerVerifyState, summarize } from './summary.js';
import type { LayerProgress } from './types.js';
import { diffView, fromDiff, join, mergedView, parentOf, toApiPath, toEnginePath, type ViewTree } from './views.js';

// One image of an open source, from its verified graph to every view the CLI and the app read: the
// layers (indexed once, by one shared run), merged trees, diffs, search, sort and directory pages.
// The API maps these results onto its methods; the CLI prints them. Derived trees are kept in
// byte-bounded LRU caches (sizes estimated per entry), so paging a 100k-entry folder rebuilds nothing.

/** Rough bytes per path held by a derived view (strings, entry objects, map slots). */
const BYTES_PER_VIEW_ENTRY = 240;
const BYTES_PER_DIFF_ENTRY = 320;
const BYTES_PER_FILTER_PATH = 96;
/** What one image's derived views may hold at most (estimates). */
const VIEW_BUDGET = 192 * 1024 * 1024;

type Diff = ReturnType<typeof diffTrees>;
type Filtered = { included: Set<string>; hits: number };

export interface ListArgs {
  view: TreeView;
  limit?: number;
  sort?: TreeSort;
  filter?: TreeFilter;
}

export class OpenImage implements ImageView {
  readonly layers: ImageLayers;
  private readonly indexing = new SharedRun<void>('Indexing the layers');
  private readonly views = new LRUCache<string, ViewTree>({ maxSize: VIEW_BUDGET / 2, sizeCalculation: (v) => Math.max(1, v.size * BYTES_PER_VIEW_ENTRY) });
  private readonly diffs = new LRUCache<string, Diff>({ maxSize: VIEW_BUDGET / 4, sizeCalculation: (d) => Math.max(1, d.entries.length * BYTES_PER_DIFF_ENTRY) });
  private readonly filters = new LRUCache<string, Filtered>({ maxSize: VIEW_BUDGET / 8, sizeCalculation: (f) => Math.max(1, f.included.size * BYTES_PER_FILTER_PATH) });
  private readonly sorted = new LRUCache<string, string[]>({ maxSize: VIEW_BUDGET / 8, sizeCalculation: (s) => Math.max(1, s.length * 16) });
  private closed = false;

  constructor(
    readonly context: GraphContext,
    readonly image: ImageEntry,
    opts: LayerEngineOptions = {},
  ) {
    this.layers = ImageLayers.fromContext(context, image, opts);
  }

  get source(): ImageSource {
    return this.context.source;
  }

  /**
   * Indexes every layer not indexed yet (cache first). Callers asking at once share one run; each may
   * cancel alone, and the run stops when all of them have. Never throws for bad layers (their problems
   * are on `layers.layers[i]`); throws CANCELLED.
   */
  async index(signal: AbortSignal, onProgress?: (p: LayerProgress) => void): Promise<void> {
    if (onProgress) this.layers.on('progress', onProgress);
    try {
      await this.indexing.run(signal, async (s) => {
        await this.layers.index({ signal: s });
        this.forget();
      });
    } finally {
      if (onProgress) this.layers.off('progress', onProgress);
    }
  }

  /** True when every layer has been read (indexed, or failed with its problem). */
  get indexed(): boolean {
    return this.layers.layers.every((l, i) => this.layers.indexes[i] || l.state === 'failed');
  }

  /** Indexes first when some layer was never read (a list call before selectImage finished). */
  async ready(signal: AbortSignal): Promise<this> {
    if (this.closed) throw new ExplorerError('CANCELLED', 'This image was closed; open it again.');
    if (!this.indexed) await this.index(signal);
    return this;
  }

  /** Stops the work in flight, drops what was derived and releases the layers' cache pins. */
  async close(): Promise<void> {
    this.closed = true;
    this.indexing.close();
    this.forget();
    await this.layers.close().catch(() => undefined);
  }

  private forget(): void {
    this.views.clear();
    this.diffs.clear();
    this.filters.clear();
    this.sorted.clear();
  }

  checkLayer(i: number, what = 'layer'): void {
    const n = this.layers.count;
    if (!Number.isInteger(i) || i < 0 || i >= n) throw new ExplorerError('INVALID_ARGUMENT', `This image has ${n} layers (0–${n - 1}); ${what} ${i} does not exist.`);
  }

  /** The one diff of two stacks: merged(bottom) against merged(bottom + top), cached. */
  diff(bottom: LayerRange | null, top: LayerRange, includeUnchanged = false): Diff {
    // An empty range (end < start: "aggregated" at layer 0) is allowed; the layers it names must exist.
    for (const r of bottom ? [bottom, top] : [top]) {
      if (r.end < r.start) continue;
      this.checkLayer(r.start);
      this.checkLayer(r.end);
    }
    const key = JSON.stringify([bottom, top, includeUnchanged]);
    let d = this.diffs.get(key);
    if (!d) {
      d = this.layers.diff(bottom, top, { includeUnchanged });
      this.diffs.set(key, d);
    }
    return d;
  }

  /** dive's "this layer": what layer i changed on top of 0..i-1. */
  layerDiff(i: number, includeUnchanged = false): Diff {
    return this.diff(i > 0 ? { start: 0, end: i - 1 } : null, { start: i, end: i }, includeUnchanged);
  }

  view(v: TreeView): ViewTree {
    const key = JSON.stringify(v);
    let t = this.views.get(key);
    if (t) return t;
    if (v.kind === 'merged') {
      const upTo = v.upTo ?? this.layers.count - 1;
      this.checkLayer(upTo);
      t = mergedView(this.layers.mergedTree(upTo));
    } else if (v.kind === 'layer') {
      this.checkLayer(v.layer);
      t = diffView(this.layerDiff(v.layer, true).entries, true);
    } else t = diffView(this.diff(v.bottom, v.top, true).entries, false);
    this.views.set(key, t);
    return t;
  }

  /** Paths kept by a filter (matches and their parents) and the hit count. */
  private filtered(v: TreeView, t: ViewTree, f: TreeFilter): Filtered {
    const key = JSON.stringify([v, f]);
    const cached = this.filters.get(key);
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
    this.filters.set(key, r);
    return r;
  }

  /** A folder's child names in the order of `sort` (name order is the view's own). Sizes read once per name. */
  private sortNames(t: ViewTree, viewKey: string, dir: string, names: string[], sort: TreeSort | undefined, filterKey: string): string[] {
    if (!sort || (sort.by === 'name' && sort.order === 'asc')) return names;
    const key = JSON.stringify([viewKey, dir, sort, filterKey]);
    const hit = this.sorted.get(key);
    if (hit) return hit;
    let out: string[];
    if (sort.by === 'name') out = [...names].reverse();
    else {
      const totals = t.totals();
      const sizes = names.map((n) => {
        const p = join(dir, n);
        const e = t.entry(p);
        return e?.type === 'dir' ? (totals.get(p) ?? 0) : (e?.size ?? 0);
      });
      const sign = sort.order === 'asc' ? 1 : -1;
      out = names
        .map((_, i) => i)
        .sort((a, b) => sign * (sizes[a]! - sizes[b]!) || a - b)
        .map((i) => names[i]!);
    }
    this.sorted.set(key, out);
    return out;
  }

  private withTotals(t: ViewTree, e: TreeEntry): TreeEntry {
    return e.type === 'dir' ? { ...e, totalSize: t.totals().get(toEnginePath(e.path)) ?? 0 } : e;
  }

  /** One page of a directory's children in a view, after filter and sort. */
  dirPage(a: ListArgs, path: string, offset = 0): DirPage {
    const t = this.view(a.view);
    const dir = toEnginePath(path);
    const self = t.entry(dir);
    if (!t.has(dir) || !self) throw new ExplorerError('PATH_NOT_FOUND', `${path} is not in this view of the image.`, { path });
    if (self.type !== 'dir') throw new ExplorerError('INVALID_ARGUMENT', `${path} is a ${self.type}, not a directory.`, { path });
    const active = a.filter && (a.filter.search || a.filter.changes?.length) ? a.filter : undefined;
    const f = active ? this.filtered(a.view, t, active) : undefined;
    let names = t.children(dir);
    if (f) names = names.filter((n) => f.included.has(join(dir, n)));
    names = this.sortNames(t, JSON.stringify(a.view), dir, names, a.sort, active ? JSON.stringify(active) : '');
    const match = active?.search ? searchMatcher(active.search) : undefined;
    const entries = names.slice(offset, offset + (a.limit ?? 1000)).map((n) => {
      const p = join(dir, n);
      let e = this.withTotals(t, t.entry(p)!);
      if (f && e.type === 'dir') e = { ...e, childCount: t.children(p).filter((c) => f.included.has(join(p, c))).length };
      if (match) e = { ...e, match: match(p) };
      return e;
    });
    const out: DirPage = { path: toApiPath(dir), total: names.length, offset, entries };
    if (f && active?.search) out.searchHits = f.hits;
    return out;
  }

  /** First pages of several folders; folders absent from this view (or not folders in it) are listed as missing. */
  dirPages(a: ListArgs, paths: string[]): { pages: DirPage[]; missing: string[] } {
    const t = this.view(a.view);
    const pages: DirPage[] = [];
    const missing: string[] = [];
    for (const p of paths) {
      const dir = toEnginePath(p);
      if (!t.has(dir) || t.entry(dir)?.type !== 'dir') missing.push(p);
      else pages.push(this.dirPage(a, p, 0));
    }
    return { pages, missing };
  }

  /**
   * Every entry of a view matching the query, paged. Without `sort` in path order; with it, depth first
   * with each folder's children in that order (the order listDir gives, so a tree built from the hits
   * matches the one built folder by folder).
   */
  search(v: TreeView, query: SearchQuery, offset = 0, limit = 1000, sort?: TreeSort): SearchPage {
    const t = this.view(v);
    const match = searchMatcher(query);
    const hits: TreeEntry[] = [];
    let total = 0;
    for (const p of sort ? this.sortedWalk(t, JSON.stringify(v), sort) : t.walk()) {
      if (!match(p)) continue;
      if (total >= offset && hits.length < limit) hits.push(this.withTotals(t, { ...t.entry(p)!, match: true }));
      total++;
    }
    return { total, offset, hits };
  }

  private *sortedWalk(t: ViewTree, viewKey: string, sort: TreeSort, dir = ''): IterableIterator<string> {
    for (const n of this.sortNames(t, viewKey, dir, t.children(dir), sort, '')) {
      const p = join(dir, n);
      yield p;
      if (t.entry(p)?.type === 'dir') yield* this.sortedWalk(t, viewKey, sort, p);
    }
  }

  diffSummary(bottom: LayerRange | null, top: LayerRange): DiffSummary {
    return this.diff(bottom, top).summary;
  }

  changes(bottom: LayerRange | null, top: LayerRange, kinds: ChangeKind[] | undefined, offset = 0, limit = 1000, sort?: TreeSort): ChangesPage {
    const want = new Set<ChangeKind>(kinds?.length ? kinds : ['added', 'modified', 'removed']);
    let entries = this.diff(bottom, top, want.has('unchanged'))
      .entries.filter((e) => want.has(e.status))
      .map(fromDiff);
    if (sort && !(sort.by === 'name' && sort.order === 'asc')) {
      const sign = sort.order === 'asc' ? 1 : -1;
      entries = entries.sort((x, y) => (sort.by === 'size' ? sign * (Math.abs(x.sizeDelta ?? 0) - Math.abs(y.sizeDelta ?? 0)) : 0) || sign * comparePaths(x.path, y.path));
    }
    return { total: entries.length, offset, entries: entries.slice(offset, offset + limit) };
  }

  /** The layer to read a file from for a file view (checked), or undefined for the final image. */
  fileLayer(v: FileView | undefined): number | undefined {
    if (!v) return undefined;
    const l = v.kind === 'layer' ? v.layer : v.upTo;
    if (l !== undefined) this.checkLayer(l);
    return l;
  }

  /** The merged tree at a file view (the final image by default). */
  treeAt(v: FileView | undefined): MergedTree {
    const l = this.fileLayer(v);
    return this.layers.mergedTree(l ?? this.layers.count - 1);
  }

  // The per-image operations (summary.ts, efficiency-report.ts, files.ts), as methods of the one class.

  summary(): Omit<ImageSummary, 'ref'> {
    return summarize(this);
  }

  /** Records what reading the layers found on the graph's layer nodes (the core's graph is the one truth); returns the nodes it changed. */
  markLayersRead(): Pick<GraphNode, 'digest' | 'verify' | 'problems'>[] {
    const out: Pick<GraphNode, 'digest' | 'verify' | 'problems'>[] = [];
    for (const info of this.layers.layers) {
      const n = markVerified(this.context.graph, info.descriptor.digest, layerVerifyState(info), info.problems[0]);
      if (n) out.push({ digest: n.digest, verify: n.verify, problems: n.problems });
    }
    return out;
  }

  efficiency(top?: number): EfficiencyReport {
    return efficiencyReport(this, top);
  }

  stat(v: TreeView, path: string): StatResult {
    return stat(this, v, path);
  }

  readChunk(a: { view?: FileView; path: string; offset?: number; length: number }, signal: AbortSignal): Promise<FileChunk> {
    return readChunk(this, a, signal);
  }

  saveFile(a: { view?: FileView; path: string; target: string }, signal: AbortSignal): Promise<{ target: string; bytes: number }> {
    return saveFile(this, a, signal);
  }

  extract(a: { upTo?: number; path?: string; target: string }, signal: AbortSignal, report?: { push(p: FileProgress): void; final(p: FileProgress): void }): Promise<ExtractResult> {
    return extract(this, a, signal, report);
  }
}

export interface OpenedImage {
  image: OpenImage;
  close(): Promise<void>;
}

/** Source (or spec) → verified graph → one image (selectImage) → its layers, indexed. For the CLI and tests. */
export async function openImage(
  sourceOrSpec: ImageSource | string,
  choice: ImageChoice,
  opts: LayerEngineOptions & { signal?: AbortSignal; onProgress?: (p: LayerProgress) => void } = {},
): Promise<OpenedImage> {
  const signal = opts.signal ?? new AbortController().signal;
  let source: ImageSource;
  if (typeof sourceOrSpec === 'string') {
    const opened = await openSource(sourceOrSpec, { signal, ...(opts.cacheDir ? { cacheDir: opts.cacheDir } : {}) });
    source = opened.source;
    if (opened.selector.tag && choice.tag === undefined) choice = { ...choice, tag: opened.selector.tag };
  } else source = sourceOrSpec;
  let layers: ImageLayers | undefined;
  try {
    const ctx = await buildGraphContext(source, { signal });
    const image = new OpenImage(ctx, selectImage(ctx.graph, choice), opts);
    layers = image.layers;
    await image.index(signal, opts.onProgress);
    return {
      image,
      close: async () => {
        await image.close(); // the pins are released before the source goes
        await source.close();
      },
    };
  } catch (e) {
    await layers?.close().catch(() => undefined);
    await source.close();
    throw e;
  }
}
