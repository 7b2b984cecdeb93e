// A reverse proxy of the tests on loopback, in front of a real registry (or its storage server), that
// injects faults on demand (DESIGN.md §4): a status (429 + Retry-After, 500, 503), a connection reset
// after part of a body, a truncated body (ends cleanly, short), a flipped byte, a stall. It counts
// requests and body bytes per path so tests can assert "downloaded once" and "0 layer bytes".
import http from 'node:http';

export type Fault =
  | { kind: 'status'; status: number; retryAfter?: number; body?: string; headers?: Record<string, string> }
  /** Destroys the connection after `at` × the body's length (default 0.5). */
  | { kind: 'reset'; at?: number }
  /** Ends the response normally (chunked, no Content-Length) after `at` × the body. */
  | { kind: 'truncate'; at?: number }
  /** XORs the byte at `at` × the body with 0xff. */
  | { kind: 'flip'; at?: number }
  /** Stops sending after `at` × the body and keeps the connection open. */
  | { kind: 'stall'; at?: number }
  /** Like stall, until the test calls release(): then the rest of the body follows. */
  | { kind: 'hold'; at?: number };

export interface FaultRule {
  /** Matched against the request path (and query). */
  match: RegExp;
  method?: string;
  fault: Fault;
  /** How many matching requests get the fault (default 1); Infinity for all. */
  times?: number;
}

export interface ProxiedRequest {
  method: string;
  url: string;
  status: number;
  headers: http.IncomingHttpHeaders;
  /** Body bytes sent to the client. */
  bytes: number;
  fault?: Fault['kind'];
}

export interface FaultProxy {
  /**
   * Pages `GET …/tags/list` by `n` and `last` with a Link header (distribution 2.8 ignores both and
   * answers every tag at once; Docker Hub, GHCR and distribution 3 page this way). 0 = pass through.
   */
  pageTags: number;
  /**
   * Answers `GET /v2/<name>/referrers/<digest>` (OCI 1.1) from the `sha256-<hex>` tag the referrers
   * were pushed under, as registries with the API do; distribution 2.8 answers 404. false = pass through.
   */
  referrersApi: boolean;
  url: string;
  /** host:port, for image references. */
  host: string;
  rules: FaultRule[];
  requests: ProxiedRequest[];
  /** Body bytes sent for requests whose path matches. */
  bytesFor(match: RegExp): number;
  /** Lets held responses ('hold') go on. */
  release(): void;
  stop(): Promise<void>;
}

export async function startFaultProxy(target: string, bind = '127.0.0.1'): Promise<FaultProxy> {
  const to = new URL(target);
  const rules: FaultRule[] = [];
  const requests: ProxiedRequest[] = [];
  const stalled = new Set<http.ServerResponse>();
  let held: (() => void)[] = [];

  const take = (req: http.IncomingMessage): Fault | undefined => {
    const r = rules.find((x) => x.match.test(req.url ?? '') && (!x.method || x.method === req.method) && (x.times ?? 1) > 0);
    if (!r) return undefined;
    r.times = (r.times ?? 1) - 1;
    return r.fault;
  };

  const state = { pageTags: 0, referrersApi: false };
  const referrers = async (req: http.IncomingMessage, res: http.ServerResponse, log: ProxiedRequest) => {
    const m = /^\/v2\/(.+)\/referrers\/(sha256):([a-f0-9]{64})/.exec(req.url ?? '')!;
    const up = await fetch(`${target.replace(/\/$/, '')}/v2/${m[1]}/manifests/${m[2]}-${m[3]}`, { headers: { accept: 'application/vnd.oci.image.index.v1+json' } });
    const body = up.ok ? await up.text() : JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [] });
    log.status = 200;
    log.bytes = Buffer.byteLength(body);
    res.writeHead(200, { 'content-type': 'application/vnd.oci.image.index.v1+json' }).end(body);
  };
  const pageTags = async (req: http.IncomingMessage, res: http.ServerResponse, log: ProxiedRequest) => {
    const u = new URL(req.url ?? '/', 'http://x');
    const up = await fetch(`${target.replace(/\/$/, '')}${u.pathname}`, { headers: req.headers.authorization ? { authorization: req.headers.authorization } : {} });
    const doc = (await up.json()) as { name: string; tags: string[] | null };
    const all = [...(doc.tags ?? [])].sort();
    const n = Number(u.searchParams.get('n') ?? state.pageTags);
    const last = u.searchParams.get('last');
    const start = last ? all.findIndex((t) => t > last) : 0;
    const page = start < 0 ? [] : all.slice(start, start + n);
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (start >= 0 && start + n < all.length) headers.link = `<${u.pathname}?n=${n}&last=${encodeURIComponent(page.at(-1)!)}>; rel="next"`;
    const body = JSON.stringify({ name: doc.name, tags: page });
    log.status = up.status;
    log.bytes = body.length;
    res.writeHead(up.status, headers).end(body);
  };

  const server = http.createServer((req, res) => {
    const fault = take(req);
    const log: ProxiedRequest = { method: req.method ?? '', url: req.url ?? '', status: 0, headers: req.headers, bytes: 0, ...(fault ? { fault: fault.kind } : {}) };
    requests.push(log);
    if (fault?.kind === 'status') {
      log.status = fault.status;
      const body = fault.body ?? JSON.stringify({ errors: [{ code: fault.status === 429 ? 'TOOMANYREQUESTS' : 'UNAVAILABLE', message: 'injected by the test proxy' }] });
      res.writeHead(fault.status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...(fault.retryAfter !== undefined ? { 'retry-after': String(fault.retryAfter) } : {}), ...fault.headers });
      res.end(body);
      return;
    }
    if (state.referrersApi && req.method === 'GET' && /\/referrers\/sha256:/.test(req.url ?? '')) {
      void referrers(req, res, log).catch(() => res.writeHead(502).end());
      return;
    }
    if (state.pageTags && req.method === 'GET' && /\/tags\/list(\?|$)/.test(req.url ?? '')) {
      void pageTags(req, res, log).catch(() => res.writeHead(502).end());
      return;
    }
    const headers = { ...req.headers, host: to.host };
    const up = http.request({ host: to.hostname, port: to.port, method: req.method, path: req.url, headers }, (ur) => {
      log.status = ur.statusCode ?? 0;
      const outHeaders = { ...ur.headers };
      const len = Number(ur.headers['content-length'] ?? NaN);
      const at = Number.isFinite(len) && fault ? Math.floor(len * (fault.at ?? 0.5)) : -1;
      if (fault?.kind === 'truncate') delete outHeaders['content-length'];
      res.writeHead(ur.statusCode ?? 502, outHeaders);
      if (at < 0 || req.method === 'HEAD') {
        ur.on('data', (b: Buffer) => (log.bytes += b.length));
        ur.pipe(res);
        return;
      }
      let pos = 0;
      ur.on('data', (chunk: Buffer) => {
        if (stalled.has(res) || res.destroyed) return;
        let b = chunk;
        if (pos + b.length > at && pos <= at) {
          const cut = at - pos;
          if (fault!.kind === 'flip') {
            b = Buffer.from(b);
            b[cut] = b[cut]! ^ 0xff;
          } else {
            const head = b.subarray(0, cut);
            if (head.length) res.write(head);
            log.bytes += head.length;
            pos += head.length;
            if (fault!.kind === 'hold') {
              ur.pause();
              const rest = b.subarray(cut);
              held.push(() => {
                res.write(rest);
                log.bytes += rest.length;
                pos += rest.length;
                ur.on('data', (more: Buffer) => {
                  log.bytes += more.length;
                  res.write(more);
                });
                ur.resume();
              });
              ur.removeAllListeners('data');
              return;
            }
            if (fault!.kind === 'reset') {
              ur.destroy();
              res.socket?.destroy();
            } else if (fault!.kind === 'truncate') {
              ur.destroy();
              res.end();
            } else {
              stalled.add(res);
              ur.destroy();
            }
            return;
          }
        }
        pos += b.length;
        log.bytes += b.length;
        if (!res.write(b)) {
          ur.pause();
          res.once('drain', () => ur.resume());
        }
      });
      ur.on('end', () => {
        if (!stalled.has(res) && !res.writableEnded) res.end();
      });
    });
    up.on('error', () => {
      if (!res.headersSent) res.writeHead(502).end();
      else res.socket?.destroy();
    });
    req.pipe(up);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, bind, () => resolve());
  });
  const addr = server.address() as { port: number };
  const host = `${bind}:${addr.port}`;
  return {
    get referrersApi() {
      return state.referrersApi;
    },
    set referrersApi(v: boolean) {
      state.referrersApi = v;
    },
    get pageTags() {
      return state.pageTags;
    },
    set pageTags(v: number) {
      state.pageTags = v;
    },
    url: `http://${host}`,
    host,
    rules,
    requests,
    bytesFor: (m) => requests.filter((r) => m.test(r.url)).reduce((s, r) => s + r.bytes, 0),
    release: () => {
      const h = held;
      held = [];
      for (const f of h) f();
    },
    stop: () =>
      new Promise<void>((r) => {
        for (const s of stalled) s.socket?.destroy();
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
