import type { EfficiencyReport } from '../api/results.js';
import type { ImageView } from './image-view.js';
import { toApiPath, toEnginePath } from './views.js';

/** dive's efficiency figures plus reclaimable bytes, with the `top` wasted paths and the layers holding each. */
export function efficiencyReport(img: ImageView, top = 50): EfficiencyReport {
  const { layers } = img;
  const r = layers.efficiency();
  const worst = r.inefficiencies.slice(0, top);
  const wanted = new Map(worst.map((w) => [toEnginePath(w.path), [] as number[]]));
  layers.indexes.forEach((idx, li) => {
    if (!idx) return;
    for (let i = 0; i < idx.count; i++) {
      const list = wanted.get(idx.paths[i]!);
      if (list && list[list.length - 1] !== li) list.push(li);
    }
  });
  return {
    score: r.score,
    wastedBytes: r.wastedBytes,
    reclaimableBytes: r.reclaimableBytes,
    userWastedPercent: r.wastedUserPercent,
    totalBytes: r.sizeBytes,
    top: worst.map((w) => {
      const p = toEnginePath(w.path);
      return { path: toApiPath(p), count: w.count, wastedBytes: w.cumulativeSize, reclaimableBytes: w.reclaimable, layers: wanted.get(p) ?? [] };
    }),
  };
}
