import path from 'node:path';
import { ExplorerError } from '../errors.js';
import type { GraphContext } from '../graph/build.js';
import type { ImageEntry } from '../graph/types.js';
import type { OpenImage } from '../layers/open-image.js';
import type { ImageSource } from '../sources/types.js';
import { SharedRun } from '../util/shared-run.js';
import type { ImageRef, SourceHandle, SourceId } from './contract.js';
import type { Core } from './core.js';

// The sources open in one handler table: each with its graph (built once, shared by concurrent
// callers) and the images selected in it. Closing a source stops its work and frees all of it.

export function notAvailable(what: string): ExplorerError {
  return new ExplorerError('SOURCE_UNSUPPORTED', `${what} is not available in this build yet; update OCI Explorer to use it.`, { notAvailable: true });
}

export class OpenSourceEntry {
  /** Aborted when the source is closed: the signal of work no single caller owns (the graph, lazy indexing). */
  readonly lifetime = new AbortController();
  private readonly graphRun = new SharedRun<GraphContext>('Reading the image graph');
  private context?: GraphContext;
  readonly images = new Map<string, OpenImage>();

  constructor(
    readonly handle: SourceHandle,
    readonly source: ImageSource,
    readonly tag: string | undefined,
    private readonly core: Core,
  ) {}

  async graph(signal: AbortSignal = this.lifetime.signal): Promise<GraphContext> {
    if (this.context) return this.context;
    const build = this.core.buildGraph;
    if (!build) throw notAvailable('The descriptor graph');
    this.context = await this.graphRun.run(signal, (s) => build(this.source, s));
    return this.context;
  }

  /** The open image for an entry of this source's graph (made on first use). */
  image(ctx: GraphContext, entry: ImageEntry): OpenImage {
    let img = this.images.get(entry.manifest);
    if (!img) {
      if (!this.core.openImage) throw notAvailable('Browsing layers');
      img = this.core.openImage(ctx, entry);
      this.images.set(entry.manifest, img);
    }
    return img;
  }

  async close(): Promise<void> {
    this.lifetime.abort();
    this.graphRun.close();
    await Promise.all([...this.images.values()].map((img) => img.close()));
    this.images.clear();
    this.context = undefined;
    await this.source.close().catch(() => undefined);
  }
}

export class OpenSources {
  private readonly entries = new Map<SourceId, OpenSourceEntry>();
  private next = 1;

  constructor(private readonly core: Core) {}

  add(handle: Omit<SourceHandle, 'id'>, source: ImageSource, tag: string | undefined): OpenSourceEntry {
    const id = `s${this.next++}`;
    const e = new OpenSourceEntry({ ...handle, id }, source, tag, this.core);
    this.entries.set(id, e);
    return e;
  }

  get(id: SourceId): OpenSourceEntry {
    const e = this.entries.get(id);
    if (!e) throw new ExplorerError('SOURCE_NOT_FOUND', 'That source is no longer open; open it again from Recent.', { sourceId: id });
    return e;
  }

  handles(): SourceHandle[] {
    return [...this.entries.values()].map((e) => e.handle);
  }

  async close(id: SourceId): Promise<boolean> {
    const e = this.entries.get(id);
    if (!e) return false;
    this.entries.delete(id);
    await e.close();
    return true;
  }

  async closeAll(): Promise<void> {
    const all = [...this.entries.values()];
    this.entries.clear();
    await Promise.all(all.map((e) => e.close()));
  }

  /** The open image an API call names (listDir, readFile…), indexed before it answers. */
  async image(ref: ImageRef): Promise<OpenImage> {
    const e = this.get(ref.sourceId);
    const ctx = await e.graph();
    let img = e.images.get(ref.manifest);
    if (!img) {
      if (!this.core.listImages) throw notAvailable('Selecting images');
      const entry = this.core.listImages(ctx.graph).find((i) => i.manifest === ref.manifest);
      if (!entry) throw new ExplorerError('IMAGE_NOT_FOUND', `This source has no image with manifest ${ref.manifest}; pick one from its graph.`, { manifest: ref.manifest });
      img = e.image(ctx, entry);
    }
    return img.ready(e.lifetime.signal);
  }
}

export function labelOf(location: string): string {
  const trimmed = location.replace(/[\\/]+$/, '');
  return path.basename(trimmed) || trimmed;
}
