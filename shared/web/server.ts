import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createReadStream } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeWire, encodeWire } from '../api/codec.js';
import { METHODS, WEB_API_PREFIX, WEB_EVENTS_PATH, WEB_ROUTES, type MethodName } from '../api/contract.js';
import type { HandlerTable } from '../api/handlers.js';
import { ExplorerError } from '../errors.js';
import { SECURITY_HEADERS, contentTypeOf } from './csp.js';
import { resolveStatic } from './static.js';

// Web mode: the built renderer and the handler table over HTTP, for a browser on this machine (or over
// an SSH tunnel). Threats: other local users and web pages in the same browser. So:
// - listen on 127.0.0.1 only; a Host header that is not 127.0.0.1:PORT / localhost:PORT is refused
//   (DNS rebinding);
// - a random token, given once in the URL; the first page load trades it for an HttpOnly SameSite=Strict
//   cookie and redirects to a clean URL. Every request needs the cookie or an X-Explorer-Token header;
// - an Origin (or Sec-Fetch-Site: cross-site) from anywhere else is refused; no CORS headers at all, so
//   other origins can neither read answers nor send JSON without a preflight that fails;
// - static files are served from the renderer folder only (path containment, symlinks resolved).

export const TOKEN_HEADER = 'x-explorer-token';
const MAX_BODY = 1024 * 1024;
const HEARTBEAT_MS = 15_000;
/** The contract's routes (POST only): path → method. */
const ROUTES = new Map<string, MethodName>(METHODS.map((m) => [WEB_ROUTES[m], m]));

export interface WebServerOptions {
  table: HandlerTable;
  /** The built renderer (dist/renderer). */
  rendererDir: string;
  /** 0 (default) picks a free port. */
  port?: number;
  /** Tests pass a fixed token; otherwise 32 random bytes. */
  token?: string;
}

export interface WebServer {
  /** The URL to open, with the token. */
  url: string;
  origin: string;
  port: number;
  token: string;
  close(): Promise<void>;
}

/** A failed listen() as an ExplorerError that says what to do. */
function listenError(e: unknown, port: number): ExplorerError {
  const code = (e as { code?: string }).code;
  if (code === 'EADDRINUSE') return new ExplorerError('PORT_IN_USE', `Port ${port} on 127.0.0.1 is already in use (by another program, or another OCI Explorer); choose another port, or port 0 for a free one.`, { port }, { cause: e });
  if (code === 'EACCES') return new ExplorerError('FORBIDDEN', `Listening on port ${port} needs privileges this user does not have; choose a port above 1023, or port 0 for a free one.`, { port }, { cause: e });
  const msg = e instanceof Error ? e.message : String(e);
  return new ExplorerError('NETWORK_ERROR', `Could not listen on 127.0.0.1:${port} (${msg}); choose another port, or port 0 for a free one.`, { port }, { cause: e });
}

export function newToken(): string {
  return randomBytes(32).toString('base64url');
}

function sameSecret(a: string | undefined, b: string): boolean {
  if (typeof a !== 'string') return false;
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) return part.slice(i + 1).trim();
  }
  return undefined;
}

export async function startWebServer(opts: WebServerOptions): Promise<WebServer> {
  const token = opts.token ?? newToken();
  const server = http.createServer();
  const sse = new Set<http.ServerResponse>();
  let port = 0;
  // Cookies are not isolated by port: the name carries it so two servers do not clobber each other.
  const cookieName = () => `oci_explorer_${port}`;
  const allowedHosts = () => new Set([`127.0.0.1:${port}`, `localhost:${port}`]);
  const allowedOrigins = () => new Set([`http://127.0.0.1:${port}`, `http://localhost:${port}`]);

  const unsubscribe = opts.table.subscribe((env) => {
    const line = `data: ${encodeWire(env)}\n\n`;
    for (const res of sse) res.write(line);
  });

  function send(res: http.ServerResponse, status: number, body: string, type = 'text/plain; charset=utf-8', extra: Record<string, string> = {}): void {
    res.writeHead(status, { ...SECURITY_HEADERS, 'Content-Type': type, 'Cache-Control': 'no-store', ...extra });
    res.end(body);
  }

  function refuse(res: http.ServerResponse, status: number, why: string): void {
    send(res, status, `${status} ${why}\n`);
  }

  async function readBody(req: http.IncomingMessage): Promise<string> {
    const chunks: Buffer[] = [];
    let n = 0;
    for await (const c of req) {
      n += (c as Buffer).length;
      if (n > MAX_BODY) throw new ExplorerError('TOO_LARGE', 'The request is larger than 1 MiB.');
      chunks.push(c as Buffer);
    }
    return Buffer.concat(chunks).toString('utf8');
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    // 1. DNS rebinding: the Host must be our loopback address.
    if (!allowedHosts().has((req.headers.host ?? '').toLowerCase())) return refuse(res, 403, 'Forbidden: unexpected Host header');
    // 2. Cross-origin requests: refused whatever they carry.
    const origin = req.headers.origin;
    if (origin !== undefined && !allowedOrigins().has(origin)) return refuse(res, 403, 'Forbidden: cross-origin request');
    if (req.headers['sec-fetch-site'] === 'cross-site') return refuse(res, 403, 'Forbidden: cross-site request');

    const url = new URL(req.url ?? '/', `http://127.0.0.1:${port}`);
    // 3. Authentication: the cookie, a header, or (page loads only) the token in the URL.
    const queryToken = url.searchParams.get('token') ?? undefined;
    if (queryToken !== undefined && req.method === 'GET' && !url.pathname.startsWith(WEB_API_PREFIX)) {
      if (!sameSecret(queryToken, token)) return refuse(res, 401, 'Unauthorized: wrong token; use the URL printed by oci-explorer serve');
      url.searchParams.delete('token');
      return send(res, 303, '', 'text/plain', {
        'Set-Cookie': `${cookieName()}=${token}; HttpOnly; SameSite=Strict; Path=/`,
        Location: url.pathname + (url.search || ''),
      });
    }
    const presented = (req.headers[TOKEN_HEADER] as string | undefined) ?? cookieValue(req.headers.cookie, cookieName());
    if (!sameSecret(presented, token)) return refuse(res, 401, 'Unauthorized: open the URL printed by oci-explorer serve (it carries the token)');

    if (url.pathname === WEB_EVENTS_PATH) {
      if (req.method !== 'GET') return refuse(res, 405, 'Method not allowed');
      res.writeHead(200, { ...SECURITY_HEADERS, 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-store', Connection: 'keep-alive' });
      res.write(': connected\n\n');
      sse.add(res);
      const beat = setInterval(() => res.write(': keep-alive\n\n'), HEARTBEAT_MS);
      beat.unref();
      req.on('close', () => {
        clearInterval(beat);
        sse.delete(res);
      });
      return;
    }

    if (url.pathname.startsWith(WEB_API_PREFIX)) {
      if (req.method !== 'POST') return refuse(res, 405, 'Method not allowed');
      // A JSON content type forces a CORS preflight on any cross-origin attempt (which gets no CORS answer).
      if (!(req.headers['content-type'] ?? '').toLowerCase().startsWith('application/json')) return refuse(res, 415, 'Unsupported media type: send application/json');
      const method = ROUTES.get(url.pathname);
      if (!method) {
        const name = url.pathname.slice(WEB_API_PREFIX.length, WEB_API_PREFIX.length + 64);
        return send(res, 404, encodeWire({ ok: false, error: { code: 'INVALID_ARGUMENT', message: `"${name}" is not an API method.` } }), 'application/json; charset=utf-8');
      }
      let args: unknown;
      try {
        const body = await readBody(req);
        args = body ? decodeWire(body) : {};
      } catch (e) {
        const bad = e instanceof ExplorerError ? e : new ExplorerError('INVALID_ARGUMENT', 'The request body is not valid JSON.');
        // The rest of an oversized body is still arriving: answer, then drop the connection.
        if (bad.code === 'TOO_LARGE') res.on('finish', () => req.destroy());
        return send(res, 200, encodeWire({ ok: false, error: { code: bad.code, message: bad.message } }), 'application/json; charset=utf-8', bad.code === 'TOO_LARGE' ? { Connection: 'close' } : {});
      }
      const envelope = await opts.table.dispatch(method, args);
      return send(res, 200, encodeWire(envelope), 'application/json; charset=utf-8');
    }

    if (req.method !== 'GET' && req.method !== 'HEAD') return refuse(res, 405, 'Method not allowed');
    const r = await resolveStatic(opts.rendererDir, url.pathname);
    if (!r.ok) return refuse(res, r.status, r.status === 404 ? 'Not found' : 'Forbidden: outside the app');
    res.writeHead(200, { ...SECURITY_HEADERS, 'Content-Type': contentTypeOf(r.file), 'Cache-Control': 'no-cache' });
    if (req.method === 'HEAD') return void res.end();
    createReadStream(r.file).on('error', () => res.destroy()).pipe(res);
  }

  server.on('request', (req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) refuse(res, 500, 'Internal error');
      else res.destroy();
    });
  });

  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: '127.0.0.1', port: opts.port ?? 0 }, () => resolve());
    });
  } catch (e) {
    unsubscribe();
    throw listenError(e, opts.port ?? 0);
  }
  port = (server.address() as AddressInfo).port;
  const origin = `http://127.0.0.1:${port}`;
  return {
    url: `${origin}/?token=${token}`,
    origin,
    port,
    token,
    async close() {
      unsubscribe();
      for (const res of sse) res.end();
      sse.clear();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
