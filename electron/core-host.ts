import { defaultCore } from '../shared/api/core.js';
import { createHandlerTable, type HandlerOptions } from '../shared/api/handlers.js';
import { SHELL_METHODS, type Envelope, type EventEnvelope } from '../shared/api/contract.js';

// The handler table, off the main thread: this file runs in an Electron utilityProcess, so reading and
// indexing images never blocks the window's event loop. It talks to main over process.parentPort:
//   main → host  {type:'init', options} | {type:'call', id, method, args}
//   host → main  {type:'ready'} | {type:'result', id, envelope} | {type:'event', envelope}

export type HostInit = Pick<HandlerOptions, 'appVersion' | 'stateDir' | 'demoPath' | 'capabilities' | 'runtime'>;
export type ToHost = { type: 'init'; options: HostInit } | { type: 'call'; id: number; method: string; args: unknown };
export type FromHost = { type: 'ready' } | { type: 'result'; id: number; envelope: Envelope } | { type: 'event'; envelope: EventEnvelope };

export interface PortLike {
  on(event: 'message', listener: (e: { data: unknown }) => void): void;
  postMessage(message: FromHost): void;
}

export function startCoreHost(port: PortLike): void {
  let table: ReturnType<typeof createHandlerTable> | undefined;
  port.on('message', (e) => {
    const msg = e.data as ToHost;
    if (msg?.type === 'init' && !table) {
      const core = defaultCore({ workers: 0 });
      table = createHandlerTable({ ...msg.options, core, mode: 'electron', shellMethods: SHELL_METHODS });
      table.subscribe((envelope) => port.postMessage({ type: 'event', envelope }));
      port.postMessage({ type: 'ready' });
    } else if (msg?.type === 'call' && typeof msg.id === 'number') {
      const t = table;
      const reply = t
        ? t.dispatch(msg.method, msg.args)
        : Promise.resolve<Envelope>({ ok: false, error: { code: 'INTERNAL', message: 'The core is still starting; try again.' } });
      void reply.then((envelope) => port.postMessage({ type: 'result', id: msg.id, envelope }));
    }
  });
}

const parentPort = (process as unknown as { parentPort?: PortLike }).parentPort;
if (parentPort) startCoreHost(parentPort);
