import { create } from 'zustand';
import { MAX_DIRS, MAX_PAGE, type ChangeKind, type ImageRef, type SearchPage, type SearchQuery, type TreeEntry, type TreeSort, type TreeView } from '../../shared/api/contract.js';
import { ancestors } from '../../shared/ui/format.js';
import { hitAt, pageOf, pageOffset, stepHit, withPage, type HitPages } from '../../shared/ui/search-hits.js';
import { flattenRows, groupByParent, type TreeRow } from '../../shared/ui/tree-rows.js';
import { api, errorText } from './api.js';
import { viewKey } from './image.js';

// The filesystem tree of the image in view: loaded folders, expanded folders, filters, search and the
// flattened rows the virtualized list renders. One tree at a time; switching view keeps expansion.

export interface TreeContext {
  sourceId: string;
  image: ImageRef;
  view: TreeView;
}

interface TreeState {
  ctx?: TreeContext;
  key: string;
  gen: number;
  children: Map<string, TreeEntry[]>;
  expanded: Set<string>;
  rows: TreeRow[];
  loadingRoot: boolean;
  error?: string;
  selected?: string;
  changes: ChangeKind[];
  sort: TreeSort;
  searchText: string;
  searchMode: SearchQuery['mode'];
  search?: SearchQuery;
  /** The pages of hits read so far (next/previous read further pages as they reach them). */
  hitPages: HitPages;
  /** All hits in the view (the counter), not only those loaded. */
  hitTotal: number;
  hitIndex: number;
  searchError?: string;
  /** Bumped to ask the list to scroll the selection into view. */
  scrollTick: number;
  /** performance.now() of the last root load (for measurements). */
  lastLoad?: { started: number; ended: number };
  setContext(ctx: TreeContext): void;
  toggle(path: string): void;
  expand(path: string): Promise<void>;
  collapse(path: string): void;
  expandAll(): Promise<void>;
  collapseAll(): void;
  select(path: string | undefined, scroll?: boolean): void;
  setChanges(kinds: ChangeKind[]): void;
  setSort(sort: TreeSort): void;
  setSearchText(text: string, mode?: SearchQuery['mode']): void;
  runSearch(): Promise<void>;
  clearSearch(): void;
  gotoHit(delta: number): Promise<void>;
  reveal(path: string): Promise<void>;
  /** Reveals `path` once the next view change has loaded (e.g. after switching to the final tree). */
  revealAfterSwitch(path: string, ctx: TreeContext): void;
  pendingReveal?: string;
}

const EXPAND_ALL_LIMIT = 250_000;
const AUTO_EXPAND_CHANGES = 400;
const LIST_BATCHES = 8;
const LIST_BATCH_MIN = 8;
/** Rows below the last visible one whose folders are also loaded in the first step of a reload. */
const VIEWPORT_MARGIN = 100;

let viewportEnd = 0;
/** The list reports the index of its last visible row (no state: nothing re-renders for it). */
export function noteViewportEnd(index: number): void {
  viewportEnd = index;
}

export function treeKey(ctx: TreeContext): string {
  return `${ctx.sourceId}|${ctx.image.manifest}|${viewKey(ctx.view)}`;
}

function filterOf(s: Pick<TreeState, 'changes' | 'search'>) {
  const f: { changes?: ChangeKind[]; search?: SearchQuery } = {};
  if (s.changes.length) f.changes = s.changes;
  if (s.search) f.search = s.search;
  return f;
}

let searchToken = 0;
/** Pages of hits being read, so quick next/previous clicks ask for each page once. */
const hitPageReads = new Map<string, Promise<SearchPage>>();

export const useTree = create<TreeState>((set, get) => {
  const rebuild = (children: Map<string, TreeEntry[]>, expanded: Set<string>) => ({ rows: flattenRows(children, expanded), children, expanded });

  /** Every page of one folder. Stale answers (another view since) are dropped by the caller via gen. */
  async function fetchDir(ctx: TreeContext, path: string, first: TreeEntry[] = [], total = Infinity): Promise<TreeEntry[]> {
    const s = get();
    const out: TreeEntry[] = [...first];
    if (out.length >= total) return out;
    for (let offset = out.length; ; ) {
      const page = await api().listDir({ image: ctx.image, view: ctx.view, path, offset, limit: MAX_PAGE, sort: s.sort, filter: filterOf(s) });
      out.push(...page.entries);
      offset += page.entries.length;
      if (page.entries.length === 0 || offset >= page.total) break;
    }
    return out;
  }

  /** First pages of `paths` in a few listDirs calls (a few rather than one, so the core encodes one answer
   * while the page decodes the previous); folders bigger than a page get their other pages from listDir.
   * Paths missing in this view (or failing to page) are left out of the map. */
  async function fetchDirs(ctx: TreeContext, paths: string[]): Promise<Map<string, TreeEntry[]>> {
    const s = get();
    const size = Math.min(MAX_DIRS, Math.max(LIST_BATCH_MIN, Math.ceil(paths.length / LIST_BATCHES)));
    const batches: string[][] = [];
    for (let i = 0; i < paths.length; i += size) batches.push(paths.slice(i, i + size));
    const answers = await Promise.all(batches.map((b) => api().listDirs({ image: ctx.image, view: ctx.view, paths: b, limit: MAX_PAGE, sort: s.sort, filter: filterOf(s) })));
    const out = new Map<string, TreeEntry[]>();
    const more: Promise<void>[] = [];
    for (const page of answers.flatMap((a) => a.pages)) {
      if (page.entries.length >= page.total) out.set(page.path, page.entries);
      else more.push(fetchDir(ctx, page.path, page.entries, page.total).then((l) => void out.set(page.path, l), () => undefined));
    }
    await Promise.all(more);
    return out;
  }

  /**
   * Reloads the root and every expanded folder (after a view, filter or sort change). The folders that hold
   * the rows down to the bottom of the screen come first and are shown at once; the others (below the
   * screen) follow in a second step, so a switch with many folders open shows the rows in view without
   * waiting for all of them. Rows above and in view do not move when the rest arrives.
   */
  async function reload(): Promise<void> {
    const ctx = get().ctx;
    if (!ctx) return;
    const gen = get().gen + 1;
    const started = performance.now();
    set({ gen, loadingRoot: true, error: undefined });
    const wanted = ['/', ...[...get().expanded]];
    const first = new Set(['/']);
    const rows = get().rows;
    for (let i = 0; i < rows.length && i <= viewportEnd + VIEWPORT_MARGIN; i++) if (rows[i]!.expanded) first.add(rows[i]!.entry.path);
    const now = wanted.filter((p) => first.has(p));
    const later = wanted.filter((p) => !first.has(p));
    try {
      // The root must load (its failure is the error shown); folders missing in this view are left closed.
      // One after the other: asked at once, the big answer for the rest delays the small one (measured).
      let children = await fetchDirs(ctx, now);
      if (get().gen !== gen) return;
      if (!children.has('/')) throw new Error('The root folder is not in this view of the image.');
      if (later.length) {
        set({ ...rebuild(children, get().expanded), loadingRoot: false });
        performance.mark('oci:tree-data', { detail: get().rows.length });
        const rest = await fetchDirs(ctx, later);
        if (get().gen !== gen) return;
        // Keep what was loaded meanwhile (a folder the user opened) and add the rest.
        children = new Map([...get().children, ...rest]);
      }
      // Folders that no longer exist in this view are dropped from the expanded set.
      const expanded = new Set([...get().expanded].filter((p) => children.has(p)));
      set({ ...rebuild(children, expanded), loadingRoot: false, lastLoad: { started, ended: performance.now() } });
      performance.mark(later.length ? 'oci:tree-data-all' : 'oci:tree-data', { detail: get().rows.length });
    } catch (e) {
      if (get().gen !== gen) return;
      set({ loadingRoot: false, error: errorText(e), children: new Map(), rows: [] });
    }
  }

  async function loadInto(path: string): Promise<void> {
    const ctx = get().ctx;
    if (!ctx || get().children.has(path)) return;
    const gen = get().gen;
    const list = await fetchDir(ctx, path);
    if (get().gen !== gen) return;
    const children = new Map(get().children);
    children.set(path, list);
    set(rebuild(children, get().expanded));
  }

  /** In a diff view with few changes, opens the folders that hold them so they are seen at once. */
  async function expandToChanges(ctx: TreeContext): Promise<void> {
    if (ctx.view.kind !== 'diff') return;
    const gen = get().gen;
    try {
      const page = await api().listChanges({ image: ctx.image, bottom: ctx.view.bottom, top: ctx.view.top, limit: AUTO_EXPAND_CHANGES + 1 });
      if (page.total > AUTO_EXPAND_CHANGES || get().gen !== gen) return;
      const dirs = new Set<string>();
      for (const e of page.entries) for (const a of ancestors(e.path)) if (a !== '/') dirs.add(a);
      const need = [...dirs].filter((d) => !get().children.has(d));
      const lists = await Promise.all(need.map((d) => fetchDir(ctx, d).catch(() => undefined)));
      if (get().gen !== gen) return;
      const children = new Map(get().children);
      need.forEach((d, i) => lists[i] && children.set(d, lists[i]));
      const expanded = new Set(get().expanded);
      for (const d of dirs) if (children.has(d)) expanded.add(d);
      set(rebuild(children, expanded));
    } catch {
      // opening folders is a convenience; the tree is already shown
    }
  }

  return {
    key: '',
    gen: 0,
    children: new Map(),
    expanded: new Set(),
    rows: [],
    loadingRoot: false,
    changes: [],
    sort: { by: 'name', order: 'asc' },
    searchText: '',
    searchMode: 'glob',
    hitPages: {},
    hitTotal: 0,
    hitIndex: -1,
    scrollTick: 0,
    setContext(ctx) {
      const key = treeKey(ctx);
      if (key === get().key) return;
      const sameImage = get().ctx?.image.manifest === ctx.image.manifest && get().ctx?.sourceId === ctx.sourceId;
      set({ ctx, key, ...(sameImage ? {} : { expanded: new Set<string>(), selected: undefined, hitPages: {}, hitTotal: 0, hitIndex: -1, search: undefined, searchText: '' }) });
      // A view without changes (merged) makes a change filter meaningless.
      if (ctx.view.kind === 'merged' && get().changes.length) set({ changes: [] });
      const searching = !!get().search;
      void reload().then(() => {
        const pending = get().pendingReveal;
        if (pending) {
          set({ pendingReveal: undefined });
          return get().reveal(pending);
        }
        // A search that was running before the switch is run again in the new view.
        if (searching && get().search) return get().runSearch();
        return ctx.view.kind === 'diff' && !get().search ? expandToChanges(ctx) : undefined;
      });
    },
    toggle(path) {
      if (get().expanded.has(path)) get().collapse(path);
      else void get().expand(path);
    },
    async expand(path) {
      const expanded = new Set(get().expanded);
      expanded.add(path);
      set(rebuild(get().children, expanded));
      try {
        await loadInto(path);
      } catch (e) {
        set({ error: errorText(e) });
      }
    },
    collapse(path) {
      const expanded = new Set(get().expanded);
      expanded.delete(path);
      set(rebuild(get().children, expanded));
    },
    async expandAll() {
      const ctx = get().ctx;
      if (!ctx) return;
      const gen = get().gen;
      const s = get();
      try {
        let children: Map<string, TreeEntry[]>;
        if (!s.changes.length && !s.search) {
          // One flat listing ("**") is far fewer calls than a folder-by-folder walk; with the tree's sort the
          // core lists each folder's children in listDir's order, so rows never reorder.
          const all: TreeEntry[] = [];
          for (let offset = 0; offset < EXPAND_ALL_LIMIT; ) {
            const page = await api().search({ image: ctx.image, view: ctx.view, query: { pattern: '**', mode: 'glob' }, offset, limit: MAX_PAGE, sort: s.sort });
            all.push(...page.hits);
            offset += page.hits.length;
            if (page.hits.length === 0 || offset >= page.total) break;
          }
          children = groupByParent(all);
          if (!children.has('/')) children.set('/', get().children.get('/') ?? []);
        } else {
          children = new Map(get().children);
          let frontier = ['/'];
          while (frontier.length) {
            const lists = await Promise.all(frontier.map((p) => (children.has(p) ? Promise.resolve(children.get(p)!) : fetchDir(ctx, p))));
            const next: string[] = [];
            frontier.forEach((p, i) => {
              children.set(p, lists[i]!);
              for (const e of lists[i]!) if (e.type === 'dir') next.push(e.path);
            });
            frontier = next;
          }
        }
        if (get().gen !== gen) return;
        performance.mark('oci:tree-data', { detail: 0 });
        const expanded = new Set<string>();
        for (const [p, list] of children) {
          if (p !== '/') expanded.add(p);
          for (const e of list) if (e.type === 'dir') expanded.add(e.path);
        }
        set(rebuild(children, expanded));
      } catch (e) {
        set({ error: errorText(e) });
      }
    },
    collapseAll() {
      set(rebuild(get().children, new Set()));
    },
    select(path, scroll = false) {
      set((s) => ({ selected: path, scrollTick: scroll ? s.scrollTick + 1 : s.scrollTick }));
    },
    setChanges(kinds) {
      set({ changes: kinds });
      void reload();
    },
    setSort(sort) {
      set({ sort });
      void reload();
    },
    setSearchText(text, mode) {
      set({ searchText: text, ...(mode ? { searchMode: mode } : {}) });
    },
    async runSearch() {
      const ctx = get().ctx;
      const text = get().searchText.trim();
      if (!ctx) return;
      if (!text) return get().clearSearch();
      const query: SearchQuery = { pattern: text, mode: get().searchMode };
      if (query.mode === 'regex') {
        try {
          new RegExp(text);
        } catch (e) {
          set({ searchError: `"${text}" is not a valid regular expression: ${(e as Error).message}` });
          return;
        }
      }
      const token = ++searchToken;
      set({ search: query, searchError: undefined });
      try {
        const page = await api().search({ image: ctx.image, view: ctx.view, query, limit: MAX_PAGE });
        if (token !== searchToken) return;
        set({ hitPages: withPage({}, 0, page.hits), hitTotal: page.total, hitIndex: -1 });
        await reload();
        // Only the latest search moves the selection.
        if (token === searchToken && page.hits.length) await get().gotoHit(1);
      } catch (e) {
        if (token === searchToken) set({ searchError: errorText(e), search: undefined, hitPages: {}, hitTotal: 0 });
      }
    },
    clearSearch() {
      searchToken++;
      set({ search: undefined, searchText: '', hitPages: {}, hitTotal: 0, hitIndex: -1, searchError: undefined });
      void reload();
    },
    async gotoHit(delta) {
      const { hitTotal, hitIndex, search, ctx, key } = get();
      if (!hitTotal || !search || !ctx) return;
      const token = searchToken;
      const i = stepHit(hitIndex, delta, hitTotal);
      // The counter moves at once; the hit's page is read when it is not loaded yet.
      set({ hitIndex: i });
      let hit = hitAt(get().hitPages, i, MAX_PAGE);
      if (!hit) {
        const n = pageOf(i, MAX_PAGE);
        const readKey = `${token}|${key}|${n}`;
        let read = hitPageReads.get(readKey);
        if (!read) {
          read = api().search({ image: ctx.image, view: ctx.view, query: search, offset: pageOffset(i, MAX_PAGE), limit: MAX_PAGE });
          hitPageReads.set(readKey, read);
          void read.then(
            () => hitPageReads.delete(readKey),
            () => hitPageReads.delete(readKey),
          );
        }
        let page: SearchPage;
        try {
          page = await read;
        } catch (e) {
          if (token === searchToken && get().key === key) set({ searchError: errorText(e) });
          return;
        }
        // Another search or view since: this page belongs to neither.
        if (token !== searchToken || get().key !== key) return;
        if (!hitAt(get().hitPages, i, MAX_PAGE)) set({ hitPages: withPage(get().hitPages, n, page.hits), hitTotal: page.total });
        // A later next/previous moved on meanwhile: it reveals its own hit.
        if (get().hitIndex !== i) return;
        hit = hitAt(get().hitPages, i, MAX_PAGE);
        if (!hit) {
          // The view has fewer hits than counted before (it cannot change under one search, but be safe).
          set({ hitIndex: page.total ? Math.min(i, page.total - 1) : -1 });
          return;
        }
      }
      await get().reveal(hit.path);
    },
    revealAfterSwitch(path, ctx) {
      if (get().key === treeKey(ctx) && !get().loadingRoot) void get().reveal(path);
      else set({ pendingReveal: path });
    },
    async reveal(path) {
      const chain = ancestors(path);
      try {
        for (const dir of chain) {
          if (dir !== '/' && !get().expanded.has(dir)) {
            const expanded = new Set(get().expanded);
            expanded.add(dir);
            set({ expanded });
          }
          await loadInto(dir);
        }
        set(rebuild(get().children, get().expanded));
        get().select(path, true);
      } catch (e) {
        set({ error: errorText(e) });
      }
    },
  };
});
