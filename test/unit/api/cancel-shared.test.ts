import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import type { DirPage, ImageSummary, SourceHandle } from '../../../shared/api/contract.js';
import { defaultCore } from '../../../shared/api/core.js';
import { createHandlerTable, type HandlerTable } from '../../../shared/api/handlers.js';
import { openSource } from '../../../shared/sources/open.js';
import type { ImageSource } from '../../../shared/sources/types.js';

// Cancellation and lifetime in the middle of work (issue 9): one image's indexing is shared by the
// callers that ask for it; one caller cancelling does not fail the others; closing the source stops
// the work and frees its state. A gate holds layer reads half-way so each cancel lands mid-operation.

const DEMO = path.resolve(__dirname, '../../../resources/demo');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'oe-cancel-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** The demo layout whose layer blobs stop after their first chunk until `release()`; counts blob opens. */
function gated() {
  let open!: () => void;
  const gate = new Promise<void>((r) => (open = r));
  const state = { layerOpens: 0, waiting: 0, closed: false };
  let reached!: () => void;
  const firstWait = new Promise<void>((r) => (reached = r));
  const wrap = (s: ImageSource): ImageSource => ({
    kind: s.kind,
    location: s.location,
    roots: (sig) => s.roots(sig),
    statBlob: (d) => s.statBlob(d),
    close: async () => ((state.closed = true), s.close()),
    async openBlob(desc, opts) {
      const inner = await s.openBlob(desc, opts);
      if (!/tar/.test(desc.mediaType)) return inner;
      state.layerOpens++;
      const out = new PassThrough();
      let first = true;
      (async () => {
        try {
          for await (const c of inner as AsyncIterable<Buffer>) {
            if (!out.write(c)) await new Promise((r) => out.once('drain', r));
            if (first) {
              first = false;
              state.waiting++;
              reached();
              await gate;
            }
          }
          out.end();
        } catch (e) {
          out.destroy(e as Error);
        }
      })();
      out.on('close', () => (inner as Readable).destroy());
      return out;
    },
  });
  return { state, release: () => open(), reached: firstWait, wrap };
}

async function setup(g: ReturnType<typeof gated>): Promise<{ t: HandlerTable; call: <T>(m: string, a: unknown) => Promise<T> }> {
  const base = defaultCore({ cacheDir: path.join(tmp, `cache-${Math.random().toString(36).slice(2)}`), workers: 0 });
  const core = { ...base, openSource: async (spec: string, ctx: object) => {
    const o = await openSource(spec, ctx);
    return { ...o, source: g.wrap(o.source) };
  } };
  const t = createHandlerTable({ core, mode: 'web', appVersion: 'test' });
  const call = async <T>(m: string, a: unknown): Promise<T> => {
    const r = await t.dispatch(m, a);
    if (!r.ok) throw Object.assign(new Error(r.error.message), r.error);
    return r.value as T;
  };
  return { t, call };
}

describe('shared work and cancellation mid-operation', () => {
  it('two selectImage calls share one indexing run; cancelling one mid-read leaves the other (and a listDir) to finish', async () => {
    const g = gated();
    const { t, call } = await setup(g);
    try {
      const h = await call<SourceHandle>('openSource', { spec: DEMO });
      const a = call<ImageSummary>('selectImage', { sourceId: h.id, platform: 'linux/amd64', opId: 'op-a' });
      const b = call<ImageSummary>('selectImage', { sourceId: h.id, platform: 'linux/amd64', opId: 'op-b' });
      await g.reached;
      const manifest = ((await call<{ manifest: string; platform?: { architecture: string } }[]>('listImages', { sourceId: h.id })).find((i) => i.platform?.architecture === 'amd64'))!.manifest;
      const dir = call<DirPage>('listDir', { image: { sourceId: h.id, manifest }, view: { kind: 'merged' }, path: '/' });
      // The expectation is attached before the cancel, so the rejection is never unhandled.
      const aCancelled = expect(a).rejects.toMatchObject({ code: 'CANCELLED' });
      expect(await call('cancel', { opId: 'op-a' })).toEqual({ cancelled: true });
      await aCancelled;
      g.release();
      const summary = await b;
      expect(summary.layers.every((l) => l.verify === 'verified')).toBe(true);
      expect((await dir).entries.length).toBeGreaterThan(0);
      // One run: each layer blob was opened once, not once per caller.
      expect(g.state.layerOpens).toBe(summary.layers.length);
    } finally {
      await t.close();
    }
  });

  it('cancelling every caller stops the run; a later selectImage starts again and succeeds', async () => {
    const g = gated();
    const { t, call } = await setup(g);
    try {
      const h = await call<SourceHandle>('openSource', { spec: DEMO });
      const a = call<ImageSummary>('selectImage', { sourceId: h.id, platform: 'linux/amd64', opId: 'op-only' });
      await g.reached;
      const aCancelled = expect(a).rejects.toMatchObject({ code: 'CANCELLED' });
      await call('cancel', { opId: 'op-only' });
      await aCancelled;
      g.release();
      const again = await call<ImageSummary>('selectImage', { sourceId: h.id, platform: 'linux/amd64' });
      expect(again.layers.every((l) => l.verify === 'verified')).toBe(true);
    } finally {
      await t.close();
    }
  });

  it('closing the source mid-index cancels its operations, closes the source and forgets it', async () => {
    const g = gated();
    const { t, call } = await setup(g);
    try {
      const h = await call<SourceHandle>('openSource', { spec: DEMO });
      const a = call<ImageSummary>('selectImage', { sourceId: h.id, platform: 'linux/amd64', opId: 'op-x' });
      await g.reached;
      const aCancelled = expect(a).rejects.toMatchObject({ code: 'CANCELLED' });
      expect(await call('closeSource', { sourceId: h.id })).toEqual({ closed: true });
      await aCancelled;
      expect(g.state.closed).toBe(true);
      expect(await call('listOperations', {})).toEqual([]);
      await expect(call('getGraph', { sourceId: h.id })).rejects.toMatchObject({ code: 'SOURCE_NOT_FOUND' });
      g.release();
    } finally {
      await t.close();
    }
  });
});
