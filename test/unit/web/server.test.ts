import { mkdtemp, mkdir, symlink, writeFile } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeWire } from '../../../shared/api/codec.js';
import type { EventEnvelope } from '../../../shared/api/contract.js';
import { ApiError } from '../../../shared/api/errors.js';
import { defaultCore } from '../../../shared/api/core.js';
import { createHandlerTable, type HandlerTable } from '../../../shared/api/handlers.js';
import { createWebClient } from '../../../shared/api/web-client.js';
import { CONTENT_SECURITY_POLICY } from '../../../shared/web/csp.js';
import { startWebServer, type WebServer } from '../../../shared/web/server.js';

const DEMO = path.resolve(__dirname, '../../../resources/demo');
const TOKEN = 'test-token-0123456789abcdef';
let server: WebServer;
let table: HandlerTable;
let host: string;

interface Res {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** Raw request (fetch would not let us send a foreign Host or an un-normalised path). */
function request(p: string, opts: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Res> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: server.port, path: p, method: opts.method ?? 'GET', headers: { host, ...opts.headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    if (opts.body !== undefined) req.write(opts.body);
    req.end();
  });
}
const authed = { 'x-explorer-token': TOKEN };
const api = (method: string, body: unknown, headers: Record<string, string> = authed) =>
  request(`/api/${method}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });

let outside: string;
beforeAll(async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'oe-web-'));
  const root = path.join(dir, 'renderer');
  await mkdir(path.join(root, 'assets'), { recursive: true });
  await writeFile(path.join(root, 'index.html'), '<!doctype html><title>OCI Explorer</title><script type="module" src="/assets/app.js"></script>');
  await writeFile(path.join(root, 'assets', 'app.js'), 'console.log("app")');
  outside = path.join(dir, 'secret.txt');
  await writeFile(outside, 'TOP SECRET');
  await symlink(outside, path.join(root, 'assets', 'link.txt'));
  table = createHandlerTable({ core: defaultCore(), mode: 'web', appVersion: '0.0.0-test', demoPath: DEMO });
  server = await startWebServer({ table, rendererDir: root, token: TOKEN });
  host = `127.0.0.1:${server.port}`;
});
afterAll(async () => {
  await server.close();
  await table.close();
});

describe('web mode server', () => {
  it('listens on 127.0.0.1 and prints a URL carrying the token', () => {
    expect(server.url).toBe(`http://127.0.0.1:${server.port}/?token=${TOKEN}`);
  });

  it('refuses requests without the token, or with a wrong one', async () => {
    expect((await request('/')).status).toBe(401);
    expect((await request('/?token=wrong')).status).toBe(401);
    expect((await request('/assets/app.js')).status).toBe(401);
    expect((await api('version', {}, {})).status).toBe(401);
    expect((await api('version', {}, { 'x-explorer-token': TOKEN + 'x' })).status).toBe(401);
    expect((await request('/api/events')).status).toBe(401);
  });

  it('trades the URL token for an HttpOnly SameSite=Strict cookie and a clean URL', async () => {
    const r = await request(`/?token=${TOKEN}`);
    expect(r.status).toBe(303);
    expect(r.headers.location).toBe('/');
    const cookie = r.headers['set-cookie']![0]!;
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Strict/);
    const page = await request('/', { headers: { cookie: cookie.split(';')[0]! } });
    expect(page.status).toBe(200);
    expect(page.body).toContain('<title>OCI Explorer</title>');
    expect(page.headers['content-security-policy']).toBe(CONTENT_SECURITY_POLICY);
    expect(page.headers['x-content-type-options']).toBe('nosniff');
  });

  it('refuses a foreign Host header even with the token (DNS rebinding)', async () => {
    for (const h of ['evil.example:' + server.port, 'evil.example', `127.0.0.1:${server.port + 1}`, `127.0.0.1.evil.example:${server.port}`]) {
      const r = await request('/', { headers: { host: h, ...authed } });
      expect(r.status, h).toBe(403);
    }
    expect((await request('/', { headers: { host: `localhost:${server.port}`, ...authed } })).status).toBe(200);
    // HTTP/1.0 without any Host header.
    const raw = await new Promise<string>((resolve, reject) => {
      const sock = net.connect(server.port, '127.0.0.1', () => sock.end(`GET / HTTP/1.0\r\nx-explorer-token: ${TOKEN}\r\n\r\n`));
      let out = '';
      sock.on('data', (c) => (out += c.toString()));
      sock.on('end', () => resolve(out));
      sock.on('error', reject);
    });
    expect(raw).toMatch(/^HTTP\/1\.[01] 403/);
  });

  it('refuses a foreign Origin and cross-site fetches, and never sends CORS headers', async () => {
    const evil = await api('version', {}, { ...authed, origin: 'http://evil.example' });
    expect(evil.status).toBe(403);
    const null_ = await api('version', {}, { ...authed, origin: 'null' });
    expect(null_.status).toBe(403);
    const site = await api('version', {}, { ...authed, 'sec-fetch-site': 'cross-site' });
    expect(site.status).toBe(403);
    const pre = await request('/api/version', { method: 'OPTIONS', headers: { origin: 'http://evil.example', 'access-control-request-method': 'POST' } });
    expect(pre.status).toBe(403);
    const ok = await api('version', {}, { ...authed, origin: `http://127.0.0.1:${server.port}` });
    expect(ok.status).toBe(200);
    for (const r of [evil, pre, ok]) expect(Object.keys(r.headers).filter((h) => h.startsWith('access-control-'))).toEqual([]);
  });

  it('refuses paths outside the app', async () => {
    for (const p of ['/../secret.txt', '/%2e%2e/secret.txt', '/assets/..%2f..%2fsecret.txt', '/assets/%2e%2e%5c%2e%2e%5csecret.txt', '/assets/link.txt', '/%00', `/${outside}`]) {
      const r = await request(p, { headers: authed });
      expect([400, 403, 404], p).toContain(r.status);
      expect(r.body).not.toContain('TOP SECRET');
    }
    expect((await request('/assets/app.js', { headers: authed })).headers['content-type']).toMatch(/javascript/);
  });

  it('dispatches API calls through the handler table with validation and error codes', async () => {
    const v = decodeWire((await api('version', {})).body) as { ok: boolean; value: { capabilities: { mode: string } } };
    expect(v.value.capabilities.mode).toBe('web');
    expect((await request('/api/version', { headers: authed })).status).toBe(405);
    expect((await request('/api/version', { method: 'POST', headers: { ...authed, 'content-type': 'text/plain' }, body: '{}' })).status).toBe(415);
    const bad = decodeWire((await request('/api/version', { method: 'POST', headers: { ...authed, 'content-type': 'application/json' }, body: '{nope' })).body) as { error: { code: string } };
    expect(bad.error.code).toBe('INVALID_ARGUMENT');
    // Routes come from the contract: a path that names no method is not found (and reaches no handler).
    for (const m of ['constructor', '__proto__', 'events/x', 'nope']) {
      const r = await api(m, {});
      expect(r.status, m).toBe(404);
      expect((decodeWire(r.body) as { error: { code: string } }).error.code).toBe('INVALID_ARGUMENT');
    }
    const big = await api('openSource', { spec: 'x'.repeat(2 * 1024 * 1024) });
    expect((decodeWire(big.body) as { error: { code: string } }).error.code).toBe('TOO_LARGE');
  });

  it('streams events over SSE', async () => {
    const got = new Promise<EventEnvelope>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port: server.port, path: '/api/events', headers: { host, ...authed } }, (res) => {
        expect(res.headers['content-type']).toMatch(/text\/event-stream/);
        let buf = '';
        res.on('data', (c: Buffer) => {
          buf += c.toString('utf8');
          for (const block of buf.split('\n\n')) {
            const data = block.split('\n').find((l) => l.startsWith('data: '));
            if (!data) continue;
            const env = decodeWire(data.slice(6)) as EventEnvelope;
            if (env.event === 'sources-changed') {
              resolve(env);
              req.destroy();
            }
          }
        });
        // Once connected, make something happen.
        void api('openDemo', {});
      });
      req.on('error', (e) => (e.message.includes('socket hang up') ? undefined : reject(e)));
      req.end();
    });
    const env = await got;
    expect(env.payload).toMatchObject({ sources: [expect.objectContaining({ demo: true })] });
  });

  it('the web client speaks the same contract (errors arrive as ApiError with their code)', async () => {
    const client = createWebClient(server.origin, { fetch: (input, init) => fetch(input, { ...init, headers: { ...(init?.headers as Record<string, string>), ...authed } }) });
    const h = await client.openDemo();
    expect(h.kind).toBe('oci-layout');
    const g = await client.getGraph({ sourceId: h.id });
    expect(g.nodes.some((n) => n.kind === 'manifest')).toBe(true);
    const e = await client.getGraph({ sourceId: 'nope' }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ApiError);
    expect((e as ApiError).code).toBe('SOURCE_NOT_FOUND');
    const e2 = await client.openSource({ spec: '' }).catch((x: unknown) => x);
    expect((e2 as ApiError).code).toBe('INVALID_ARGUMENT');
    const stranger = createWebClient(server.origin);
    await expect(stranger.version()).rejects.toMatchObject({ code: 'FORBIDDEN', message: expect.stringContaining('printed') });
    // Links: https only, opened by the browser itself (nothing to open in Node).
    await expect(client.openExternal({ url: 'file:///etc/passwd' })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    expect(await client.openExternal({ url: 'https://github.com/opencontainers/image-spec' })).toEqual({ opened: false });
    const v = await client.version();
    expect(v.app).toMatch(/^\d+\.\d+\.\d+/);
  });
});
