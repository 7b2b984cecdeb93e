import { beforeAll, describe, expect, it, vi } from 'vitest';
import { EVENTS, IPC_CHANNEL, METHODS, type Envelope, type ExplorerApi } from '../../../shared/api/contract.js';
import { ApiError, withDecodedErrors } from '../../../shared/api/errors.js';

// The preload with a stand-in `electron` module (Electron cannot run here): what it exposes, how calls
// and errors travel, events, and drag and drop.

const h = vi.hoisted(() => ({
  exposed: new Map<string, unknown>(),
  invokes: [] as unknown[][],
  onHandlers: new Map<string, (e: unknown, env: unknown) => void>(),
  windowListeners: new Map<string, (e: unknown) => void>(),
  answer: undefined as unknown,
}));

vi.mock('electron', () => ({
  contextBridge: { exposeInMainWorld: (k: string, v: unknown) => void h.exposed.set(k, v) },
  ipcRenderer: {
    invoke: async (...a: unknown[]) => (h.invokes.push(a), h.answer),
    on: (ch: string, fn: (e: unknown, env: unknown) => void) => void h.onHandlers.set(ch, fn),
  },
  webUtils: { getPathForFile: (f: { path: string }) => f.path },
}));

let raw: ExplorerApi;
beforeAll(async () => {
  (globalThis as { window?: unknown }).window = { addEventListener: (t: string, fn: (e: unknown) => void) => void h.windowListeners.set(t, fn) };
  await import('../../../electron/preload.js');
  raw = h.exposed.get('explorer') as ExplorerApi;
});

describe('preload', () => {
  it('exposes exactly the contract as window.explorer and nothing else', () => {
    expect([...h.exposed.keys()]).toEqual(['explorer']);
    expect(Object.keys(raw).sort()).toEqual([...METHODS, 'on'].sort());
    expect(Object.values(raw).every((v) => typeof v === 'function')).toBe(true);
    expect([...h.onHandlers.keys()]).toEqual([IPC_CHANNEL]);
  });

  it('invokes the one channel with (method, args) and unwraps results', async () => {
    h.answer = { ok: true, value: { api: 1 } } satisfies Envelope;
    expect(await raw.version()).toEqual({ api: 1 });
    expect(h.invokes.at(-1)).toEqual([IPC_CHANNEL, 'version', {}]);
    await raw.getGraph({ sourceId: 's1' });
    expect(h.invokes.at(-1)).toEqual([IPC_CHANNEL, 'getGraph', { sourceId: 's1' }]);
  });

  it('rejects with an error that decodes back to its code (contextBridge keeps only the message)', async () => {
    h.answer = { ok: false, error: { code: 'PATH_NOT_FOUND', message: 'Cannot read /x.', details: { path: '/x' } } } satisfies Envelope;
    const e = await raw.readFile({ image: { sourceId: 's1', manifest: 'sha256:x' }, path: '/x' }).catch((x: unknown) => x);
    // What crosses the bridge: a plain Error with only a message.
    const crossed = new Error((e as Error).message);
    const api = withDecodedErrors({ ...raw, readFile: () => Promise.reject(crossed) } as ExplorerApi);
    const decoded = await api.readFile({ image: { sourceId: 's1', manifest: 'sha256:x' }, path: '/x' }).catch((x: unknown) => x);
    expect(decoded).toBeInstanceOf(ApiError);
    expect((decoded as ApiError).toJSON()).toEqual({ code: 'PATH_NOT_FOUND', message: 'Cannot read /x.', details: { path: '/x' } });
  });

  it('delivers known events to listeners and drops unknown ones', () => {
    const got: unknown[] = [];
    const off = raw.on('sources-changed', (p) => got.push(p));
    const fire = h.onHandlers.get(IPC_CHANNEL)!;
    fire({}, { event: 'sources-changed', payload: { sources: [] } });
    fire({}, { event: 'not-an-event', payload: 1 });
    fire({}, null);
    off();
    fire({}, { event: 'sources-changed', payload: { sources: [1] } });
    expect(got).toEqual([{ sources: [] }]);
    expect(() => raw.on('bogus' as never, () => undefined)).toThrow();
    expect(EVENTS).toContain('sources-changed');
  });

  it('with no UI listening, opens dropped files by their path (webUtils) itself, preventing the default navigation', async () => {
    h.answer = { ok: true, value: {} };
    let prevented = 0;
    h.windowListeners.get('drop')!({ preventDefault: () => prevented++, dataTransfer: { files: [{ path: '/imgs/a.tar' }, { path: '' }] } });
    await Promise.resolve();
    expect(prevented).toBe(1);
    expect(h.invokes.filter((c) => c[1] === 'openSource')).toEqual([[IPC_CHANNEL, 'openSource', { spec: '/imgs/a.tar' }]]);
    h.windowListeners.get('dragover')!({ preventDefault: () => prevented++ });
    expect(prevented).toBe(2);
  });

  it('sends dropped paths to a listening UI as command: open-spec events (as Capabilities.dropFiles says), not opening them itself', async () => {
    h.invokes.length = 0;
    const got: unknown[] = [];
    const off = raw.on('command', (c) => got.push(c));
    h.windowListeners.get('drop')!({ preventDefault: () => undefined, dataTransfer: { files: [{ path: '/imgs/a.tar' }, { path: '' }, { path: '/imgs/layout' }] } });
    await Promise.resolve();
    off();
    expect(got).toEqual([
      { command: 'open-spec', spec: '/imgs/a.tar' },
      { command: 'open-spec', spec: '/imgs/layout' },
    ]);
    expect(h.invokes).toEqual([]);
  });
});
