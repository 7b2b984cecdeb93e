import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Authenticator, parseChallenges } from '../../../shared/registry/auth.js';
import { checkScheme } from '../../../shared/registry/http.js';
import { manifestMediaType } from '../../../shared/registry/manifests.js';
import { backoffMs, DEFAULT_RETRY, isRetryableStatus, parseRetryAfter, rateLimited } from '../../../shared/registry/retry.js';
import { nextLink } from '../../../shared/registry/tags.js';

// Header parsing and the auth state machine, without a registry: WWW-Authenticate as real registries
// send it, Retry-After, Link, the realm checks, and the token cache (a token server in this process).

describe('WWW-Authenticate', () => {
  it.each([
    [
      'Docker Hub',
      'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/ruby:pull"',
      [{ scheme: 'bearer', params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/ruby:pull' } }],
    ],
    ['GHCR (scope with two actions)', 'Bearer realm="https://ghcr.io/token",service="ghcr.io",scope="repository:o/r:pull,push"', [{ scheme: 'bearer', params: { realm: 'https://ghcr.io/token', service: 'ghcr.io', scope: 'repository:o/r:pull,push' } }]],
    ['Basic (htpasswd)', 'Basic realm="test-registry"', [{ scheme: 'basic', params: { realm: 'test-registry' } }]],
    ['spaces around = and after commas, unquoted value', 'Bearer realm = "https://a/t" ,  service=reg', [{ scheme: 'bearer', params: { realm: 'https://a/t', service: 'reg' } }]],
    ['escaped quote inside a quoted string', 'Bearer realm="https://a/t",error="x \\"y\\" z"', [{ scheme: 'bearer', params: { realm: 'https://a/t', error: 'x "y" z' } }]],
    ['insufficient_scope answer', 'Bearer realm="https://a/t",service="s",scope="repository:x:pull",error="insufficient_scope"', [{ scheme: 'bearer', params: { realm: 'https://a/t', service: 's', scope: 'repository:x:pull', error: 'insufficient_scope' } }]],
    ['two challenges in one header', 'Basic realm="r1", Bearer realm="https://a/t",service="s"', [{ scheme: 'basic', params: { realm: 'r1' } }, { scheme: 'bearer', params: { realm: 'https://a/t', service: 's' } }]],
    ['scheme case is ignored', 'BEARER Realm="https://a/t"', [{ scheme: 'bearer', params: { realm: 'https://a/t' } }]],
    ['nothing', '', []],
  ])('%s', (_l, header, want) => {
    expect(parseChallenges(header)).toEqual(want);
  });

  it('several WWW-Authenticate headers are read as one list', () => {
    expect(parseChallenges(['Basic realm="a"', 'Bearer realm="https://b"']).map((c) => c.scheme)).toEqual(['basic', 'bearer']);
  });
});

describe('retries, Link, schemes, media types', () => {
  it('Retry-After: seconds or an HTTP date; unreadable → undefined', () => {
    expect(parseRetryAfter('3')).toBe(3000);
    expect(parseRetryAfter(' 120 ')).toBe(120_000);
    const now = Date.parse('2024-01-01T00:00:00Z');
    expect(parseRetryAfter('Mon, 01 Jan 2024 00:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Mon, 01 Jan 2023 00:00:30 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(parseRetryAfter(undefined)).toBeUndefined();
  });

  it('backoff doubles with jitter, capped; Retry-After decides when given', () => {
    for (let i = 1; i <= 10; i++) {
      const d = backoffMs(DEFAULT_RETRY, i);
      const base = Math.min(DEFAULT_RETRY.maxDelayMs, DEFAULT_RETRY.baseDelayMs * 2 ** (i - 1));
      expect(d).toBeGreaterThanOrEqual(base * 0.75);
      expect(d).toBeLessThanOrEqual(base * 1.25);
    }
    expect(backoffMs(DEFAULT_RETRY, 3, 1234)).toBe(1234);
    expect([429, 500, 502, 503, 504, 408].every(isRetryableStatus)).toBe(true);
    expect([400, 401, 403, 404, 416].some(isRetryableStatus)).toBe(false);
    expect(rateLimited('docker.io', 3_600_000).message).toMatch(/Try again in 60 minutes, or log in/);
  });

  it('Link rel="next" (RFC 5988), relative or absolute, among other links', () => {
    expect(nextLink('</v2/x/tags/list?n=2&last=b>; rel="next"')).toBe('/v2/x/tags/list?n=2&last=b');
    expect(nextLink('<https://r/v2/x/tags/list?last=b>; rel=next')).toBe('https://r/v2/x/tags/list?last=b');
    expect(nextLink('</a>; rel="prev", </b>; rel="next"')).toBe('/b');
    expect(nextLink('</a>; rel="prev"')).toBeUndefined();
    expect(nextLink(undefined)).toBeUndefined();
  });

  it('plain HTTP only for loopback hosts or --insecure', () => {
    expect(() => checkScheme(new URL('https://ghcr.io/v2/'), false)).not.toThrow();
    expect(() => checkScheme(new URL('http://127.0.0.1:5000/v2/'), false)).not.toThrow();
    expect(() => checkScheme(new URL('http://[::1]:5000/v2/'), false)).not.toThrow();
    expect(() => checkScheme(new URL('http://registry.example.com/v2/'), false)).toThrow(/Refusing plain HTTP to registry\.example\.com.*--insecure/);
    expect(() => checkScheme(new URL('http://registry.example.com/v2/'), true)).not.toThrow();
    expect(() => checkScheme(new URL('ftp://x/'), true)).toThrow(/not an http\(s\) address/);
  });

  it('manifest media type: Content-Type unless generic, else the document says', () => {
    const b = (o: unknown) => Buffer.from(JSON.stringify(o));
    expect(manifestMediaType('application/vnd.oci.image.index.v1+json; charset=utf-8', b({}))).toBe('application/vnd.oci.image.index.v1+json');
    expect(manifestMediaType('application/json', b({ mediaType: 'application/vnd.docker.distribution.manifest.v2+json' }))).toBe('application/vnd.docker.distribution.manifest.v2+json');
    expect(manifestMediaType('text/plain', b({ schemaVersion: 1, signatures: [] }))).toBe('application/vnd.docker.distribution.manifest.v1+prettyjws');
    expect(manifestMediaType(undefined, b({ schemaVersion: 2, manifests: [] }))).toBe('application/vnd.oci.image.index.v1+json');
    expect(manifestMediaType('', b({ schemaVersion: 2, config: {}, layers: [] }))).toBe('application/vnd.oci.image.manifest.v1+json');
  });
});

describe('Authenticator', () => {
  let server: http.Server;
  let realm = '';
  const seen: http.IncomingHttpHeaders[] = [];
  const urls: string[] = [];
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      seen.push(req.headers);
      urls.push(req.url ?? '');
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ access_token: `tok-${urls.length}`, expires_in: 60 }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    realm = `http://127.0.0.1:${(server.address() as { port: number }).port}/token`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  const make = (base: string) => new Authenticator({ registry: 'reg.test', base: new URL(base), repository: 'o/r', env: { HOME: '/nonexistent' }, insecure: false });

  it('refuses a realm that downgrades an HTTPS registry to HTTP, naming neither credentials nor token', async () => {
    const a = make('https://reg.test/');
    const e = await a.challenged('Bearer realm="http://127.0.0.1:1/token",service="s"', 'repository:o/r:pull', undefined).catch((x: unknown) => x);
    expect(e).toMatchObject({ code: 'REGISTRY_AUTH' });
    expect((e as Error).message).toMatch(/over plain HTTP although the registry itself uses HTTPS; refusing/);
  });

  it('refuses a plain-HTTP realm on another host for a loopback registry too (only loopback may be HTTP)', async () => {
    const a = make('http://127.0.0.1:5000/');
    await expect(a.challenged('Bearer realm="http://auth.example.com/token"', 's', undefined)).rejects.toThrow(/Refusing plain HTTP to auth\.example\.com/);
  });

  it('tokens are cached per scope until expires_in (less a margin), then fetched again', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      const a = make('http://127.0.0.1:5000/');
      await a.challenged(`Bearer realm="${realm}",service="svc"`, 'repository:o/r:pull', undefined);
      const n0 = urls.length;
      const h1 = await a.header('repository:o/r:pull');
      const h2 = await a.header('repository:o/r:pull');
      expect(h1).toBe(h2);
      expect(urls.length).toBe(n0 + 1);
      expect(new URL(urls.at(-1)!, 'http://x').searchParams.get('service')).toBe('svc');
      expect(seen.at(-1)!.authorization).toBeUndefined(); // anonymous: no credentials anywhere
      const other = await a.header('repository:o/other:pull');
      expect(other).not.toBe(h1);
      expect(urls.length).toBe(n0 + 2);
      vi.setSystemTime(Date.now() + 51_000);
      const h3 = await a.header('repository:o/r:pull');
      expect(h3).not.toBe(h1);
      expect(urls.length).toBe(n0 + 3);
    } finally {
      vi.useRealTimers();
    }
  });

  it('concurrent requests for one scope share one token fetch', async () => {
    const a = make('http://127.0.0.1:5000/');
    await a.challenged(`Bearer realm="${realm}"`, 'repository:o/r:pull', undefined);
    const n0 = urls.length;
    const hs = await Promise.all(Array.from({ length: 8 }, () => a.header('repository:o/r:pull')));
    expect(new Set(hs).size).toBe(1);
    expect(urls.length).toBe(n0 + 1);
  });

  it('a refused token is first replaced by a fresh one; refused again (no credentials, no prompt): one REGISTRY_AUTH sentence', async () => {
    const a = make('http://127.0.0.1:5000/');
    const scope = 'repository:o/r:pull';
    await a.challenged(`Bearer realm="${realm}"`, scope, undefined);
    const s1 = a.stamp();
    const t1 = await a.header(scope);
    await a.challenged(`Bearer realm="${realm}",error="insufficient_scope"`, scope, t1, s1);
    const s2 = a.stamp();
    const t2 = await a.header(scope);
    expect(t2).not.toBe(t1);
    // A refusal of the old token arriving late (a concurrent request) only retries.
    await a.challenged(`Bearer realm="${realm}"`, scope, t1, s1);
    const e = await a.challenged(`Bearer realm="${realm}",error="insufficient_scope"`, scope, t2, s2).catch((x: unknown) => x);
    expect(e).toMatchObject({ code: 'REGISTRY_AUTH' });
    expect((e as Error).message).toMatch(/reg\.test refused access to o\/r: .*no credentials for it were found.*docker login reg\.test/);
  });

  it('concurrent refusals of the Basic credentials from the files ask the prompt once; all retry with its answer', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'oci-auth-'));
    writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ auths: { 'reg.test': { auth: Buffer.from('u:wrong').toString('base64') } } }));
    let asks = 0;
    const a = new Authenticator({
      registry: 'reg.test',
      base: new URL('http://127.0.0.1:5000/'),
      repository: 'o/r',
      env: { HOME: dir, DOCKER_CONFIG: dir },
      insecure: false,
      prompt: { ask: async () => (asks++, await new Promise((r) => setTimeout(r, 20)), { username: 'u', password: 'right' }) },
    });
    try {
      await a.challenged('Basic realm="r"', 's', undefined);
      expect(asks).toBe(0);
      const stamp = a.stamp();
      const sent = await a.header('s');
      expect(sent).toBe(`Basic ${Buffer.from('u:wrong').toString('base64')}`);
      await Promise.all(Array.from({ length: 5 }, () => a.challenged('Basic realm="r"', 's', sent, stamp)));
      expect(asks).toBe(1);
      expect(await a.header('s')).toBe(`Basic ${Buffer.from('u:right').toString('base64')}`);
      // The prompt's answer refused too: no second prompt, one clear error.
      const e = await a.challenged('Basic realm="r"', 's', await a.header('s'), a.stamp()).catch((x: unknown) => x);
      expect(e).toMatchObject({ code: 'REGISTRY_AUTH' });
      expect(asks).toBe(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
