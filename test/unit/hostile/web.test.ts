import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ImageSummary, SerializedError, SourceHandle } from '../../../shared/api/contract.js';
import { defaultCore } from '../../../shared/api/core.js';
import { createHandlerTable, type HandlerTable } from '../../../shared/api/handlers.js';
import { startWebServer, TOKEN_HEADER, type WebServer } from '../../../shared/web/server.js';
import { file, layoutOf, pax, tar } from './build.js';

// Issue 15 item 8: web mode takes concurrent calls (unique temp names for recent.json/settings.json; a
// failed open closes what it opened), never overwrites a file (TARGET_EXISTS), and one bad image cannot
// freeze the server for the others.

const tmp = (p: string) => mkdtempSync(path.join(os.tmpdir(), p));
const TOKEN = 'hostile-web-token';
let table: HandlerTable;
let server: WebServer;
const stateDir = tmp('oci-web-state-');

function api<T>(method: string, body: unknown): Promise<{ ok: true; value: T } | { ok: false; error: SerializedError }> {
  return new Promise((resolve, reject) => {
    const data = JSON.stringify(body);
    const req = http.request(
      { host: '127.0.0.1', port: server.port, path: `/api/${method}`, method: 'POST', headers: { host: `127.0.0.1:${server.port}`, 'content-type': 'application/json', [TOKEN_HEADER]: TOKEN } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')) as never));
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}

beforeAll(async () => {
  const core = defaultCore({ cacheDir: tmp('oci-web-cache-'), workers: 0 });
  table = createHandlerTable({ core, mode: 'web', appVersion: 'test', stateDir });
  server = await startWebServer({ table, rendererDir: tmp('oci-web-ui-'), token: TOKEN });
});
afterAll(async () => {
  await server.close();
  await table.close();
});

describe('web mode under concurrent and hostile calls', () => {
  it('80 concurrent openSource calls all succeed; recent.json stays valid JSON', async () => {
    const dirs = Array.from({ length: 8 }, (_, i) => layoutOf([{ blob: tar(file(`f${i}`, 'x')) }]));
    const rs = await Promise.all(Array.from({ length: 80 }, (_, i) => api<SourceHandle>('openSource', { spec: dirs[i % 8] })));
    expect(rs.filter((r) => !r.ok)).toEqual([]);
    const recent = JSON.parse(readFileSync(path.join(stateDir, 'recent.json'), 'utf8')) as { spec: string }[];
    expect(new Set(recent.map((r) => r.spec))).toEqual(new Set(dirs));
    const listed = await api<SourceHandle[]>('listSources', {});
    expect(listed.ok && listed.value.length).toBe(80);
  });

  it('an open whose recent-list write fails still opens once, and leaks nothing', async () => {
    const broken = tmp('oci-web-broken-');
    writeFileSync(path.join(broken, 'state'), 'a file where a folder should be');
    const t = createHandlerTable({ core: defaultCore(), mode: 'web', appVersion: 'test', stateDir: path.join(broken, 'state') });
    try {
      const r = await t.dispatch('openSource', { spec: layoutOf([{ blob: tar(file('a', 'A')) }]) });
      expect(r.ok).toBe(true);
      const l = await t.dispatch('listSources', {});
      expect(l.ok && (l.value as unknown[]).length).toBe(1);
    } finally {
      await t.close();
    }
  });

  it('saveFile and extract never overwrite: TARGET_EXISTS, the existing file untouched', async () => {
    const dir = layoutOf([{ blob: tar(file('etc/motd', 'from the image')) }]);
    const h = await api<SourceHandle>('openSource', { spec: dir });
    if (!h.ok) throw new Error(h.error.message);
    const s = await api<ImageSummary>('selectImage', { sourceId: h.value.id });
    if (!s.ok) throw new Error(s.error.message);
    const out = tmp('oci-web-save-');
    const target = path.join(out, 'motd');
    writeFileSync(target, 'mine');
    const r = await api('saveFile', { image: s.value.ref, path: '/etc/motd', target });
    expect(r.ok ? undefined : r.error.code).toBe('TARGET_EXISTS');
    expect(readFileSync(target, 'utf8')).toBe('mine');
    const fresh = path.join(out, 'new');
    expect((await api('saveFile', { image: s.value.ref, path: '/etc/motd', target: fresh })).ok).toBe(true);
    expect(readFileSync(fresh, 'utf8')).toBe('from the image');
    const x = await api('extract', { image: s.value.ref, target: out });
    expect(x.ok ? undefined : x.error.code).toBe('TARGET_EXISTS');
    expect(readFileSync(target, 'utf8')).toBe('mine');
  });

  it('a hostile image (PAX size not a number) neither hangs its own call nor the server for others', async () => {
    const dir = layoutOf([{ blob: tar(pax({ size: 'NaN' }), file('x', 'x'), file('ok', 'fine')) }]);
    const h = await api<SourceHandle>('openSource', { spec: dir });
    if (!h.ok) throw new Error(h.error.message);
    const [sel, version] = await Promise.all([api<ImageSummary>('selectImage', { sourceId: h.value.id }), api('version', {})]);
    expect(version.ok).toBe(true);
    if (!sel.ok) throw new Error(sel.error.message);
    const page = await api<{ entries: { name: string }[] }>('listDir', { image: sel.value.ref, view: { kind: 'merged' }, path: '/' });
    expect(page.ok && page.value.entries.map((e) => e.name)).toEqual(['ok']);
  });
});
