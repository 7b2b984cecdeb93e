import type { Digest } from '../oci/digest.js';
import type { Descriptor } from '../oci/types.js';

// Layers ahead of the reader. The layer engine reads an image's layers one after another; while it
// indexes one, the next ones download into the store a few at a time (a reader that reaches one
// still arriving follows its temp file: fetcher.ts). So the merged tree is ready about when the last
// byte arrives instead of after a download per layer in turn. Downloads stop with the signal of the
// read that started them, or when the source closes.

/** Layers downloaded ahead of the reader at a time. */
export const PREFETCH = 3;

type Link = (signal?: AbortSignal) => { signal: AbortSignal; done: () => void };

export class Prefetcher {
  private readonly images: Descriptor[][] = [];
  private readonly started = new Set<Digest>();
  private readonly queue: { desc: Descriptor; signal?: AbortSignal }[] = [];
  private running = 0;

  constructor(
    /** Puts a blob in the store (once, shared; see Fetcher.ensure). */
    private readonly ensure: (d: Descriptor, signal: AbortSignal) => Promise<unknown>,
    /** A signal aborted with the given one or when the source closes (its `done` unhooks it). */
    private readonly link: Link,
    private readonly closed: AbortSignal,
  ) {}

  /** An image's layers, in order. */
  addImage(layers: Descriptor[]): void {
    this.images.push(layers);
  }

  /** `desc` is being read whole: queue the layers after it in every image that lists it. */
  after(desc: Descriptor, signal: AbortSignal | undefined): void {
    this.started.add(desc.digest);
    for (const list of this.images) {
      const i = list.findIndex((l) => l.digest === desc.digest);
      if (i < 0) continue;
      for (const l of list.slice(i + 1)) {
        if (this.started.has(l.digest)) continue;
        this.started.add(l.digest);
        this.queue.push({ desc: l, ...(signal ? { signal } : {}) });
      }
    }
    this.pump();
  }

  private pump(): void {
    while (this.running < PREFETCH && this.queue.length && !this.closed.aborted) {
      const { desc, signal } = this.queue.shift()!;
      if (signal?.aborted) {
        this.started.delete(desc.digest);
        continue;
      }
      const l = this.link(signal);
      this.running++;
      void this.ensure(desc, l.signal)
        .catch(() => this.started.delete(desc.digest)) // the reader's own download says what went wrong
        .finally(() => {
          l.done();
          this.running--;
          this.pump();
        });
    }
  }
}
