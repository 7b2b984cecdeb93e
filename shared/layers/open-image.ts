import { buildGraphContext } from '../graph/build.js';
import { selectImage, type ImageChoice } from '../graph/select.js';
import type { ImageEntry } from '../graph/types.js';
import { openSource } from '../sources/open.js';
import type { ImageSource } from '../sources/types.js';
import { ImageLayers, type LayerEngineOptions } from './engine.js';
import type { LayerProgress } from './types.js';

export interface OpenedImageLayers {
  layers: ImageLayers;
  image: ImageEntry;
  source: ImageSource;
  close(): Promise<void>;
}

/** Source → graph → one image (selectImage) → its layers, indexed. For the CLI and the API. */
export async function openImageLayers(
  sourceOrSpec: ImageSource | string,
  choice: ImageChoice,
  opts: LayerEngineOptions & { signal?: AbortSignal; onProgress?: (p: LayerProgress) => void } = {},
): Promise<OpenedImageLayers> {
  let source: ImageSource;
  if (typeof sourceOrSpec === 'string') {
    const opened = await openSource(sourceOrSpec, opts.signal ? { signal: opts.signal } : {});
    source = opened.source;
    if (opened.selector.tag && choice.tag === undefined) choice = { ...choice, tag: opened.selector.tag };
  } else source = sourceOrSpec;
  let layers: ImageLayers | undefined;
  try {
    const ctx = await buildGraphContext(source, opts.signal ? { signal: opts.signal } : {});
    const image = selectImage(ctx.graph, choice);
    layers = await ImageLayers.fromGraph(ctx, image, opts);
    await layers.index({ ...(opts.signal ? { signal: opts.signal } : {}), ...(opts.onProgress ? { onProgress: opts.onProgress } : {}) });
    const opened = layers;
    return {
      layers,
      image,
      source,
      close: async () => {
        await opened.close();
        await source.close();
      },
    };
  } catch (e) {
    await layers?.close().catch(() => undefined);
    await source.close();
    throw e;
  }
}
