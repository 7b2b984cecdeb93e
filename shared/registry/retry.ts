import { ExplorerError } from '../errors.js';
import { cancelled } from './http.js';

// When and how long to wait before trying again: 429 and 5xx answers and broken connections are
// retried with exponential backoff (with jitter), a server's Retry-After is honoured as long as it is
// short; a long one (Docker Hub's pull limit) becomes a clear error with the time to wait.

export interface RetryPolicy {
  /** Tries in a row that make no progress before giving up. */
  attempts: number;
  /** First backoff; doubled per failure up to maxDelayMs. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** A Retry-After longer than this is not waited for: the error says when to try again. */
  maxRetryAfterMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 6, baseDelayMs: 250, maxDelayMs: 8_000, maxRetryAfterMs: 60_000 };

/** Statuses worth another try: throttled, and the server-side errors that are usually transient. */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || status === 500 || status === 502 || status === 503 || status === 504;
}

/** Retry-After as milliseconds: delta-seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(v: string | string[] | undefined, now = Date.now()): number | undefined {
  const s = Array.isArray(v) ? v[0] : v;
  if (!s) return undefined;
  if (/^\s*\d+\s*$/.test(s)) return Number(s) * 1000;
  const t = Date.parse(s);
  return Number.isFinite(t) ? Math.max(0, t - now) : undefined;
}

/** Backoff before try number `failure` (1-based), with ±25 % jitter so parallel clients spread out. */
export function backoffMs(policy: RetryPolicy, failure: number, retryAfterMs?: number): number {
  if (retryAfterMs !== undefined) return retryAfterMs;
  const d = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (failure - 1));
  return Math.round(d * (0.75 + Math.random() * 0.5));
}

/** Sleeps, waking early (CANCELLED) when the signal aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(cancelled());
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(cancelled());
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** The error for a Retry-After we will not wait for (rate limits): says which registry and when. */
export function rateLimited(host: string, retryAfterMs: number | undefined, detail?: string): ExplorerError {
  const wait = retryAfterMs === undefined ? 'a while' : retryAfterMs >= 90_000 ? `${Math.ceil(retryAfterMs / 60_000)} minutes` : `${Math.ceil(retryAfterMs / 1000)} seconds`;
  return new ExplorerError(
    'RATE_LIMITED',
    `${host} is limiting requests (HTTP 429${detail ? `: ${detail}` : ''}). Try again in ${wait}${host.endsWith('docker.io') ? ', or log in (docker login) for a higher limit' : ''}.`,
    { host, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) },
  );
}
