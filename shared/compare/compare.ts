import { ExplorerError, type Problem } from '../errors.js';
import type { DiffSummary } from '../layers/diff.js';
import { MergedTree } from '../layers/merge.js';
import type { OpenImage } from '../layers/open-image.js';
import type { ImageConfig } from '../oci/types.js';
import { ParseCache, diffSnapshots, packagesOf } from '../packages/scan.js';
import type { Package, PackageDelta } from '../packages/types.js';
import { compareConfigs, type ConfigChange } from './config.js';
import { diffImageTrees, type FileDiff } from './files.js';
import { alignHistory, historySteps, type HistoryAlignment } from './history.js';

// Image against image, for any two sources: config fields, history aligned on the shared base, the
// merged filesystems, packages, and totals. Both images must be indexed (openImage does it); opened
// through one cache folder, layers with the same digest are indexed once, and package databases in
// layers with the same diff_id are parsed once for both (one ParseCache).

export interface ImageSide {
  names: string[];
  manifest: string;
  config: string;
  platform?: string;
  layers: number;
  /** Sum of the layer blobs' sizes (what a pull transfers). */
  size: number;
  packages: number;
}

export interface CompareResult {
  a: ImageSide;
  b: ImageSide;
  /** Same manifest digest: the very same image. */
  identical: boolean;
  config: ConfigChange[];
  history: HistoryAlignment;
  files: FileDiff;
  packages: PackageDelta;
  problems: { a: Problem[]; b: Problem[] };
  totals: {
    different: boolean;
    configChanges: number;
    files: DiffSummary;
    packages: { added: number; removed: number; upgraded: number; downgraded: number; changed: number };
    layers: { a: number; b: number; shared: number; sharedBase: number };
    /** b.size - a.size */
    sizeDelta: number;
  };
}

function side(img: OpenImage, packages: number): ImageSide {
  const s: ImageSide = {
    names: img.image.names,
    manifest: img.image.manifest,
    config: img.image.config,
    layers: img.layers.count,
    size: img.layers.layers.reduce((n, l) => n + l.descriptor.size, 0),
    packages,
  };
  const p = img.image.platform;
  if (p) s.platform = [p.os, p.architecture, p.variant].filter(Boolean).join('/');
  return s;
}

export async function compareImages(a: OpenImage, b: OpenImage, signal: AbortSignal = new AbortController().signal, opts: { cache?: ParseCache } = {}): Promise<CompareResult> {
  await a.ready(signal);
  await b.ready(signal);
  const check = () => {
    if (signal.aborted) throw new ExplorerError('CANCELLED', 'The comparison was cancelled.');
  };
  const ca = a.context.doc(a.image.config) as ImageConfig | undefined;
  const cb = b.context.doc(b.image.config) as ImageConfig | undefined;
  const config = compareConfigs(ca, cb);
  const history = alignHistory(
    historySteps(ca, a.layers.layers.map((l) => l.descriptor.size)),
    historySteps(cb, b.layers.layers.map((l) => l.descriptor.size)),
  );
  check();
  // An image without layers (an artifact, a scratch image) has an empty filesystem.
  const tree = (img: OpenImage) => (img.layers.count ? img.layers.mergedTree() : new MergedTree([], []));
  const files = diffImageTrees(a.layers, tree(a), b.layers, tree(b), signal);
  check();
  const cache = opts.cache ?? new ParseCache();
  const pa = await packagesOf(a, { signal, cache });
  const pb = await packagesOf(b, { signal, cache });
  const byKey = (ps: Package[]) => new Map(ps.map((p) => [p.key, p]));
  const packages = diffSnapshots(byKey(pa.packages), byKey(pb.packages));
  const up = packages.changed.filter((c) => c.direction === 'upgrade').length;
  const down = packages.changed.filter((c) => c.direction === 'downgrade').length;
  const s = files.summary;
  const different = config.length > 0 || !history.sameSteps || s.added + s.modified + s.removed > 0 || packages.added.length + packages.removed.length + packages.changed.length > 0;
  const A = side(a, pa.packages.length);
  const B = side(b, pb.packages.length);
  return {
    a: A,
    b: B,
    identical: a.image.manifest === b.image.manifest,
    config,
    history,
    files,
    packages,
    problems: { a: [...a.layers.layers.flatMap((l) => l.problems), ...pa.problems], b: [...b.layers.layers.flatMap((l) => l.problems), ...pb.problems] },
    totals: {
      different,
      configChanges: config.length,
      files: s,
      packages: { added: packages.added.length, removed: packages.removed.length, upgraded: up, downgraded: down, changed: packages.changed.length - up - down },
      layers: { a: A.layers, b: B.layers, shared: history.sharedLayers, sharedBase: history.sharedBaseLayers },
      sizeDelta: B.size - A.size,
    },
  };
}
