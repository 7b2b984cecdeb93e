import { makeTar } from './helpers.js';

// dive's efficiency on a stack built here, every figure worked out by hand below (DESIGN.md §3,
// dive filetree/efficiency.go): per layer, each *leaf* of the layer's own tree (a node with no child
// in that layer) adds its size to its path; a whiteout adds 0 for a file and, for a directory, the
// size of the subtree it removes from the stack below; opaque markers are ignored (dive's bug, kept
// so the figures match). cumulative = Σ sizes, min = smallest; score = Σmin / Σcumulative;
// inefficiencies = paths counted in ≥ 2 layers; wasted = Σ their cumulative (the kept copy too).
// reclaimable (ours, efficiency.ts): file bytes stored in the layers less the file bytes the final merged
// tree keeps (what squashing would save); per inefficiency, the same at/under its path.

export const B = (n: number) => Buffer.alloc(n, 0x61);

export async function stackTars(): Promise<Buffer[]> {
  return [
    // L0: base. Directories have children in this layer, so they are not leaves.
    await makeTar([
      { name: 'etc/', type: 'directory' },
      { name: 'etc/conf', content: B(100) },
      { name: 'cache/', type: 'directory' },
      { name: 'cache/a', content: B(40) },
      { name: 'cache/b', content: B(60) },
      { name: 'logs/', type: 'directory' },
      { name: 'logs/x.log', content: B(80) },
      { name: 'opq/', type: 'directory' },
      { name: 'opq/old', content: B(30) },
      { name: 'base', content: B(1000) },
    ]),
    // L1: etc/conf again; junk (deleted in L2); cache/ as an entry with no child here (a leaf).
    await makeTar([
      { name: 'etc/conf', content: B(200) },
      { name: 'junk', content: B(50) },
      { name: 'cache/', type: 'directory' },
    ]),
    // L2: etc/conf a third time; junk, cache/ and logs/ whited out; opq/old rewritten.
    await makeTar([
      { name: 'etc/conf', content: B(300) },
      { name: '.wh.junk' },
      { name: '.wh.cache' },
      { name: '.wh.logs' },
      { name: 'opq/old', content: B(35) },
    ]),
    // L3: opq/ made opaque (hides opq/old in the real merged tree; dive does not see it), opq/new added.
    await makeTar([
      { name: 'opq/.wh..wh..opq' },
      { name: 'opq/new', content: B(20) },
    ]),
  ];
}

/*
 * By hand, layer by layer (path: size this layer → count, cumulative, min):
 *   L0 leaves: base 1000, cache/a 40, cache/b 60, etc/conf 100, logs/x.log 80, opq/old 30   (each count 1)
 *   L1 leaves: cache 0 (dir entry, no child in L1)  → cache      1,   0,   0
 *              etc/conf 200                          → etc/conf   2, 300, 100
 *              junk 50                               → junk       1,  50,  50
 *   L2 leaves: .wh.cache: subtree below = cache 0 + a 40 + b 60 = 100 → cache 2, 100, 0
 *              .wh.junk: a file, 0                   → junk       2,  50,   0
 *              .wh.logs: subtree = logs 0 + x.log 80 = 80 → logs  1,  80,  80  (logs was never a leaf before)
 *              etc/conf 300                          → etc/conf   3, 600, 100
 *              opq/old 35                            → opq/old    2,  65,  30
 *   L3 leaves: opq/new 20 (the opaque marker is dropped) → opq/new 1, 20, 20
 *
 *   path        count  cumulative  min
 *   base          1       1000    1000
 *   cache/a       1         40      40
 *   cache/b       1         60      60
 *   etc/conf      3        600     100
 *   logs/x.log    1         80      80
 *   opq/old       2         65      30
 *   cache         2        100       0
 *   junk          2         50       0
 *   logs          1         80      80
 *   opq/new       1         20      20
 *   Σcumulative = 2095, Σmin = 1410 → score = 1410 / 2095
 *   inefficiencies (count ≥ 2): etc/conf 600, cache 100, opq/old 65, junk 50 → wasted = 815
 *   sizes (Σ entry sizes per layer): L0 1310, L1 250, L2 335, L3 20 → 1915; user (L1..L3) = 605
 *   wastedUserPercent = 815 / 605
 *   reclaimable, against the final merged tree (base 1000, etc/conf = the L2 copy 300, opq/new 20 kept;
 *   junk, cache, logs gone; opq/old hidden by the opaque marker): stored 1915 − kept 1320 = 595.
 *   Per inefficiency (bytes stored at/under the path − kept there): etc/conf 600 − 300 = 300,
 *   cache 40 + 60 − 0 = 100, opq/old 30 + 35 − 0 = 65, junk 50 − 0 = 50. logs/x.log's 80 B, removed
 *   with logs/, is in the total though dive sees no inefficiency there (logs was never a leaf before L2).
 *   Without a final tree, cumulative − min: 500 + 100 + 35 + 50 = 685.
 */
export const STACK_EFFICIENCY = {
  score: 1410 / 2095,
  wastedBytes: 815,
  wastedUserPercent: 815 / 605,
  sizeBytes: 1915,
  userSizeBytes: 605,
  reclaimableBytes: 595,
  inefficiencies: [
    { path: 'etc/conf', count: 3, cumulativeSize: 600, reclaimable: 300 },
    { path: 'cache', count: 2, cumulativeSize: 100, reclaimable: 100 },
    { path: 'opq/old', count: 2, cumulativeSize: 65, reclaimable: 65 },
    { path: 'junk', count: 2, cumulativeSize: 50, reclaimable: 50 },
  ],
};
