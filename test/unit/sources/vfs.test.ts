import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DirVfs } from '../../../shared/sources/vfs.js';
import { tmpDir } from './tar-build.js';
import { readAll } from './streams.js';

const tmp = tmpDir();
afterAll(() => tmp.cleanup());

describe('DirVfs', () => {
  const root = path.join(tmp.dir, 'root');
  mkdirSync(path.join(root, 'sub'), { recursive: true });
  writeFileSync(path.join(root, 'sub', 'f'), 'hello world');
  writeFileSync(path.join(tmp.dir, 'outside'), 'secret');
  symlinkSync('../outside', path.join(root, 'escape'));
  symlinkSync('sub/f', path.join(root, 'inside'));

  it('reads ranges [start, end), including an empty range', async () => {
    const vfs = new DirVfs(root);
    expect((await readAll(await vfs.createReadStream('sub/f', { start: 6, end: 11 }))).toString()).toBe('world');
    expect((await readAll(await vfs.createReadStream('sub/f', { start: 0, end: 0 }))).length).toBe(0);
    expect((await readAll(await vfs.createReadStream('sub/f', { start: 5, end: 3 }))).length).toBe(0);
  });

  it('follows symlinks inside the root and refuses ones that leave it', async () => {
    const vfs = new DirVfs(root);
    expect((await vfs.readFile('inside')).toString()).toBe('hello world');
    expect(await vfs.stat('escape')).toBeUndefined();
    expect(await vfs.stat('../outside')).toBeUndefined();
    await expect(vfs.readFile('escape')).rejects.toMatchObject({ code: 'BLOB_MISSING' });
  });
});
