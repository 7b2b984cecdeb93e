import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, lstatSync, mkdirSync, openSync, ftruncateSync, closeSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, truncateSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openImage } from '../../../shared/layers/open-image.js';
import { deserializeIndex, IndexStore, indexPath, serializeIndex } from '../../../shared/layers/store.js';
import { openCache } from '../../../shared/store/cache.js';
import { writeAtomic } from '../../../shared/store/fsafe.js';
import { seal } from '../../../shared/store/key.js';
import { makeTar } from '../layers/helpers.js';
import { writeLayout } from '../layers/layout.js';
import { kit, tmp } from './kit.js';

// Issue 15 item 7: files planted in the cache folder (a shared OCI_EXPLORER_CACHE, a CI cache restored
// from an untrusted build) are not believed, and nothing is ever written through a planted symlink.
// Each hostile file is built here; the image is then opened for real and must come out right.

const FILES = [
  { name: 'etc/passwd', content: 'root:x:0:0::/root:/bin/sh\n' },
  { name: 'bin/tool', content: Buffer.alloc(3000, 9) },
];

async function setup() {
  const k = kit();
  const layout = writeLayout([{ layers: [await makeTar(FILES)] }]);
  const other = writeLayout([{ layers: [await makeTar([{ name: 'other', content: 'x' }])] }]);
  const open = async (dir = layout) => {
    const r = await openImage(dir, {}, { cacheDir: k.root, workers: 0 });
    const out = { paths: [...r.image.layers.mergedTree().walk()], fromCache: r.image.layers.layers[0]!.fromCache, digest: r.image.layers.layers[0]!.descriptor.digest, index: r.image.layers.indexes[0]! };
    await r.close();
    return out;
  };
  const genuine = await open();
  const file = indexPath(k.root, genuine.digest);
  const rel = path.relative(k.root, file);
  return { k, layout, other, open, genuine, file, rel };
}

/** The image reads right, was indexed afresh, and the cache now holds a file we believe again. */
async function expectRebuilt(s: Awaited<ReturnType<typeof setup>>) {
  const r = await s.open();
  expect(r.fromCache).toBe(false);
  expect(r.paths).toEqual(s.genuine.paths);
  expect(lstatSync(s.file).isFile()).toBe(true);
  expect((await s.open()).fromCache).toBe(true);
}

describe('the cache is not trusted', () => {
  it('a planted index (".." paths, a 1 PB file) with a valid checksum but no valid seal is ignored and rebuilt', async () => {
    const s = await setup();
    const forged = deserializeIndex(serializeIndex(s.genuine.index), s.genuine.digest)!;
    forged.paths[0] = '../../../../etc/shadow';
    forged.cols.size[1] = 2 ** 50;
    const payload = serializeIndex(forged);
    expect(deserializeIndex(payload, s.genuine.digest)?.paths[0]).toBe('../../../../etc/shadow');
    for (const planted of [payload, Buffer.concat(seal(randomBytes(32), s.rel, payload))]) {
      writeFileSync(s.file, planted);
      await expectRebuilt(s);
    }
  });

  it("another layer's genuine index copied over this one (swapped bytes), or one cut short, is ignored", async () => {
    const s = await setup();
    const theirs = await s.open(s.other);
    copyFileSync(indexPath(s.k.root, theirs.digest), s.file);
    await expectRebuilt(s);
    truncateSync(s.file, statSync(s.file).size - 10);
    await expectRebuilt(s);
    const bytes = readFileSync(s.file);
    bytes[100] = bytes[100]! ^ 1;
    writeFileSync(s.file, bytes);
    await expectRebuilt(s);
  });

  it('a huge sparse file at an index name is neither read nor kept', async () => {
    const s = await setup();
    const fd = openSync(s.file, 'w');
    let size = 0;
    for (const n of [2 ** 50, 2 ** 40]) {
      try {
        ftruncateSync(fd, n);
        size = n;
        break;
      } catch {
        // ext4 stops at 16 TiB
      }
    }
    closeSync(fd);
    expect(size).toBeGreaterThan(2 ** 39);
    expect(await new IndexStore(s.k.root).load(s.genuine.digest)).toBeUndefined();
    const report = await s.k.cache.report();
    expect(report.entries.find((e) => e.files.includes(s.rel.split(path.sep).join('/')))?.kind).toBe('stale');
    await s.k.cache.prune();
    expect(existsSync(s.file)).toBe(false);
    await expectRebuilt(s);
  });

  it('a symlink planted at an index path is never followed: not read, not touched, replaced by a real file', async () => {
    const s = await setup();
    const outside = path.join(tmp('oci-outside-'), 'target');
    writeFileSync(outside, readFileSync(s.file)); // even a genuine file's bytes: a link is not believed
    utimesSync(outside, new Date(1_000_000_000_000), new Date(1_000_000_000_000));
    const before = readFileSync(outside);
    rmSync(s.file);
    symlinkSync(outside, s.file);
    await expectRebuilt(s);
    expect(readFileSync(outside)).toEqual(before);
    expect(statSync(outside).mtimeMs).toBe(1_000_000_000_000);
  });

  it('a symlinked folder inside the cache is never read or written through', async () => {
    const s = await setup();
    const outside = tmp('oci-outside-dir-');
    const v = path.dirname(path.dirname(s.file)); // layer-index/v<N>
    const planted = path.join(outside, 'sha256', path.basename(s.file));
    mkdirSync(path.dirname(planted));
    // Even genuine bytes behind a linked folder are not believed (nor their mtime set).
    copyFileSync(s.file, planted);
    utimesSync(planted, new Date(1_000_000_000_000), new Date(1_000_000_000_000));
    rmSync(v, { recursive: true });
    symlinkSync(outside, v);
    await expectRebuilt(s);
    expect(lstatSync(v).isDirectory()).toBe(true);
    expect(readdirSync(path.join(outside, 'sha256'))).toEqual([path.basename(s.file)]);
    expect(statSync(planted).mtimeMs).toBe(1_000_000_000_000);
  });

  it('a symlink planted at a temp file name is not written through (O_EXCL)', async () => {
    const dir = tmp('oci-tmp-link-');
    const outside = path.join(tmp('oci-outside-'), 'target');
    writeFileSync(outside, 'keep');
    const tmpName = path.join(dir, 'x.idx.1-1.0123456789ab.tmp');
    symlinkSync(outside, tmpName);
    await expect(writeAtomic(path.join(dir, 'x.idx'), [Buffer.from('data')], tmpName)).rejects.toMatchObject({ code: 'EEXIST' });
    expect(readFileSync(outside, 'utf8')).toBe('keep');
    expect(existsSync(path.join(dir, 'x.idx'))).toBe(false);
  });

  it('a FIFO at an index path does not block the load', async () => {
    const s = await setup();
    rmSync(s.file);
    execFileSync('mkfifo', [s.file]);
    await expectRebuilt(s);
  });

  it('a key file that is a symlink or readable by others is replaced, its target untouched', async () => {
    const s = await setup();
    const first = readFileSync(s.k.keyFile);
    chmodSync(s.k.keyFile, 0o644);
    const fresh = kit();
    // Another cache object with the same key file (as another process would be).
    const again = openCache(path.join(path.dirname(fresh.root), 'c2'), { keyFile: s.k.keyFile, env: {} });
    expect(await again.writeSealed('layer-index/v2/sha256/aa.idx', Buffer.from('x'))).toBe(true);
    expect(readFileSync(s.k.keyFile)).not.toEqual(first);
    expect(statSync(s.k.keyFile).mode & 0o777).toBe(0o600);
    const outside = path.join(tmp('oci-outside-'), 'key');
    writeFileSync(outside, randomBytes(32));
    chmodSync(outside, 0o600);
    const outsideBytes = readFileSync(outside);
    const linkKey = path.join(tmp('oci-cfg-'), 'cache.key');
    symlinkSync(outside, linkKey);
    const third = openCache(path.join(tmp('oci-c3-'), 'c'), { keyFile: linkKey, env: {} });
    expect(await third.writeSealed('layer-index/v2/sha256/aa.idx', Buffer.from('x'))).toBe(true);
    expect(lstatSync(linkKey).isFile()).toBe(true);
    expect(readFileSync(outside)).toEqual(outsideBytes);
  });
});
