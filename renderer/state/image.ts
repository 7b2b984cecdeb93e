import { create } from 'zustand';
import { newOperationId } from '../../shared/api/ids.js';
import type { Digest, EfficiencyReport, ImageSummary, OperationId, SourceId } from '../../shared/api/contract.js';
import { api, errorText } from './api.js';

// The image (manifest) being explored in each source: its layers, which layer/compare is selected,
// and its efficiency report.

export type LayerMode = 'layer' | 'aggregated';

export interface ImageState {
  manifest?: Digest;
  summary?: ImageSummary;
  loading: boolean;
  error?: string;
  /** "Indexing layer 3/7" while selectImage runs. */
  progress?: string;
  /** Selected layer; undefined = the final merged tree. */
  layer?: number;
  mode: LayerMode;
  /** Two layers to compare (a < b), instead of `layer`. */
  compare?: [number, number];
  efficiency?: EfficiencyReport;
  efficiencyError?: string;
  /** The running selectImage (indexing), for Cancel. */
  opId?: OperationId;
}

interface ImagesStore {
  images: Record<SourceId, ImageState>;
  select(sourceId: SourceId, manifest?: Digest): Promise<void>;
  selectLayer(sourceId: SourceId, layer: number | undefined): void;
  setMode(sourceId: SourceId, mode: LayerMode): void;
  setCompare(sourceId: SourceId, pair: [number, number] | undefined): void;
  loadEfficiency(sourceId: SourceId): Promise<void>;
  setProgress(sourceId: SourceId, text: string | undefined): void;
  cancel(sourceId: SourceId): Promise<void>;
  retry(sourceId: SourceId): Promise<void>;
}

const blank: ImageState = { loading: false, mode: 'layer' };

export const useImages = create<ImagesStore>((set, get) => {
  const patch = (id: SourceId, p: Partial<ImageState>) => set((s) => ({ images: { ...s.images, [id]: { ...(s.images[id] ?? blank), ...p } } }));
  return {
    images: {},
    async select(sourceId, manifest) {
      const cur = get().images[sourceId];
      if (cur && (cur.loading || cur.summary) && cur.manifest === manifest && manifest !== undefined) return;
      const opId = newOperationId();
      patch(sourceId, { manifest, opId, loading: true, error: undefined, summary: undefined, layer: undefined, compare: undefined, efficiency: undefined, efficiencyError: undefined });
      try {
        const summary = await api().selectImage(manifest ? { sourceId, manifest, opId } : { sourceId, opId });
        if (get().images[sourceId]?.opId !== opId) return;
        patch(sourceId, { summary, manifest: summary.ref.manifest, loading: false, progress: undefined, opId: undefined });
      } catch (e) {
        if (get().images[sourceId]?.opId !== opId) return;
        patch(sourceId, { loading: false, error: errorText(e), progress: undefined, opId: undefined });
      }
    },
    selectLayer(sourceId, layer) {
      // Marks for the e2e performance figures (docs/benchmarks.md).
      performance.mark('oci:layer-select');
      patch(sourceId, { layer, compare: undefined });
    },
    setMode(sourceId, mode) {
      patch(sourceId, { mode });
    },
    setCompare(sourceId, pair) {
      patch(sourceId, { compare: pair ? [Math.min(...pair), Math.max(...pair)] : undefined });
    },
    async loadEfficiency(sourceId) {
      const st = get().images[sourceId];
      if (!st?.summary || st.efficiency) return;
      try {
        const efficiency = await api().efficiency({ image: st.summary.ref, top: 20 });
        patch(sourceId, { efficiency, efficiencyError: undefined });
      } catch (e) {
        patch(sourceId, { efficiencyError: errorText(e) });
      }
    },
    setProgress(sourceId, text) {
      patch(sourceId, { progress: text });
    },
    async cancel(sourceId) {
      const opId = get().images[sourceId]?.opId;
      if (opId) await api().cancel({ opId }).catch(() => undefined);
    },
    async retry(sourceId) {
      const m = get().images[sourceId]?.manifest;
      set((s) => {
        const images = { ...s.images };
        delete images[sourceId];
        return { images };
      });
      await get().select(sourceId, m);
    },
  };
});

export { fileUpTo, treeViewOf, viewKey } from '../../shared/ui/views.js';
