import { existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import * as zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { ImageLayers } from '../../../shared/layers/engine.js';
import type { LayerProgress } from '../../../shared/layers/types.js';
import { digestOf, type Digest } from '../../../shared/oci/digest.js';
import type { Descriptor } from '../../../shared/oci/types.js';
import type { BlobReadOptions, ImageSource } from '../../../shared/sources/types.js';
import { fx, noSharedFixtures } from '../../helpers/fixtures.js';
import { makeTar, tarMembers } from './helpers.js';

/** An in-memory source: blobs by digest (optionally stored under a wrong digest to test verification). */
class MemorySource implements ImageSource {
  readonly kind = 'oci-layout' as const;
  readonly location = 'memory';
  blobs = new Map<Digest, Buffer>();
  async roots() {
    return [];
  }
  async openBlob(desc: Descriptor, opts: BlobReadOptions = {}): Promise<Readable> {
    const b = this.blobs.get(desc.digest);
    if (!b) throw Object.assign(new Error('missing'), { code: 'BLOB_MISSING' });
    const s = b.subarray(opts.start ?? 0, opts.end ?? b.length);
    const parts: Buffer[] = [];
    for (let i = 0; i < s.length; i += 4096) parts.push(s.subarray(i, i + 4096));
    return Readable.from(parts);
  }
  async statBlob(d: Digest) {
    return this.blobs.get(d)?.length;
  }
  async close() {}
}

const tmp = (p: string) => mkdtempSync(path.join(os.tmpdir(), p));

async function image(layers: { tar: Buffer; compress?: 'gzip' | 'none'; corrupt?: boolean; badDiffId?: boolean }[], opts: { workers?: number; cacheDir?: string; restartSpan?: number } = {}) {
  const src = new MemorySource();
  const descs: Descriptor[] = [];
  const diffIds: Digest[] = [];
  for (const l of layers) {
    const blob = l.compress === 'gzip' ? zlib.gzipSync(l.tar) : l.tar;
    const d = digestOf(blob);
    src.blobs.set(d, l.corrupt ? Buffer.concat([blob.subarray(0, blob.length - 1), Buffer.from([blob[blob.length - 1]! ^ 1])]) : blob);
    descs.push({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: d, size: blob.length });
    diffIds.push(l.badDiffId ? digestOf('nope') : digestOf(l.tar));
  }
  const cacheDir = opts.cacheDir ?? tmp('oci-cache-');
  return { src, descs, diffIds, cacheDir, layers: new ImageLayers(src, descs, diffIds, { cacheDir, workers: opts.workers ?? 2, ...(opts.restartSpan !== undefined ? { restartSpan: opts.restartSpan } : {}) }) };
}

describe('ImageLayers', () => {
  it('indexes layers in worker threads with per-layer progress, then reopens them from the cache', async () => {
    const t0 = await makeTar([{ name: 'etc/', type: 'directory' }, { name: 'etc/os-release', content: 'ID=test\n' }, { name: 'big', content: Buffer.alloc(3_000_000, 3) }]);
    const t1 = await makeTar([{ name: 'etc/os-release', content: 'ID=changed\n' }, { name: 'new', content: 'n' }]);
    const img = await image([{ tar: t0, compress: 'gzip' }, { tar: t1, compress: 'gzip' }]);
    const progress: LayerProgress[] = [];
    img.layers.on('progress', (p: LayerProgress) => progress.push(p));
    await img.layers.index();
    expect(img.layers.layers.map((l) => l.state)).toEqual(['ready', 'ready']);
    expect(img.layers.layers.every((l) => l.fromCache === false)).toBe(true);
    expect(img.layers.layers.map((l) => l.indexedIn)).toEqual(['worker', 'worker']);
    for (const i of [0, 1]) expect(progress.some((p) => p.layer === i && p.done && p.entries === img.layers.indexes[i]!.count)).toBe(true);
    expect((await img.layers.readFileBuffer('/etc/os-release')).toString()).toBe('ID=changed\n');
    expect((await img.layers.readFileBuffer('etc/os-release', { layer: 0 })).toString()).toBe('ID=test\n');

    const again = new ImageLayers(img.src, img.descs, img.diffIds, { cacheDir: img.cacheDir });
    await again.index();
    expect(again.layers.every((l) => l.fromCache)).toBe(true);
    expect([...again.mergedTree().walk()]).toEqual([...img.layers.mergedTree().walk()]);
  });

  it('a cached index stands for a layer only once this source\'s blob hashes to its digest', async () => {
    const t0 = await makeTar([{ name: 'a', content: 'A' }]);
    const t1 = await makeTar([{ name: 'b', content: 'B'.repeat(5000) }]);
    const img = await image([{ tar: t0 }, { tar: t1, compress: 'gzip' }], { workers: 0 });
    await img.layers.index();
    expect(img.layers.layers.map((l) => l.state)).toEqual(['ready', 'ready']);
    // A second source with the same descriptors: layer 0 tampered (same size), layer 1 gone.
    const other = new MemorySource();
    const raw = img.src.blobs.get(img.descs[0]!.digest)!;
    const flipped = Buffer.from(raw);
    flipped[0] = flipped[0]! ^ 0xff;
    other.blobs.set(img.descs[0]!.digest, flipped);
    const again = new ImageLayers(other, img.descs, img.diffIds, { cacheDir: img.cacheDir, workers: 0 });
    await again.index();
    expect(again.layers.map((l) => l.state)).toEqual(['failed', 'failed']);
    expect(again.layers[0]!.problems[0]!.code).toBe('DIGEST_MISMATCH');
    expect(again.layers[1]!.problems[0]!.code).toBe('BLOB_MISSING');
    expect(again.indexes).toEqual([undefined, undefined]);
    // The cache itself is untouched: the good source still opens from it.
    const good = new ImageLayers(img.src, img.descs, img.diffIds, { cacheDir: img.cacheDir, workers: 0 });
    await good.index();
    expect(good.layers.map((l) => [l.state, l.fromCache])).toEqual([['ready', true], ['ready', true]]);
  });

  it('a content-addressed source (a registry) browses cached layers without reading them; a file read by range is still checked', async () => {
    const t0 = await makeTar([{ name: 'a', content: 'A' }]);
    const t1 = await makeTar([{ name: 'b', content: 'B'.repeat(5000) }]);
    const img = await image([{ tar: t0 }, { tar: t1, compress: 'gzip' }], { workers: 0 });
    await img.layers.index();
    const reads: string[] = [];
    // Serves the same bytes, but records every read; layer 1's bytes are swapped for another file's.
    const remote = new (class extends MemorySource {
      readonly contentAddressed = true;
      override async openBlob(desc: Descriptor, opts: BlobReadOptions = {}): Promise<Readable> {
        reads.push(desc.digest);
        return super.openBlob(desc, opts);
      }
    })();
    remote.blobs = new Map(img.src.blobs);
    const again = new ImageLayers(remote, img.descs, img.diffIds, { cacheDir: img.cacheDir, workers: 0 });
    await again.index();
    expect(again.layers.map((l) => [l.state, l.fromCache])).toEqual([['ready', true], ['ready', true]]);
    expect(reads).toEqual([]);
    expect((await again.readFileBuffer('b')).toString()).toBe('B'.repeat(5000));
    expect(reads).toEqual([img.descs[1]!.digest]);
    // Bytes that are not the indexed ones (a lying registry) fail the read, never pass as the file.
    remote.blobs.set(img.descs[1]!.digest, zlib.gzipSync(await makeTar([{ name: 'b', content: 'X'.repeat(5000) }])));
    await expect(again.readFileBuffer('b')).rejects.toMatchObject({ code: expect.stringMatching(/^(LAYER_INDEX_CORRUPT|DIGEST_MISMATCH|LAYER_DECODE_FAILED)$/) as unknown });
  });

  it('extraction writes layers side by side; one failing layer stops the rest and nothing is left behind', async () => {
    const tars = await Promise.all([0, 1, 2, 3].map((k) => makeTar(Array.from({ length: 300 }, (_, i) => ({ name: `l${k}/f${i}`, content: `layer ${k} file ${i}\n`.repeat(50) })))));
    const img = await image(tars.map((tar) => ({ tar, compress: 'gzip' as const })), { workers: 0 });
    await img.layers.index();
    const ok = path.join(tmp('oci-lanes-'), 'root');
    const r = await img.layers.extract(ok);
    expect(r.files).toBe(1200);
    for (const k of [0, 3]) expect(readFileSync(path.join(ok, `l${k}/f299`), 'utf8')).toBe(`layer ${k} file 299\n`.repeat(50));
    // Layer 2's blob disappears after indexing: its lane fails, the others stop, the target is removed.
    img.src.blobs.delete(img.descs[2]!.digest);
    const bad = path.join(tmp('oci-lanes-'), 'root');
    await expect(img.layers.extract(bad)).rejects.toMatchObject({ code: 'EXTRACT_FAILED' });
    expect(existsSync(bad)).toBe(false);
  });

  it('extracts a hard link whose tar target names a symlinked parent as a real hard link', async () => {
    const img = await image([{ tar: await makeTar([{ name: 'usr/lib/', type: 'directory' }, { name: 'lib', type: 'symlink', linkname: 'usr/lib' }]) }, { tar: await makeTar([{ name: 'lib/x', content: 'xx' }, { name: 'lib/y', type: 'link', linkname: 'lib/x' }]) }]);
    await img.layers.index();
    const out = path.join(tmp('oci-hl-'), 'root');
    const r = await img.layers.extract(out);
    expect(r.hardlinks).toBe(1);
    expect(statSync(path.join(out, 'usr/lib/y')).ino).toBe(statSync(path.join(out, 'usr/lib/x')).ino);
  });

  it('one worker serves several layers in turn', async () => {
    const tars = await Promise.all([0, 1, 2].map((k) => makeTar([{ name: `f${k}`, content: `c${k}` }])));
    const img = await image(tars.map((tar) => ({ tar, compress: 'gzip' as const })), { workers: 1 });
    await img.layers.index();
    expect(img.layers.layers.map((l) => [l.state, l.indexedIn])).toEqual([0, 1, 2].map(() => ['ready', 'worker']));
    expect([...img.layers.mergedTree().walk()]).toEqual(['f0', 'f1', 'f2']);
  });

  it('a corrupt blob is a problem on that layer only; the rest stays browsable', async () => {
    const img = await image([{ tar: await makeTar([{ name: 'a', content: 'A' }]) }, { tar: await makeTar([{ name: 'b', content: 'B' }]), compress: 'gzip', corrupt: true }, { tar: await makeTar([{ name: 'c', content: 'C' }]), badDiffId: true }, { tar: await makeTar([{ name: 'd', content: 'D' }]), corrupt: true }], { workers: 0 });
    await img.layers.index();
    const [l0, l1, l2] = img.layers.layers;
    expect(l0!.state).toBe('ready');
    expect(l1!.problems.map((p) => p.code)).toContain('DIGEST_MISMATCH');
    expect(l2!.problems.map((p) => p.code)).toContain('DIFFID_MISMATCH');
    // An uncompressed layer's diff_id is its (verified) digest: a corrupt raw blob is still caught.
    expect(img.layers.layers[3]!.problems.map((p) => p.code)).toContain('DIGEST_MISMATCH');
    expect(img.layers.mergedTree().has('a')).toBe(true);
    expect((await img.layers.readFileBuffer('a')).toString()).toBe('A');
    // Untrusted indexes are never persisted.
    const again = new ImageLayers(img.src, img.descs, img.diffIds, { cacheDir: img.cacheDir, workers: 0 });
    await again.index();
    expect(again.layers.map((l) => !!l.fromCache)).toEqual([true, false, false, false]);
  });

  it('a decompression bomb is a DECOMPRESSION_BOMB problem on its layer; the others are indexed', async () => {
    const src = new MemorySource();
    const ok = await makeTar([{ name: 'ok', content: 'fine' }]);
    const bomb = zlib.gzipSync(await makeTar([{ name: 'zeros', content: Buffer.alloc(30_000_000) }]));
    const descs = [ok, bomb].map((b) => {
      src.blobs.set(digestOf(b), b);
      return { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: digestOf(b), size: b.length };
    });
    const layers = new ImageLayers(src, descs, [undefined, undefined], { cacheDir: tmp('oci-bomb-'), workers: 0, limits: { maxRatio: 100, ratioGrace: 1_000_000 } });
    await layers.index();
    expect(layers.layers[1]!.problems[0]!.code).toBe('DECOMPRESSION_BOMB');
    expect(layers.layers[0]!.state).toBe('ready');
    expect((await layers.readFileBuffer('ok')).toString()).toBe('fine');
  });

  it('reads byte ranges, follows hard links and in-root symlinks, never outside the root', async () => {
    const content = Buffer.from(Array.from({ length: 200_000 }, (_, i) => i % 251));
    const t = await makeTar([
      { name: 'data/file.bin', content },
      { name: 'data/hard', type: 'link', linkname: 'data/file.bin' },
      { name: 'link', type: 'symlink', linkname: '../../../data/file.bin' },
      { name: 'abs', type: 'symlink', linkname: '/data/hard' },
      { name: 'loop1', type: 'symlink', linkname: 'loop2' },
      { name: 'loop2', type: 'symlink', linkname: '/loop1' },
    ]);
    // gzip with restart points every 64 KiB, gzip with none (decoded from the start), a raw tar.
    for (const [compress, restartSpan] of [['gzip', 65_536], ['gzip', 0], ['none', undefined]] as const) {
      const img = await image([{ tar: t, compress }, { tar: await makeTar([{ name: 'x', content: 'x' }]) }], { ...(restartSpan !== undefined ? { restartSpan } : {}) });
      await img.layers.index();
      for (const p of ['data/file.bin', 'data/hard', 'link', 'abs']) {
        expect((await img.layers.readFileBuffer(p, { start: 1000, end: 1010 })).equals(content.subarray(1000, 1010))).toBe(true);
      }
      expect((await img.layers.readFileBuffer('abs')).equals(content)).toBe(true);
      await expect(img.layers.readFileBuffer('data')).rejects.toMatchObject({ code: 'PATH_NOT_FOUND' });
      await expect(img.layers.readFileBuffer('../etc/passwd')).rejects.toMatchObject({ code: 'PATH_ESCAPE' });
      await expect(img.layers.readFileBuffer('loop1')).rejects.toMatchObject({ code: 'PATH_NOT_FOUND' });
    }
  });

  it('extracts the merged rootfs with whiteouts applied, links kept, and refuses a non-empty target', async () => {
    const img = await image([
      { tar: await makeTar([{ name: 'etc/', type: 'directory' }, { name: 'etc/keep', content: 'k' }, { name: 'etc/gone', content: 'g' }, { name: 'bin/tool', content: 'T', mode: 0o4755 }, { name: 'ro/', type: 'directory', mode: 0o555 }, { name: 'ro/f', content: 'f' }]), compress: 'gzip' },
      { tar: await makeTar([{ name: 'etc/.wh.gone' }, { name: 'bin/alias', type: 'link', linkname: 'bin/tool' }, { name: 'sh', type: 'symlink', linkname: '/bin/tool' }, { name: 'p', type: 'fifo' }]) },
    ]);
    await img.layers.index();
    const out = path.join(tmp('oci-x-'), 'root');
    const seen: { files: number; filesTotal: number }[] = [];
    const r = await img.layers.extract(out, { setuid: true, onProgress: (p) => seen.push(p) });
    expect(seen.at(-1)).toMatchObject({ files: r.files, filesTotal: r.files, bytes: r.bytes });
    expect(readdirSync(path.join(out, 'etc'))).toEqual(['keep']);
    expect(readFileSync(path.join(out, 'bin/alias'), 'utf8')).toBe('T');
    expect(statSync(path.join(out, 'bin/alias')).ino).toBe(statSync(path.join(out, 'bin/tool')).ino);
    expect(statSync(path.join(out, 'bin/tool')).mode & 0o7777).toBe(0o4755);
    expect(statSync(path.join(out, 'ro')).mode & 0o777).toBe(0o555);
    expect(readlinkSync(path.join(out, 'sh'))).toBe('/bin/tool');
    if (process.getuid?.() !== 0) expect(r.skipped.map((s) => s.path)).toEqual(['p']);
    await expect(img.layers.extract(out)).rejects.toMatchObject({ code: 'TARGET_EXISTS' });
    const sub = path.join(tmp('oci-x-'), 'sub');
    await img.layers.extract(sub, { path: 'etc' });
    expect(readdirSync(sub)).toEqual(['etc']);
    await expect(img.layers.extract(path.join(tmp('oci-x-'), 'n'), { path: 'nope' })).rejects.toMatchObject({ code: 'PATH_NOT_FOUND' });
  });

  it.skipIf(noSharedFixtures)('extracting the buildah parent-symlink tar writes nothing outside the target', async () => {
    const tar = readFileSync(fx('buildah/tests/conformance/testdata/add/parent-symlink/foobar.tar'));
    const img = await image([{ tar }]);
    await img.layers.index();
    const base = tmp('oci-esc-');
    const out = path.join(base, 'a', 'b', 'root');
    await img.layers.extract(out);
    expect(readFileSync(path.join(out, 'etc/myfile')).equals((await tarMembers(fx('buildah/tests/conformance/testdata/add/parent-symlink/foobar.tar'))).get('symldir1/etc/myfile')!)).toBe(true);
    expect(lstatSync(path.join(out, 'symldir1')).isSymbolicLink()).toBe(true);
    expect(existsSync(path.join(base, 'a', 'b', 'etc'))).toBe(false);
    expect(readdirSync(path.join(base, 'a', 'b'))).toEqual(['root']);
  });

  it('indexing and extraction stop with CANCELLED when the signal aborts', async () => {
    const big = await makeTar([{ name: 'a', content: Buffer.alloc(8_000_000, 1) }, { name: 'b', content: 'b' }]);
    for (const workers of [0, 2]) {
      const img = await image([{ tar: big, compress: 'gzip' }, { tar: big }], { workers });
      const ac = new AbortController();
      ac.abort();
      await expect(img.layers.index({ signal: ac.signal })).rejects.toMatchObject({ code: 'CANCELLED' });
      await img.layers.index();
      expect(img.layers.layers.map((l) => l.state)).toEqual(['ready', 'ready']);
      const out = path.join(tmp('oci-cancel-'), 'root');
      await expect(img.layers.extract(out, { signal: ac.signal })).rejects.toMatchObject({ code: 'CANCELLED' });
      expect(existsSync(out)).toBe(false);
    }
  });

  it('removes partial output when extraction fails', async () => {
    const img = await image([{ tar: await makeTar([{ name: 'a/b', content: 'x'.repeat(10_000) }, { name: 'c', content: 'y' }]) }]);
    await img.layers.index();
    // Truncate the blob behind the engine's back: the content read fails mid-way.
    const d = img.descs[0]!.digest;
    img.src.blobs.set(d, img.src.blobs.get(d)!.subarray(0, 1500));
    const out = path.join(tmp('oci-fail-'), 'root');
    await expect(img.layers.extract(out)).rejects.toMatchObject({ code: 'EXTRACT_FAILED' });
    expect(existsSync(out)).toBe(false);
    const pre = tmp('oci-fail2-');
    writeFileSync(path.join(tmp('oci-unrelated-'), 'x'), 'x');
    await expect(img.layers.extract(pre)).rejects.toMatchObject({ code: 'EXTRACT_FAILED' });
    expect(readdirSync(pre)).toEqual([]);
  });
});
