import { EventEmitter } from 'node:events';
import { LRUCache } from 'lru-cache';
import os from 'node:os';
import { closeSync, copyFileSync, openSync, promises as fsp, writeSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { ExplorerError, toExplorerError, type Problem } from '../errors.js';
import type { Digest } from '../oci/digest.js';
import type { Descriptor, ImageConfig, Manifest } from '../oci/types.js';
import type { GraphContext } from '../graph/build.js';
import type { ImageEntry } from '../graph/types.js';
import type { ImageSource } from '../sources/types.js';
import { openVerified } from '../sources/verify.js';
import { openDecoded, type DecodeLimits } from './decode.js';
import { diffTrees } from './diff.js';
import { efficiency, type EfficiencyResult } from './efficiency.js';
import { extractTree, type ExtractOptions, type ExtractResult } from './extract.js';
import { indexLayerStream, isPersistable } from './indexer.js';
import { MergedTree } from './merge.js';
import { normalizeEntryPath } from './paths.js';
import { openLayerRange } from './read.js';
import type { CacheLease } from '../store/cache.js';
import { IndexStore } from './store.js';
import type { LayerIndex } from './tarindex.js';
import type { LayerProgress } from './types.js';
import { IndexWorkerPool } from './workers.js';

// The API the CLI and the UI call: open an image's layers, index them (cache first, then workers
// in parallel), then merged views, diffs, efficiency, file reads and extraction.

export type LayerState = 'pending' | 'indexing' | 'ready' | 'failed';

export interface LayerInfo {
  index: number;
  descriptor: Descriptor;
  diffId?: Digest;
  state: LayerState;
  problems: Problem[];
  entries: number;
  fromCache?: boolean;
  /** Where the index was built this time (absent when it came from the cache). */
  indexedIn?: 'worker' | 'main';
}

export interface LayerEngineOptions {
  /** Index cache folder (default per platform, or OCI_EXPLORER_CACHE). */
  cacheDir?: string;
  /** Worker threads for indexing (layers in parallel); 0 = one layer after another in this thread. Default: CPUs/2 (max 4) above 2 CPUs, else 0. */
  workers?: number;
  limits?: DecodeLimits;
  /** Output bytes between restart points of compressed layers (default indexer.ts RESTART_SPAN; 0 = none). */
  restartSpan?: number;
}

export class ImageLayers extends EventEmitter {
  readonly layers: LayerInfo[];
  readonly indexes: (LayerIndex | undefined)[];
  private readonly store: IndexStore;
  /** Merged trees by layer range, bounded by their entry counts (~200 bytes an entry). */
  private readonly merged = new LRUCache<string, MergedTree>({ maxSize: 2_000_000, sizeCalculation: (t) => Math.max(1, t.size) });
  /** This image's layer digests pinned in the cache while it is open (released by close() or when collected). */
  private lease?: Promise<CacheLease | undefined>;

  constructor(
    readonly source: ImageSource,
    descriptors: Descriptor[],
    diffIds: (Digest | undefined)[],
    private readonly opts: LayerEngineOptions = {},
  ) {
    super();
    this.store = new IndexStore(opts.cacheDir);
    this.layers = descriptors.map((d, i) => {
      const info: LayerInfo = { index: i, descriptor: d, state: 'pending', problems: [], entries: 0 };
      if (diffIds[i]) info.diffId = diffIds[i];
      return info;
    });
    this.indexes = descriptors.map(() => undefined);
  }

  /**
   * The layers of an image from its graph: the manifest and config were read and verified when the graph
   * was built, so they are not read again. A manifest that did not parse has no layers (its node says why).
   */
  static fromContext(ctx: GraphContext, image: ImageEntry, opts: LayerEngineOptions = {}): ImageLayers {
    const manifest = ctx.doc(image.manifest) as Manifest | undefined;
    const config = ctx.doc(image.config) as ImageConfig | undefined;
    const layers = Array.isArray(manifest?.layers) ? manifest.layers : [];
    const diffIds = Array.isArray(config?.rootfs?.diff_ids) ? config.rootfs.diff_ids : [];
    return new ImageLayers(ctx.source, layers, layers.map((_, i) => diffIds[i]), opts);
  }

  get count(): number {
    return this.layers.length;
  }

  /**
   * Indexes every layer not indexed yet: from the cache when possible, else in parallel workers.
   * Never throws for bad layers (their problems are on `layers[i]`); throws CANCELLED.
   */
  async index(opts: { signal?: AbortSignal; onProgress?: (p: LayerProgress) => void } = {}): Promise<void> {
    const emit = (p: LayerProgress) => {
      opts.onProgress?.(p);
      this.emit('progress', p);
    };
    this.lease ??= this.store.pin(this.layers.map((l) => l.descriptor.digest), this);
    await this.lease;
    const todo: number[] = [];
    for (const info of this.layers) {
      if (this.indexes[info.index]) continue;
      const cached = await this.store.load(info.descriptor.digest);
      if (cached && (!info.diffId || cached.meta.diffId === info.diffId)) {
        // The cache knows what a blob with this digest holds, not that this source's blob is that blob:
        // hash it (no decode, no scan) before its index stands for it — unless the source serves blobs by
        // digest and verifies what arrives (a registry): then the sealed index stands unread, and reads
        // by range still check each file's tar header and crc against it.
        const bad = this.source.contentAddressed ? undefined : await this.checkBlob(info, emit, opts.signal);
        if (!bad) this.setIndex(info.index, cached, true);
        emit({ layerDigest: info.descriptor.digest, layer: info.index, bytesDone: info.descriptor.size, bytesTotal: info.descriptor.size, entries: bad ? 0 : cached.count, done: true });
      } else todo.push(info.index);
    }
    if (!todo.length) return;
    // Each layer keeps two threads busy (hashing + scanning, and zlib on the libuv pool), so workers
    // pay off only with more than two CPUs (measured: 2 workers on 2 CPUs are slower; docs/benchmarks.md).
    const cpus = os.availableParallelism?.() ?? os.cpus().length;
    const nWorkers = Math.min(todo.length, this.opts.workers ?? (cpus > 2 ? Math.min(Math.floor(cpus / 2), 4) : 0));
    const pool = nWorkers > 0 && todo.length > 1 ? new IndexWorkerPool(nWorkers) : undefined;
    try {
      if (pool) await Promise.all(todo.map((i) => this.indexOne(i, pool, emit, opts.signal)));
      else for (const i of todo) await this.indexOne(i, undefined, emit, opts.signal);
    } finally {
      await pool?.close();
    }
  }

  private async indexOne(i: number, pool: IndexWorkerPool | undefined, emit: (p: LayerProgress) => void, signal?: AbortSignal): Promise<void> {
    const info = this.layers[i]!;
    const d = info.descriptor;
    info.state = 'indexing';
    const job = {
      digest: d.digest,
      compressedSize: d.size,
      blobVerified: true,
      ...(info.diffId ? { diffId: info.diffId } : {}),
      ...(this.opts.limits ? { limits: this.opts.limits } : {}),
      ...(this.opts.restartSpan !== undefined ? { restartSpan: this.opts.restartSpan } : {}),
      ...(signal ? { signal } : {}),
      onProgress: (p: { bytesDone: number; entries: number }) => emit({ layerDigest: d.digest, layer: i, bytesDone: p.bytesDone, bytesTotal: d.size, entries: p.entries }),
    };
    let blob: Readable;
    try {
      blob = await openVerified(this.source, d, signal);
    } catch (e) {
      const err = toExplorerError(e, 'BLOB_MISSING');
      if (err.code === 'CANCELLED') throw err;
      info.state = 'failed';
      info.problems = [{ code: err.code, message: err.message }];
      emit({ layerDigest: d.digest, layer: i, bytesDone: 0, bytesTotal: d.size, entries: 0, done: true });
      return;
    }
    let idx: LayerIndex;
    let persistable: boolean;
    info.indexedIn = pool ? 'worker' : 'main';
    if (pool) {
      try {
        const r = await pool.index(blob, job);
        idx = r.index;
        persistable = r.persistable;
      } catch (e) {
        info.indexedIn = 'main';
        const err = toExplorerError(e);
        if (err.code === 'CANCELLED') throw err;
        // A worker that could not start (e.g. no loader in this runtime): index here instead.
        blob.destroy();
        idx = await indexLayerStream(await openVerified(this.source, d, signal), job);
        persistable = isPersistable(idx);
      }
    } else {
      idx = await indexLayerStream(blob, job);
      persistable = isPersistable(idx);
    }
    if (persistable) await this.store.save(idx).catch(() => {});
    this.setIndex(i, idx, false);
    emit({ layerDigest: d.digest, layer: i, bytesDone: d.size, bytesTotal: d.size, entries: idx.count, done: true });
  }

  /** Verifies a layer blob's digest and size by reading it through; returns its problem (layer failed), if any. */
  private async checkBlob(info: LayerInfo, emit: (p: LayerProgress) => void, signal?: AbortSignal): Promise<Problem | undefined> {
    const d = info.descriptor;
    try {
      const s = await openVerified(this.source, d, signal);
      let done = 0;
      let last = 0;
      for await (const c of s as AsyncIterable<Buffer>) {
        done += c.length;
        if (done - last >= 1 << 24) {
          last = done;
          emit({ layerDigest: d.digest, layer: info.index, bytesDone: done, bytesTotal: d.size, entries: 0 });
        }
      }
      return undefined;
    } catch (e) {
      const err = toExplorerError(e, 'BLOB_MISSING');
      if (err.code === 'CANCELLED' || signal?.aborted) throw new ExplorerError('CANCELLED', 'Indexing was cancelled.');
      info.state = 'failed';
      info.problems = [{ code: err.code, message: err.message }];
      return info.problems[0];
    }
  }

  private setIndex(i: number, idx: LayerIndex, fromCache: boolean): void {
    const info = this.layers[i]!;
    this.indexes[i] = idx;
    info.entries = idx.count;
    info.problems = idx.meta.problems;
    info.fromCache = fromCache;
    info.state = idx.meta.complete ? 'ready' : 'failed';
    this.merged.clear();
  }

  /** Lets the cache evict this image's layer entries again. */
  async close(): Promise<void> {
    const lease = this.lease;
    this.lease = undefined;
    await (await lease)?.release();
  }

  /** Merged tree of layers [from..to] (inclusive; default the whole image). Cached. */
  mergedTree(to = this.count - 1, from = 0): MergedTree {
    const key = `${from}:${to}`;
    let t = this.merged.get(key);
    if (!t) {
      const layers: number[] = [];
      for (let l = from; l <= to; l++) layers.push(l);
      t = new MergedTree(this.indexes, layers);
      this.merged.set(key, t);
    }
    return t;
  }

  /**
   * The one diff of two layer stacks: merged(bottom) against merged(bottom + top), both inclusive ranges.
   * dive's "this layer" i is (0..i-1, i), "aggregated" (0, 1..i), "a against b" (0..a, a+1..b). Contiguous
   * stacks (all of those) reuse the cached merged trees.
   */
  diff(bottom: { start: number; end: number } | null, top: { start: number; end: number }, o?: { includeUnchanged?: boolean }) {
    const empty = () => new MergedTree(this.indexes, []);
    if (!bottom) return diffTrees(empty(), top.end < top.start ? empty() : this.mergedTree(top.end, top.start), o);
    const lower = bottom.end < bottom.start ? empty() : this.mergedTree(bottom.end, bottom.start);
    if (top.start === bottom.end + 1) return diffTrees(lower, this.mergedTree(Math.max(top.end, bottom.end), bottom.start), o);
    return diffTrees(lower, new MergedTree(this.indexes, [...range(bottom.start, bottom.end), ...range(top.start, top.end)]), o);
  }

  efficiency(): EfficiencyResult {
    const all = this.indexes.filter((x): x is LayerIndex => !!x);
    return efficiency(all, this.mergedTree());
  }

  /** Finds the bytes of `path` in layer `layer` (its own tar) or in the merged view; follows hard links and in-root symlinks. */
  locate(path: string, layer?: number): { layer: number; entry: number; offset: number; size: number } | undefined {
    const n = normalizeEntryPath(path);
    if ('escape' in n) throw new ExplorerError('PATH_ESCAPE', `${path} climbs out of the image root with "..": give a path inside the image.`);
    const tree = layer === undefined ? this.mergedTree() : this.mergedTree(layer);
    if (layer !== undefined) {
      const idx = this.indexes[layer];
      if (idx) {
        for (let i = idx.count - 1; i >= 0; i--) {
          if (idx.paths[i] === n.path && !idx.isMarker(i)) {
            if (idx.type(i) === 'file') return { layer, entry: i, offset: idx.cols.offset[i]!, size: idx.cols.size[i]! };
            break;
          }
        }
      }
    }
    const real = tree.resolve(n.path);
    const loc = real === undefined ? undefined : tree.locate(real);
    if (!loc) return undefined;
    const idx = this.indexes[loc.layer]!;
    return { ...loc, offset: idx.cols.offset[loc.entry]!, size: idx.cols.size[loc.entry]! };
  }

  /** Streams a file's content (or bytes [start, end) of it). */
  async readFile(path: string, opts: { layer?: number; start?: number; end?: number; signal?: AbortSignal } = {}): Promise<Readable> {
    const loc = this.locate(path, opts.layer);
    if (!loc) {
      const tree = opts.layer === undefined ? this.mergedTree() : this.mergedTree(opts.layer);
      const n = normalizeEntryPath(path);
      const e = 'path' in n ? tree.get(n.path) : undefined;
      const why = e ? `it is a ${e.type}${e.problem ? ` (${e.problem.message})` : ''}, not a file` : 'it is not in the image';
      throw new ExplorerError('PATH_NOT_FOUND', `Cannot read ${path}: ${why}.`, { path });
    }
    const start = Math.min(Math.max(opts.start ?? 0, 0), loc.size);
    const end = Math.min(opts.end ?? loc.size, loc.size);
    const idx = this.indexes[loc.layer]!;
    return openLayerRange(this.source, this.layers[loc.layer]!.descriptor, idx, loc.offset + start, loc.offset + Math.max(end, start), { entry: loc.entry, ...(opts.signal ? { signal: opts.signal } : {}) });
  }

  /**
   * Bytes [start, end) of layer i's uncompressed tar, for callers that read many files of one layer in
   * one pass (package databases): see `rangesAreCheap` for what a range costs.
   */
  async openLayerBytes(i: number, start: number, end: number, signal?: AbortSignal): Promise<Readable> {
    const d = this.layers[i]!.descriptor;
    return openLayerRange(this.source, d, this.indexes[i]!, start, end, signal ? { signal } : {});
  }

  /**
   * True when a range of layer i costs about its own bytes: an uncompressed blob, or a compressed one
   * with restart points beyond its start (a decode of at most one span); else a decode from the start.
   */
  rangesAreCheap(i: number): boolean {
    const idx = this.indexes[i];
    return idx?.meta.compression === 'none' || (idx?.restart?.count ?? 0) > 1;
  }

  async readFileBuffer(path: string, opts: { layer?: number; start?: number; end?: number; signal?: AbortSignal } = {}): Promise<Buffer> {
    const s = await this.readFile(path, opts);
    const parts: Buffer[] = [];
    for await (const c of s) parts.push(c as Buffer);
    return Buffer.concat(parts);
  }

  /** Extracts the merged rootfs (or `opts.path`) into `target`, safely. */
  async extract(target: string, opts: ExtractOptions = {}): Promise<ExtractResult> {
    const tree = this.mergedTree();
    const sub = opts.path ? normalizeEntryPath(opts.path) : { path: '' };
    if ('escape' in sub) throw new ExplorerError('PATH_ESCAPE', `${opts.path} climbs out of the image root.`);
    return extractTree(
      tree,
      target,
      (p) => this.locate(p),
      async (files, signal, onFile) => {
        const layer = files[0]!.layer;
        const info = this.layers[layer]!;
        const idx = this.indexes[layer]!;
        let stream: Readable;
        if (idx.meta.compression === 'none') stream = await this.source.openBlob(info.descriptor, signal ? { signal } : {});
        else stream = (await openDecoded(await openVerified(this.source, info.descriptor, signal), info.descriptor.digest, { noDiffHash: true })).stream;
        await writeRanges(stream, files, signal, onFile);
      },
      { ...opts, path: sub.path },
    );
  }
}

const WRITES_IN_FLIGHT = 16;

/** Writes ranges of one sequential stream into files (sorted by offset; ranges may repeat for hard-linked copies). */
async function writeRanges(stream: Readable, all: { offset: number; size: number; dest: string }[], signal?: AbortSignal, onFile?: (bytes: number) => void): Promise<void> {
  // Several paths with one content (hard links outside the subtree): write once, copy the rest.
  const first = new Map<number, string>();
  const copies: [string, string, number][] = [];
  const files = all.filter((f) => {
    const seen = first.get(f.offset);
    if (seen !== undefined) return copies.push([seen, f.dest, f.size]), false;
    first.set(f.offset, f.dest);
    return true;
  });
  let pos = 0;
  let k = 0;
  let fd: number | undefined;
  let written = 0;
  // A file that lies whole in one chunk is written asynchronously, several at a time: creating a file
  // costs far more kernel time than its bytes here (~0.75 ms per create on our VMs), and the thread
  // pool spreads that over the cores while this thread decodes. Files spanning chunks are written in
  // place (sync, no round trip per piece).
  const inflight = new Set<Promise<void>>();
  let failed: { e: unknown } | undefined;
  const writeWhole = async (dest: string, data: Buffer, size: number) => {
    const p: Promise<void> = fsp
      .writeFile(dest, data, { mode: 0o600 })
      .then(
        () => onFile?.(size),
        (e: unknown) => void (failed ??= { e }),
      )
      .finally(() => inflight.delete(p));
    inflight.add(p);
    if (inflight.size >= WRITES_IN_FLIGHT) await Promise.race(inflight);
    if (failed) throw failed.e;
  };
  const openNext = async () => {
    while (k < files.length && files[k]!.size === 0) {
      await writeWhole(files[k]!.dest, Buffer.alloc(0), 0);
      k++;
    }
  };
  try {
    await openNext();
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      if (signal?.aborted) throw new ExplorerError('CANCELLED', 'Extraction was cancelled.');
      let c = chunk;
      let cpos = pos;
      pos += chunk.length;
      while (k < files.length && c.length) {
        const f = files[k]!;
        if (cpos + c.length <= f.offset + written) break;
        const a = Math.max(f.offset + written - cpos, 0);
        const b = Math.min(f.offset + f.size - cpos, c.length);
        if (a >= c.length) break;
        if (fd === undefined && written === 0 && f.offset >= cpos && f.offset + f.size - cpos <= c.length) {
          await writeWhole(f.dest, c.subarray(a, b), f.size);
          k++;
          await openNext();
          c = c.subarray(b);
          cpos += b;
          continue;
        }
        if (fd === undefined) fd = openSync(f.dest, 'w', 0o600);
        writeAllSync(fd, c.subarray(a, b));
        written += b - a;
        if (written === f.size) {
          onFile?.(f.size);
          closeSync(fd);
          fd = undefined;
          written = 0;
          k++;
          await openNext();
        }
        c = c.subarray(b);
        cpos += b;
      }
      if (k >= files.length) break;
    }
    await Promise.all(inflight);
    if (failed) throw failed.e;
  } finally {
    if (fd !== undefined) closeSync(fd);
    stream.destroy();
    // Nothing may still be writing when the caller cleans up after a failure.
    await Promise.allSettled([...inflight]);
  }
  if (k < files.length) throw new ExplorerError('EXTRACT_FAILED', `The layer ended before ${files[k]!.dest} was complete; the layer is truncated.`);
  for (const [from, to, size] of copies) {
    copyFileSync(from, to);
    onFile?.(size);
  }
}


function writeAllSync(fd: number, b: Buffer): void {
  let off = 0;
  while (off < b.length) off += writeSync(fd, b, off, b.length - off);
}

function range(a: number, b: number): number[] {
  return Array.from({ length: Math.max(0, b - a + 1) }, (_, k) => a + k);
}
