import type { Problem } from '../errors.js';
import { mapHistoryToLayers } from '../graph/history.js';
import type { VerifyState } from '../graph/types.js';
import type { HistoryStep, ImageSummary, LayerSummary } from '../api/results.js';
import type { LayerInfo } from './engine.js';
import type { ImageView } from './image-view.js';

// What an image is, once its layers have been read: per layer its state, sizes, counts of what it
// added/modified/removed and the history step that made it; totals for the image. The config comes
// from the graph (read and verified once when the graph was built).

export function layerVerifyState(info: LayerInfo): VerifyState {
  if (info.state === 'ready') return 'verified';
  if (info.state === 'failed') return info.problems.some((p) => p.code === 'BLOB_MISSING') ? 'missing' : 'failed';
  return 'pending';
}

export function summarize(img: ImageView): Omit<ImageSummary, 'ref'> {
  const { layers } = img;
  const history = mapHistoryToLayers(img.context.doc(img.image.config) ?? {}, layers.count);
  const out: LayerSummary[] = layers.layers.map((info) => {
    const idx = layers.indexes[info.index];
    const s: LayerSummary = { index: info.index, digest: info.descriptor.digest, mediaType: info.descriptor.mediaType, compressedSize: info.descriptor.size, verify: layerVerifyState(info), problems: info.problems as Problem[] };
    if (info.diffId) s.diffId = info.diffId;
    if (idx) {
      // A layer that failed part-way has no true uncompressed size: leave it out rather than show a partial one.
      if (idx.meta.complete) s.uncompressedSize = idx.meta.uncompressedSize;
      s.fileCount = info.entries;
      const d = img.layerDiff(info.index).summary;
      s.added = d.added;
      s.modified = d.modified;
      s.removed = d.removed;
    }
    const h = history.find((x) => x.layerIndex === info.index)?.history;
    if (h?.created_by) s.command = h.created_by;
    if (h?.created) s.created = h.created;
    if (h?.comment) s.comment = h.comment;
    return s;
  });
  const all = out.every((l) => l.uncompressedSize !== undefined);
  const steps: HistoryStep[] = history.map((h) => {
    const step: HistoryStep = { emptyLayer: h.history.empty_layer === true };
    if (h.history.created_by) step.createdBy = h.history.created_by;
    if (h.history.created) step.created = h.history.created;
    if (h.history.author) step.author = h.history.author;
    if (h.history.comment) step.comment = h.history.comment;
    if (h.layerIndex !== undefined) step.layerIndex = h.layerIndex;
    return step;
  });
  return {
    config: img.image.config,
    names: img.image.names,
    layers: out,
    history: steps,
    compressedSize: out.reduce((a, l) => a + l.compressedSize, 0),
    problems: layers.count ? layers.mergedTree().problems : [],
    ...(all ? { uncompressedSize: out.reduce((a, l) => a + (l.uncompressedSize ?? 0), 0) } : {}),
    ...(all && layers.count ? { fileCount: layers.mergedTree().size } : {}),
    ...(img.image.platform ? { platform: img.image.platform } : {}),
  };
}
