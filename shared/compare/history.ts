import { mapHistoryToLayers } from '../graph/history.js';
import type { ImageConfig } from '../oci/types.js';

// Two histories side by side. The shared base is the longest common prefix of steps that are the
// same in both: layer steps with the same diff_id (the same bytes, whatever their compression), empty
// steps with the same command. After it the steps are paired in order; a layer whose diff_id is also
// anywhere in the other image is marked shared (its content is the same, it is not read twice).

export interface HistoryStep {
  /** Position in the config's history (or the layer index when the config has no history). */
  index: number;
  createdBy?: string;
  created?: string;
  comment?: string;
  emptyLayer: boolean;
  /** The layer this step made, with its diff_id and blob size. */
  layer?: number;
  diffId?: string;
  size?: number;
  /** The same diff_id is a layer of the other image. */
  inOther?: boolean;
}

export interface HistoryRow {
  a?: HistoryStep;
  b?: HistoryStep;
  /** Part of the common base (same step in both, at the same place). */
  shared: boolean;
}

export interface HistoryAlignment {
  rows: HistoryRow[];
  /** Layers in the common base prefix. */
  sharedBaseLayers: number;
  /** diff_ids that are layers of both images (anywhere). */
  sharedLayers: number;
  /** True when both images run the same steps (commands and empty/layer kind), whatever the layer bytes. */
  sameSteps: boolean;
}

/** The steps of an image: its history mapped to layers; without history, one step per layer. */
export function historySteps(config: ImageConfig | undefined, layerSizes: number[]): HistoryStep[] {
  const diffIds = Array.isArray(config?.rootfs?.diff_ids) ? config.rootfs.diff_ids : [];
  const mapped = mapHistoryToLayers(config, diffIds.length);
  const steps: HistoryStep[] = mapped.map((h, i) => {
    const s: HistoryStep = { index: i, emptyLayer: h.history.empty_layer === true };
    if (h.history.created_by !== undefined) s.createdBy = h.history.created_by;
    if (h.history.created !== undefined) s.created = h.history.created;
    if (h.history.comment !== undefined) s.comment = h.history.comment;
    if (h.layerIndex !== undefined) {
      s.layer = h.layerIndex;
      s.diffId = diffIds[h.layerIndex];
      if (layerSizes[h.layerIndex] !== undefined) s.size = layerSizes[h.layerIndex];
    }
    return s;
  });
  // Layers no history entry made (no history, or fewer entries than layers): one step each.
  const covered = new Set(steps.map((s) => s.layer).filter((l) => l !== undefined));
  diffIds.forEach((d, l) => {
    if (!covered.has(l)) steps.push({ index: steps.length, emptyLayer: false, layer: l, diffId: d, ...(layerSizes[l] !== undefined ? { size: layerSizes[l] } : {}) });
  });
  return steps;
}

function sameStep(x: HistoryStep, y: HistoryStep): boolean {
  if (x.emptyLayer !== y.emptyLayer) return false;
  if (!x.emptyLayer) return x.diffId !== undefined && x.diffId === y.diffId;
  return (x.createdBy ?? '') === (y.createdBy ?? '');
}

export function alignHistory(a: HistoryStep[], b: HistoryStep[]): HistoryAlignment {
  const idsA = new Set(a.map((s) => s.diffId).filter(Boolean));
  const idsB = new Set(b.map((s) => s.diffId).filter(Boolean));
  for (const s of a) if (s.diffId) s.inOther = idsB.has(s.diffId);
  for (const s of b) if (s.diffId) s.inOther = idsA.has(s.diffId);
  let k = 0;
  while (k < a.length && k < b.length && sameStep(a[k]!, b[k]!)) k++;
  const rows: HistoryRow[] = [];
  for (let i = 0; i < k; i++) rows.push({ a: a[i]!, b: b[i]!, shared: true });
  for (let i = k; i < Math.max(a.length, b.length); i++) {
    const row: HistoryRow = { shared: false };
    if (a[i]) row.a = a[i];
    if (b[i]) row.b = b[i];
    rows.push(row);
  }
  const sameSteps = a.length === b.length && a.every((s, i) => s.emptyLayer === b[i]!.emptyLayer && (s.createdBy ?? '') === (b[i]!.createdBy ?? ''));
  return {
    rows,
    sharedBaseLayers: a.slice(0, k).filter((s) => !s.emptyLayer).length,
    sharedLayers: [...idsA].filter((d) => idsB.has(d)).length,
    sameSteps,
  };
}
