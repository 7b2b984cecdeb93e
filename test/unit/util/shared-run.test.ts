import { describe, expect, it } from 'vitest';
import { SharedRun } from '../../../shared/util/shared-run.js';

/** Work that runs until its signal aborts or `finish` is called; records whether it saw the abort. */
function work() {
  const state = { starts: 0, aborted: false, finish: (_v: number) => {} };
  const fn = (signal: AbortSignal) =>
    new Promise<number>((resolve, reject) => {
      state.starts++;
      state.finish = resolve;
      signal.addEventListener('abort', () => {
        state.aborted = true;
        reject(new Error('aborted'));
      });
    });
  return { state, fn };
}

describe('SharedRun', () => {
  it('shares one run between callers that ask while it is in flight', async () => {
    const run = new SharedRun<number>();
    const { state, fn } = work();
    const a = run.run(new AbortController().signal, fn);
    const b = run.run(new AbortController().signal, fn);
    await Promise.resolve();
    state.finish(7);
    expect(await a).toBe(7);
    expect(await b).toBe(7);
    expect(state.starts).toBe(1);
  });

  it('one caller cancelling mid-run gets CANCELLED; the others still get the result and the work goes on', async () => {
    const run = new SharedRun<number>('Indexing');
    const { state, fn } = work();
    const ca = new AbortController();
    const a = run.run(ca.signal, fn);
    const b = run.run(new AbortController().signal, fn);
    await Promise.resolve();
    ca.abort();
    await expect(a).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(state.aborted).toBe(false);
    state.finish(3);
    expect(await b).toBe(3);
  });

  it('the work is aborted only when every caller has cancelled', async () => {
    const run = new SharedRun<number>();
    const { state, fn } = work();
    const ca = new AbortController();
    const cb = new AbortController();
    const a = run.run(ca.signal, fn);
    const b = run.run(cb.signal, fn);
    await Promise.resolve();
    ca.abort();
    expect(state.aborted).toBe(false);
    cb.abort();
    expect(state.aborted).toBe(true);
    await expect(a).rejects.toMatchObject({ code: 'CANCELLED' });
    await expect(b).rejects.toMatchObject({ code: 'CANCELLED' });
    // A new call after an aborted run starts afresh.
    const c = run.run(new AbortController().signal, fn);
    await Promise.resolve();
    await Promise.resolve();
    state.finish(9);
    expect(await c).toBe(9);
    expect(state.starts).toBe(2);
  });

  it('close() aborts the run in flight and refuses new ones', async () => {
    const run = new SharedRun<number>();
    const { state, fn } = work();
    const a = run.run(new AbortController().signal, fn);
    await Promise.resolve();
    run.close();
    await expect(a).rejects.toThrow();
    expect(state.aborted).toBe(true);
    await expect(run.run(new AbortController().signal, fn)).rejects.toMatchObject({ code: 'CANCELLED' });
  });
});
