import path from 'node:path';
import { ExplorerError, toExplorerError } from '../errors.js';
import type { ImageEntry, ImageGraph } from '../graph/types.js';
import { readVerified } from '../sources/verify.js';
import type { ImageSource } from '../sources/types.js';
import type { Descriptor } from '../oci/types.js';
import {
  API_VERSION,
  MAX_READ,
  type Capabilities,
  type Envelope,
  type EventEnvelope,
  type EventName,
  type ExplorerEvents,
  type ImageRef,
  type MethodArgs,
  type MethodName,
  type MethodResult,
  type OperationEvent,
  type OperationKind,
  type SerializedError,
  type SourceHandle,
  type SourceId,
} from './contract.js';
import type { Core, EngineImage, LayerEngine, ProgressSink } from './core.js';
import { createStateStore, type StateStore } from './state.js';
import { argsProblem } from './validate.js';

// The one handler table behind both transports. It owns the open sources, running operations, recent
// sources and settings; everything about images is delegated to the core (./core.ts). Transports call
// dispatch(method, args) and subscribe(listener): they never reach a handler without validation.

export interface HandlerOptions {
  core: Core;
  mode: Capabilities['mode'];
  appVersion: string;
  /** Folder for recent.json/settings.json; in memory when absent. */
  stateDir?: string;
  /** The bundled demo image (an OCI layout folder); openDemo fails clearly when absent. */
  demoPath?: string;
  /** Capabilities the transport adds (nativeDialogs, dropFiles, openExternal in the desktop shell). */
  capabilities?: Partial<Capabilities>;
  /** Extra runtime versions to report (electron). */
  runtime?: Record<string, string>;
  /** Methods the shell answers itself; the table refuses them so they cannot be reached by mistake. */
  shellMethods?: readonly MethodName[];
}

type Handler<M extends MethodName> = (args: MethodArgs<M>) => Promise<MethodResult<M>>;
export type HandlerMap = { [M in MethodName]: Handler<M> };

export interface HandlerTable {
  /** Validates, runs, and never throws: failures come back as {ok:false, error}. */
  dispatch(method: string, args: unknown): Promise<Envelope>;
  subscribe(listener: (e: EventEnvelope) => void): () => void;
  emit<K extends EventName>(event: K, payload: ExplorerEvents[K]): void;
  /** Closes every source and aborts running operations. */
  close(): Promise<void>;
  readonly handlers: HandlerMap;
}

interface OpenEntry {
  handle: SourceHandle;
  source: ImageSource;
  tag?: string;
  graph?: Promise<ImageGraph>;
  images: Map<string, ImageEntry>;
}

interface RunningOp {
  controller: AbortController;
  event: OperationEvent;
}

export function notAvailable(what: string): ExplorerError {
  return new ExplorerError('SOURCE_UNSUPPORTED', `${what} is not available in this build yet; update OCI Explorer to use it.`, { notAvailable: true });
}

export function serializeError(e: unknown): SerializedError {
  const x = toExplorerError(e);
  const out: SerializedError = { code: x.code, message: x.message };
  if (x.details) out.details = JSON.parse(JSON.stringify(x.details)) as Record<string, unknown>;
  return out;
}

const TEXT_TYPES = /(json|text|xml|yaml)/i;

export function createHandlerTable(opts: HandlerOptions): HandlerTable {
  const { core } = opts;
  const state: StateStore = createStateStore(opts.stateDir);
  const sources = new Map<SourceId, OpenEntry>();
  const ops = new Map<string, RunningOp>();
  const listeners = new Set<(e: EventEnvelope) => void>();
  let nextSource = 1;
  // Short calls (listDir, readFile…) are not cancellable one by one; they stop when the table closes.
  const lifetime = new AbortController();

  function emit<K extends EventName>(event: K, payload: ExplorerEvents[K]): void {
    for (const l of [...listeners]) {
      try {
        l({ event, payload } as EventEnvelope);
      } catch {
        // a broken listener (closed window) must not break the operation
      }
    }
  }

  function entry(id: SourceId): OpenEntry {
    const e = sources.get(id);
    if (!e) throw new ExplorerError('SOURCE_NOT_FOUND', 'That source is no longer open; open it again from Recent.', { sourceId: id });
    return e;
  }

  function sourcesChanged(active?: SourceId): void {
    emit('sources-changed', active ? { sources: [...sources.values()].map((s) => s.handle), active } : { sources: [...sources.values()].map((s) => s.handle) });
  }

  /** Runs a long operation: registers it for cancel, emits operation events, maps aborts to CANCELLED. */
  async function runOp<T>(kind: OperationKind, opId: string | undefined, label: string, sourceId: SourceId | undefined, fn: (signal: AbortSignal, op: OperationEvent) => Promise<T>): Promise<T> {
    const id = opId ?? `op-auto-${Math.random().toString(36).slice(2, 12)}`;
    if (ops.has(id)) throw new ExplorerError('INVALID_ARGUMENT', `Operation id ${id} is already running; use a fresh id from newOperationId().`);
    const controller = new AbortController();
    const event: OperationEvent = { opId: id, kind, state: 'running', label };
    if (sourceId) event.sourceId = sourceId;
    ops.set(id, { controller, event });
    emit('operation', { ...event });
    try {
      const result = await fn(controller.signal, event);
      if (controller.signal.aborted) throw new ExplorerError('CANCELLED', 'The operation was cancelled.');
      emit('operation', { ...event, state: 'done' });
      return result;
    } catch (e) {
      const err = controller.signal.aborted ? new ExplorerError('CANCELLED', `${label} was cancelled.`) : toExplorerError(e);
      emit('operation', { ...event, state: err.code === 'CANCELLED' ? 'cancelled' : 'failed', error: serializeError(err) });
      throw err;
    } finally {
      ops.delete(id);
    }
  }

  async function graphOf(e: OpenEntry): Promise<ImageGraph> {
    if (!core.buildGraph) throw notAvailable('The descriptor graph');
    const build = core.buildGraph;
    e.graph ??= build(e.source, {});
    try {
      return await e.graph;
    } catch (err) {
      e.graph = undefined; // a failed build may succeed later (e.g. after a transient read error)
      throw err;
    }
  }

  function layers(): LayerEngine {
    if (!core.layers) throw notAvailable('Browsing layers');
    return core.layers;
  }

  async function engineImage(ref: ImageRef): Promise<EngineImage> {
    const e = entry(ref.sourceId);
    const graph = await graphOf(e);
    let image = e.images.get(ref.manifest);
    if (!image) {
      if (!core.listImages) throw notAvailable('Selecting images');
      image = core.listImages(graph).find((i) => i.manifest === ref.manifest);
      if (!image) throw new ExplorerError('IMAGE_NOT_FOUND', `This source has no image with manifest ${ref.manifest}; pick one from its graph.`, { manifest: ref.manifest });
      e.images.set(ref.manifest, image);
    }
    return { source: e.source, graph, image };
  }

  function progressSink(op: OperationEvent, sourceId: SourceId | undefined, manifest: string | undefined): ProgressSink {
    return {
      indexProgress(p) {
        if (sourceId && manifest) emit('index-progress', { opId: op.opId, sourceId, manifest, ...p });
      },
      extractProgress(p) {
        emit('extract-progress', { opId: op.opId, ...p });
        op.progress = { done: p.bytes, unit: 'bytes', ...(p.totalBytes !== undefined ? { total: p.totalBytes } : {}) };
      },
    };
  }

  async function open(spec: string, opId: string | undefined, demo: boolean): Promise<SourceHandle> {
    return runOp('open', opId, `Opening ${spec}`, undefined, async (signal) => {
      const opened = await core.openSource(spec, { signal });
      const id = `s${nextSource++}`;
      const handle: SourceHandle = {
        id,
        label: demo ? 'Demo image' : labelOf(opened.source.location || spec),
        kind: opened.source.kind,
        location: spec,
        openedAt: new Date().toISOString(),
        warnings: opened.source.warnings?.() ?? [],
      };
      if (opened.selector.tag) handle.selectedTag = opened.selector.tag;
      if (demo) handle.demo = true;
      try {
        if (signal.aborted) throw new ExplorerError('CANCELLED', `Opening ${spec} was cancelled.`);
        sources.set(id, { handle, source: opened.source, tag: opened.selector.tag, images: new Map() });
        if (!demo) {
          // The recent list is a convenience: failing to write it must not fail (or leak) the open.
          const settings = await state.settings();
          await state.addRecent({ spec, label: handle.label, kind: handle.kind, lastOpened: handle.openedAt }, settings.recentLimit).catch(() => undefined);
        }
      } catch (e) {
        // A failed open closes what it opened.
        sources.delete(id);
        await opened.source.close().catch(() => undefined);
        throw e;
      }
      sourcesChanged(id);
      return handle;
    });
  }

  const refused = (m: string) => async () => {
    throw new ExplorerError('FORBIDDEN', `${m} is only available in the desktop app.`);
  };

  const handlers: HandlerMap = {
    async version() {
      return {
        app: opts.appVersion,
        api: API_VERSION,
        runtime: { node: process.versions.node, ...(opts.runtime ?? {}) },
        capabilities: {
          mode: opts.mode,
          layers: !!core.layers && !!core.buildGraph && !!core.listImages,
          nativeDialogs: false,
          dropFiles: false,
          openExternal: opts.mode === 'web',
          extract: !!core.layers,
          registryPull: false,
          dockerEngine: false,
          ...opts.capabilities,
        },
      };
    },

    openSource: (a) => open(a.spec, a.opId, false),
    async openDemo() {
      if (!opts.demoPath) throw new ExplorerError('SOURCE_NOT_FOUND', 'This build has no demo image; open a folder or an archive instead.');
      return open(opts.demoPath, undefined, true);
    },
    async listSources() {
      return [...sources.values()].map((s) => s.handle);
    },
    async closeSource(a) {
      const e = sources.get(a.sourceId);
      if (!e) return { closed: false };
      sources.delete(a.sourceId);
      for (const op of ops.values()) if (op.event.sourceId === a.sourceId) op.controller.abort();
      await e.source.close().catch(() => undefined);
      sourcesChanged();
      return { closed: true };
    },

    async getGraph(a) {
      return graphOf(entry(a.sourceId));
    },
    async getBlob(a) {
      const e = entry(a.sourceId);
      const graph = await graphOf(e);
      const node = graph.nodes.find((n) => n.digest === a.digest);
      if (!node) throw new ExplorerError('BLOB_MISSING', `No descriptor with digest ${a.digest} in this source's graph.`, { digest: a.digest });
      const desc: Descriptor = { mediaType: node.mediaType, digest: node.digest, size: node.size };
      const max = a.maxBytes ?? 1024 * 1024;
      let bytes: Buffer;
      let truncated = false;
      let verify = node.verify;
      if (node.size <= max) {
        bytes = await readVerified(e.source, desc, max);
        verify = 'verified';
      } else {
        bytes = await readPrefix(e.source, desc, max);
        truncated = true;
      }
      const utf8 = TEXT_TYPES.test(node.mediaType) && isUtf8(bytes);
      return { digest: node.digest, mediaType: node.mediaType, size: node.size, encoding: utf8 ? 'utf8' : 'base64', data: bytes.toString(utf8 ? 'utf8' : 'base64'), truncated, verify };
    },
    async listImages(a) {
      if (!core.listImages) throw notAvailable('Listing images');
      return core.listImages(await graphOf(entry(a.sourceId)));
    },
    async selectImage(a) {
      const e = entry(a.sourceId);
      const graph = await graphOf(e);
      if (!core.selectImage) throw notAvailable('Selecting images');
      const want: { manifest?: string; platform?: string; tag?: string } = {};
      if (a.manifest) want.manifest = a.manifest;
      if (a.platform) want.platform = a.platform;
      if (!a.manifest && e.tag) want.tag = e.tag;
      if (!a.platform && !a.manifest) {
        const p = (await state.settings()).defaultPlatform;
        if (p) want.platform = p;
      }
      const image = core.selectImage(graph, want);
      e.images.set(image.manifest, image);
      const engine = layers();
      return runOp('index', a.opId, `Indexing ${image.names[0] ?? image.manifest.slice(0, 19)}`, a.sourceId, async (signal, op) => {
        const summary = await engine.summarize({ source: e.source, graph, image }, { signal, progress: progressSink(op, a.sourceId, image.manifest) });
        // Reading the layers verified them: the graph's layer nodes changed state.
        emit('graph-changed', { sourceId: a.sourceId, digests: summary.layers.map((l) => l.digest) });
        return { ref: { sourceId: a.sourceId, manifest: image.manifest }, ...summary };
      });
    },

    async listDir(a) {
      const { image, ...rest } = a;
      return layers().listDir(await engineImage(image), rest, lifetime.signal);
    },
    async listDirs(a) {
      const { image, ...rest } = a;
      return layers().listDirs(await engineImage(image), rest, lifetime.signal);
    },
    async search(a) {
      const { image, ...rest } = a;
      return layers().search(await engineImage(image), rest, lifetime.signal);
    },
    async diff(a) {
      const { image, ...rest } = a;
      return layers().diff(await engineImage(image), rest, lifetime.signal);
    },
    async listChanges(a) {
      const { image, ...rest } = a;
      return layers().listChanges(await engineImage(image), rest, lifetime.signal);
    },
    async efficiency(a) {
      const { image, ...rest } = a;
      return layers().efficiency(await engineImage(image), rest, lifetime.signal);
    },
    async stat(a) {
      const { image, ...rest } = a;
      return layers().stat(await engineImage(image), rest, lifetime.signal);
    },
    async readFile(a) {
      const { image, ...rest } = a;
      const chunk = await layers().readFile(await engineImage(image), { ...rest, length: Math.min(rest.length ?? MAX_READ, MAX_READ) }, lifetime.signal);
      // A plain Uint8Array of exactly these bytes: a view into a pooled Buffer would make structured
      // clone copy the whole pool, and both transports should see the same type.
      return { ...chunk, data: new Uint8Array(chunk.data) };
    },
    async extract(a) {
      const { image, opId, ...rest } = a;
      const img = await engineImage(image);
      const engine = layers();
      const target = path.resolve(rest.target);
      return runOp('extract', opId, `Extracting to ${target}`, image.sourceId, (signal, op) => engine.extract(img, { ...rest, target }, { signal, progress: progressSink(op, image.sourceId, image.manifest) }));
    },
    async saveFile(a) {
      const { image, opId, ...rest } = a;
      const img = await engineImage(image);
      const engine = layers();
      const target = path.resolve(rest.target);
      return runOp('save', opId, `Saving ${rest.path}`, image.sourceId, (signal, op) => engine.saveFile(img, { ...rest, target }, { signal, progress: progressSink(op, image.sourceId, image.manifest) }));
    },

    async cancel(a) {
      const op = ops.get(a.opId);
      if (!op) return { cancelled: false };
      op.controller.abort();
      return { cancelled: true };
    },
    async listOperations() {
      return [...ops.values()].map((o) => ({ ...o.event }));
    },

    recentSources: () => state.recent(),
    async clearRecent() {
      return { cleared: await state.clearRecent() };
    },
    getSettings: () => state.settings(),
    setSettings: (a) => state.setSettings(a.patch),

    chooseSource: refused('Native dialogs'),
    chooseTarget: refused('Native dialogs'),
    openExternal: refused('Opening links from the core'),
  };

  return {
    handlers,
    emit,
    subscribe(l) {
      listeners.add(l);
      return () => void listeners.delete(l);
    },
    async dispatch(method, args) {
      try {
        const problem = argsProblem(method, args);
        if (problem) throw new ExplorerError('INVALID_ARGUMENT', `Invalid request to ${method}: ${problem}.`, { method });
        if (opts.shellMethods?.includes(method as MethodName)) throw new ExplorerError('FORBIDDEN', `${method} is answered by the desktop shell, not the core.`);
        const fn = handlers[method as MethodName] as (a: unknown) => Promise<unknown>;
        return { ok: true, value: await fn(args ?? {}) };
      } catch (e) {
        return { ok: false, error: serializeError(e) };
      }
    },
    async close() {
      lifetime.abort();
      for (const op of ops.values()) op.controller.abort();
      const all = [...sources.values()];
      sources.clear();
      await Promise.all(all.map((s) => s.source.close().catch(() => undefined)));
    },
  };
}

function labelOf(location: string): string {
  const trimmed = location.replace(/[\\/]+$/, '');
  return path.basename(trimmed) || trimmed;
}

function isUtf8(b: Buffer): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(b);
    return true;
  } catch {
    return false;
  }
}

async function readPrefix(source: ImageSource, desc: Descriptor, max: number): Promise<Buffer> {
  const stream = await source.openBlob(desc, { start: 0, end: max });
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of stream) {
    const b = Buffer.isBuffer(c) ? c : Buffer.from(c as Uint8Array);
    chunks.push(b);
    n += b.length;
    if (n >= max) break;
  }
  stream.destroy();
  return Buffer.concat(chunks).subarray(0, max);
}
