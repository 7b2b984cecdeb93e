import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ExplorerApi, ExplorerEvents, SourceHandle } from '../../../shared/api/contract.js';
import type { connectStores as ConnectStores } from '../../../renderer/state/connect.js';
import type { useSources as UseSources } from '../../../renderer/state/sources.js';

// The renderer's event subscriptions are disposed: App's effect is `useEffect(() => connectStores(), [])`,
// so React StrictMode's development double mount is connect → dispose → connect. Against a fake core:
// after the disposer no listener is left, and a dropped file (`command: open-spec`) opens once.

type Listener = (p: unknown) => void;
const listeners = new Map<string, Set<Listener>>();
const live = () => [...listeners.values()].reduce((n, s) => n + s.size, 0);
const emit = <K extends keyof ExplorerEvents>(event: K, payload: ExplorerEvents[K]) => [...(listeners.get(event) ?? [])].forEach((l) => l(payload));
const opened: string[] = [];

const handle = (spec: string): SourceHandle => ({ id: `s${opened.length}`, label: spec, kind: 'oci-layout', location: spec, openedAt: '2026-01-01T00:00:00Z', warnings: [] });
const fake = {
  on: (event: string, l: Listener) => {
    if (!listeners.has(event)) listeners.set(event, new Set());
    listeners.get(event)!.add(l);
    return () => void listeners.get(event)!.delete(l);
  },
  version: async () => ({ app: '0', api: 1, runtime: {}, capabilities: { mode: 'electron', dropFiles: true } }),
  listSources: async () => [],
  recentSources: async () => [],
  getSettings: async () => ({ theme: 'dark' }),
  openSource: async ({ spec }: { spec: string }) => {
    opened.push(spec);
    return handle(spec);
  },
} as unknown as ExplorerApi;

let connectStores: typeof ConnectStores;
let useSources: typeof UseSources;

beforeAll(async () => {
  (globalThis as { explorer?: ExplorerApi }).explorer = fake;
  ({ connectStores } = await import('../../../renderer/state/connect.js'));
  ({ useSources } = await import('../../../renderer/state/sources.js'));
});

beforeEach(() => {
  opened.length = 0;
  listeners.clear();
});

const settle = () => new Promise((r) => setTimeout(r, 0));

describe('renderer subscriptions', () => {
  it('connectStores subscribes to the events the stores follow and its disposer removes every listener', () => {
    const off = connectStores();
    expect([...listeners.keys()].sort()).toEqual(['command', 'extract-progress', 'graph-changed', 'index-progress', 'operation', 'sources-changed']);
    expect(live()).toBe(6);
    off();
    expect(live()).toBe(0);
  });

  it('the sources store listener stops following sources-changed once disposed', async () => {
    const off = useSources.getState().listen();
    const s: SourceHandle = handle('/a');
    emit('sources-changed', { sources: [s], active: s.id });
    expect(useSources.getState().sources).toEqual([s]);
    off();
    emit('sources-changed', { sources: [] });
    expect(useSources.getState().sources).toEqual([s]);
  });

  it('opens a dropped file once under a StrictMode-like mount, unmount, mount', async () => {
    const first = connectStores();
    first();
    const second = connectStores();
    await settle();
    emit('command', { command: 'open-spec', spec: '/images/busybox.tar' });
    await settle();
    expect(opened).toEqual(['/images/busybox.tar']);
    expect(useSources.getState().active).toBe('s1');
    second();
    emit('command', { command: 'open-spec', spec: '/images/other.tar' });
    await settle();
    expect(opened).toEqual(['/images/busybox.tar']);
  });
});
