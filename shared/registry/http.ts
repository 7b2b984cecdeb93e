import http, { type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';
import { ExplorerError } from '../errors.js';
import { isLoopbackHost } from './reference.js';

// The registry transport: node:http(s) with keep-alive pools (a few sockets per host, shared by every
// client in the process), HTTPS by default, plain HTTP only for loopback hosts or an explicit
// --insecure. A "stall" (no byte for stallMs, headers or body) fails the request so the caller can
// retry or resume. Redirects are followed by client.ts (Authorization stays on the registry's host).
// Measured against undici's request API (docs/benchmarks.md, issue 11): undici spends ~15-20 % less
// CPU per downloaded byte but costs ~0.35 s of CPU to load in every process, which a CLI pull of a
// typical image (< ~400 MB) never wins back; so no dependency.

/** Parallel connections per host: registries and CDNs throttle more; skopeo uses 6 layers at a time. */
export const SOCKETS_PER_HOST = 6;
/** Default time without a byte before a connection counts as stalled. */
export const DEFAULT_STALL_MS = 30_000;

/** OCI_EXPLORER_STALL_TIMEOUT (seconds): how long a connection may send nothing before it is resumed elsewhere. */
export function stallFromEnv(env: Record<string, string | undefined>): number | undefined {
  const v = Number(env.OCI_EXPLORER_STALL_TIMEOUT);
  return Number.isFinite(v) && v > 0 ? Math.round(v * 1000) : undefined;
}

export interface HttpRequest {
  method: 'GET' | 'HEAD' | 'POST';
  url: URL;
  headers?: Record<string, string>;
  body?: Buffer;
  signal?: AbortSignal;
  /** No byte for this long (waiting for headers or within the body) fails the request (NETWORK_ERROR, stalled). */
  stallMs?: number;
  /** Skip TLS certificate checks (the user's --insecure). */
  insecureTls?: boolean;
}

export type Headers = IncomingHttpHeaders;

/** One header's value (the first when repeated). */
export function header(h: Headers, name: string): string | undefined {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
}

/** Ends a body nobody will read, without an unhandled error event. */
export function dropBody(body: Readable): void {
  body.on('error', () => {});
  body.destroy();
}

export interface HttpResponse {
  status: number;
  headers: Headers;
  /** The body; read it or call discard(). Errors with NETWORK_ERROR on reset or stall. */
  body: IncomingMessage;
  url: URL;
  discard(): void;
}

const agents = new Map<string, http.Agent>();

function agentFor(url: URL, insecureTls: boolean): http.Agent {
  const key = `${url.protocol}${insecureTls ? 'insecure' : ''}`;
  let a = agents.get(key);
  if (!a) {
    const opts = { keepAlive: true, maxSockets: SOCKETS_PER_HOST, maxFreeSockets: SOCKETS_PER_HOST, scheduling: 'lifo' as const, timeout: 60_000 };
    a = url.protocol === 'https:' ? new https.Agent({ ...opts, rejectUnauthorized: !insecureTls }) : new http.Agent(opts);
    agents.set(key, a);
  }
  return a;
}

/** Closes idle pooled sockets (tests and short CLI runs; pooled sockets never keep the process alive). */
export function closeIdleConnections(): void {
  for (const a of agents.values()) a.destroy();
  agents.clear();
}

/** Throws when a URL may not be used: plain HTTP is for loopback hosts or the user's explicit --insecure. */
export function checkScheme(url: URL, insecure: boolean): void {
  if (url.protocol === 'https:') return;
  if (url.protocol !== 'http:') {
    throw new ExplorerError('REGISTRY_ERROR', `The registry sent us to ${url.protocol}//${url.host}, which is not an http(s) address; the registry is misconfigured.`, { url: redact(url) });
  }
  if (!isLoopbackHost(url.host) && !insecure) {
    throw new ExplorerError(
      'REGISTRY_ERROR',
      `Refusing plain HTTP to ${url.host}: only loopback registries may be reached without TLS. If you trust the network, use --insecure.`,
      { url: redact(url) },
    );
  }
}

/** A URL without query (presigned storage URLs carry credentials there) for messages and logs. */
export function redact(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname}`;
}

/** Socket errors worth a retry (a connection that broke); refused, unresolvable or TLS failures are not. */
const TRANSIENT = new Set(['ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'ECONNABORTED', 'ERR_STREAM_PREMATURE_CLOSE', undefined]);

function networkError(url: URL, why: string, cause?: unknown): ExplorerError {
  const code = (cause as { code?: string } | undefined)?.code;
  return new ExplorerError('NETWORK_ERROR', `Cannot reach ${url.host}: ${why}. Check the address and your network connection, then try again.`, { url: redact(url), reason: why, transient: TRANSIENT.has(code), ...(code ? { errno: code } : {}) }, { cause });
}

/** True for a NETWORK_ERROR another try may cure (reset, stall, truncation). */
export function isTransient(e: unknown): boolean {
  return e instanceof ExplorerError && e.code === 'NETWORK_ERROR' && e.details?.transient === true;
}

/** A readable name for a socket-level error. */
export function describeNetError(e: unknown): string {
  const err = e as { code?: string; message?: string };
  switch (err?.code) {
    case 'ECONNREFUSED':
      return 'the connection was refused (nothing listens there)';
    case 'ECONNRESET':
      return 'the connection was reset';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'the host name does not resolve';
    case 'ETIMEDOUT':
      return 'the connection timed out';
    case 'EPIPE':
      return 'the connection was closed while sending';
    default:
      return err?.message ?? String(e);
  }
}

/**
 * Sends one request (no redirects, no retries: client.ts does those). Resolves when the headers arrive.
 * The response body errors with NETWORK_ERROR when the connection resets or stalls mid-body.
 */
export function send(req: HttpRequest): Promise<HttpResponse> {
  const { url } = req;
  const stallMs = req.stallMs ?? DEFAULT_STALL_MS;
  return new Promise((resolve, reject) => {
    if (req.signal?.aborted) return reject(cancelled());
    const mod = url.protocol === 'https:' ? https : http;
    const headers: Record<string, string> = { 'user-agent': 'oci-explorer', ...req.headers };
    if (req.body) headers['content-length'] = String(req.body.length);
    const cr = mod.request(url, { method: req.method, headers, agent: agentFor(url, !!req.insecureTls) });
    let settled = false;
    let res: IncomingMessage | undefined;
    const onAbort = () => {
      const e = cancelled();
      cr.destroy(e);
      res?.destroy(e);
      if (!settled) {
        settled = true;
        reject(e);
      }
    };
    req.signal?.addEventListener('abort', onAbort, { once: true });
    const cleanup = () => req.signal?.removeEventListener('abort', onAbort);
    // Socket idle timeout: covers connect, waiting for headers and every gap in the body.
    cr.setTimeout(stallMs, () => {
      const e = networkError(url, `no data for ${Math.round(stallMs / 1000)} s (the connection stalled)`);
      (e.details as Record<string, unknown>).stalled = true;
      res?.destroy(e);
      cr.destroy(e);
    });
    cr.on('error', (e) => {
      cleanup();
      if (settled) return;
      settled = true;
      reject(e instanceof ExplorerError ? e : networkError(url, describeNetError(e), e));
    });
    cr.on('response', (r) => {
      res = r;
      settled = true;
      r.on('close', cleanup);
      resolve({
        status: r.statusCode ?? 0,
        headers: r.headers,
        body: r,
        url,
        discard: () => {
          r.resume();
          r.on('error', () => {});
        },
      });
    });
    cr.end(req.body);
  });
}

/**
 * A readable's chunks as they arrive, with backpressure. `for await` on a byte stream would hand out
 * whatever is buffered concatenated into a new Buffer (a copy of every byte when the reader lags).
 */
export async function* chunksOf(r: Readable, highWater = 16): AsyncGenerator<Buffer> {
  const queue: Buffer[] = [];
  let done = false;
  let failed: unknown;
  let wake: (() => void) | undefined;
  const poke = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  const onData = (c: Buffer) => {
    queue.push(c);
    if (queue.length >= highWater) r.pause();
    poke();
  };
  const onEnd = () => {
    done = true;
    poke();
  };
  const onError = (e: unknown) => {
    failed ??= e;
    done = true;
    poke();
  };
  r.on('data', onData).once('end', onEnd).once('error', onError).once('close', onEnd);
  try {
    for (;;) {
      const c = queue.shift();
      if (c) {
        if (queue.length < highWater / 2 && r.isPaused()) r.resume();
        yield c;
        continue;
      }
      if (failed) throw failed;
      if (done) {
        // 'close' without 'end' is a body cut short (a reset): say so unless it errored already.
        if (!r.readableEnded && !failed) throw Object.assign(new Error('aborted'), { code: 'ECONNRESET' });
        return;
      }
      await new Promise<void>((resolve) => (wake = resolve));
    }
  } finally {
    r.off('data', onData).off('end', onEnd).off('error', onError).off('close', onEnd);
  }
}

/** An error met while reading a body, as one type: a reset or stall is NETWORK_ERROR (transient). */
export function bodyError(e: unknown, url: URL): ExplorerError {
  if (e instanceof ExplorerError) return e;
  const code = (e as { code?: string })?.code;
  if (code === 'ABORT_ERR' || (e as { name?: string })?.name === 'AbortError') return cancelled();
  return networkError(url, code === 'ECONNRESET' || (e as Error)?.message === 'aborted' ? 'the connection closed before the body was complete' : describeNetError(e), e);
}

export function cancelled(): ExplorerError {
  return new ExplorerError('CANCELLED', 'The download was cancelled.');
}

/** Reads a whole (small) body, refusing more than `max` bytes. */
export async function readBody(res: HttpResponse, max: number, what: string): Promise<Buffer> {
  const len = Number(res.headers['content-length']);
  if (Number.isFinite(len) && len > max) {
    res.body.destroy();
    throw new ExplorerError('TOO_LARGE', `${what} is ${len} bytes, over the ${max}-byte limit; the registry answer is not what was expected.`, { url: redact(res.url) });
  }
  const parts: Buffer[] = [];
  let n = 0;
  try {
    for await (const c of chunksOf(res.body)) {
      n += c.length;
      if (n > max) {
        res.body.destroy();
        throw new ExplorerError('TOO_LARGE', `${what} is more than ${max} bytes; the registry answer is not what was expected.`, { url: redact(res.url) });
      }
      parts.push(c);
    }
  } catch (e) {
    throw bodyError(e, res.url);
  }
  if (Number.isFinite(len) && n !== len) throw networkError(res.url, `the body ended after ${n} of ${len} bytes`);
  return Buffer.concat(parts);
}
