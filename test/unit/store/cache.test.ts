import { existsSync, mkdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openCache, SLACK_BYTES } from '../../../shared/store/cache.js';
import { parseSize, formatSize } from '../../../shared/store/size.js';
import { buildGraph } from '../../../shared/graph/build.js';
import { openSource } from '../../../shared/sources/open.js';
import { deadPid, diskBytes, hexOf, indexRel, kit, listFiles, randomDigest, startChild, writeStore } from './kit.js';

// The bounded cache: LRU eviction under the cap, pins (also from other processes), reservations,
// the cross-process lock, and store images evicted whole with the layout left consistent.

const old = (secondsAgo: number) => new Date(Date.now() - secondsAgo * 1000);

async function putIndex(k: ReturnType<typeof kit>, bytes: number, secondsAgo: number): Promise<string> {
  const d = randomDigest();
  expect(await k.cache.writeSealed(indexRel(d), Buffer.alloc(bytes, 7))).toBe(true);
  utimesSync(path.join(k.root, indexRel(d)), old(secondsAgo), old(secondsAgo));
  return d;
}
const has = (k: ReturnType<typeof kit>, d: string) => existsSync(path.join(k.root, indexRel(d)));

describe('SIZE arguments', () => {
  it('reads binary and decimal units and refuses the rest', () => {
    expect(parseSize('1048576')).toBe(1048576);
    expect(parseSize('1M')).toBe(2 ** 20);
    expect(parseSize('1MiB')).toBe(2 ** 20);
    expect(parseSize('1.5G')).toBe(1.5 * 2 ** 30);
    expect(parseSize('500 kB')).toBe(500_000);
    expect(parseSize('2GB')).toBe(2e9);
    expect(parseSize('0')).toBe(0);
    for (const bad of ['', 'x', '-1', '1X', '1i', '1 iB', '1e3', 'M']) expect(parseSize(bad), bad).toBeUndefined();
    expect(formatSize(1536)).toBe('1.50 KiB');
    expect(formatSize(5 * 2 ** 30)).toBe('5.00 GiB');
  });
});

describe('the bounded cache', () => {
  it('creates its folder 0700 and its key 0600 outside it; tightens an existing folder', async () => {
    const k = kit();
    expect(await k.cache.writeSealed(indexRel(randomDigest()), Buffer.from('x'))).toBe(true);
    expect(statSync(k.root).mode & 0o777).toBe(0o700);
    expect(statSync(k.keyFile).mode & 0o777).toBe(0o600);
    expect(statSync(path.join(k.root, 'layer-index')).mode & 0o777).toBe(0o700);
    const loose = kit();
    mkdirSync(loose.root, { mode: 0o755 });
    await loose.cache.report();
    expect(statSync(loose.root).mode & 0o777).toBe(0o700);
  });

  it('refuses a key kept inside the cache folder (whoever plants files there could plant the key)', async () => {
    const k = kit();
    const inside = openCache(path.join(path.dirname(k.root), 'other'), { keyFile: path.join(path.dirname(k.root), 'other', 'cache.key'), env: {} });
    expect((await inside.report()).disabled).toMatch(/inside the cache folder/);
    expect(await inside.writeSealed(indexRel(randomDigest()), Buffer.from('x'))).toBe(false);
  });

  it('evicts least recently used entries to make room; a read counts as a use', async () => {
    const k = kit(350_000);
    const a = await putIndex(k, 100_000, 300);
    const b = await putIndex(k, 100_000, 200);
    const c = await putIndex(k, 100_000, 100);
    // a is the oldest, but reading it makes b the least recently used.
    expect((await k.cache.readSealed(indexRel(a), 1 << 20))?.length).toBe(100_000);
    const r = await k.cache.reserve(100_000);
    expect(r).toBeDefined();
    expect([has(k, a), has(k, b), has(k, c)]).toEqual([true, false, true]);
    await r!.release();
    expect(diskBytes(k.root)).toBeLessThanOrEqual(350_000 + SLACK_BYTES);
  });

  it('never evicts pinned entries; refuses a reservation that cannot fit instead of exceeding the cap', async () => {
    const k = kit(250_000);
    const a = await putIndex(k, 100_000, 300);
    const b = await putIndex(k, 100_000, 200);
    const lease = await k.cache.pin([`blob:${a}`]);
    const r = await k.cache.reserve(140_000);
    expect(r).toBeDefined();
    expect([has(k, a), has(k, b)]).toEqual([true, false]);
    // a (pinned, 100 KB) + 140 KB reserved: 20 KB more cannot fit, and nothing else can go.
    expect(await k.cache.reserve(20_000)).toBeUndefined();
    expect(has(k, a)).toBe(true);
    await r!.release();
    expect(await k.cache.reserve(300_000)).toBeUndefined();
    await lease.release();
    const all = await k.cache.clear();
    expect(all.removed.map((e) => e.key)).toEqual([`index:${a}`]);
    expect(listFiles(k.root)).toEqual([]);
  });

  it('prune --max evicts down to the size given; clear keeps what is pinned', async () => {
    const k = kit(1_000_000);
    const ds = [];
    for (let i = 0; i < 5; i++) ds.push(await putIndex(k, 50_000, 500 - i * 10));
    const p = await k.cache.prune(120_000);
    expect(p.removed.map((e) => e.key)).toEqual(ds.slice(0, 3).map((d) => `index:${d}`));
    expect(p.usedBytes).toBeLessThanOrEqual(120_000);
    const lease = await k.cache.pin([`blob:${ds[4]}`]);
    const c = await k.cache.clear();
    expect(c.removed.map((e) => e.key)).toEqual([`index:${ds[3]}`]);
    expect(c.keptPinned).toBe(1);
    await lease.release();
  });

  it('clear stops between two evictions when cancelled, and what it removed stays removed', async () => {
    const k = kit(1_000_000);
    const ds = [];
    for (let i = 0; i < 6; i++) ds.push(await putIndex(k, 1000, 600 - i * 10));
    // A signal that turns aborted on its fourth look: after the lock is taken and two entries are gone.
    let looks = 0;
    const signal = { get aborted() { return ++looks > 3; }, addEventListener() {}, removeEventListener() {} } as unknown as AbortSignal;
    await expect(k.cache.clear({ signal })).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(ds.map((d) => has(k, d))).toEqual([false, false, true, true, true, true]);
    expect(existsSync(path.join(k.root, 'meta', 'lock'))).toBe(false);
  });

  it("honours another process's pins while it lives, and ignores them once it is gone", async () => {
    const k = kit(1_000_000);
    const a = await putIndex(k, 10_000, 100);
    const b = await putIndex(k, 10_000, 100);
    const holder = await startChild(['pin', k.root, k.keyFile, `blob:${a}`]);
    try {
      await k.cache.clear();
      expect([has(k, a), has(k, b)]).toEqual([true, false]);
      expect(listFiles(path.join(k.root, 'meta', 'leases'))).toHaveLength(1);
    } finally {
      await holder.kill();
    }
    // Killed: its lease file is still there, but its process is not.
    expect(listFiles(path.join(k.root, 'meta', 'leases'))).toHaveLength(1);
    await k.cache.clear();
    expect(has(k, a)).toBe(false);
    expect(listFiles(k.root)).toEqual([]);
  });

  it('a forged lease (not sealed with our key) pins nothing and is removed', async () => {
    const k = kit(1_000_000);
    const a = await putIndex(k, 1000, 100);
    mkdirSync(path.join(k.root, 'meta', 'leases'), { recursive: true });
    const forged = path.join(k.root, 'meta', 'leases', `1-0.deadbeef.lease`);
    writeFileSync(forged, JSON.stringify({ pid: 1, start: '', pins: [`blob:${a}`], reserved: 10 ** 12 }));
    await k.cache.clear();
    expect(has(k, a)).toBe(false);
    expect(existsSync(forged)).toBe(false);
  });

  it('waits for a lock held by a live process (cancellable; CACHE_BUSY when told not to wait); breaks a dead or forged one', async () => {
    const k = kit(1_000_000);
    await putIndex(k, 1000, 100);
    const holder = await startChild(['lock', k.root, k.keyFile]);
    try {
      await expect(k.cache.prune(undefined, { maxWaitMs: 0 })).rejects.toMatchObject({ code: 'CACHE_BUSY' });
      const abort = new AbortController();
      const cancelled = k.cache.prune(0, { signal: abort.signal });
      abort.abort();
      await expect(cancelled).rejects.toMatchObject({ code: 'CANCELLED' });
      const waiting = k.cache.prune(0);
      await holder.stop();
      expect((await waiting).removed).toHaveLength(1);
    } finally {
      await holder.kill();
    }
    const lock = path.join(k.root, 'meta', 'lock');
    writeFileSync(lock, JSON.stringify({ pid: await deadPid(), start: '', nonce: 'x' }));
    await k.cache.prune(0, { maxWaitMs: 0 });
    expect(existsSync(lock)).toBe(false);
    writeFileSync(lock, 'planted');
    await k.cache.prune(0, { maxWaitMs: 0 });
    expect(existsSync(lock)).toBe(false);
  });

  it('removes what a dead writer left and misplaced files, never touches names it does not manage', async () => {
    const k = kit(1_000_000);
    const keep = await putIndex(k, 1000, 10);
    const dir = path.join(k.root, 'layer-index', 'v2', 'sha256');
    const dead = path.join(dir, `x.idx.${await deadPid()}-1.0123456789ab.tmp`);
    writeFileSync(dead, 'half');
    writeFileSync(path.join(dir, 'not-a-digest.idx'), 'junk');
    writeFileSync(path.join(k.root, 'mine.txt'), 'the user keeps this here');
    const p = await k.cache.prune();
    expect(p.removed.map((e) => e.kind)).toEqual(['stale', 'stale']);
    expect(existsSync(dead)).toBe(false);
    expect(has(k, keep)).toBe(true);
    expect(readFileSync(path.join(k.root, 'mine.txt'), 'utf8')).toBe('the user keeps this here');
    expect((await k.cache.report()).foreign).toEqual(['mine.txt']);
  });
});

describe('store images', () => {
  const layer = (n: number, fill: number) => Buffer.alloc(n, fill);

  it('evicts an image whole: its index.json entry and the blobs no kept image shares; the layout stays readable', async () => {
    const k = kit(10_000_000);
    const tops = writeStore(k.root, [
      { tag: 'old', layers: [layer(40_000, 1), layer(30_000, 2)] },
      { tag: 'new', layers: [layer(40_000, 1), layer(20_000, 3)] },
      { tag: 'pinned', layers: [layer(25_000, 4)] },
    ]);
    const blob = (fill: number, n: number) => path.join(k.root, 'store', 'blobs', 'sha256', hexOf(layer(n, fill)));
    const setUse = (tag: string, secondsAgo: number) => utimesSync(path.join(k.root, 'store', 'blobs', 'sha256', tops[tag]!.slice(7)), old(secondsAgo), old(secondsAgo));
    setUse('old', 300);
    setUse('pinned', 400);
    setUse('new', 100);
    const lease = await k.cache.pin([`image:${tops.pinned}`]);
    const before = await k.cache.report();
    expect(before.entries.filter((e) => e.kind === 'image').map((e) => e.refs).sort()).toEqual([['new'], ['old'], ['pinned']]);
    // Room for everything but 20 KB: the least recently used unpinned image (30 KB of its own) goes.
    const p = await k.cache.prune(diskBytes(k.root) - 20_000);
    expect(p.removed.map((e) => e.key)).toEqual([`image:${tops.old}`]);
    const index = JSON.parse(readFileSync(path.join(k.root, 'store', 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
    expect(index.manifests.map((m) => m.digest).sort()).toEqual([tops.new, tops.pinned].sort());
    expect(existsSync(blob(1, 40_000))).toBe(true); // shared with "new"
    expect(existsSync(blob(2, 30_000))).toBe(false);
    expect(existsSync(path.join(k.root, 'store', 'blobs', 'sha256', tops.old!.slice(7)))).toBe(false);
    const { source } = await openSource(`oci:${path.join(k.root, 'store')}`);
    try {
      const graph = await buildGraph(source);
      expect(graph.nodes.filter((n) => n.verify === 'missing' || n.verify === 'failed' || n.problems.length)).toEqual([]);
      const digests = graph.nodes.map((n) => n.digest);
      expect(digests).toEqual(expect.arrayContaining([tops.new, tops.pinned]));
      expect(digests).not.toContain(tops.old);
    } finally {
      await source.close();
    }
    await k.cache.clear();
    expect(existsSync(blob(4, 25_000))).toBe(true);
    await lease.release();
    await k.cache.clear();
    expect(listFiles(path.join(k.root, 'store')).filter((f) => f.startsWith('blobs'))).toEqual([]);
  });

  it('an image index goes with its manifests; a blob pinned by an open image survives its image', async () => {
    const k = kit(10_000_000);
    const tops = writeStore(k.root, [{ tag: 'a', layers: [layer(10_000, 5)] }, { tag: 'b', layers: [layer(10_000, 6)] }], { tag: 'multi', of: ['a', 'b'] });
    const index = path.join(k.root, 'store', 'index.json');
    // Untag a and b: only the index reaches them now.
    const doc = JSON.parse(readFileSync(index, 'utf8')) as { manifests: { digest: string }[] };
    writeFileSync(index, JSON.stringify({ ...doc, manifests: doc.manifests.filter((m) => m.digest === tops.multi) }));
    const layerB = `sha256:${hexOf(layer(10_000, 6))}`;
    const lease = await k.cache.pin([`blob:${layerB}`]);
    const r = await k.cache.report();
    expect(r.entries.map((e) => e.key)).toEqual([`image:${tops.multi}`]);
    await k.cache.clear();
    const left = listFiles(path.join(k.root, 'store', 'blobs'));
    expect(left).toEqual([path.join('sha256', layerB.slice(7))]);
    await lease.release();
  });

  it("loose blobs are entries once they are clearly not a pull in progress; the layout writer's temp files and locks are kept while their process runs", async () => {
    const k = kit(10_000_000);
    writeStore(k.root, [{ tag: 'a', layers: [layer(1000, 7)] }]);
    const blobs = path.join(k.root, 'store', 'blobs', 'sha256');
    const loose = (n: number) => {
      const b = layer(5000, n);
      writeFileSync(path.join(blobs, hexOf(b)), b);
      return path.join(blobs, hexOf(b));
    };
    const fresh = loose(20);
    const stale = loose(21);
    utimesSync(stale, old(7200), old(7200));
    mkdirSync(path.join(k.root, 'store', 'ingest'));
    const dead = await deadPid();
    const ingest = (name: string) => path.join(k.root, 'store', 'ingest', name);
    writeFileSync(ingest(`sha256:ab.${process.pid}.k3j4h5.tmp`), 'downloading');
    writeFileSync(ingest(`sha256:cd.${dead}.k3j4h5.tmp`), 'abandoned');
    writeFileSync(ingest('sha256-ab.lock'), `${process.pid}\n${os.hostname()}\n0\n`);
    writeFileSync(ingest('sha256-cd.lock'), `${dead}\n${os.hostname()}\n0\n`);
    writeFileSync(path.join(k.root, 'store', 'index.json.lock'), `${dead}\n${os.hostname()}\n0\n`);
    const r = await k.cache.report();
    expect(r.entries.filter((e) => e.kind === 'blob').map((e) => e.files[0])).toEqual([path.relative(k.root, stale)]);
    const p = await k.cache.clear();
    expect(p.removed.map((e) => (e.kind === 'stale' ? e.files[0] : e.kind)).sort()).toEqual(['blob', 'image', 'store/index.json.lock', 'store/ingest/sha256-cd.lock', `store/ingest/sha256:cd.${dead}.k3j4h5.tmp`]);
    expect([existsSync(fresh), existsSync(stale)]).toEqual([true, false]);
    expect(listFiles(path.join(k.root, 'store', 'ingest'))).toEqual(['sha256-ab.lock', `sha256:ab.${process.pid}.k3j4h5.tmp`]);
    // The dead writer's index.json lock was broken to drop image "a", and released afterwards.
    expect(existsSync(path.join(k.root, 'store', 'index.json.lock'))).toBe(false);
    expect((JSON.parse(readFileSync(path.join(k.root, 'store', 'index.json'), 'utf8')) as { manifests: unknown[] }).manifests).toEqual([]);
  });
});
