import type { HighlightRequest, HighlightResponse, Tok } from '../workers/highlight.js';

// One highlighting worker for the app, started on first use.

let worker: Worker | undefined;
let nextId = 1;
const pending = new Map<number, (r: HighlightResponse) => void>();

export function highlight(code: string, lang: string): Promise<Tok[][] | undefined> {
  if (!worker) {
    worker = new Worker(new URL('../workers/highlight.ts', import.meta.url), { type: 'module' });
    worker.onmessage = (ev: MessageEvent<HighlightResponse>) => {
      pending.get(ev.data.id)?.(ev.data);
      pending.delete(ev.data.id);
    };
  }
  const id = nextId++;
  return new Promise((resolve) => {
    pending.set(id, (r) => resolve(r.lines));
    worker!.postMessage({ id, code, lang } satisfies HighlightRequest);
  });
}

export type { Tok };
