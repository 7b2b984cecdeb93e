import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { IPC_CHANNEL, type Envelope, type EventEnvelope } from '../../../shared/api/contract.js';
import { defaultCore } from '../../../shared/api/core.js';
import { createHandlerTable, type HandlerTable } from '../../../shared/api/handlers.js';
import { createCoreClient, type ChildLike } from '../../../electron/core-client.js';
import { startCoreHost, type FromHost, type PortLike, type ToHost } from '../../../electron/core-host.js';
import { registerIpc, type FrameLike, type InvokeEventLike, type IpcMainLike, type SenderLike } from '../../../electron/ipc.js';

const DEMO = path.resolve(__dirname, '../../../resources/demo');

// Electron cannot run here: ipcMain, webContents and frames are plain objects with the fields the code reads.
function fakeIpcMain() {
  const handlers = new Map<string, (e: InvokeEventLike, ...a: unknown[]) => Promise<unknown>>();
  const ipc: IpcMainLike = {
    handle: (ch, fn) => {
      if (handlers.has(ch)) throw new Error('second handler');
      handlers.set(ch, fn);
    },
    removeHandler: (ch) => void handlers.delete(ch),
  };
  return { ipc, handlers };
}

const mainFrame: FrameLike = { url: 'app://app/index.html', parent: null };
const ours: SenderLike = { id: 1, mainFrame };
const ev = (over: Partial<InvokeEventLike> = {}): InvokeEventLike => ({ sender: ours, senderFrame: mainFrame, ...over });

const tables: HandlerTable[] = [];
function setup(shellCalls: unknown[] = []) {
  const table = createHandlerTable({ core: defaultCore(), mode: 'electron', appVersion: 't', demoPath: DEMO, shellMethods: ['chooseSource', 'chooseTarget', 'openExternal'] });
  tables.push(table);
  const { ipc, handlers } = fakeIpcMain();
  const unregister = registerIpc(ipc, {
    dispatch: (m, a) => table.dispatch(m, a),
    isOurWindow: (s) => s.id === 1,
    shell: {
      chooseSource: async (a, s) => (shellCalls.push(['chooseSource', a, s.id]), { path: '/picked' }),
      chooseTarget: async () => ({ path: null }),
      openExternal: async () => {
        throw Object.assign(new Error('Links to http://x are not opened.'), { code: 'FORBIDDEN' });
      },
    },
  });
  const call = (e: InvokeEventLike, ...args: unknown[]) => handlers.get(IPC_CHANNEL)!(e, ...args) as Promise<Envelope>;
  return { handlers, call, unregister };
}
afterEach(async () => {
  await Promise.all(tables.splice(0).map((t) => t.close()));
});

const code = (e: Envelope) => (e.ok ? 'OK' : e.error.code);

describe('IPC registration', () => {
  it('registers exactly one channel, and can unregister it', () => {
    const { handlers, unregister } = setup();
    expect([...handlers.keys()]).toEqual([IPC_CHANNEL]);
    unregister();
    expect(handlers.size).toBe(0);
  });

  it('answers a call from our window\'s top frame on app://app', async () => {
    const { call } = setup();
    const r = await call(ev(), 'version', {});
    expect(r.ok).toBe(true);
    const h = await call(ev(), 'openDemo', {});
    expect(h).toMatchObject({ ok: true, value: { demo: true } });
  });

  it.each([
    ['another origin', ev({ senderFrame: { url: 'https://evil.example/', parent: null } })],
    ['file://', ev({ senderFrame: { url: 'file:///tmp/index.html', parent: null } })],
    ['another app host', ev({ senderFrame: { url: 'app://evil/index.html', parent: null } })],
    ['a subframe', ev({ senderFrame: { url: 'app://app/index.html', parent: mainFrame } })],
    ['a frame that is not the main frame', ev({ senderFrame: { url: 'app://app/index.html', parent: null } })],
    ['a frame with another routing id', ev({ sender: { id: 1, mainFrame: { ...mainFrame, processId: 4, routingId: 1 } }, senderFrame: { url: 'app://app/index.html', parent: null, processId: 4, routingId: 2 } })],
    ['a destroyed frame', ev({ senderFrame: null })],
    ['a webContents that is not ours', ev({ sender: { id: 99, mainFrame } })],
  ])('refuses %s with FORBIDDEN before looking at the method', async (_name, e) => {
    const { call } = setup();
    const r = await call(e, 'openDemo', {});
    expect(code(r)).toBe('FORBIDDEN');
  });

  it('accepts the main frame by id when Electron hands out a different wrapper object', async () => {
    const { call } = setup();
    const main = { url: 'app://app/index.html', parent: null, processId: 4, routingId: 1 };
    const r = await call({ sender: { id: 1, mainFrame: main }, senderFrame: { ...main } }, 'version', {});
    expect(r.ok).toBe(true);
  });

  it('refuses methods outside the allow-list and bad arguments', async () => {
    const { call } = setup();
    expect(code(await call(ev(), 'eval', {}))).toBe('INVALID_ARGUMENT');
    expect(code(await call(ev(), '__proto__', {}))).toBe('INVALID_ARGUMENT');
    expect(code(await call(ev(), 42, {}))).toBe('INVALID_ARGUMENT');
    expect(code(await call(ev(), 'openSource', { spec: ['x'] }))).toBe('INVALID_ARGUMENT');
    expect(code(await call(ev(), 'openSource', { spec: 'x' }, 'extra'))).toBe('INVALID_ARGUMENT');
    expect(code(await call(ev(), 'chooseSource', { kind: 'anything' }))).toBe('INVALID_ARGUMENT');
  });

  it('keeps error codes from the core and from the shell', async () => {
    const { call } = setup();
    const r = await call(ev(), 'getGraph', { sourceId: 's404' });
    expect(r).toMatchObject({ ok: false, error: { code: 'SOURCE_NOT_FOUND' } });
    expect((r as { error: { message: string } }).error.message).toMatch(/open it again/);
    expect(await call(ev(), 'openExternal', { url: 'http://x' })).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
  });

  it('routes shell methods to the shell with the sender, never to the core', async () => {
    const calls: unknown[] = [];
    const { call } = setup(calls);
    expect(await call(ev(), 'chooseSource', { kind: 'folder' })).toEqual({ ok: true, value: { path: '/picked' } });
    expect(calls).toEqual([['chooseSource', { kind: 'folder' }, 1]]);
  });
});

describe('core host (utility process) and its client', () => {
  it('runs the handler table behind a message port and forwards events', async () => {
    // Wire a fake child: the client's postMessage reaches the host, and back.
    const hostListeners: ((e: { data: unknown }) => void)[] = [];
    const childListeners: { message: ((m: FromHost) => void)[]; exit: ((c: number) => void)[] } = { message: [], exit: [] };
    const port: PortLike = { on: (_e, l) => void hostListeners.push(l), postMessage: (m) => queueMicrotask(() => childListeners.message.forEach((l) => l(structuredClone(m)))) };
    startCoreHost(port);
    const child: ChildLike = {
      postMessage: (m: ToHost) => queueMicrotask(() => hostListeners.forEach((l) => l({ data: structuredClone(m) }))),
      on: ((ev: 'message' | 'exit', l: never) => void (childListeners[ev] as unknown[]).push(l)) as ChildLike['on'],
      kill: () => (childListeners.exit.forEach((l) => l(0)), true),
    };
    const events: EventEnvelope[] = [];
    let spawned = 0;
    const client = createCoreClient(() => (spawned++, child), { appVersion: 't', demoPath: DEMO }, (e) => events.push(e));
    const h = await client.dispatch('openDemo', {});
    expect(h).toMatchObject({ ok: true, value: { demo: true } });
    const v = (await client.dispatch('version', {})) as { ok: true; value: { capabilities: { mode: string } } };
    expect(v.value.capabilities.mode).toBe('electron');
    expect(events.some((e) => e.event === 'sources-changed')).toBe(true);
    expect(code(await client.dispatch('chooseSource', { kind: 'folder' }))).toBe('FORBIDDEN');
    expect(spawned).toBe(1);
    client.close();
    expect(code(await client.dispatch('version', {}))).toBe('INTERNAL');
  });
});
