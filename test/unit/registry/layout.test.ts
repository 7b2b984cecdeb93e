import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { acquireLock } from '../../../shared/registry/lock.js';
import { LayoutStore } from '../../../shared/store/layout.js';
import type { Descriptor } from '../../../shared/oci/types.js';

// The writable OCI layout (the app's store, pull --to): blobs only after they verify, index.json
// changed whole under a lock, locks shared by tasks and processes (a dead holder's lock is broken).

const tmp = mkdtempSync(path.join(os.tmpdir(), 'oci-layout-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let n = 0;
const fresh = () => new LayoutStore(path.join(tmp, `l${++n}`));
const descOf = (b: Buffer, mediaType = 'application/octet-stream'): Descriptor => ({ mediaType, digest: `sha256:${createHash('sha256').update(b).digest('hex')}`, size: b.length });

describe('LayoutStore', () => {
  it('init writes oci-layout and an empty index.json once, never over what is there (two at once)', async () => {
    const s = fresh();
    await Promise.all([s.init(), new LayoutStore(s.dir).init()]);
    expect(JSON.parse(readFileSync(path.join(s.dir, 'oci-layout'), 'utf8'))).toEqual({ imageLayoutVersion: '1.0.0' });
    await s.addRef('x', descOf(Buffer.from('a')));
    await new LayoutStore(s.dir).init();
    expect((await s.images()).map((i) => i.name)).toEqual(['x']);
  });

  it('an ingest lands only when size and digest match; a wrong or long body leaves nothing', async () => {
    const s = fresh();
    const good = Buffer.from('hello blob');
    const d = descOf(good);
    const ok = await s.ingest(d);
    await ok.write(good.subarray(0, 4));
    await ok.write(good.subarray(4));
    await ok.commit();
    await ok.abort();
    expect(readFileSync(s.blobPath(d.digest)).equals(good)).toBe(true);
    expect(await s.has(d)).toBe(true);

    const other = descOf(Buffer.from('other data'));
    const bad = await s.ingest(other);
    await bad.write(Buffer.from('OTHER DATA'));
    await expect(bad.commit()).rejects.toMatchObject({ code: 'DIGEST_MISMATCH' });
    await bad.abort();
    expect(existsSync(s.blobPath(other.digest))).toBe(false);

    const long = await s.ingest(other);
    await expect(long.write(Buffer.from('other data and more'))).rejects.toMatchObject({ code: 'SIZE_MISMATCH' });
    await long.abort();
    const short = await s.ingest(other);
    await short.write(Buffer.from('other'));
    await expect(short.commit()).rejects.toMatchObject({ code: 'SIZE_MISMATCH' });
    await short.abort();
    expect(readdirSync(path.join(s.dir, 'ingest'))).toEqual([]);
  });

  it("a temp file left by a downloader that died is removed by the next one to take the blob's lock", async () => {
    const s = fresh();
    await s.init();
    const d = descOf(Buffer.from('blob'));
    const hex = d.digest.slice(7);
    writeFileSync(path.join(s.dir, 'ingest', `sha256-${hex}.lock`), `999999999\n${os.hostname()}\n0\n`);
    writeFileSync(path.join(s.dir, 'ingest', `sha256-${hex}.999999999.abc.tmp`), 'half a blo');
    writeFileSync(path.join(s.dir, 'ingest', `sha256-${'0'.repeat(64)}.1.x.tmp`), 'another blob: not ours to judge');
    const lease = await s.lockBlob(d.digest);
    expect(readdirSync(path.join(s.dir, 'ingest')).sort()).toEqual([`sha256-${'0'.repeat(64)}.1.x.tmp`, `sha256-${hex}.lock`]);
    await lease.release();
  });

  it('index.json: 20 concurrent addRef from separate instances all land; a name is replaced, not repeated', async () => {
    const s = fresh();
    await s.init();
    await Promise.all(Array.from({ length: 20 }, (_, i) => new LayoutStore(s.dir).addRef(`img${i}`, descOf(Buffer.from(String(i))))));
    expect((await s.images()).map((i) => i.name).sort()).toEqual(Array.from({ length: 20 }, (_, i) => `img${i}`).sort());
    const d = descOf(Buffer.from('new'));
    await s.addRef('img3', { ...d, platform: { os: 'linux', architecture: 'arm64' } }, { extra: 'yes' });
    const img3 = (await s.images()).filter((i) => i.name === 'img3');
    expect(img3).toHaveLength(1);
    expect(img3[0]!.descriptor).toMatchObject({ digest: d.digest, platform: { os: 'linux', architecture: 'arm64' }, annotations: { extra: 'yes', 'org.opencontainers.image.ref.name': 'img3' } });
    expect(await s.removeRef('img3')).toBe(true);
    expect(await s.removeRef('img3')).toBe(false);
    expect(readdirSync(path.join(s.dir, 'ingest'))).toEqual([]);
  });

  it('a damaged index.json is a LAYOUT_INVALID sentence, not a crash', async () => {
    const s = fresh();
    await s.init();
    writeFileSync(path.join(s.dir, 'index.json'), '{oops');
    await expect(s.images()).rejects.toMatchObject({ code: 'LAYOUT_INVALID' });
  });

  it('reachableBlobs walks index → manifest → config and layers that are stored', async () => {
    const s = fresh();
    const layer = Buffer.from('layer bytes');
    const config = Buffer.from('{"rootfs":{}}');
    const ld = descOf(layer, 'application/vnd.oci.image.layer.v1.tar');
    const cd = descOf(config, 'application/vnd.oci.image.config.v1+json');
    const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, config: cd, layers: [ld, descOf(Buffer.from('absent'))] }));
    const md = descOf(manifest, 'application/vnd.oci.image.manifest.v1+json');
    const index = Buffer.from(JSON.stringify({ schemaVersion: 2, manifests: [md] }));
    const id = descOf(index, 'application/vnd.oci.image.index.v1+json');
    for (const [d, b] of [[ld, layer], [cd, config], [md, manifest], [id, index]] as const) await s.putBlob(d, b);
    const r = await s.reachableBlobs(id);
    expect([...r.keys()].sort()).toEqual([id.digest, md.digest, cd.digest, ld.digest].sort());
    expect(r.get(ld.digest)).toBe(layer.length);
  });
});

describe('lock files', () => {
  it('a second taker waits for the first; a cancelled wait ends CANCELLED and takes nothing', async () => {
    const file = path.join(tmp, 'a.lock');
    const first = await acquireLock(file);
    const order: string[] = [];
    const second = acquireLock(file).then((l) => (order.push('second'), l));
    const ctrl = new AbortController();
    const third = acquireLock(file, ctrl.signal);
    ctrl.abort();
    await expect(third).rejects.toMatchObject({ code: 'CANCELLED' });
    order.push('release');
    await first.release();
    const l2 = await second;
    expect(order).toEqual(['release', 'second']);
    await l2.release();
    expect(existsSync(file)).toBe(false);
  });

  it("a lock left by a process that died (same host) is broken; one held by a live process is not", async () => {
    const file = path.join(tmp, 'dead.lock');
    writeFileSync(file, `999999999\n${os.hostname()}\n0\n`);
    const l = await acquireLock(file);
    expect(readFileSync(file, 'utf8').split('\n')[0]).toBe(String(process.pid));
    await l.release();
    // Held by a live process (our parent): still waiting after other work has run.
    const live = path.join(tmp, 'live.lock');
    writeFileSync(live, `${process.ppid}\n${os.hostname()}\n0\n`);
    const ctrl = new AbortController();
    const p = acquireLock(live, ctrl.signal);
    let settled = false;
    void p.then(() => (settled = true), () => (settled = true));
    for (let i = 0; i < 5; i++) await new Promise((r) => setTimeout(r, 60));
    expect(settled).toBe(false);
    ctrl.abort();
    await expect(p).rejects.toMatchObject({ code: 'CANCELLED' });
  });
});
