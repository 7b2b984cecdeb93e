import { create } from 'zustand';
import type { Capabilities, RecentSource, Settings, SourceHandle, SourceId } from '../../shared/api/contract.js';
import { api, errorText } from './api.js';

// Open sources, the active one, Recent, and the open/close actions.

export type MainTab = 'graph' | 'files' | 'efficiency';

interface SourcesState {
  caps?: Capabilities;
  sources: SourceHandle[];
  active?: SourceId;
  recent: RecentSource[];
  opening: boolean;
  /** Error of the last open (shown on the start screen / open bar). */
  openError?: string;
  tab: Record<SourceId, MainTab>;
  theme: Settings['theme'];
  setTheme(theme: Settings['theme']): Promise<void>;
  init(): Promise<void>;
  open(spec: string): Promise<SourceHandle | undefined>;
  openDemo(): Promise<void>;
  choose(kind: 'folder' | 'archive'): Promise<void>;
  close(id: SourceId): Promise<void>;
  setActive(id: SourceId | undefined): void;
  setTab(id: SourceId, tab: MainTab): void;
  refreshRecent(): Promise<void>;
  clearRecent(): Promise<void>;
  clearOpenError(): void;
}

export const useSources = create<SourcesState>((set, get) => ({
  sources: [],
  recent: [],
  opening: false,
  tab: {},
  theme: 'system',
  async setTheme(theme) {
    set({ theme });
    try {
      await api().setSettings({ patch: { theme } });
    } catch {
      // the choice still applies to this window
    }
  },
  async init() {
    const a = api();
    a.on('sources-changed', ({ sources, active }) => {
      set((s) => ({ sources, active: active ?? (s.active && sources.some((x) => x.id === s.active) ? s.active : sources[0]?.id) }));
    });
    a.on('command', (c) => {
      if (c.command === 'open-spec') void get().open(c.spec);
      else if (c.command === 'open-folder') void get().choose('folder');
      else if (c.command === 'open-archive') void get().choose('archive');
      else if (c.command === 'show-sources') set({ active: undefined });
    });
    try {
      const [v, sources] = await Promise.all([a.version(), a.listSources()]);
      set((s) => ({ caps: v.capabilities, sources, active: s.active ?? sources[0]?.id }));
    } catch (e) {
      set({ openError: errorText(e) });
    }
    void get().refreshRecent();
    api()
      .getSettings()
      .then((st) => set({ theme: st.theme }))
      .catch(() => undefined);
  },
  async open(spec) {
    const trimmed = spec.trim();
    if (!trimmed) return undefined;
    set({ opening: true, openError: undefined });
    try {
      const h = await api().openSource({ spec: trimmed });
      set((s) => ({ sources: s.sources.some((x) => x.id === h.id) ? s.sources : [...s.sources, h], active: h.id, opening: false }));
      void get().refreshRecent();
      return h;
    } catch (e) {
      set({ opening: false, openError: errorText(e) });
      return undefined;
    }
  },
  async openDemo() {
    set({ opening: true, openError: undefined });
    try {
      const h = await api().openDemo();
      set((s) => ({ sources: s.sources.some((x) => x.id === h.id) ? s.sources : [...s.sources, h], active: h.id, opening: false }));
    } catch (e) {
      set({ opening: false, openError: errorText(e) });
    }
  },
  async choose(kind) {
    try {
      const r = await api().chooseSource({ kind });
      if (r.path) await get().open(r.path);
    } catch (e) {
      set({ openError: errorText(e) });
    }
  },
  async close(id) {
    try {
      await api().closeSource({ sourceId: id });
    } catch {
      // closing a source the core already forgot is fine
    }
    set((s) => {
      const sources = s.sources.filter((x) => x.id !== id);
      return { sources, active: s.active === id ? sources[sources.length - 1]?.id : s.active };
    });
  },
  setActive(id) {
    set({ active: id });
  },
  setTab(id, tab) {
    set((s) => ({ tab: { ...s.tab, [id]: tab } }));
  },
  async refreshRecent() {
    try {
      set({ recent: await api().recentSources() });
    } catch {
      // Recent is a convenience; the start screen works without it
    }
  },
  async clearRecent() {
    try {
      await api().clearRecent();
    } catch {
      // nothing to clear, or the list cannot be written: show what the core has
    }
    await get().refreshRecent();
  },
  clearOpenError() {
    set({ openError: undefined });
  },
}));
