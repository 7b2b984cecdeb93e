import { contextBridge, ipcRenderer, webUtils } from 'electron';
import { IPC_CHANNEL, METHODS, type Envelope, type EventEnvelope, type EventName, type ShellCommand } from '../shared/api/contract.js';
import { encodeErrorMessage } from '../shared/api/errors.js';
import { isEventName } from '../shared/api/names.js';

// Exposes exactly the contract as window.explorer: one function per method (all through one invoke
// channel) and on(event, listener). No ipcRenderer, no Node, nothing else reaches the page. Errors are
// re-encoded into the message because contextBridge keeps only an Error's message; the renderer's
// getExplorerApi() decodes them back into ApiError {code, message, details}.
// Built as one CommonJS file (sandboxed preloads cannot load modules).

type Listener = (payload: unknown) => void;
const listeners = new Map<EventName, Set<Listener>>();

function deliver(event: EventName, payload: unknown): void {
  for (const l of listeners.get(event) ?? []) {
    try {
      l(payload);
    } catch {
      // a throwing UI listener must not stop the others
    }
  }
}

ipcRenderer.on(IPC_CHANNEL, (_e, env: EventEnvelope) => {
  if (!env || !isEventName(env.event)) return;
  deliver(env.event, env.payload);
});

async function invoke(method: string, args: unknown): Promise<unknown> {
  const env = (await ipcRenderer.invoke(IPC_CHANNEL, method, args ?? {})) as Envelope;
  if (env.ok) return env.value;
  throw new Error(encodeErrorMessage(env.error));
}

const api: Record<string, unknown> = {
  on(event: EventName, listener: Listener) {
    if (!isEventName(event) || typeof listener !== 'function') throw new Error(`Unknown event ${String(event)}`);
    let set = listeners.get(event);
    if (!set) listeners.set(event, (set = new Set()));
    set.add(listener);
    return () => void set.delete(listener);
  },
};
for (const m of METHODS) api[m] = (args?: unknown) => invoke(m, args);

contextBridge.exposeInMainWorld('explorer', api);

// Drag and drop of a folder or archive onto the window: the sandboxed page cannot see paths, the
// preload can (webUtils). Each path goes to the UI as a `command: open-spec` event, so the UI opens it
// as if typed and shows why when it cannot. With no UI listening, the preload opens it itself.
window.addEventListener('dragover', (e) => e.preventDefault());
window.addEventListener('drop', (e) => {
  e.preventDefault();
  const files = e.dataTransfer?.files;
  if (!files) return;
  for (const f of Array.from(files)) {
    const p = webUtils.getPathForFile(f);
    if (!p) continue;
    if (listeners.get('command')?.size) deliver('command', { command: 'open-spec', spec: p } satisfies ShellCommand);
    else void invoke('openSource', { spec: p }).catch(() => undefined);
  }
});
