import { decodeWire, encodeWire } from './codec.js';
import { METHODS, WEB_EVENTS_PATH, WEB_ROUTES, type Envelope, type EventEnvelope, type EventName, type ExplorerApi, type ExplorerEvents, type MethodName } from './contract.js';
import { ApiError, errorFromUnknown } from './errors.js';

// The web-mode transport: the same ExplorerApi over fetch (POST /api/<method>, JSON body) and one
// EventSource (/api/events) for events. Authentication is the cookie the server set when the page was
// opened with its token, so nothing secret lives in this code. Uses only fetch/EventSource globals.
// The routes are the contract's (WEB_ROUTES, WEB_EVENTS_PATH), as the server's are.

interface WebDeps {
  fetch: typeof fetch;
  EventSource?: new (url: string, init?: { withCredentials?: boolean }) => {
    onmessage: ((ev: { data: string }) => void) | null;
    close(): void;
  };
}

export function createWebClient(base = '', deps?: Partial<WebDeps>): ExplorerApi {
  const g = globalThis as unknown as Partial<WebDeps>;
  const doFetch = deps?.fetch ?? g.fetch?.bind(globalThis);
  const ES = deps?.EventSource ?? g.EventSource;
  if (!doFetch) throw new Error('fetch is not available');

  const listeners = new Map<EventName, Set<(p: unknown) => void>>();
  let es: InstanceType<NonNullable<WebDeps['EventSource']>> | undefined;

  function ensureEvents(): void {
    if (es || !ES) return;
    es = new ES(base + WEB_EVENTS_PATH, { withCredentials: true });
    es.onmessage = (ev) => {
      let env: EventEnvelope;
      try {
        env = decodeWire(ev.data) as EventEnvelope;
      } catch {
        return;
      }
      for (const l of listeners.get(env.event) ?? []) l(env.payload);
    };
  }

  async function call(method: MethodName, args: unknown): Promise<unknown> {
    let res: Response;
    try {
      res = await doFetch!(base + WEB_ROUTES[method], {
        method: 'POST',
        credentials: 'same-origin',
        headers: { 'content-type': 'application/json' },
        body: encodeWire(args ?? {}),
      });
    } catch (e) {
      throw new ApiError({ code: 'NETWORK_ERROR', message: `The OCI Explorer server did not answer (${errorFromUnknown(e).message}); is \`oci-explorer serve\` still running?` });
    }
    const text = await res.text();
    let env: Envelope;
    try {
      env = decodeWire(text) as Envelope;
    } catch {
      if (res.status === 401 || res.status === 403) {
        throw new ApiError({ code: 'FORBIDDEN', message: 'The OCI Explorer server refused this page: open the URL that `oci-explorer serve` printed (it carries the access token).' });
      }
      throw new ApiError({ code: 'INTERNAL', message: `The server answered ${res.status}: ${text.slice(0, 200)}` });
    }
    if (!env.ok) throw new ApiError(env.error);
    return env.value;
  }

  const api: Record<string, unknown> = {
    on<K extends EventName>(event: K, listener: (p: ExplorerEvents[K]) => void) {
      let set = listeners.get(event);
      if (!set) listeners.set(event, (set = new Set()));
      const l = listener as (p: unknown) => void;
      set.add(l);
      ensureEvents();
      return () => void set.delete(l);
    },
  };
  for (const m of METHODS) api[m] = (args?: unknown) => call(m, args);
  // In a browser, links open in a new tab of that browser (the server has no screen); https only.
  api.openExternal = async (args: { url?: unknown }) => {
    const url = typeof args?.url === 'string' ? args.url : '';
    if (!/^https:\/\//i.test(url)) throw new ApiError({ code: 'FORBIDDEN', message: `Only https links are opened, not ${url || 'this one'}.` });
    const open = (globalThis as { open?: (u: string, t: string, f: string) => unknown }).open;
    if (!open) return { opened: false };
    open(url, '_blank', 'noopener,noreferrer');
    return { opened: true };
  };
  return api as ExplorerApi;
}
