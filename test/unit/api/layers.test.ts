import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { extract } from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DirPage, EventEnvelope, ImageRef, ImageSummary, SearchPage, SerializedError } from '../../../shared/api/contract.js';
import { defaultCore } from '../../../shared/api/core.js';
import { createHandlerTable, type HandlerTable } from '../../../shared/api/handlers.js';

// The tree/diff/file methods over the real layer engine, on the demo image, checked against the layer
// tars read here independently with tar-stream.

const DEMO = path.resolve(__dirname, '../../../resources/demo');
let t: HandlerTable;
let image: ImageRef;
let summary: ImageSummary;
const events: EventEnvelope[] = [];
type Tar = Map<string, { type: string; body: Buffer }>;
let tars: Tar[];

async function readTar(gz: Buffer): Promise<Tar> {
  const m: Tar = new Map();
  const x = extract();
  x.on('entry', (h, s, next) => {
    const parts: Buffer[] = [];
    s.on('data', (c: unknown) => void parts.push(c as Buffer));
    s.on('end', () => {
      m.set(h.name.replace(/\/$/, ''), { type: h.type ?? 'file', body: Buffer.concat(parts) });
      next();
    });
  });
  const done = new Promise<void>((r) => x.on('finish', () => r()));
  x.end(gunzipSync(gz));
  await done;
  return m;
}

async function call<T>(m: string, a: unknown): Promise<T> {
  const r = await t.dispatch(m, a);
  if (!r.ok) throw Object.assign(new Error(r.error.message), r.error);
  return r.value as T;
}
async function fail(m: string, a: unknown): Promise<SerializedError> {
  const r = await t.dispatch(m, a);
  expect(r.ok).toBe(false);
  return (r as { error: SerializedError }).error;
}

beforeAll(async () => {
  const core = defaultCore({ cacheDir: path.join(os.tmpdir(), `oe-api-cache-${process.pid}`), workers: 0 });
  t = createHandlerTable({ core, mode: 'web', appVersion: 'test', demoPath: DEMO });
  t.subscribe((e) => events.push(e));
  const h = await call<{ id: string }>('openDemo', {});
  summary = await call<ImageSummary>('selectImage', { sourceId: h.id, platform: 'linux/amd64', opId: 'op-select' });
  image = summary.ref;
  const index = JSON.parse(await readFile(path.join(DEMO, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
  const inner = JSON.parse(await readFile(path.join(DEMO, 'blobs/sha256', index.manifests[0]!.digest.slice(7)), 'utf8')) as { manifests: { digest: string; platform: { architecture: string } }[] };
  const amd = inner.manifests.find((m) => m.platform.architecture === 'amd64')!;
  const manifest = JSON.parse(await readFile(path.join(DEMO, 'blobs/sha256', amd.digest.slice(7)), 'utf8')) as { layers: { digest: string }[] };
  expect(image.manifest).toBe(amd.digest);
  tars = await Promise.all(manifest.layers.map(async (l) => readTar(await readFile(path.join(DEMO, 'blobs/sha256', l.digest.slice(7))))));
});
afterAll(() => t.close());

describe('selectImage', () => {
  it('summarises each layer with counts read from its tar, and the history command', () => {
    expect(summary.layers).toHaveLength(tars.length);
    summary.layers.forEach((l, i) => {
      expect(l.fileCount).toBe(tars[i]!.size);
      expect(l.verify).toBe('verified');
    });
    // Layer 2 removes two files (a whiteout and an opaque dir hiding CHANGES) and adds nothing new.
    expect(summary.layers[2]).toMatchObject({ removed: 2, added: 0 });
    expect(summary.layers[2]!.command).toMatch(/rm -rf/);
    expect(summary.history.filter((h) => h.emptyLayer)).toHaveLength(2);
  });

  it('emitted index progress for every layer under the caller\'s opId, and marked the graph nodes verified', async () => {
    const done = events.filter((e) => e.event === 'index-progress' && (e.payload as { done: boolean }).done).map((e) => e.payload as { opId: string; layer: number });
    expect(new Set(done.map((d) => d.layer))).toEqual(new Set([0, 1, 2]));
    expect(done.every((d) => d.opId === 'op-select')).toBe(true);
    const changed = events.find((e) => e.event === 'graph-changed')!.payload as { sourceId: string; digests: string[] };
    // The event carries each node's new state, and the core's graph answers the same from then on.
    expect(changed).toEqual({ sourceId: image.sourceId, digests: summary.layers.map((l) => l.digest), nodes: summary.layers.map((l) => ({ digest: l.digest, verify: 'verified', problems: [] })) });
    const g = await call<{ nodes: { kind: string; digest: string; verify: string }[] }>('getGraph', { sourceId: image.sourceId });
    for (const l of summary.layers) expect(g.nodes.find((n) => n.digest === l.digest)!.verify).toBe('verified');
  });
});

describe('trees', () => {
  it('lists the merged root as the union of top-level names of all layers', async () => {
    const top = new Set<string>();
    for (const tar of tars) for (const name of tar.keys()) top.add(name.split('/')[0]!);
    const page = await call<DirPage>('listDir', { image, view: { kind: 'merged' }, path: '/' });
    expect(page.entries.map((e) => e.name)).toEqual([...top].sort());
    expect(page.total).toBe(top.size);
  });

  it('pages a directory', async () => {
    const a = await call<DirPage>('listDir', { image, view: { kind: 'merged' }, path: '/', offset: 1, limit: 2 });
    const all = await call<DirPage>('listDir', { image, view: { kind: 'merged' }, path: '/' });
    expect(a.entries.map((e) => e.path)).toEqual(all.entries.slice(1, 3).map((e) => e.path));
  });

  it('listDirs: several folders in one call, each as its tar says; absent and non-folder paths reported as missing', async () => {
    // Children of a folder in the final image, from the tars: names under dir/, minus what layer 2 removed.
    const kids = (dir: string) => {
      const names = new Set<string>();
      for (const tar of tars) for (const n of tar.keys()) if (n.startsWith(dir + '/') && n.length > dir.length + 1) names.add(n.slice(dir.length + 1).split('/')[0]!);
      return [...names].filter((n) => !n.startsWith('.wh.')).sort();
    };
    const r = await call<{ pages: DirPage[]; missing: string[] }>('listDirs', { image, view: { kind: 'merged' }, paths: ['/', '/app', '/nowhere', '/etc/motd', '/usr/share'] });
    expect(r.missing).toEqual(['/nowhere', '/etc/motd']);
    expect(r.pages.map((p) => p.path)).toEqual(['/', '/app', '/usr/share']);
    expect(r.pages[1]!.entries.map((e) => e.name)).toEqual(kids('app'));
    expect(r.pages[2]!.entries.map((e) => e.name)).toEqual(kids('usr/share'));
    // The same as listDir, page for page, also in a layer view with a filter and a limit.
    const view = { kind: 'layer', layer: 2 };
    const filter = { changes: ['removed'] };
    const many = await call<{ pages: DirPage[] }>('listDirs', { image, view, paths: ['/', '/usr/share/doc'], filter, limit: 1 });
    for (const page of many.pages) expect(page).toEqual(await call<DirPage>('listDir', { image, view, path: page.path, filter, limit: 1 }));
    expect((await fail('listDirs', { image, view: { kind: 'merged' }, paths: ['relative'] })).code).toBe('INVALID_ARGUMENT');
    expect((await fail('listDirs', { image, view: { kind: 'merged' }, paths: Array.from({ length: 1001 }, () => '/') })).message).toMatch(/paths/);
  });

  it('sorts by size (directories by the bytes below them) and by name descending', async () => {
    // Final /app: config.json from layer 2, the rest from layer 1.
    const size = (n: string) => (n === 'config.json' ? tars[2]! : tars[1]!).get(`app/${n}`)!.body.length;
    const names = ['config.json', 'data.bin', 'hello.sh', 'logo.svg'];
    const bySize = [...names].sort((a, b) => size(b) - size(a));
    const page = await call<DirPage>('listDir', { image, view: { kind: 'merged' }, path: '/app', sort: { by: 'size', order: 'desc' } });
    expect(page.entries.map((e) => e.name)).toEqual(bySize);
    const rev = await call<DirPage>('listDir', { image, view: { kind: 'merged' }, path: '/app', sort: { by: 'name', order: 'desc' } });
    expect(rev.entries.map((e) => e.name)).toEqual([...names].reverse());
    const root = await call<DirPage>('listDir', { image, view: { kind: 'merged' }, path: '/' });
    expect(root.entries.find((e) => e.name === 'app')!.totalSize).toBe(names.reduce((a, n) => a + size(n), 0));
  });

  it('shows a layer\'s own changes, with removed paths and the layer that removed them', async () => {
    const doc = await call<DirPage>('listDir', { image, view: { kind: 'layer', layer: 2 }, path: '/usr/share/doc' });
    expect(doc.entries.map((e) => [e.name, e.change])).toEqual([
      ['CHANGES', 'removed'],
      ['README', 'modified'],
    ]);
    const cache = await call<DirPage>('listDir', { image, view: { kind: 'layer', layer: 2 }, path: '/var/cache' });
    expect(cache.entries).toEqual([expect.objectContaining({ path: '/var/cache/apk-index.txt', change: 'removed', layer: 2 })]);
    const removedOnly = await call<DirPage>('listDir', { image, view: { kind: 'diff', bottom: { start: 0, end: 1 }, top: { start: 2, end: 2 } }, path: '/', filter: { changes: ['removed'] } });
    expect(removedOnly.entries.map((e) => e.name)).toEqual(['usr', 'var']);
  });

  it('searches by glob, regex and substring with a hit count', async () => {
    const names = [...tars.flatMap((tr) => [...tr.keys()])].filter((n) => n.endsWith('.json'));
    const g = await call<SearchPage>('search', { image, view: { kind: 'merged' }, query: { pattern: '*.json', mode: 'glob' } });
    expect(g.hits.map((h) => h.path)).toEqual([...new Set(names)].map((n) => '/' + n));
    const r = await call<SearchPage>('search', { image, view: { kind: 'merged' }, query: { pattern: '^/app/.*\\.(sh|svg)$', mode: 'regex' } });
    expect(r.hits.map((h) => h.path)).toEqual(['/app/hello.sh', '/app/logo.svg']);
    const s = await call<SearchPage>('search', { image, view: { kind: 'merged' }, query: { pattern: 'MOTD', mode: 'substring' } });
    expect(s.total).toBe(1);
    expect((await fail('search', { image, view: { kind: 'merged' }, query: { pattern: '(', mode: 'regex' } })).code).toBe('INVALID_ARGUMENT');
  });

  it('reads a file (through a symlink) and a range, byte-equal to the tar', async () => {
    const body = tars[1]!.get('app/hello.sh')!.body;
    const f = await call<{ data: Uint8Array; size: number; resolvedPath: string; eof: boolean }>('readFile', { image, path: '/usr/bin/hello' });
    expect(Buffer.from(f.data).equals(body)).toBe(true);
    expect(f).toMatchObject({ size: body.length, resolvedPath: '/app/hello.sh', eof: true });
    const part = await call<{ data: Uint8Array; offset: number; eof: boolean }>('readFile', { image, path: '/app/hello.sh', offset: 3, length: 4 });
    expect(Buffer.from(part.data).equals(body.subarray(3, 7))).toBe(true);
    expect(part.eof).toBe(false);
    const old = await call<{ data: Uint8Array }>('readFile', { image, path: '/etc/motd', view: { kind: 'layer', layer: 0 } });
    expect(Buffer.from(old.data).equals(tars[0]!.get('etc/motd')!.body)).toBe(true);
  });

  it('refuses bad paths and layers with clear codes', async () => {
    expect((await fail('readFile', { image, path: '/var/cache/apk-index.txt' })).code).toBe('PATH_NOT_FOUND');
    expect((await fail('readFile', { image, path: '/etc' })).message).toMatch(/dir, not a file/);
    expect((await fail('readFile', { image, path: '/../etc/passwd' })).code).toBe('PATH_ESCAPE');
    expect((await fail('listDir', { image, view: { kind: 'merged', upTo: 9 }, path: '/' })).code).toBe('INVALID_ARGUMENT');
    expect((await fail('listDir', { image, view: { kind: 'merged' }, path: '/etc/motd' })).code).toBe('INVALID_ARGUMENT');
    expect((await fail('listDir', { image: { ...image, manifest: 'sha256:' + 'a'.repeat(64) }, view: { kind: 'merged' }, path: '/' })).code).toBe('IMAGE_NOT_FOUND');
  });

  it('diffs two stacks', async () => {
    const d = await call<{ added: number; removed: number; removedBytes: number }>('diff', { image, bottom: { start: 0, end: 1 }, top: { start: 2, end: 2 } });
    expect(d.removed).toBe(2);
    expect(d.removedBytes).toBe(tars[1]!.get('var/cache/apk-index.txt')!.body.length + tars[0]!.get('usr/share/doc/CHANGES')!.body.length);
  });

  it('extracts the merged tree and saves one file', async () => {
    const { mkdtemp, readdir } = await import('node:fs/promises');
    const dir = await mkdtemp(path.join(os.tmpdir(), 'oe-x-'));
    const r = await call<{ files: number }>('extract', { image, target: path.join(dir, 'root'), opId: 'op-x' });
    expect(r.files).toBeGreaterThan(0);
    expect((await readdir(path.join(dir, 'root', 'var', 'cache')))).toEqual([]);
    expect((await readFile(path.join(dir, 'root', 'usr/share/doc/README'), 'utf8'))).toBe('new\n');
    const saved = await call<{ bytes: number }>('saveFile', { image, path: '/app/config.json', target: path.join(dir, 'c.json') });
    expect(await readFile(path.join(dir, 'c.json'))).toEqual(tars[2]!.get('app/config.json')!.body);
    expect(saved.bytes).toBe(tars[2]!.get('app/config.json')!.body.length);
  });
});
