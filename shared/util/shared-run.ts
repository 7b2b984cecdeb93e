import { ExplorerError } from '../errors.js';

// One piece of work shared by every caller that asks for it while it runs (VS Code's shared
// cancellation idea): each caller passes its own signal and may give up alone — its promise rejects
// with CANCELLED at once — but the work itself is aborted only when every caller has given up. A
// finished run is forgotten: callers keep results themselves.

interface Run<T> {
  promise: Promise<T>;
  controller: AbortController;
  callers: number;
  gaveUp: number;
}

export class SharedRun<T> {
  private current?: Run<T>;
  private closed = false;

  constructor(private readonly what = 'The operation') {}

  /** True while a run is in flight. */
  get running(): boolean {
    return this.current !== undefined;
  }

  run(signal: AbortSignal, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(cancelled(`${this.what} was stopped: its image was closed.`));
    if (signal.aborted) return Promise.reject(cancelled(`${this.what} was cancelled.`));
    let r = this.current;
    if (!r || r.controller.signal.aborted) {
      // A run everyone gave up on may still be unwinding: the next one starts after it has stopped.
      const dying = r?.promise.catch(() => undefined);
      const controller = new AbortController();
      const run: Run<T> = { controller, callers: 0, gaveUp: 0, promise: Promise.resolve(dying).then(() => fn(controller.signal)) };
      const forget = () => {
        if (this.current === run) this.current = undefined;
      };
      run.promise.then(forget, forget);
      this.current = r = run;
    }
    const run = r;
    run.callers++;
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const onAbort = () => {
        if (settled) return;
        settled = true;
        if (++run.gaveUp === run.callers) run.controller.abort();
        reject(cancelled(`${this.what} was cancelled.`));
      };
      signal.addEventListener('abort', onAbort, { once: true });
      run.promise.then(
        (v) => {
          signal.removeEventListener('abort', onAbort);
          if (settled) return;
          settled = true;
          resolve(v);
        },
        (e: unknown) => {
          signal.removeEventListener('abort', onAbort);
          if (settled) return;
          settled = true;
          reject(e);
        },
      );
    });
  }

  /** Aborts the run in flight (whoever waits gets its error) and refuses new ones. */
  close(): void {
    this.closed = true;
    this.current?.controller.abort();
  }
}

function cancelled(message: string): ExplorerError {
  return new ExplorerError('CANCELLED', message);
}
