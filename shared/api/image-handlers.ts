import path from 'node:path';
import { throttleProgress } from '../util/throttle.js';
import { MAX_READ, type ExplorerEvents, type MethodArgs, type MethodResult, type NodeStateChange, type OperationEvent } from './contract.js';
import type { Core } from './core.js';
import type { Operations } from './operations.js';
import { notAvailable, type OpenSources } from './open-sources.js';
import type { StateStore } from './state.js';

// The image methods of the contract (select, trees, diffs, files) mapped onto OpenImage: argument
// shapes in, contract results out, long ones as operations with progress events.

type ImageMethod = 'selectImage' | 'listDir' | 'listDirs' | 'search' | 'diff' | 'listChanges' | 'efficiency' | 'stat' | 'readFile' | 'extract' | 'saveFile';
type Handlers = { [M in ImageMethod]: (a: MethodArgs<M>) => Promise<MethodResult<M>> };
type Emit = <K extends keyof ExplorerEvents>(event: K, payload: ExplorerEvents[K]) => void;

export function imageHandlers(core: Core, sources: OpenSources, ops: Operations, state: StateStore, emit: Emit): Handlers {
  const progressOf = (op: OperationEvent) =>
    throttleProgress((p: { files: number; bytes: number; totalBytes?: number }) => {
      emit('extract-progress', { opId: op.opId, ...p });
      op.progress = { done: p.bytes, unit: 'bytes', ...(p.totalBytes !== undefined ? { total: p.totalBytes } : {}) };
    }, core.extractProgressMs ?? 100);

  return {
    async selectImage(a) {
      const e = sources.get(a.sourceId);
      const ctx = await e.graph();
      if (!core.selectImage) throw notAvailable('Selecting images');
      const want: { manifest?: string; platform?: string; tag?: string } = {};
      if (a.manifest) want.manifest = a.manifest;
      if (a.platform) want.platform = a.platform;
      if (!a.manifest && e.tag) want.tag = e.tag;
      if (!a.platform && !a.manifest) {
        const p = (await state.settings()).defaultPlatform;
        if (p) want.platform = p;
      }
      const img = e.image(ctx, core.selectImage(ctx.graph, want));
      const label = `Indexing ${img.image.names[0] ?? img.image.manifest.slice(0, 19)}`;
      return ops.run('index', a.opId, label, a.sourceId, async (signal, op) => {
        await img.index(signal, (p) => emit('index-progress', { opId: op.opId, sourceId: a.sourceId, manifest: img.image.manifest, layer: p.layer, digest: p.layerDigest, bytesDone: p.bytesDone, bytesTotal: p.bytesTotal, entries: p.entries, done: !!p.done }));
        // Reading the layers verified them: the core's graph is the one truth; the event carries the change.
        const nodes: NodeStateChange[] = img.markLayersRead();
        emit('graph-changed', { sourceId: a.sourceId, digests: nodes.map((n) => n.digest), nodes });
        return { ref: { sourceId: a.sourceId, manifest: img.image.manifest }, ...img.summary() };
      });
    },
    listDir: async ({ image, path: p, offset, ...a }) => (await sources.image(image)).dirPage(a, p, offset ?? 0),
    listDirs: async ({ image, paths, ...a }) => (await sources.image(image)).dirPages(a, paths),
    search: async (a) => (await sources.image(a.image)).search(a.view, a.query, a.offset, a.limit, a.sort),
    diff: async (a) => (await sources.image(a.image)).diffSummary(a.bottom, a.top),
    listChanges: async (a) => (await sources.image(a.image)).changes(a.bottom, a.top, a.changes, a.offset, a.limit, a.sort),
    efficiency: async (a) => (await sources.image(a.image)).efficiency(a.top),
    stat: async (a) => (await sources.image(a.image)).stat(a.view, a.path),
    async readFile(a) {
      const img = await sources.image(a.image);
      const args = { path: a.path, length: Math.min(a.length ?? MAX_READ, MAX_READ), ...(a.view ? { view: a.view } : {}), ...(a.offset !== undefined ? { offset: a.offset } : {}) };
      return img.readChunk(args, sources.get(a.image.sourceId).lifetime.signal);
    },
    async extract({ image, opId, ...a }) {
      const img = await sources.image(image);
      const target = path.resolve(a.target);
      return ops.run('extract', opId, `Extracting to ${target}`, image.sourceId, (signal, op) => img.extract({ ...a, target }, signal, progressOf(op)));
    },
    async saveFile({ image, opId, ...a }) {
      const img = await sources.image(image);
      const target = path.resolve(a.target);
      return ops.run('save', opId, `Saving ${a.path}`, image.sourceId, async (signal, op) => {
        const r = await img.saveFile({ ...a, target }, signal);
        progressOf(op).final({ files: 1, bytes: r.bytes });
        return r;
      });
    },
  };
}
