import { humanBytes } from '../../ui/format.js';
import type { StoreWalk } from '../../sources/docker-store.js';

/** The docker-store walk for `inspect`: repositories → imagedb → layerdb (chain ids) → cache-id → diff. */
export function renderStoreWalk(w: StoreWalk): string {
  const lines = [
    '',
    `Docker store at ${w.root} (${w.driver}):`,
    `  repositories  ${w.repositories.file}${w.repositories.names.length ? `  ${w.repositories.names.join(', ')}` : '  (no names)'}`,
    `  imagedb       ${w.image.configFile}  ${humanBytes(w.image.configSize)}  (config; image ID ${w.image.id.slice(7, 19)})`,
  ];
  for (const l of w.layers) {
    lines.push(`  layer ${l.index}  diff_id ${l.diffId.slice(7, 19)}  chain ${l.chainId.slice(7, 19)}`);
    lines.push(`    layerdb   ${l.layerDir}${l.parent ? `  (parent ${l.parent.slice(7, 19)})` : ''}`);
    lines.push(`    tar-split ${l.tarSplit.file}${l.tarSplit.size !== undefined ? `  ${humanBytes(l.tarSplit.size)}` : ''}${l.tarSize !== undefined ? `  → tar ${humanBytes(l.tarSize)}, ${l.entries} entries` : ''}`);
    lines.push(`    cache-id  ${l.cacheId || '?'} → ${l.diffDir || '?'}${l.contentSize !== undefined ? `  ${humanBytes(l.contentSize)} of files` : ''}`);
    if (l.missing) lines.push(`    ! ${l.missing}`);
  }
  for (const n of w.notes) lines.push(`  ! ${n}`);
  return lines.join('\n') + '\n';
}
