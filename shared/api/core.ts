import { buildGraphContext, type GraphContext } from '../graph/build.js';
import { listImages, selectImage } from '../graph/select.js';
import type { ImageEntry, ImageGraph } from '../graph/types.js';
import type { LayerEngineOptions } from '../layers/engine.js';
import { OpenImage } from '../layers/open-image.js';
import type { Backend, OpenContext, OpenedSource } from '../sources/backend.js';
import { BACKENDS } from '../sources/backends.js';
import { openSource } from '../sources/open.js';
import type { ImageSource } from '../sources/types.js';

// What the handler table needs from the rest of the core, as one object so tests can hand in fakes.
// Members a test leaves out make their methods answer "not available" (never a silent stub).

export interface Core {
  openSource(spec: string, ctx: Partial<OpenContext>): Promise<OpenedSource>;
  /** The backend list (transports, syntax) for capabilities. */
  backends?: readonly Backend[];
  /** The verified graph with the documents it read (graph/build.ts). */
  buildGraph?(source: ImageSource, signal: AbortSignal): Promise<GraphContext>;
  /** graph/select.ts: the runnable images of a graph. */
  listImages?(graph: ImageGraph): ImageEntry[];
  /** graph/select.ts: one image by manifest digest / platform / tag, or the default. */
  selectImage?(graph: ImageGraph, want: { manifest?: string; platform?: string; tag?: string }): ImageEntry;
  /** One image's layers and views (layers/open-image.ts). */
  openImage?(ctx: GraphContext, image: ImageEntry): OpenImage;
  /** Least time between two extract-progress reports (ms). */
  extractProgressMs?: number;
}

export interface CoreOptions extends LayerEngineOptions {
  backends?: readonly Backend[];
  /** Default 100. */
  extractProgressMs?: number;
}

/** The real core. */
export function defaultCore(opts: CoreOptions = {}): Core {
  const { backends = BACKENDS, extractProgressMs = 100, ...layerOpts } = opts;
  return {
    backends,
    openSource: (spec, ctx) => openSource(spec, { ...(layerOpts.cacheDir ? { cacheDir: layerOpts.cacheDir } : {}), ...ctx }, backends),
    buildGraph: (source, signal) => buildGraphContext(source, { signal }),
    listImages,
    selectImage: (graph, want) => {
      const choice: { digest?: string; platform?: string; tag?: string } = {};
      if (want.manifest) choice.digest = want.manifest;
      if (want.platform) choice.platform = want.platform;
      if (want.tag) choice.tag = want.tag;
      return selectImage(graph, choice);
    },
    openImage: (ctx, image) => new OpenImage(ctx, image, layerOpts),
    extractProgressMs,
  };
}
