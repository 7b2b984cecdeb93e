import type { Problem } from '../errors.js';
import type { HistoryEntry } from '../oci/types.js';

// config.md: history entries with `empty_layer: true` made no layer; the others map, in order, to
// rootfs.diff_ids (and so to the manifest's layers).

export interface HistoryLayer {
  history: HistoryEntry;
  /** Index into rootfs.diff_ids / manifest layers; undefined for empty_layer entries (and extras). */
  layerIndex: number | undefined;
}

function historyOf(config: unknown): HistoryEntry[] {
  const h = (config as { history?: unknown } | null)?.history;
  return Array.isArray(h) ? h.filter((e): e is HistoryEntry => !!e && typeof e === 'object') : [];
}

function layerCountOf(config: unknown): number {
  const ids = (config as { rootfs?: { diff_ids?: unknown } } | null)?.rootfs?.diff_ids;
  return Array.isArray(ids) ? ids.length : 0;
}

/** Pairs every history entry with the layer it created (none for empty_layer entries). */
export function mapHistoryToLayers(config: unknown, layerCount = layerCountOf(config)): HistoryLayer[] {
  let next = 0;
  return historyOf(config).map((history) => {
    if (history.empty_layer === true) return { history, layerIndex: undefined };
    const i = next++;
    return { history, layerIndex: i < layerCount ? i : undefined };
  });
}

/** A problem when the non-empty history entries and the layers do not pair up one to one. */
export function historyProblem(config: unknown, layerCount = layerCountOf(config)): Problem | undefined {
  const history = historyOf(config);
  if (history.length === 0) return undefined; // history is optional
  const made = history.filter((e) => e.empty_layer !== true).length;
  if (made === layerCount) return undefined;
  return {
    code: 'HISTORY_MISMATCH',
    message: `The config history has ${made} entries that create a layer but rootfs lists ${layerCount} layers, so history cannot be matched to layers exactly; ${made > layerCount ? 'the extra entries are shown without a layer' : 'some layers are shown without a history entry'}.`,
    path: '/history',
  };
}
