import type { Readable } from 'node:stream';
import type * as Undici from 'undici';
import type { Agent, Dispatcher } from 'undici';
import { ExplorerError } from '../errors.js';
import { isLoopbackHost } from './reference.js';

// The registry transport: undici (Node's own HTTP client, as a library: its request API costs about
// half the CPU of node:http per downloaded byte, measured in bench/registry.bench.ts) with keep-alive
// pools of a few connections per host shared by every client in the process; HTTPS by default, plain
// HTTP only for loopback hosts or an explicit --insecure. Redirects are not followed here (client.ts
// does it, dropping Authorization off the registry's host). A stall (no byte for stallMs, waiting for
// headers or within the body) fails the request so the caller can retry or resume.

/** Parallel connections per host: registries and CDNs throttle more; skopeo uses 6 layers at a time. */
export const SOCKETS_PER_HOST = 6;
/** Default time without a byte before a connection counts as stalled. */
export const DEFAULT_STALL_MS = 30_000;

export type Headers = Record<string, string | string[] | undefined>;

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

export interface HttpResponse {
  status: number;
  /** Lower-case names. */
  headers: Headers;
  /** The body; read it (chunksOf) or call discard(). A reset or stall errors it (bodyError makes that NETWORK_ERROR). */
  body: Readable;
  url: URL;
  discard(): void;
}

/** One header's value (the first when repeated). */
export function header(h: Headers, name: string): string | undefined {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
}

const agents = new Map<string, Agent>();
/** Loaded at the first request (about 0.3 s of start-up a command that makes none should not pay). */
let undici: Promise<typeof Undici> | undefined;

async function agentFor(insecureTls: boolean): Promise<{ agent: Agent; request: typeof Undici.request }> {
  const u = await (undici ??= import('undici'));
  const key = insecureTls ? 'insecure' : 'checked';
  let a = agents.get(key);
  if (!a) {
    a = new u.Agent({ connections: SOCKETS_PER_HOST, keepAliveTimeout: 30_000, connect: { rejectUnauthorized: !insecureTls } });
    agents.set(key, a);
  }
  return { agent: a, request: u.request };
}

/** Ends a body nobody will read, without an unhandled error (undici errors a body destroyed early). */
export function dropBody(body: Readable): void {
  body.on('error', () => {});
  body.destroy();
}

/** Closes pooled connections (tests and short CLI runs; idle ones never keep the process alive). */
export function closeIdleConnections(): void {
  for (const a of agents.values()) void a.destroy().catch(() => {});
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

/** undici's error codes for a connection that broke or stalled (worth a retry). */
const UNDICI_TRANSIENT = new Set(['UND_ERR_SOCKET', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_CLOSED', 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH']);

/** Any error of a request or body as an ExplorerError: CANCELLED, or NETWORK_ERROR (transient when another try may cure it). */
function asNetError(e: unknown, url: URL, stallMs: number, signal?: AbortSignal): ExplorerError {
  if (e instanceof ExplorerError) return e;
  const err = e as { code?: string; name?: string; message?: string; cause?: { code?: string } };
  if (signal?.aborted || err?.name === 'AbortError' || err?.code === 'UND_ERR_ABORTED' || err?.code === 'ABORT_ERR') return cancelled();
  if (err?.code === 'UND_ERR_BODY_TIMEOUT' || err?.code === 'UND_ERR_HEADERS_TIMEOUT') {
    return new ExplorerError('NETWORK_ERROR', `Cannot reach ${url.host}: no data for ${Math.round(stallMs / 1000)} s (the connection stalled). Check your network connection, then try again.`, { url: redact(url), reason: 'the connection stalled', transient: true, stalled: true, errno: err.code }, { cause: e });
  }
  const code = err?.cause?.code ?? err?.code;
  if (err?.code && UNDICI_TRANSIENT.has(err.code)) {
    const why = err.code === 'UND_ERR_SOCKET' ? 'the connection closed before the answer was complete' : (err.message ?? err.code);
    return new ExplorerError('NETWORK_ERROR', `Cannot reach ${url.host}: ${why}. Check your network connection, then try again.`, { url: redact(url), reason: why, transient: true, errno: err.code }, { cause: e });
  }
  return networkError(url, describeNetError(err?.cause ?? e), Object.assign(new Error(String(err?.message)), { code }));
}

/**
 * Sends one request (no redirects, no retries: client.ts does those). Resolves when the headers arrive.
 * The body errors when the connection resets or stalls mid-body (bodyError names it).
 */
export async function send(req: HttpRequest): Promise<HttpResponse> {
  const { url } = req;
  const stallMs = req.stallMs ?? DEFAULT_STALL_MS;
  if (req.signal?.aborted) throw cancelled();
  let res: Dispatcher.ResponseData;
  try {
    const { agent, request } = await agentFor(!!req.insecureTls);
    res = await request(url, {
      method: req.method,
      headers: { 'user-agent': 'oci-explorer', ...req.headers },
      ...(req.body ? { body: req.body } : {}),
      dispatcher: agent,
      headersTimeout: stallMs,
      bodyTimeout: stallMs,
      ...(req.signal ? { signal: req.signal } : {}),
    });
  } catch (e) {
    throw asNetError(e, url, stallMs, req.signal);
  }
  const body = res.body as unknown as Readable;
  // Errors keep their undici type on the stream; readers map them with bodyError().
  stallOf.set(body, stallMs);
  return {
    status: res.statusCode,
    headers: res.headers as Headers,
    body,
    url,
    discard: () => {
      body.on('error', () => {});
      // Small bodies are read to the end so the connection is reused; big ones are cut.
      const len = Number(res.headers['content-length']);
      if (Number.isFinite(len) && len <= 64 * 1024) body.resume();
      else dropBody(body);
    },
  };
}

const stallOf = new WeakMap<Readable, number>();

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
export function bodyError(e: unknown, url: URL, body?: Readable): ExplorerError {
  if (e instanceof ExplorerError) return e;
  const code = (e as { code?: string })?.code;
  if (code === 'ECONNRESET' || (e as Error)?.message === 'aborted') return networkError(url, 'the connection closed before the body was complete', e);
  return asNetError(e, url, (body && stallOf.get(body)) ?? DEFAULT_STALL_MS);
}

export function cancelled(): ExplorerError {
  return new ExplorerError('CANCELLED', 'The download was cancelled.');
}

/** Reads a whole (small) body, refusing more than `max` bytes. */
export async function readBody(res: HttpResponse, max: number, what: string): Promise<Buffer> {
  const len = Number(res.headers['content-length']);
  if (Number.isFinite(len) && len > max) {
    dropBody(res.body);
    throw new ExplorerError('TOO_LARGE', `${what} is ${len} bytes, over the ${max}-byte limit; the registry answer is not what was expected.`, { url: redact(res.url) });
  }
  const parts: Buffer[] = [];
  let n = 0;
  try {
    for await (const c of chunksOf(res.body)) {
      n += c.length;
      if (n > max) {
        dropBody(res.body);
        throw new ExplorerError('TOO_LARGE', `${what} is more than ${max} bytes; the registry answer is not what was expected.`, { url: redact(res.url) });
      }
      parts.push(c);
    }
  } catch (e) {
    throw bodyError(e, res.url, res.body);
  }
  if (Number.isFinite(len) && n !== len) throw networkError(res.url, `the body ended after ${n} of ${len} bytes`);
  return Buffer.concat(parts);
}
