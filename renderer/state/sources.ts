import { create } from 'zustand';
import type { Capabilities, RecentSource, Settings, SourceHandle, SourceId, Unsubscribe } from '../../shared/api/contract.js';
import { api, errorText } from './api.js';

// Open sources, the active one, Recent, and the open/close actions.

export type MainTab = 'graph' | 'files' | 'efficiency';

interface SourcesState {
  caps?: Capabilities;
  sources: SourceHandle[];
  active?: SourceId;
  recent: RecentSource[];
  opening: boolean;
  /** What is being opened (shown near the tab strip while an image is on screen). */
  openingSpec?: string;
  /** Error of the last open: on the start screen, or near the tab strip while an image is showing. */
  openError?: string;
  /** The spec whose open failed (undefined for failures not tied to one, e.g. the server not answering). */
  openErrorSpec?: string;
  tab: Record<SourceId, MainTab>;
  theme: Settings['theme'];
  setTheme(theme: Settings['theme']): Promise<void>;
  /** Follows the core's sources-changed and the shell's commands; call the disposer to stop. */
  listen(): Unsubscribe;
  /** Loads capabilities, open sources, Recent and the theme. */
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
  /** A drop anywhere on the window: a path given as text is opened; a file in the browser cannot be. */
  drop(data: { text: string; files: number }): void;
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
  listen() {
    const a = api();
    const offSources = a.on('sources-changed', ({ sources, active }) => {
      set((s) => ({ sources, active: active ?? (s.active && sources.some((x) => x.id === s.active) ? s.active : sources[0]?.id) }));
    });
    const offCommands = a.on('command', (c) => {
      if (c.command === 'open-spec') void get().open(c.spec);
      else if (c.command === 'open-folder') void get().choose('folder');
      else if (c.command === 'open-archive') void get().choose('archive');
      else if (c.command === 'show-sources') set({ active: undefined });
    });
    return () => {
      offSources();
      offCommands();
    };
  },
  async init() {
    const a = api();
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
    set({ opening: true, openingSpec: trimmed, openError: undefined, openErrorSpec: undefined });
    try {
      const h = await api().openSource({ spec: trimmed });
      set((s) => ({ sources: s.sources.some((x) => x.id === h.id) ? s.sources : [...s.sources, h], active: h.id, opening: false, openingSpec: undefined }));
      void get().refreshRecent();
      return h;
    } catch (e) {
      set({ opening: false, openingSpec: undefined, openError: errorText(e), openErrorSpec: trimmed });
      return undefined;
    }
  },
  async openDemo() {
    set({ opening: true, openingSpec: 'the demo image', openError: undefined, openErrorSpec: undefined });
    try {
      const h = await api().openDemo();
      set((s) => ({ sources: s.sources.some((x) => x.id === h.id) ? s.sources : [...s.sources, h], active: h.id, opening: false, openingSpec: undefined }));
    } catch (e) {
      set({ opening: false, openingSpec: undefined, openError: errorText(e), openErrorSpec: 'the demo image' });
    }
  },
  async choose(kind) {
    try {
      const r = await api().chooseSource({ kind });
      if (r.path) await get().open(r.path);
    } catch (e) {
      set({ openError: errorText(e), openErrorSpec: undefined });
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
    set({ openError: undefined, openErrorSpec: undefined });
  },
  drop({ text, files }) {
    const spec = text.trim();
    if (spec) {
      void get().open(spec);
      return;
    }
    // In the desktop app the shell reads a dropped file's path and sends an open-spec command.
    if (files && !get().caps?.dropFiles) {
      set({ openError: 'In the browser a dropped file has no path the server can read: type or paste its path on the server instead.', openErrorSpec: undefined });
    }
  },
}));
