import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, linkSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { crc64 } from '../../../shared/docker/crc64.js';
import { DiffFolder } from '../../../shared/docker/diff-folder.js';
import { findChangedFiles, rebuildTar, scanTarSplit, type ChangedFile } from '../../../shared/docker/tarsplit.js';
import { crc64Slow, disassemble, sha256, writeTarSplit } from './tarsplit-fixture.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'tarsplit-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function collect(s: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of s) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

/** A folder with the entries layer tars hold, tarred by GNU tar in `format`, and its tar-split. */
function makeLayer(name: string, format: 'pax' | 'gnu'): { diff: string; tar: Buffer; split: string } {
  const diff = path.join(tmp, name, 'diff');
  mkdirSync(path.join(diff, 'etc/conf.d'), { recursive: true });
  writeFileSync(path.join(diff, 'etc/empty'), '');
  writeFileSync(path.join(diff, 'etc/one'), 'x');
  writeFileSync(path.join(diff, 'etc/conf.d/511'), randomBytes(511));
  writeFileSync(path.join(diff, 'etc/conf.d/512'), randomBytes(512));
  writeFileSync(path.join(diff, 'etc/conf.d/513'), randomBytes(513));
  writeFileSync(path.join(diff, 'big.bin'), randomBytes(3 * 1024 * 1024 + 17)); // spans several 1 MiB chunks
  const deep = path.join(diff, 'a'.repeat(60), 'b'.repeat(60));
  mkdirSync(deep, { recursive: true });
  writeFileSync(path.join(deep, 'long-name-file.txt'), 'long path > 100 bytes\n');
  linkSync(path.join(diff, 'etc/one'), path.join(diff, 'etc/one-hardlink'));
  symlinkSync('one', path.join(diff, 'etc/one-symlink'));
  writeFileSync(Buffer.from(path.join(diff, 'etc/') + 'caf\xe9', 'latin1'), 'latin-1 name'); // not UTF-8
  writeFileSync(path.join(diff, '.wh.removed'), '');
  const tar = execFileSync('tar', [`--format=${format}`, '--sort=name', '-C', diff, '-cf', '-', '.'], { maxBuffer: 64 * 1024 * 1024 });
  const split = path.join(tmp, name, 'tar-split.json.gz');
  writeTarSplit(split, disassemble(tar));
  return { diff, tar, split };
}

describe('crc64 (Go crc64.ISO)', () => {
  it('matches the check value and a bitwise reference at every alignment', () => {
    expect(crc64(Buffer.from('123456789')).toString('hex')).toBe('b90956c775a41001'); // CRC-64/GO-ISO check
    const data = randomBytes(4099);
    for (let a = 0; a < 9; a++) for (const len of [0, 1, 7, 8, 9, 63, 1000]) expect(crc64(data.subarray(a, a + len)).equals(crc64Slow(data.subarray(a, a + len)))).toBe(true);
  });
});

describe('tar-split rebuild', () => {
  for (const format of ['pax', 'gnu'] as const) {
    it(`rebuilds a ${format} tar byte for byte (long names, hard links, non-UTF-8 names, multi-MiB files)`, async () => {
      const l = makeLayer(`whole-${format}`, format);
      const layout = await scanTarSplit(l.split);
      expect(layout.size).toBe(l.tar.length);
      expect(layout.files.some((f) => f.name.length > 100)).toBe(true);
      expect(layout.files.some((f) => f.nameRaw)).toBe(true);
      let verified = 0;
      const out = await collect(rebuildTar(l.split, new DiffFolder(l.diff), { expect: sha256(l.tar), onVerified: (n) => void (verified = n) }));
      expect(sha256(out)).toBe(sha256(l.tar));
      expect(verified).toBe(l.tar.length);
      expect(await findChangedFiles(l.split, new DiffFolder(l.diff))).toEqual([]);
    });
  }

  it('serves any byte range, including ones that start or end inside headers and file data', async () => {
    const l = makeLayer('ranges', 'pax');
    const diff = new DiffFolder(l.diff);
    const size = l.tar.length;
    const ranges: [number, number][] = [[0, 1], [0, 512], [511, 1025], [size - 1024, size], [size - 1, size], [100_000, 2_500_000], [0, size]];
    for (let i = 0; i < 20; i++) {
      const a = Math.floor(Math.random() * size);
      ranges.push([a, Math.min(size, a + 1 + Math.floor(Math.random() * 2_000_000))]);
    }
    for (const [a, b] of ranges) expect((await collect(rebuildTar(l.split, diff, { start: a, end: b }))).equals(l.tar.subarray(a, b)), `[${a}, ${b})`).toBe(true);
  });

  it('reports changed, shortened and missing files and keeps the tar shape', async () => {
    const l = makeLayer('tamper', 'pax');
    const one = path.join(l.diff, 'etc/conf.d/512');
    const b = readFileSync(one);
    b[100] = b[100]! ^ 0xff;
    writeFileSync(one, b); // same size, other content
    truncateSync(path.join(l.diff, 'etc/conf.d/513'), 100);
    unlinkSync(path.join(l.diff, 'etc/conf.d/511'));
    // Read without an expected digest, the tar keeps its shape (same length) but not its bytes.
    const kept = await collect(rebuildTar(l.split, new DiffFolder(l.diff)));
    expect(kept.length).toBe(l.tar.length);
    expect(sha256(kept)).not.toBe(sha256(l.tar));
    let got: ChangedFile[] = [];
    let actual = '';
    const err = new Error('changed');
    const onMismatch = (a: string, c: ChangedFile[]) => ((actual = a), (got = c), err);
    await expect(collect(rebuildTar(l.split, new DiffFolder(l.diff), { expect: sha256(l.tar), onMismatch }))).rejects.toBe(err);
    expect(actual).toBe(sha256(kept));
    expect(got.map((c) => [c.name.replace(/^\.\//, ''), c.why]).sort()).toEqual([
      ['etc/conf.d/511', 'missing'],
      ['etc/conf.d/512', 'content'],
      ['etc/conf.d/513', 'size'],
    ]);
  });

  it('refuses names that climb out of the diff folder or pass through a link', async () => {
    const dir = path.join(tmp, 'hostile');
    mkdirSync(path.join(dir, 'diff'), { recursive: true });
    writeFileSync(path.join(dir, 'secret'), 'outside');
    const split = path.join(dir, 'ts.json.gz');
    writeTarSplit(split, [{ type: 1, name: '../secret', size: 7, payload: null, position: 0 }]);
    await expect(collect(rebuildTar(split, new DiffFolder(path.join(dir, 'diff'))))).rejects.toMatchObject({ code: 'STORE_INVALID' });
    symlinkSync(dir, path.join(dir, 'diff', 'up'));
    writeTarSplit(split, [{ type: 1, name: 'up/secret', size: 7, payload: null, position: 0 }]);
    await expect(collect(rebuildTar(split, new DiffFolder(path.join(dir, 'diff'))))).rejects.toMatchObject({ code: 'STORE_INVALID', message: expect.stringContaining('outside') });
    // The last component is never followed: a symlink where a file should be reads as "not a regular file".
    symlinkSync(path.join(dir, 'secret'), path.join(dir, 'diff', 'link'));
    writeTarSplit(split, [{ type: 1, name: 'link', size: 7, payload: null, position: 0 }]);
    const out = await collect(rebuildTar(split, new DiffFolder(path.join(dir, 'diff'))));
    expect(out.equals(Buffer.alloc(7))).toBe(true);
    expect((await findChangedFiles(split, new DiffFolder(path.join(dir, 'diff'))))[0]?.why).toBe('not a regular file');
  });

  it('says a damaged tar-split is damaged (bad gzip, bad JSON, bad size)', async () => {
    const split = path.join(tmp, 'bad.json.gz');
    const diff = new DiffFolder(tmp);
    writeFileSync(split, Buffer.from('not gzip at all'));
    await expect(scanTarSplit(split)).rejects.toMatchObject({ code: 'STORE_INVALID', message: expect.stringContaining(split) });
    writeFileSync(split, zlib().gzipSync('{"type":2,"payload":"AA=="}\n{nope\n'));
    await expect(collect(rebuildTar(split, diff))).rejects.toMatchObject({ code: 'STORE_INVALID', message: expect.stringContaining('record 2') });
    writeFileSync(split, zlib().gzipSync('{"type":1,"name":"x","size":-4}\n'));
    await expect(scanTarSplit(split)).rejects.toMatchObject({ code: 'STORE_INVALID' });
    await expect(scanTarSplit(path.join(tmp, 'absent.json.gz'))).rejects.toMatchObject({ code: 'STORE_INVALID', message: expect.stringContaining('absent.json.gz') });
  });

  it('stops mid-layer when cancelled', async () => {
    const l = makeLayer('cancel', 'pax');
    const ac = new AbortController();
    let seen = 0;
    const s = rebuildTar(l.split, new DiffFolder(l.diff), { signal: ac.signal });
    await expect(
      (async () => {
        for await (const c of s) {
          seen += (c as Buffer).length;
          ac.abort();
        }
      })(),
    ).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(seen).toBeGreaterThan(0);
    expect(seen).toBeLessThan(l.tar.length);
  });

  it('names the path when a file cannot be read (EACCES as a non-root user)', async () => {
    const l = makeLayer('eacces', 'pax');
    chmodSync(path.join(l.diff, 'big.bin'), 0o000);
    if (process.getuid?.() !== 0) {
      await expect(collect(rebuildTar(l.split, new DiffFolder(l.diff)))).rejects.toMatchObject({ code: 'PERMISSION_DENIED', message: expect.stringContaining('big.bin') });
    } else {
      // Root ignores modes: the same read as another user is done in test/unit/docker/permissions.test.ts.
      expect((await collect(rebuildTar(l.split, new DiffFolder(l.diff)))).length).toBe(l.tar.length);
    }
  });
});

function zlib() {
  return { gzipSync: (s: string) => execFileSync('gzip', ['-c'], { input: s }) };
}
