import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_SETTINGS, METHODS, type EventEnvelope, type SerializedError } from '../../../shared/api/contract.js';
import { defaultCore, type Core } from '../../../shared/api/core.js';
import { createHandlerTable, type HandlerTable } from '../../../shared/api/handlers.js';
import { ExplorerError } from '../../../shared/errors.js';

const DEMO = path.resolve(__dirname, '../../../resources/demo');
const tables: HandlerTable[] = [];
function table(core: Core = defaultCore(), extra: Partial<Parameters<typeof createHandlerTable>[0]> = {}): HandlerTable {
  const t = createHandlerTable({ core, mode: 'web', appVersion: '0.0.0-test', demoPath: DEMO, ...extra });
  tables.push(t);
  return t;
}
afterEach(async () => {
  await Promise.all(tables.splice(0).map((t) => t.close()));
});

const err = (e: { ok: boolean; error?: SerializedError }) => {
  expect(e.ok).toBe(false);
  return e.error!;
};

describe('handler table dispatch', () => {
  it('has a handler for every method in the allow-list and nothing else', () => {
    expect(Object.keys(table().handlers).sort()).toEqual([...METHODS].sort());
  });

  it('refuses unknown methods and prototype names', async () => {
    const t = table();
    for (const m of ['nope', '__proto__', 'constructor', 'toString', 'dispatch']) {
      const e = err(await t.dispatch(m, {}));
      expect(e.code).toBe('INVALID_ARGUMENT');
    }
  });

  it.each([
    ['openSource', {}, /spec is required/],
    ['openSource', { spec: 42 }, /spec must be a string/],
    ['openSource', { spec: 'x', extra: 1 }, /extra is not a known field/],
    ['openSource', { spec: 'x', opId: 'has space' }, /opId has an invalid format/],
    ['getGraph', { sourceId: '../etc' }, /sourceId has an invalid format/],
    ['getBlob', { sourceId: 's1', digest: 'not-a-digest' }, /digest has an invalid format/],
    ['listDir', { image: { sourceId: 's1', manifest: 'sha256:00' }, view: { kind: 'merged' }, path: 'relative' }, /path has an invalid format/],
    ['listDir', { image: { sourceId: 's1', manifest: 'sha256:00' }, view: { kind: 'bogus' }, path: '/' }, /view/],
    ['listDir', { image: { sourceId: 's1', manifest: 'sha256:00' }, view: { kind: 'merged' }, path: '/', limit: 1e9 }, /limit must be at most/],
    ['readFile', { image: { sourceId: 's1', manifest: 'sha256:00' }, path: '/a', length: -1 }, /length must be at least 0/],
    ['setSettings', { patch: { theme: 'neon' } }, /theme must be one of/],
    ['version', [], /args must be an object/],
    ['version', { a: 1 }, /a is not a known field/],
  ])('refuses bad arguments to %s %j', async (method, args, re) => {
    const e = err(await table().dispatch(method, args));
    expect(e.code).toBe('INVALID_ARGUMENT');
    expect(e.message).toMatch(re);
  });

  it('refuses objects with a foreign prototype (class instances do not cross the seam)', async () => {
    class Spec {
      spec = '/tmp';
    }
    const e = err(await table().dispatch('openSource', new Spec()));
    expect(e.code).toBe('INVALID_ARGUMENT');
  });

  it('serialises core errors with their code, message and details', async () => {
    const core: Core = {
      openSource: async () => {
        throw new ExplorerError('LAYOUT_INVALID', 'Not a layout: choose the folder with oci-layout.', { path: '/x' });
      },
    };
    const e = err(await table(core).dispatch('openSource', { spec: '/x' }));
    expect(e).toEqual({ code: 'LAYOUT_INVALID', message: 'Not a layout: choose the folder with oci-layout.', details: { path: '/x' } });
  });

  it('maps non-ExplorerError failures to INTERNAL', async () => {
    const core: Core = {
      openSource: async () => {
        throw new TypeError('boom');
      },
    };
    const e = err(await table(core).dispatch('openSource', { spec: '/x' }));
    expect(e.code).toBe('INTERNAL');
    expect(e.message).toContain('boom');
  });

  it('says "not available yet" (never a silent stub) for a missing backend', async () => {
    const t = table({ openSource: defaultCore().openSource });
    const opened = await t.dispatch('openSource', { spec: DEMO });
    expect(opened.ok).toBe(true);
    const id = (opened as { value: { id: string } }).value.id;
    const e = err(await t.dispatch('getGraph', { sourceId: id }));
    expect(e.code).toBe('SOURCE_UNSUPPORTED');
    expect(e.details).toEqual({ notAvailable: true });
    const v = await t.dispatch('version', {});
    expect((v as { value: { capabilities: { layers: boolean } } }).value.capabilities.layers).toBe(false);
  });

  it('refuses shell-only methods in the core', async () => {
    const e = err(await table().dispatch('chooseSource', { kind: 'folder' }));
    expect(e.code).toBe('FORBIDDEN');
  });
});

describe('sources, recent, settings', () => {
  it('opens the demo image, lists and closes it, emitting sources-changed', async () => {
    const t = table();
    const events: EventEnvelope[] = [];
    t.subscribe((e) => events.push(e));
    const r = await t.dispatch('openDemo', {});
    expect(r.ok).toBe(true);
    const h = (r as { value: { id: string; demo: boolean; kind: string; label: string } }).value;
    expect(h).toMatchObject({ demo: true, kind: 'oci-layout', label: 'Demo image' });
    const list = await t.dispatch('listSources', {});
    expect((list as { value: unknown[] }).value).toHaveLength(1);
    expect(events.map((e) => e.event)).toEqual(['operation', 'sources-changed', 'operation']);
    expect(events[1]!.payload).toMatchObject({ active: h.id });
    expect(await t.dispatch('closeSource', { sourceId: h.id })).toEqual({ ok: true, value: { closed: true } });
    expect(await t.dispatch('closeSource', { sourceId: h.id })).toEqual({ ok: true, value: { closed: false } });
    const e = err(await t.dispatch('getGraph', { sourceId: h.id }));
    expect(e.code).toBe('SOURCE_NOT_FOUND');
  });

  it('keeps recent sources (not the demo) and settings on disk', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'oe-state-'));
    const t = table(defaultCore(), { stateDir: dir });
    await t.dispatch('openDemo', {});
    await t.dispatch('openSource', { spec: DEMO });
    const recent = (await t.dispatch('recentSources', {})) as { value: { spec: string; kind: string }[] };
    expect(recent.value).toEqual([expect.objectContaining({ spec: DEMO, kind: 'oci-layout' })]);
    const onDisk = JSON.parse(await readFile(path.join(dir, 'recent.json'), 'utf8')) as { spec: string }[];
    expect(onDisk.map((r) => r.spec)).toEqual([DEMO]);

    const s = (await t.dispatch('setSettings', { patch: { theme: 'dark', hexBytesPerRow: 32 } })) as { value: { theme: string } };
    expect(s.value.theme).toBe('dark');
    const t2 = table(defaultCore(), { stateDir: dir });
    const s2 = (await t2.dispatch('getSettings', {})) as { value: { theme: string; hexBytesPerRow: number; recentLimit: number } };
    expect(s2.value).toMatchObject({ theme: 'dark', hexBytesPerRow: 32, recentLimit: 12 });
    expect(await t2.dispatch('clearRecent', {})).toEqual({ ok: true, value: { cleared: 1 } });
  });

  it('survives damaged state files: bad fields fall back to defaults, good ones are kept', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'oe-state-'));
    await writeFile(path.join(dir, 'settings.json'), JSON.stringify({ theme: 'dark', recentLimit: -5, hexBytesPerRow: 7, treeSort: { by: 'size', order: 'desc' }, extra: 1 }));
    await writeFile(path.join(dir, 'recent.json'), '{not json');
    const t = table(defaultCore(), { stateDir: dir });
    const s = (await t.dispatch('getSettings', {})) as { value: Record<string, unknown> };
    expect(s.value).toEqual({ ...DEFAULT_SETTINGS, theme: 'dark', treeSort: { by: 'size', order: 'desc' } });
    expect(await t.dispatch('recentSources', {})).toEqual({ ok: true, value: [] });
  });

  it('keeps at most recentLimit recent sources, newest first, without duplicates', async () => {
    const t = table(defaultCore(), { stateDir: await mkdtemp(path.join(os.tmpdir(), 'oe-state-')) });
    await t.dispatch('setSettings', { patch: { recentLimit: 1 } });
    await t.dispatch('openSource', { spec: DEMO });
    await t.dispatch('openSource', { spec: DEMO + '/' });
    await t.dispatch('openSource', { spec: DEMO + '/' });
    const r = (await t.dispatch('recentSources', {})) as { value: { spec: string }[] };
    expect(r.value.map((x) => x.spec)).toEqual([DEMO + '/']);
  });

  it('cancels a running operation by its caller-chosen id', async () => {
    let started!: () => void;
    const begun = new Promise<void>((r) => (started = r));
    const core: Core = {
      openSource: (_spec, { signal }) =>
        new Promise((_res, rej) => {
          started();
          signal?.addEventListener('abort', () => rej(Object.assign(new Error('aborted'), { name: 'AbortError' })));
        }),
    };
    const t = table(core);
    const events: EventEnvelope[] = [];
    t.subscribe((e) => events.push(e));
    const p = t.dispatch('openSource', { spec: '/slow', opId: 'op-1' });
    await begun;
    expect(((await t.dispatch('listOperations', {})) as { value: { opId: string }[] }).value.map((o) => o.opId)).toEqual(['op-1']);
    // A second operation with the same id is refused while the first runs.
    expect(err(await t.dispatch('openSource', { spec: '/slow', opId: 'op-1' })).code).toBe('INVALID_ARGUMENT');
    expect(await t.dispatch('cancel', { opId: 'op-1' })).toEqual({ ok: true, value: { cancelled: true } });
    expect(err(await p).code).toBe('CANCELLED');
    expect(events.filter((e) => e.event === 'operation').map((e) => (e.payload as { state: string }).state)).toEqual(['running', 'cancelled']);
    expect(await t.dispatch('cancel', { opId: 'op-1' })).toEqual({ ok: true, value: { cancelled: false } });
  });

  it('serves the graph and a descriptor\'s raw bytes, read independently from the layout', async () => {
    const t = table();
    const h = ((await t.dispatch('openDemo', {})) as { value: { id: string } }).value;
    const g = (await t.dispatch('getGraph', { sourceId: h.id })) as { ok: true; value: { nodes: { digest: string; kind: string }[] } };
    const index = JSON.parse(await readFile(path.join(DEMO, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
    const inner = index.manifests[0]!.digest;
    expect(g.value.nodes.map((n) => n.digest)).toContain(inner);
    const blob = (await t.dispatch('getBlob', { sourceId: h.id, digest: inner })) as { ok: true; value: { encoding: string; data: string; verify: string; truncated: boolean } };
    const onDisk = await readFile(path.join(DEMO, 'blobs/sha256', inner.slice(7)), 'utf8');
    expect(blob.value).toMatchObject({ encoding: 'utf8', data: onDisk, verify: 'verified', truncated: false });
    const cut = (await t.dispatch('getBlob', { sourceId: h.id, digest: inner, maxBytes: 10 })) as { ok: true; value: { data: string; truncated: boolean } };
    expect(cut.value).toMatchObject({ truncated: true, data: onDisk.slice(0, 10) });
    expect(err(await t.dispatch('getBlob', { sourceId: h.id, digest: 'sha256:' + '0'.repeat(64) })).code).toBe('BLOB_MISSING');
    const images = (await t.dispatch('listImages', { sourceId: h.id })) as { value: { platform: { architecture: string } }[] };
    expect(images.value.map((i) => i.platform.architecture).sort()).toEqual(['amd64', 'arm64']);
  });

  it('reports version and capabilities', async () => {
    const v = (await table().dispatch('version', {})) as { value: { api: number; capabilities: Record<string, unknown> } };
    expect(v.value.api).toBe(1);
    expect(v.value.capabilities).toMatchObject({ mode: 'web', nativeDialogs: false });
    // Derived from the backend list: each backend's transport is listed, and the flags follow from it.
    const sources = v.value.capabilities.sources as { transport: string; syntax: string }[];
    const transports = sources.map((s) => s.transport);
    expect(transports).toEqual(expect.arrayContaining(['oci', 'oci-archive', 'dir', 'docker-archive']));
    expect(v.value.capabilities.dockerEngine).toBe(transports.includes('docker-daemon'));
    expect(v.value.capabilities.registryPull).toBe(transports.includes('docker'));
    const partial = (await table({ ...defaultCore(), backends: [] }).dispatch('version', {})) as { value: { capabilities: Record<string, unknown> } };
    expect(partial.value.capabilities).toMatchObject({ dockerEngine: false, registryPull: false, sources: [] });
  });
});
