import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import * as zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { openDecoded } from '../../../shared/layers/decode.js';
import { deserializeIndex, IndexStore, serializeIndex, indexPath } from '../../../shared/layers/store.js';
import { decodeName, encodeName } from '../../../shared/tar/names.js';
import { FLAG } from '../../../shared/layers/types.js';
import { digestOf } from '../../../shared/oci/digest.js';
import { fx, noSharedFixtures } from '../../helpers/fixtures.js';
import { indexBuffer, makeTar } from './helpers.js';

const D = `sha256:${'1'.repeat(64)}`;
async function drain(buf: Buffer, opts: Parameters<typeof openDecoded>[2] = {}) {
  const chunks: Buffer[] = [];
  for (let i = 0; i < buf.length; i += 1000) chunks.push(buf.subarray(i, i + 1000));
  const d = await openDecoded(Readable.from(chunks), D, opts);
  const out: Buffer[] = [];
  for await (const c of d.stream) out.push(c as Buffer);
  return { data: Buffer.concat(out), stats: d.stats };
}

function fixChecksum(tar: Buffer, at: number): void {
  tar.fill(0x20, at + 148, at + 156);
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += tar[at + i]!;
  tar.write(sum.toString(8).padStart(6, '0') + '\0 ', at + 148, 'latin1');
}

describe('decode', () => {
  it('reads multi-member gzip (eStargz style) and hashes the uncompressed stream', async () => {
    const a = Buffer.from('hello '.repeat(1000));
    const b = Buffer.from('world');
    const r = await drain(Buffer.concat([zlib.gzipSync(a), zlib.gzipSync(b)]));
    expect(r.data.equals(Buffer.concat([a, b]))).toBe(true);
    expect(r.stats.compression).toBe('gzip');
    expect(r.stats.diffId).toBe(digestOf(Buffer.concat([a, b])));
  });

  it.skipIf(noSharedFixtures)('decodes zstd by magic bytes to the same bytes as the plain tar', async () => {
    const zst = readFileSync(fx('ggcr/pkg/crane/testdata/content.tar.zst'));
    const r = await drain(zst);
    expect(r.stats.compression).toBe('zstd');
    const idx = await indexBuffer(r.data);
    expect(idx.paths.length).toBeGreaterThan(0);
    // Our index of the zstd blob equals the index of its decoded bytes as a raw tar.
    const idx2 = await indexBuffer(zst);
    expect(idx2.paths).toEqual(idx.paths);
    expect(idx2.meta.diffId).toBe(digestOf(r.data));
  });

  it('truncated gzip and zstd give LAYER_DECODE_FAILED', async () => {
    const gz = zlib.gzipSync(Buffer.alloc(100_000, 7));
    await expect(drain(gz.subarray(0, gz.length - 10))).rejects.toMatchObject({ code: 'LAYER_DECODE_FAILED' });
    if (!noSharedFixtures) {
      const zst = readFileSync(fx('ggcr/pkg/crane/testdata/content.tar.zst'));
      await expect(drain(zst.subarray(0, 60))).rejects.toMatchObject({ code: 'LAYER_DECODE_FAILED' });
    }
  });

  it('stops a decompression bomb with DECOMPRESSION_BOMB', async () => {
    const bomb = zlib.gzipSync(Buffer.alloc(20_000_000));
    await expect(drain(bomb, { limits: { maxRatio: 100, ratioGrace: 1_000_000 } })).rejects.toMatchObject({ code: 'DECOMPRESSION_BOMB' });
    await expect(drain(bomb, { limits: { maxBytes: 5_000_000 } })).rejects.toMatchObject({ code: 'DECOMPRESSION_BOMB' });
  });

  it('a diff_id mismatch is DIFFID_MISMATCH', async () => {
    await expect(drain(zlib.gzipSync(Buffer.from('x')), { diffId: `sha256:${'2'.repeat(64)}` })).rejects.toMatchObject({ code: 'DIFFID_MISMATCH' });
  });
});

describe('tar index', () => {
  it('records types, modes with setuid/sticky, owners, link targets, xattrs, long names and offsets', async () => {
    const long = `deep/${'d'.repeat(120)}/${'f'.repeat(150)}.txt`;
    const tar = await makeTar([
      { name: './usr/', type: 'directory' },
      { name: './usr/bin/su', content: 'SU', mode: 0o4755, uid: 0, gid: 0 },
      { name: 'tmp/', type: 'directory', mode: 0o1777 },
      { name: '/abs/file', content: 'abs', uid: 1000, gid: 1001 },
      { name: 'usr/bin/su2', type: 'link', linkname: './usr/bin/su' },
      { name: 'usr/bin/sh', type: 'symlink', linkname: '/bin/busybox' },
      { name: 'dev/null', type: 'character-device', mode: 0o666 },
      { name: long, content: 'long' },
      { name: 'x', content: 'cap', pax: { 'SCHILY.xattr.security.capability': 'abc' } },
    ]);
    const idx = await indexBuffer(tar);
    const byPath = new Map([...idx.entries()].map((e) => [e.path, e]));
    expect([...byPath.keys()]).toEqual(['usr', 'usr/bin/su', 'tmp', 'abs/file', 'usr/bin/su2', 'usr/bin/sh', 'dev/null', long, 'x']);
    expect(byPath.get('usr/bin/su')).toMatchObject({ type: 'file', mode: 0o4755, size: 2 });
    expect(byPath.get('tmp')).toMatchObject({ type: 'dir', mode: 0o1777 });
    expect(byPath.get('abs/file')).toMatchObject({ uid: 1000, gid: 1001 });
    expect(byPath.get('usr/bin/su2')).toMatchObject({ type: 'hardlink', linkname: 'usr/bin/su' });
    expect(byPath.get('usr/bin/sh')).toMatchObject({ type: 'symlink', linkname: '/bin/busybox' });
    expect(byPath.get('dev/null')!.type).toBe('char');
    expect(byPath.get('x')!.xattrs).toEqual({ 'security.capability': 'abc' });
    // Offsets point at the content in the uncompressed stream.
    for (const [p, want] of [['usr/bin/su', 'SU'], [long, 'long'], ['abs/file', 'abs']] as const) {
      const e = byPath.get(p)!;
      expect(tar.toString('latin1', e.offset, e.offset + e.size)).toBe(want);
    }
    // Content hash tells equal content from different content.
    expect(byPath.get('usr/bin/su')!.hash).not.toBe(byPath.get('abs/file')!.hash);
  });

  it.skipIf(noSharedFixtures)('marks whiteouts and opaque markers (regclient layer-wh.tar)', async () => {
    const idx = await indexBuffer(readFileSync(fx('regclient/testdata/layer-wh.tar')));
    const e = [...idx.entries()];
    expect(e.find((x) => x.path === 'layer2.txt')!.flags & FLAG.whiteout).toBeTruthy();
    expect(e.find((x) => x.path === 'exdir' && x.flags & FLAG.opaque)).toBeTruthy();
  });

  it('refuses ../ names, keeps the rest, and reads non-UTF-8 names losslessly', async () => {
    const tar = await makeTar([{ name: '../evil', content: 'x' }, { name: 'a/../../b', content: 'y' }, { name: 'cafX.txt', content: 'z' }, { name: 'ok', content: 'ok' }]);
    const at = 512 * 4; // third entry header: two 1-byte entries take header + 1 block each
    expect(tar.toString('latin1', at, at + 8)).toBe('cafX.txt');
    tar[at + 3] = 0xe9;
    fixChecksum(tar, at);
    const idx = await indexBuffer(tar);
    expect(idx.paths).toEqual(['caf\udce9.txt', 'ok']);
    expect(encodeName(idx.paths[0]!)).toEqual(Buffer.from('caf\xe9.txt', 'latin1'));
    expect(idx.cols.flags[0]! & FLAG.nonUtf8).toBeTruthy();
    expect(idx.meta.problems.filter((p) => p.code === 'PATH_ESCAPE')).toHaveLength(2);
  });

  it('decodes non-UTF-8 bytes reversibly, so a UTF-8 parent keeps its spelling and Latin-1 never collides with UTF-8', () => {
    const raw = Buffer.concat([Buffer.from('d\u00e9/bad-'), Buffer.from([0xff]), Buffer.from('-name')]);
    expect(decodeName(raw)).toBe('d\u00e9/bad-\udcff-name');
    expect(encodeName(decodeName(raw))).toEqual(raw);
    expect(decodeName(Buffer.concat([Buffer.from([0xff]), Buffer.from('/ok')]))).toBe('\udcff/ok');
    expect(decodeName(Buffer.from('plain/\u65e5'))).toBe('plain/\u65e5');
    expect(decodeName(Buffer.from([0x63, 0xe9]))).not.toBe(decodeName(Buffer.from('c\u00e9')));
  });

  it('a corrupt header keeps the entries before it and reports LAYER_TAR_INVALID', async () => {
    const tar = await makeTar([{ name: 'a', content: 'A' }, { name: 'b', content: 'B' }, { name: 'c', content: 'C' }]);
    tar[1024 + 10] = tar[1024 + 10]! ^ 0xff; // inside the second header
    const idx = await indexBuffer(tar);
    expect(idx.paths).toEqual(['a']);
    expect(idx.meta.complete).toBe(false);
    expect(idx.meta.problems[0]!.code).toBe('LAYER_TAR_INVALID');
  });

  it('a tar cut in the middle of an entry is reported, entries before it kept', async () => {
    const tar = await makeTar([{ name: 'a', content: 'A' }, { name: 'b', content: Buffer.alloc(5000, 1) }]);
    const idx = await indexBuffer(tar.subarray(0, 2048));
    expect(idx.paths).toEqual(['a', 'b']);
    expect(idx.meta.complete).toBe(false);
  });

  it.skipIf(noSharedFixtures)('empty names (buildah dir-not-dir) and duplicate entries (moby collision) are handled', async () => {
    const e = await indexBuffer(readFileSync(fx('buildah/tests/conformance/testdata/add/dir-not-dir/test.tar')));
    expect(e.meta.problems.some((p) => /empty name/.test(p.message))).toBe(true);
    expect(e.paths).toContain('app/content/file');
    const c = await indexBuffer(readFileSync(fx('moby/daemon/builder/remotecontext/internal/tarsum/testdata/collision/collision-0.tar')));
    expect(c.paths.filter((p) => p === c.paths[0]).length).toBeGreaterThan(1);
  });

  it('persists, validates and ignores damaged cache files', async () => {
    const tar = await makeTar([{ name: 'a/b', content: 'hello' }, { name: 'l', type: 'symlink', linkname: 'a/b' }]);
    const idx = await indexBuffer(tar);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'oci-idx-'));
    const store = new IndexStore(dir);
    await store.save(idx);
    const back = await store.load(idx.meta.digest);
    expect([...back!.entries()]).toEqual([...idx.entries()]);
    expect(await store.load(`sha256:${'9'.repeat(64)}`)).toBeUndefined();
    const file = indexPath(dir, idx.meta.digest);
    const bytes = readFileSync(file);
    bytes[bytes.length - 3] = bytes[bytes.length - 3]! ^ 1;
    writeFileSync(file, bytes);
    expect(await store.load(idx.meta.digest)).toBeUndefined();
    expect(deserializeIndex(serializeIndex(idx), `sha256:${'8'.repeat(64)}`)).toBeUndefined();
    expect(createHash('sha256').update(tar).digest('hex')).toBe(idx.meta.digest.slice(7));
  });
});
