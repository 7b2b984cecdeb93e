import type { GraphContext } from '../graph/build.js';
import type { ImageEntry } from '../graph/types.js';
import type { FileView, LayerRange, TreeView } from '../api/schemas.js';
import type { diffTrees } from './diff.js';
import type { ImageLayers } from './engine.js';
import type { MergedTree } from './merge.js';
import type { ViewTree } from './views.js';

/**
 * What the per-image operations (summary, efficiency, files) read of an open image. OpenImage implements it
 * and exposes those operations as its methods, so callers (the API, the CLI) know one class.
 */
export interface ImageView {
  readonly context: GraphContext;
  readonly image: ImageEntry;
  readonly layers: ImageLayers;
  view(v: TreeView): ViewTree;
  diff(bottom: LayerRange | null, top: LayerRange, includeUnchanged?: boolean): ReturnType<typeof diffTrees>;
  layerDiff(i: number, includeUnchanged?: boolean): ReturnType<typeof diffTrees>;
  fileLayer(v: FileView | undefined): number | undefined;
  treeAt(v: FileView | undefined): MergedTree;
}
