import { existsSync } from 'node:fs';
import os from 'node:os';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { ExplorerError, toExplorerError } from '../errors.js';
import { deserializeIndex } from './store.js';
import type { IndexLayerOptions } from './indexer.js';
import type { LayerIndex } from './tarindex.js';
import type { FromWorker, ToWorker } from './worker.js';

// A small pool of index workers. Under tsx/vitest the entry is worker.ts, loaded through tsx's
// ESM loader registered inside the worker; a build ships worker.js beside this file.

const IN_FLIGHT = 8;

function spawn(): Worker {
  const js = new URL('./worker.js', import.meta.url);
  if (existsSync(fileURLToPath(js))) return new Worker(js);
  const ts = new URL('./worker.ts', import.meta.url).href;
  const boot = `import('tsx/esm/api').then((m) => { m.register(); return import(${JSON.stringify(ts)}); }).catch((e) => { throw e; });`;
  return new Worker(boot, { eval: true });
}

export class IndexWorkerPool {
  private idle: Worker[] = [];
  private all: Worker[] = [];
  private waiting: ((w: Worker) => void)[] = [];
  readonly size: number;

  constructor(size = Math.max(1, os.availableParallelism?.() ?? os.cpus().length)) {
    this.size = size;
  }

  private async acquire(): Promise<Worker> {
    const w = this.idle.pop();
    if (w) return w;
    if (this.all.length < this.size) {
      const nw = spawn();
      nw.unref();
      this.all.push(nw);
      return nw;
    }
    return new Promise((r) => this.waiting.push(r));
  }

  /** A worker died or was killed: forget it, and give a fresh one to whoever waits for a worker. */
  private drop(w: Worker): void {
    this.all = this.all.filter((x) => x !== w);
    const next = this.waiting.shift();
    if (next) {
      const nw = spawn();
      nw.unref();
      this.all.push(nw);
      next(nw);
    }
  }

  private release(w: Worker): void {
    const next = this.waiting.shift();
    if (next) next(w);
    else this.idle.push(w);
  }

  /** Indexes one layer in a worker. `blob` is the verified blob stream. */
  async index(blob: Readable, opts: IndexLayerOptions): Promise<{ index: LayerIndex; persistable: boolean; raw: Buffer }> {
    const w = await this.acquire();
    let inflight = 0;
    let wake: (() => void) | undefined;
    let settled = false;
    const { signal, onProgress, ...job } = opts;
    const result = new Promise<{ index: LayerIndex; persistable: boolean; raw: Buffer }>((resolve, reject) => {
      const onMsg = (m: FromWorker) => {
        if (m.type === 'ack') {
          inflight--;
          wake?.();
        } else if (m.type === 'progress') onProgress?.(m);
        else if (m.type === 'done') {
          finish();
          const raw = Buffer.from(m.index);
          const index = deserializeIndex(raw, opts.digest);
          if (!index) reject(new ExplorerError('INTERNAL', 'The index worker returned an unreadable index; please report it.'));
          else resolve({ index, persistable: m.persistable, raw });
        } else if (m.type === 'fail') {
          finish();
          reject(new ExplorerError(m.code, m.message));
        }
      };
      const onErr = (e: Error) => {
        finish(true);
        reject(toExplorerError(e));
      };
      const finish = (dead = false) => {
        settled = true;
        wake?.();
        w.off('message', onMsg);
        w.off('error', onErr);
        if (dead) this.drop(w);
        else this.release(w);
      };
      w.on('message', onMsg);
      w.on('error', onErr);
    });
    result.catch(() => {});
    w.postMessage({ type: 'start', job } satisfies ToWorker);
    try {
      for await (const chunk of blob as AsyncIterable<Buffer>) {
        if (signal?.aborted) throw new ExplorerError('CANCELLED', 'Indexing was cancelled.');
        if (settled) break;
        inflight++;
        w.postMessage({ type: 'chunk', data: chunk } satisfies ToWorker);
        while (inflight >= IN_FLIGHT && !settled) await new Promise<void>((r) => (wake = r));
      }
      if (!settled) w.postMessage({ type: 'end' } satisfies ToWorker);
    } catch (e) {
      const err = toExplorerError(e, 'LAYER_DECODE_FAILED');
      if (err.code === 'CANCELLED') {
        // Kill the worker: it may be mid-inflate; a fresh one is cheap.
        settled = true;
        await w.terminate();
        this.drop(w);
        throw err;
      }
      if (!settled) w.postMessage({ type: 'error', code: err.code, message: err.message } satisfies ToWorker);
    }
    return result;
  }

  async close(): Promise<void> {
    await Promise.all(this.all.map((w) => w.terminate()));
    this.all = [];
    this.idle = [];
  }
}
