import type { Envelope, EventEnvelope } from '../shared/api/contract.js';
import type { FromHost, HostInit, ToHost } from './core-host.js';

// The main-process side of the core host: request ids, replies, events; a core that dies fails its
// pending calls with a clear error and is started again on the next call.

export interface ChildLike {
  postMessage(message: ToHost): void;
  on(event: 'message', listener: (message: FromHost) => void): void;
  on(event: 'exit', listener: (code: number) => void): void;
  kill(): boolean;
}

export interface CoreClient {
  dispatch(method: string, args: unknown): Promise<Envelope>;
  close(): void;
}

export function createCoreClient(spawn: () => ChildLike, init: HostInit, onEvent: (e: EventEnvelope) => void): CoreClient {
  let child: ChildLike | undefined;
  let nextId = 1;
  const pending = new Map<number, (e: Envelope) => void>();
  let closing = false;

  function start(): ChildLike {
    const c = spawn();
    c.on('message', (m) => {
      if (m.type === 'result') {
        pending.get(m.id)?.(m.envelope);
        pending.delete(m.id);
      } else if (m.type === 'event') onEvent(m.envelope);
    });
    c.on('exit', () => {
      if (child === c) child = undefined;
      for (const [, resolve] of pending) resolve({ ok: false, error: { code: 'INTERNAL', message: closing ? 'OCI Explorer is closing.' : 'The image reader stopped unexpectedly; open the source again.' } });
      pending.clear();
      if (!closing) onEvent({ event: 'sources-changed', payload: { sources: [] } });
    });
    c.postMessage({ type: 'init', options: init });
    return c;
  }

  return {
    dispatch(method, args) {
      if (closing) return Promise.resolve({ ok: false, error: { code: 'INTERNAL', message: 'OCI Explorer is closing.' } });
      child ??= start();
      const id = nextId++;
      return new Promise<Envelope>((resolve) => {
        pending.set(id, resolve);
        child!.postMessage({ type: 'call', id, method, args });
      });
    },
    close() {
      closing = true;
      child?.kill();
    },
  };
}
