import { ExplorerError } from '../errors.js';
import { compareEntries, comparePaths, type DiffEntry, type DiffSummary } from '../layers/diff.js';
import type { ImageLayers } from '../layers/engine.js';
import type { MergedTree } from '../layers/merge.js';

// The merged filesystems of two images compared path by path, with layers/diff.ts's semantics
// (compareEntries: type, content = size + crc32, mode, uid, gid, link target, xattrs). Entry refs of two
// images are not comparable as diffTrees compares them within one image; instead an entry that comes
// from the same entry of a layer with the same diff_id in both images is unchanged without a look.

const SIGNAL_EVERY = 4096;

export interface FileDiff {
  /** Changed paths only (added, modified, removed), in tree order; `after.layer` is B's layer, `before.layer` A's. */
  entries: DiffEntry[];
  summary: DiffSummary;
}

/** A regular file's identity across images: the layer bytes it comes from (diff_id) and its entry there. */
function identity(layers: ImageLayers, tree: MergedTree, path: string): string | undefined {
  if (tree.linkTarget(path) !== undefined) return undefined; // a hard link: its own header may differ
  const loc = tree.locate(path);
  const d = loc && layers.layers[loc.layer]?.diffId;
  return d ? `${d}#${loc.entry}` : undefined;
}

export function diffImageTrees(a: ImageLayers, ta: MergedTree, b: ImageLayers, tb: MergedTree, signal?: AbortSignal): FileDiff {
  const summary: DiffSummary = { added: 0, modified: 0, removed: 0, unchanged: 0, addedBytes: 0, removedBytes: 0, modifiedBytesDelta: 0 };
  const entries: DiffEntry[] = [];
  let n = 0;
  const tick = () => {
    if (++n % SIGNAL_EVERY === 0 && signal?.aborted) throw new ExplorerError('CANCELLED', 'The comparison was cancelled.');
  };
  for (const p of tb.paths()) {
    tick();
    const id = identity(b, tb, p);
    if (id !== undefined && id === identity(a, ta, p)) {
      summary.unchanged++;
      continue;
    }
    const after = tb.get(p)!;
    const before = ta.get(p);
    if (!before) {
      const bytes = after.type === 'file' ? after.size : 0;
      summary.added++;
      summary.addedBytes += bytes;
      entries.push({ path: p, status: 'added', after, sizeDelta: bytes });
      continue;
    }
    const changes = compareEntries(before, after);
    if (!changes.length) {
      summary.unchanged++;
      continue;
    }
    const d = after.size - before.size;
    summary.modified++;
    summary.modifiedBytesDelta += d;
    entries.push({ path: p, status: 'modified', changes, before, after, sizeDelta: d });
  }
  for (const p of ta.paths()) {
    tick();
    if (tb.has(p)) continue;
    const before = ta.get(p)!;
    const bytes = before.type === 'file' ? before.size : 0;
    summary.removed++;
    summary.removedBytes += bytes;
    entries.push({ path: p, status: 'removed', before, sizeDelta: -bytes });
  }
  entries.sort((x, y) => comparePaths(x.path, y.path));
  return { entries, summary };
}
