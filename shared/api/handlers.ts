import { ExplorerError } from '../errors.js';
import type { Descriptor } from '../oci/types.js';
import type { ImageSource } from '../sources/types.js';
import { readVerified } from '../sources/verify.js';
import {
  API_VERSION,
  type Capabilities,
  type Envelope,
  type EventEnvelope,
  type EventName,
  type ExplorerEvents,
  type MethodArgs,
  type MethodName,
  type MethodResult,
  type SourceHandle,
} from './contract.js';
import type { Core } from './core.js';
import { imageHandlers } from './image-handlers.js';
import { labelOf, notAvailable, OpenSources } from './open-sources.js';
import { createOperations, serializeError } from './operations.js';
import { openCache, type CacheReport } from '../store/cache.js';
import { defaultCacheDir } from '../store/paths.js';
import { createStateStore, type StateStore } from './state.js';
import { argsProblem } from './validate.js';

export { notAvailable } from './open-sources.js';
export { serializeError } from './operations.js';

// The one handler table behind both transports. It owns the open sources (./open-sources.ts), running
// operations (./operations.ts), recent sources and settings; image methods map onto the core's
// OpenImage (./image-handlers.ts). Transports call dispatch(method, args) and subscribe(listener): they
// never reach a handler without validation.

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
  /** The cache root for cacheUsage/clearCache and the Storage setting (default per platform, or OCI_EXPLORER_CACHE). */
  cacheDir?: string;
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

const TEXT_TYPES = /(json|text|xml|yaml)/i;

export function createHandlerTable(opts: HandlerOptions): HandlerTable {
  const { core } = opts;
  const state: StateStore = createStateStore(opts.stateDir);
  // Storage: Settings.cacheMaxBytes caps the cache (OCI_EXPLORER_CACHE_MAX, if set, still wins).
  const cache = openCache(opts.cacheDir ?? defaultCacheDir());
  const settingsLoaded = state.settings().then(
    (s) => cache.configure({ settingMaxBytes: s.cacheMaxBytes }),
    () => undefined,
  );
  const listeners = new Set<(e: EventEnvelope) => void>();
  const sources = new OpenSources(core);

  function emit<K extends EventName>(event: K, payload: ExplorerEvents[K]): void {
    for (const l of [...listeners]) {
      try {
        l({ event, payload } as EventEnvelope);
      } catch {
        // a broken listener (closed window) must not break the operation
      }
    }
  }
  const ops = createOperations((e) => emit('operation', e));

  function sourcesChanged(active?: string): void {
    emit('sources-changed', active ? { sources: sources.handles(), active } : { sources: sources.handles() });
  }

  async function open(spec: string, opId: string | undefined, demo: boolean): Promise<SourceHandle> {
    return ops.run('open', opId, `Opening ${spec}`, undefined, async (signal) => {
      const opened = await core.openSource(spec, { signal });
      const handle: Omit<SourceHandle, 'id'> = {
        label: demo ? 'Demo image' : labelOf(opened.source.location || spec),
        kind: opened.source.kind,
        location: spec,
        openedAt: new Date().toISOString(),
        warnings: opened.source.warnings?.() ?? [],
        ...(opened.selector.tag ? { selectedTag: opened.selector.tag } : {}),
        ...(demo ? { demo: true } : {}),
      };
      if (signal.aborted) {
        // Cancelled just as it finished: a failed open closes what it opened.
        await opened.source.close().catch(() => undefined);
        throw new ExplorerError('CANCELLED', `Opening ${spec} was cancelled.`);
      }
      const entry = sources.add(handle, opened.source, opened.selector.tag);
      if (!demo) {
        // The recent list is a convenience: failing to write it must not fail (or leak) the open.
        const settings = await state.settings().catch(() => undefined);
        if (settings) await state.addRecent({ spec, label: handle.label, kind: handle.kind, lastOpened: handle.openedAt }, settings.recentLimit).catch(() => undefined);
      }
      sourcesChanged(entry.handle.id);
      return entry.handle;
    });
  }

  const refused = (m: string) => async () => {
    throw new ExplorerError('FORBIDDEN', `${m} is only available in the desktop app.`);
  };

  const handlers: HandlerMap = {
    async version() {
      const backends = core.backends ?? [];
      return {
        app: opts.appVersion,
        api: API_VERSION,
        runtime: { node: process.versions.node, ...(opts.runtime ?? {}) },
        capabilities: {
          mode: opts.mode,
          layers: !!core.openImage && !!core.buildGraph && !!core.listImages,
          nativeDialogs: false,
          dropFiles: false,
          openExternal: opts.mode === 'web',
          extract: !!core.openImage,
          registryPull: backends.some((b) => b.kind === 'registry'),
          dockerEngine: backends.some((b) => b.kind === 'docker-engine'),
          sources: backends.map((b) => ({ transport: b.transport, syntax: b.syntax, summary: b.summary })),
          ...opts.capabilities,
        },
      };
    },

    openSource: (a) => open(a.spec, a.opId, false),
    async openDemo() {
      if (!opts.demoPath) throw new ExplorerError('SOURCE_NOT_FOUND', 'This build has no demo image; open a folder or an archive instead.');
      return open(opts.demoPath, undefined, true);
    },
    listSources: async () => sources.handles(),
    async closeSource(a) {
      ops.abort(a.sourceId);
      const closed = await sources.close(a.sourceId);
      if (closed) sourcesChanged();
      return { closed };
    },

    getGraph: async (a) => (await sources.get(a.sourceId).graph()).graph,
    async getBlob(a) {
      const e = sources.get(a.sourceId);
      const { graph } = await e.graph();
      const node = graph.nodes.find((n) => n.digest === a.digest);
      if (!node) throw new ExplorerError('BLOB_MISSING', `No descriptor with digest ${a.digest} in this source's graph.`, { digest: a.digest });
      const desc: Descriptor = { mediaType: node.mediaType, digest: node.digest, size: node.size };
      const max = a.maxBytes ?? 1024 * 1024;
      const whole = node.size <= max;
      const bytes = whole ? await readVerified(e.source, desc, max, e.lifetime.signal) : await readPrefix(e.source, desc, max, e.lifetime.signal);
      const utf8 = TEXT_TYPES.test(node.mediaType) && isUtf8(bytes);
      return { digest: node.digest, mediaType: node.mediaType, size: node.size, encoding: utf8 ? 'utf8' : 'base64', data: bytes.toString(utf8 ? 'utf8' : 'base64'), truncated: !whole, verify: whole ? 'verified' : node.verify };
    },
    async listImages(a) {
      if (!core.listImages) throw notAvailable('Listing images');
      return core.listImages((await sources.get(a.sourceId).graph()).graph);
    },
    ...imageHandlers(core, sources, ops, state, emit),

    cancel: async (a) => ({ cancelled: ops.cancel(a.opId) }),
    listOperations: async () => ops.list(),

    recentSources: () => state.recent(),
    clearRecent: async () => ({ cleared: await state.clearRecent() }),
    getSettings: () => state.settings(),
    async setSettings(a) {
      await settingsLoaded; // the first load must not land after (and over) this change
      const s = await state.setSettings(a.patch);
      cache.configure({ settingMaxBytes: s.cacheMaxBytes });
      return s;
    },
    cacheUsage: async () => cacheUsage(await cache.report()),
    async clearCache() {
      const r = await cache.clear();
      return { removedEntries: r.removed.length, removedBytes: r.removedBytes, usedBytes: r.usedBytes };
    },

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
      ops.abort();
      await sources.closeAll();
    },
  };
}

function cacheUsage(r: CacheReport): MethodResult<'cacheUsage'> {
  const sum = (f: (e: CacheReport['entries'][number]) => boolean) => r.entries.filter(f).reduce((n, e) => n + e.bytes, 0);
  const out: MethodResult<'cacheUsage'> = {
    dir: r.dir,
    usedBytes: r.usedBytes,
    maxBytes: r.limit.bytes,
    maxSource: r.limit.source,
    entries: r.entries.length,
    layerIndexBytes: sum((e) => e.kind === 'layer-index'),
    imageBytes: sum((e) => e.kind === 'image' || e.kind === 'blob'),
    pinnedBytes: sum((e) => e.pinned),
  };
  if (r.disabled) out.disabled = r.disabled;
  return out;
}

function isUtf8(b: Buffer): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(b);
    return true;
  } catch {
    return false;
  }
}

async function readPrefix(source: ImageSource, desc: Descriptor, max: number, signal: AbortSignal): Promise<Buffer> {
  const stream = await source.openBlob(desc, { start: 0, end: max, signal });
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
