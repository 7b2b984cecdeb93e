import { ExplorerError, isExplorerError } from '../errors.js';
import type { CredentialPrompt } from '../sources/backend.js';
import { Authenticator } from './auth.js';
import { checkScheme, header, isTransient, readBody, redact, send, type HttpResponse } from './http.js';
import { isLoopbackHost, registryEndpoint, type Reference } from './reference.js';
import { backoffMs, DEFAULT_RETRY, isRetryableStatus, parseRetryAfter, rateLimited, sleep, type RetryPolicy } from './retry.js';

// One repository on one registry: the /v2/ ping (which also settles https vs http for loopback and
// --insecure registries), authorized requests (auth.ts), redirects followed by hand so Authorization
// never leaves the registry's host, and retries of 429/5xx answers and broken connections.

export interface ClientOptions {
  env: Record<string, string | undefined>;
  /** Plain HTTP and unchecked TLS for non-loopback registries: the user's explicit choice. */
  insecure?: boolean;
  prompt?: CredentialPrompt;
  /** No byte for this long counts as a stalled connection (default 30 s). */
  stallMs?: number;
  retry?: RetryPolicy;
}

export interface RequestOptions {
  method?: 'GET' | 'HEAD';
  accept?: string;
  /** Bytes [start, end) (end exclusive); sent as `Range: bytes=start-(end-1)`. */
  range?: [number, number | undefined];
  signal?: AbortSignal;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 10;
/** Which scheme answered for a loopback / --insecure registry, so the probe runs once per process. */
const knownScheme = new Map<string, 'https:' | 'http:'>();

export class RegistryClient {
  readonly endpoint: string;
  readonly scope: string;
  private base?: URL;
  private pinging?: Promise<URL>;
  private readonly auth: Authenticator;
  readonly retry: RetryPolicy;

  constructor(
    readonly ref: Pick<Reference, 'registry' | 'repository'>,
    readonly opts: ClientOptions,
  ) {
    this.endpoint = registryEndpoint(ref.registry);
    this.scope = `repository:${ref.repository}:pull`;
    this.retry = opts.retry ?? DEFAULT_RETRY;
    // The base URL is settled by ping(); auth needs it only after a challenge, which comes after ping.
    const baseOf = () => this.base ?? new URL(`https://${this.endpoint}/`);
    this.auth = new Authenticator({
      registry: ref.registry,
      get base() {
        return baseOf();
      },
      repository: ref.repository,
      env: opts.env,
      insecure: !!opts.insecure,
      ...(opts.prompt ? { prompt: opts.prompt } : {}),
      ...(opts.stallMs ? { stallMs: opts.stallMs } : {}),
    });
  }

  get stallMs(): number | undefined {
    return this.opts.stallMs;
  }

  /** GET /v2/: learns the scheme (https first; http only for loopback or --insecure) and the auth challenge. */
  ping(signal?: AbortSignal): Promise<URL> {
    if (this.base) return Promise.resolve(this.base);
    this.pinging ??= this.doPing(signal).then(
      (u) => (this.base = u),
      (e: unknown) => {
        this.pinging = undefined;
        throw e;
      },
    );
    return this.pinging;
  }

  private async doPing(signal?: AbortSignal): Promise<URL> {
    const loopback = isLoopbackHost(this.endpoint);
    const mayHttp = loopback || !!this.opts.insecure;
    const known = knownScheme.get(this.endpoint);
    // Loopback registries are nearly always plain HTTP (docker run registry:2): try that first there;
    // an --insecure remote one tries TLS first, as Docker does.
    const schemes: ('https:' | 'http:')[] = known ? [known] : loopback ? ['http:', 'https:'] : mayHttp ? ['https:', 'http:'] : ['https:'];
    let last: unknown;
    for (const [i, scheme] of schemes.entries()) {
      const base = new URL(`${scheme}//${this.endpoint}/`);
      const probe = () => send(this.req('GET', new URL('/v2/', base), {}, signal));
      let res: HttpResponse;
      try {
        // A probe in the wrong scheme fails at once (no retries): then the other one.
        res = i < schemes.length - 1 ? await probe() : await this.withRetries(probe, signal);
      } catch (e) {
        last = e;
        if (isExplorerError(e) && e.code === 'NETWORK_ERROR' && i < schemes.length - 1) continue;
        throw e;
      }
      res.discard();
      // Go's TLS servers answer a plain-HTTP request with 400: the other scheme is the right one.
      if (res.status !== 200 && res.status !== 401 && i < schemes.length - 1) continue;
      if (res.status === 401) {
        this.base = base;
        await this.auth.challenged(res.headers['www-authenticate'], this.scope, undefined, undefined, signal);
      } else if (res.status !== 200) {
        throw new ExplorerError('REGISTRY_ERROR', `${this.ref.registry} (${base.host}) does not answer as a container registry (HTTP ${res.status} at /v2/). Check the registry name.`, { registry: this.ref.registry, status: res.status });
      }
      if (mayHttp) knownScheme.set(this.endpoint, scheme);
      return base;
    }
    throw last;
  }

  private req(method: 'GET' | 'HEAD', url: URL, headers: Record<string, string>, signal?: AbortSignal) {
    return { method, url, headers, insecureTls: !!this.opts.insecure, ...(signal ? { signal } : {}), ...(this.opts.stallMs ? { stallMs: this.opts.stallMs } : {}) };
  }

  /** Runs `fn` again on broken connections and retryable statuses (backoff, Retry-After). */
  async withRetries(fn: () => Promise<HttpResponse>, signal?: AbortSignal): Promise<HttpResponse> {
    for (let failure = 1; ; failure++) {
      let res: HttpResponse;
      try {
        res = await fn();
      } catch (e) {
        if (!isTransient(e) || failure >= this.retry.attempts || signal?.aborted) throw e;
        await sleep(backoffMs(this.retry, failure), signal);
        continue;
      }
      if (!isRetryableStatus(res.status)) return res;
      const after = parseRetryAfter(res.headers['retry-after']);
      if (res.status === 429 && after !== undefined && after > this.retry.maxRetryAfterMs) {
        const detail = await errorText(res);
        throw rateLimited(this.ref.registry, after, detail);
      }
      if (failure >= this.retry.attempts) {
        const detail = await errorText(res);
        if (res.status === 429) throw rateLimited(this.ref.registry, after, detail);
        throw new ExplorerError('REGISTRY_ERROR', `${this.ref.registry} kept answering HTTP ${res.status}${detail ? ` (${detail})` : ''} after ${failure} tries for ${redact(res.url)}. The registry is having trouble; try again later.`, { registry: this.ref.registry, status: res.status, transient: true });
      }
      res.discard();
      await sleep(backoffMs(this.retry, failure, after === undefined ? undefined : Math.min(after, this.retry.maxRetryAfterMs)), signal);
    }
  }

  /**
   * An authorized request to `path` on the registry (after ping), redirects followed (Authorization only
   * to the registry's own host), 401 answered once per new credential, transient failures retried.
   * Returns the final response whatever its status; the caller reads or discards the body.
   */
  async request(path: string, o: RequestOptions = {}): Promise<HttpResponse> {
    const base = await this.ping(o.signal);
    const headers: Record<string, string> = {};
    if (o.accept) headers.accept = o.accept;
    if (o.range) headers.range = `bytes=${o.range[0]}-${o.range[1] === undefined ? '' : o.range[1] - 1}`;
    for (let auths = 0; ; auths++) {
      const stamp = this.auth.stamp();
      const authorization = await this.auth.header(this.scope, o.signal);
      const res = await this.withRetries(() => this.follow(new URL(path, base), o.method ?? 'GET', headers, authorization, o.signal), o.signal);
      if (res.status !== 401 || auths >= 3) return res;
      res.discard();
      await this.auth.challenged(res.headers['www-authenticate'], this.scope, authorization, stamp, o.signal);
    }
  }

  private async follow(start: URL, method: 'GET' | 'HEAD', headers: Record<string, string>, authorization: string | undefined, signal?: AbortSignal): Promise<HttpResponse> {
    let url = start;
    const home = start.host;
    for (let hop = 0; ; hop++) {
      checkScheme(url, !!this.opts.insecure);
      const h = { ...headers };
      // Storage hosts (S3, CDNs) get no registry credentials: their URLs carry their own.
      if (authorization && url.host === home && url.protocol === start.protocol) h.authorization = authorization;
      const res = await send(this.req(method, url, h, signal));
      const loc = header(res.headers, 'location');
      if (!REDIRECTS.has(res.status) || !loc) return res;
      res.discard();
      if (hop >= MAX_REDIRECTS) throw new ExplorerError('REGISTRY_ERROR', `${this.ref.registry} redirected more than ${MAX_REDIRECTS} times for ${redact(start)}; the registry is misconfigured.`, { registry: this.ref.registry });
      url = new URL(loc, url);
    }
  }

  /** An ExplorerError for an unexpected answer, with the registry's own error codes and messages. */
  async failure(res: HttpResponse, what: string): Promise<ExplorerError> {
    const detail = await errorText(res);
    const d = { registry: this.ref.registry, repository: this.ref.repository, status: res.status, ...(detail ? { detail } : {}) };
    const tail = detail ? ` (${detail})` : '';
    if (res.status === 404) return new ExplorerError('MANIFEST_UNKNOWN', `${what} was not found on ${this.ref.registry}${tail}. Check the repository name and tag.`, d);
    if (res.status === 401 || res.status === 403) {
      return new ExplorerError('REGISTRY_AUTH', `${this.ref.registry} denied access to ${this.ref.repository}${tail}${this.auth.why}. Log in (docker login ${this.ref.registry}) with an account that may pull it.`, d);
    }
    return new ExplorerError('REGISTRY_ERROR', `${this.ref.registry} answered HTTP ${res.status} for ${what}${tail}.`, d);
  }
}

/** The registry's error body ({errors:[{code,message}]}) as a short text; never more than 8 KiB read. */
async function errorText(res: HttpResponse): Promise<string> {
  try {
    const body = await readBody(res, 8192, 'The error answer');
    const doc = JSON.parse(body.toString('utf8')) as { errors?: { code?: unknown; message?: unknown }[] };
    if (Array.isArray(doc.errors)) {
      return doc.errors
        .map((e) => [e.code, e.message].filter((x) => typeof x === 'string' && x).join(': '))
        .filter(Boolean)
        .join('; ')
        .slice(0, 300);
    }
  } catch {
    res.discard();
  }
  return '';
}
