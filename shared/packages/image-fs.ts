import { LRUCache } from 'lru-cache';
import { ExplorerError } from '../errors.js';
import type { ImageLayers } from '../layers/engine.js';
import type { MergedTree } from '../layers/merge.js';
import type { FsEntry, PackageFs } from './types.js';

// A PackageFs over the merged tree of an image at one layer. Reads are queued and served together on
// the next turn of the event loop: grouped by the layer that holds the bytes, each layer is read once
// (one decode pass from its first wanted byte to its last for a compressed layer; close ranges merged
// when a range costs only its bytes). So reading 5,000 package.json files costs a pass per layer, not
// a decode per file. A flush holds at most FLUSH_BYTES of wanted bytes; the rest waits for the next.

const FLUSH_BYTES = 128 * 1024 * 1024;

/**
 * Bytes already read, keyed by content (layer diff_id + entry + range), shared by the scans of several
 * images: a file of a layer both images have is read from the first image only.
 */
export class ReadCache {
  readonly lru = new LRUCache<string, Buffer>({ maxSize: 128 * 1024 * 1024, sizeCalculation: (b) => Math.max(1, b.length) });
}
/** Ranges of a cheaply readable layer closer than this are read as one. */
const MERGE_GAP = 256 * 1024;

interface Want {
  layer: number;
  start: number;
  end: number;
  resolve: (b: Buffer) => void;
  reject: (e: unknown) => void;
}

export class ImageFs implements PackageFs {
  readonly tree: MergedTree;
  private queue: Want[] = [];
  private scheduled = false;
  /** Number of passes over layer bytes (for tests: many files of a layer are read in one). */
  passes = 0;
  bytesRead = 0;

  constructor(
    private readonly layers: ImageLayers,
    readonly upTo: number,
    private readonly signal: AbortSignal,
    private readonly cache?: ReadCache,
  ) {
    this.tree = layers.mergedTree(upTo);
  }

  get(path: string): FsEntry | undefined {
    const e = this.tree.get(path);
    return e && { type: e.type, size: e.size, mode: e.mode };
  }

  children(dir: string): string[] {
    return this.tree.childNames(dir);
  }

  walk(dir = ''): Iterable<string> {
    return this.tree.walk(dir);
  }

  resolve(path: string): string | undefined {
    return this.tree.resolve(path);
  }

  contentId(path: string): string | undefined {
    const loc = this.tree.locate(path);
    return loc && `${loc.layer}:${loc.entry}`;
  }

  read(path: string, opts: { start?: number; max: number; signal?: AbortSignal }): Promise<Buffer> {
    if (this.signal.aborted || opts.signal?.aborted) return Promise.reject(cancelled());
    const loc = this.locate(path);
    if (!loc) return Promise.reject(new ExplorerError('PATH_NOT_FOUND', `Cannot read ${path}: it is not a file in the image.`, { path }));
    const start = loc.offset + Math.min(Math.max(opts.start ?? 0, 0), loc.size);
    const end = Math.min(start + opts.max, loc.offset + loc.size);
    if (end <= start) return Promise.resolve(Buffer.alloc(0));
    const info = this.layers.layers[loc.layer]!;
    const key = this.cache && `${info.diffId ?? info.descriptor.digest}@${start}-${end}`;
    const hit = key && this.cache!.lru.get(key);
    if (hit) return Promise.resolve(hit);
    return new Promise<Buffer>((resolve, reject) => {
      const keep = (b: Buffer) => {
        if (key) this.cache!.lru.set(key, b);
        resolve(b);
      };
      this.queue.push({ layer: loc.layer, start, end, resolve: keep, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => void this.flush());
      }
    });
  }

  /** Where a file's bytes are (symlinks and hard links followed), straight from the tree. */
  private locate(path: string): { layer: number; offset: number; size: number } | undefined {
    const real = this.tree.resolve(path);
    const loc = real === undefined ? undefined : this.tree.locate(real);
    const idx = loc && this.layers.indexes[loc.layer];
    return idx ? { layer: loc.layer, offset: idx.cols.offset[loc.entry]!, size: idx.cols.size[loc.entry]! } : undefined;
  }

  private async flush(): Promise<void> {
    this.scheduled = false;
    let take = 0;
    let bytes = 0;
    while (take < this.queue.length && (take === 0 || bytes + this.queue[take]!.end - this.queue[take]!.start <= FLUSH_BYTES)) {
      bytes += this.queue[take]!.end - this.queue[take]!.start;
      take++;
    }
    const batch = this.queue.splice(0, take);
    if (this.queue.length) {
      this.scheduled = true;
      setImmediate(() => void this.flush());
    }
    const byLayer = new Map<number, Want[]>();
    for (const w of batch) {
      const l = byLayer.get(w.layer);
      if (l) l.push(w);
      else byLayer.set(w.layer, [w]);
    }
    for (const [layer, wants] of byLayer) {
      wants.sort((a, b) => a.start - b.start || a.end - b.end);
      try {
        if (this.signal.aborted) throw cancelled();
        const groups = this.layers.rangesAreCheap(layer) ? clusters(wants) : [wants];
        for (const g of groups) await this.pass(layer, g);
      } catch (e) {
        for (const w of wants) w.reject(e);
      }
    }
  }

  /** One sequential read of [first start, last end) of a layer, copied out into each want. */
  private async pass(layer: number, wants: Want[]): Promise<void> {
    const from = wants[0]!.start;
    const to = Math.max(...wants.map((w) => w.end));
    this.passes++;
    const bufs = wants.map((w) => Buffer.allocUnsafe(w.end - w.start));
    const filled = wants.map(() => 0);
    const stream = await this.layers.openLayerBytes(layer, from, to, this.signal);
    let pos = from;
    let first = 0;
    try {
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        if (this.signal.aborted) throw cancelled();
        const cEnd = pos + chunk.length;
        while (first < wants.length && wants[first]!.end <= pos) first++;
        for (let k = first; k < wants.length && wants[k]!.start < cEnd; k++) {
          const w = wants[k]!;
          const a = Math.max(w.start, pos);
          const b = Math.min(w.end, cEnd);
          if (b > a) {
            chunk.copy(bufs[k]!, a - w.start, a - pos, b - pos);
            filled[k]! += b - a;
          }
        }
        pos = cEnd;
        this.bytesRead += chunk.length;
      }
    } finally {
      stream.destroy();
    }
    wants.forEach((w, k) => {
      if (filled[k] === bufs[k]!.length) w.resolve(bufs[k]!);
      else w.reject(new ExplorerError('LAYER_TAR_INVALID', `Layer ${layer} ended before the bytes of a file were read; the layer is truncated.`));
    });
  }
}

/** Wants sorted by start, split where the gap to the next is larger than MERGE_GAP. */
function clusters(wants: Want[]): Want[][] {
  const out: Want[][] = [];
  let cur: Want[] = [];
  let end = -Infinity;
  for (const w of wants) {
    if (cur.length && w.start - end > MERGE_GAP) {
      out.push(cur);
      cur = [];
    }
    cur.push(w);
    end = Math.max(end, w.end);
  }
  if (cur.length) out.push(cur);
  return out;
}

function cancelled(): ExplorerError {
  return new ExplorerError('CANCELLED', 'The package scan was cancelled.');
}
