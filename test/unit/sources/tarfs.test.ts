import { copyFileSync, existsSync, mkdirSync, promises as fsp, readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openTarVfs, TarVfs } from '../../../shared/sources/tarfs.js';
import { fx, noSharedFixtures, SHARED_FIXTURES } from '../../helpers/fixtures.js';
import { EOF, entry, header, padded, pax, run, runBytes, tmpDir } from './tar-build.js';
import { readAll, errorOf } from './streams.js';
import { tarFacts } from './tar-facts.js';

const tmp = tmpDir();
afterAll(() => tmp.cleanup());

function write(name: string, ...parts: Buffer[]): string {
  const f = path.join(tmp.dir, name);
  writeFileSync(f, Buffer.concat(parts));
  return f;
}

function allFixtureTars(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...allFixtureTars(p));
    else if (e.name.endsWith('.tar')) out.push(p);
  }
  return out;
}

describe.skipIf(noSharedFixtures)('TarVfs over every fixture tar agrees with tar-stream', () => {
  const tars = noSharedFixtures ? [] : allFixtureTars(SHARED_FIXTURES);
  it('finds the fixture tars', () => {
    expect(tars.length).toBeGreaterThanOrEqual(25);
  });
  for (const file of tars) {
    it(path.relative(SHARED_FIXTURES, file), async () => {
      const facts = await tarFacts(file);
      const vfs = await TarVfs.open(file);
      try {
        for (const [name, f] of facts) {
          if (f.type !== 'file' || !name) continue;
          expect(await vfs.stat(name), name).toBe(f.size);
          expect((await vfs.readFile(name)).equals(f.data), name).toBe(true);
          if (f.size > 2) {
            const mid = await readAll(await vfs.createReadStream(name, { start: 1, end: f.size - 1 }));
            expect(mid.equals(f.data.subarray(1, f.size - 1))).toBe(true);
          }
        }
        const listed = await vfs.list();
        for (const [name, f] of facts) if (f.type === 'file' && name) expect(listed).toContain(name);
        expect(facts.size).toBeGreaterThan(0);
      } finally {
        await vfs.close();
      }
    });
  }

  it('collision tars: duplicate names, the last entry wins', async () => {
    const f = fx('moby/daemon/builder/remotecontext/internal/tarsum/testdata/collision/collision-0.tar');
    const listing = run('tar', ['-tf', f]).trim().split('\n');
    expect(new Set(listing).size).toBeLessThan(listing.length); // the fixture really has duplicates
    const dup = listing.find((n, i) => listing.indexOf(n) !== i)!;
    const vfs = await TarVfs.open(f);
    // GNU tar extracts the last occurrence: compare with what it writes to stdout for --occurrence=last.
    const count = listing.filter((n) => n === dup).length;
    const last = run('tar', ['-xOf', f, `--occurrence=${count}`, dup]);
    expect((await vfs.readFile(dup)).toString()).toBe(last);
    await vfs.close();
  });

  it('test_link.tar: a symlinked layer.tar resolves relative to the link folder', async () => {
    const f = fx('ggcr/pkg/v1/tarball/testdata/test_link.tar');
    const facts = await tarFacts(f);
    const link = [...facts].find(([, e]) => e.type === 'symlink')!;
    expect(link[1].linkname).toMatch(/^\.\.\//);
    const target = path.posix.normalize(path.posix.join(path.posix.dirname(link[0]), link[1].linkname!));
    const vfs = await TarVfs.open(f);
    expect(await vfs.stat(link[0])).toBe(facts.get(target)!.size);
    expect((await vfs.readFile(link[0])).equals(facts.get(target)!.data)).toBe(true);
    await vfs.close();
  });
});

describe('TarVfs: tar dialects written by GNU tar', () => {
  const long = 'd'.repeat(60) + '/' + 'e'.repeat(60) + '/' + 'f'.repeat(70) + '.txt';
  const src = path.join(tmp.dir, 'src');
  const setup = (): void => {
    if (existsSync(src)) return;
    run('mkdir', ['-p', path.join(src, path.dirname(long)), path.join(src, 'sub')]);
    writeFileSync(path.join(src, long), 'long name content');
    writeFileSync(path.join(src, 'sub', 'a.txt'), 'A'.repeat(1000));
    run('ln', ['-s', 'a.txt', path.join(src, 'sub', 'link')]);
    run('ln', [path.join(src, 'sub', 'a.txt'), path.join(src, 'hard.txt')]);
  };
  for (const format of ['gnu', 'posix', 'ustar']) {
    it(`--format=${format}: long names, ./ prefixes, symlinks, hard links`, async () => {
      setup();
      const f = path.join(tmp.dir, `${format}.tar`);
      run('tar', [`--format=${format}`, '-cf', f, '-C', src, '.']);
      const vfs = await TarVfs.open(f);
      expect((await vfs.readFile(long)).toString()).toBe('long name content');
      expect((await vfs.readFile('./sub/a.txt')).toString()).toBe('A'.repeat(1000));
      expect((await vfs.readFile('sub/link')).toString()).toBe('A'.repeat(1000));
      // one of a.txt / hard.txt is a hard link to the other; both read the same bytes
      expect((await vfs.readFile('hard.txt')).toString()).toBe('A'.repeat(1000));
      expect(await vfs.list()).toEqual(expect.arrayContaining([long, 'sub/a.txt', 'hard.txt', 'sub/link']));
      await vfs.close();
    });
  }
});

describe('TarVfs: hand-made headers', () => {
  it('PAX path, linkpath and size override the header', async () => {
    const f = write(
      'pax.tar',
      pax({ path: 'very/' + 'p'.repeat(200), size: '5' }),
      header({ name: 'short', size: 0 }),
      padded('hello'),
      pax({ linkpath: 'very/' + 'p'.repeat(200) }),
      header({ name: 'ln', type: '2' }),
      EOF,
    );
    const vfs = await TarVfs.open(f);
    expect((await vfs.readFile('very/' + 'p'.repeat(200))).toString()).toBe('hello');
    expect((await vfs.readFile('ln')).toString()).toBe('hello');
    expect(await vfs.stat('short')).toBeUndefined();
    await vfs.close();
  });

  it('ustar prefix field joins the name', async () => {
    const f = write('prefix.tar', entry('file.txt', 'x', { prefix: 'a/b' }), EOF);
    const vfs = await TarVfs.open(f);
    expect((await vfs.readFile('a/b/file.txt')).toString()).toBe('x');
    await vfs.close();
  });

  it('GNU L and K records give long names and link targets', async () => {
    const name = 'L'.repeat(300);
    const f = write('gnu.tar', entry('././@LongLink', name + '\0', { type: 'L' }), entry('x', 'data'), entry('././@LongLink', name + '\0', { type: 'K' }), header({ name: 'h', type: '1' }), EOF);
    const vfs = await TarVfs.open(f);
    expect((await vfs.readFile(name)).toString()).toBe('data');
    expect((await vfs.readFile('h')).toString()).toBe('data');
    await vfs.close();
  });

  it('base-256 sizes', async () => {
    const f = write('b256.tar', header({ name: 'big', size: 700, base256: true }), padded(Buffer.alloc(700, 7)), entry('after', 'ok'), EOF);
    const vfs = await TarVfs.open(f);
    expect(await vfs.stat('big')).toBe(700);
    expect((await vfs.readFile('after')).toString()).toBe('ok');
    await vfs.close();
  });

  it('archives without end-of-archive blocks are read; symlink loops resolve to nothing', async () => {
    const f = write('noeof.tar', entry('a', '1'), header({ name: 'l1', type: '2', linkname: 'l2' }), header({ name: 'l2', type: '2', linkname: 'l1' }));
    const vfs = await TarVfs.open(f);
    expect((await vfs.readFile('a')).toString()).toBe('1');
    expect(await vfs.stat('l1')).toBeUndefined();
    await vfs.close();
  });

  it('a path through a symlinked folder resolves (a -> real, a/f)', async () => {
    const f = write('dirlink.tar', entry('real/f', 'through'), header({ name: 'a', type: '2', linkname: 'real' }), header({ name: 'b/c', type: '2', linkname: '../a' }), EOF);
    const vfs = await TarVfs.open(f);
    expect((await vfs.readFile('a/f')).toString()).toBe('through');
    expect((await vfs.readFile('b/c/f')).toString()).toBe('through');
    expect(await vfs.stat('a/missing')).toBeUndefined();
    await vfs.close();
  });

  it('a symlink cannot escape the archive root', async () => {
    const f = write('escape.tar', entry('etc/passwd', 'inside'), header({ name: 'x/l', type: '2', linkname: '../../../../etc/passwd' }), EOF);
    const vfs = await TarVfs.open(f);
    expect((await vfs.readFile('x/l')).toString()).toBe('inside');
    await vfs.close();
  });

  it('bad header checksum → ARCHIVE_INVALID with what to do', async () => {
    const bad = header({ name: 'second', size: 0 });
    bad[0] = 'X'.charCodeAt(0); // change the name after the checksum was computed
    const f = write('badsum.tar', entry('first', 'ok'), bad, EOF);
    const e = await errorOf(TarVfs.open(f));
    expect(e.code).toBe('ARCHIVE_INVALID');
    expect(e.message).toMatch(/byte 1024.*checksum.*again/);
  });

  it('a first block with ustar magic but a bad checksum is a damaged tar, not "not a tar"', async () => {
    const bad = header({ name: 'first', size: 0 });
    bad[1] = (bad[1] ?? 0) ^ 1;
    const e = await errorOf(TarVfs.open(write('badfirst.tar', bad, EOF)));
    expect(e.code).toBe('ARCHIVE_INVALID');
    expect(e.message).toMatch(/damaged tar header at byte 0/);
  });

  it('a huge PAX record is skipped unread: its entry is reported, the rest of the archive is read', async () => {
    const big = 50 * 1024 * 1024;
    const f = write('hugepax.tar', header({ name: 'PaxHeader', type: 'x', size: big }));
    truncateSync(f, 512 + big);
    await fsp.appendFile(f, Buffer.concat([entry('victim', 'v'), entry('ok', 'fine'), EOF]));
    const vfs = await TarVfs.open(f);
    expect(vfs.bytesScanned).toBeLessThan(1_000_000);
    expect([...vfs.entries.keys()]).toEqual(['ok']);
    expect((await vfs.readFile('ok')).toString()).toBe('fine');
    expect(vfs.problems).toEqual([{ offset: 0, name: 'victim', reason: expect.stringMatching(/PAX header is 52428800 bytes/) as unknown }]);
    await vfs.close();
  });
});

describe.skipIf(noSharedFixtures)('TarVfs: truncated archives', () => {
  const src = fx('ggcr/pkg/v1/tarball/testdata/test_image_1.tar');
  it('cut inside a header → ARCHIVE_TRUNCATED', async () => {
    const f = path.join(tmp.dir, 'cut-header.tar');
    copyFileSync(src, f);
    // header 0 + 512 bytes of data (a 330-byte config) → next header at 1024; cut in its middle
    truncateSync(f, 1024 + 100);
    const e = await errorOf(TarVfs.open(f));
    expect(e.code).toBe('ARCHIVE_TRUNCATED');
    expect(e.message).toMatch(/truncated.*again/);
  });
  it('cut inside entry data → ARCHIVE_TRUNCATED', async () => {
    const f = path.join(tmp.dir, 'cut-data.tar');
    copyFileSync(src, f);
    const listing = run('tar', ['-tvf', src]);
    expect(listing).toMatch(/10240 .*layer\.tar/);
    truncateSync(f, statSync(src).size - 8000); // inside the last entries' data
    const e = await errorOf(TarVfs.open(f));
    expect(e.code).toBe('ARCHIVE_TRUNCATED');
  });
});

describe('TarVfs: opening reads headers only', () => {
  it('a 200 MB entry is skipped by seeking, not read', async () => {
    const f = path.join(tmp.dir, 'big.tar');
    const size = 200 * 1024 * 1024;
    writeFileSync(f, header({ name: 'zeros.bin', size }));
    truncateSync(f, 512 + size); // sparse: the data is a hole
    await fsp.appendFile(f, Buffer.concat([entry('after.txt', 'tail'), EOF]));
    expect(statSync(f).size).toBe(512 + size + 1024 + 1024);

    // Count every byte requested from any FileHandle while opening, independently of our counter.
    const probe = await fsp.open(f, 'r');
    const proto = Object.getPrototypeOf(probe) as { read: (...a: unknown[]) => unknown };
    await probe.close();
    let requested = 0;
    const orig = proto.read;
    proto.read = function (this: unknown, ...args: unknown[]) {
      requested += typeof args[2] === 'number' ? args[2] : 0;
      return orig.apply(this, args);
    };
    let vfs: TarVfs;
    try {
      vfs = await TarVfs.open(f);
    } finally {
      proto.read = orig;
    }
    expect(await vfs.stat('zeros.bin')).toBe(size);
    expect((await vfs.readFile('after.txt')).toString()).toBe('tail');
    expect(requested).toBeLessThanOrEqual(4 * 512);
    expect(vfs.bytesScanned).toBeLessThanOrEqual(4 * 512);
    // random access into the middle of the big entry
    const mid = await readAll(await vfs.createReadStream('zeros.bin', { start: size / 2, end: size / 2 + 10 }));
    expect(mid).toEqual(Buffer.alloc(10));
    await vfs.close();
  });
});

describe.skipIf(noSharedFixtures)('openTarVfs: compressed outer archives', () => {
  const oci = fx('dive/.data/test-oci-gzip-image.tar');
  it('gzip: decompressed once to a temp file that close() deletes', async () => {
    const gz = path.join(tmp.dir, 'oci.tar.gz');
    writeFileSync(gz, runBytes('gzip', ['-c', oci]));
    expect(readFileSync(gz).subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]));
    const vfs = await openTarVfs(gz);
    expect(vfs.label).toBe(gz);
    expect(vfs.file).not.toBe(gz);
    expect(existsSync(vfs.file)).toBe(true);
    const facts = await tarFacts(oci);
    expect((await vfs.readFile('index.json')).equals(facts.get('index.json')!.data)).toBe(true);
    await vfs.close();
    expect(existsSync(vfs.file)).toBe(false);
  });

  it('zstd (fzstd on Node 20, zlib where available): same entries as the plain tar', async () => {
    const plain = fx('ggcr/pkg/crane/testdata/content.tar');
    const vfs = await openTarVfs(fx('ggcr/pkg/crane/testdata/content.tar.zst'));
    const facts = await tarFacts(plain);
    for (const [name, f] of facts) if (f.type === 'file') expect((await vfs.readFile(name)).equals(f.data)).toBe(true);
    await vfs.close();
    expect(existsSync(vfs.file)).toBe(false);
  });

  it('decompression stops at the byte limit (free temp space) with TOO_LARGE, leaving no temp file', async () => {
    const gz = path.join(tmp.dir, 'bomb.tar.gz');
    writeFileSync(gz, runBytes('sh', ['-c', 'head -c 20000000 /dev/zero | gzip -c']));
    expect(statSync(gz).size).toBeLessThan(100_000);
    const scratch = path.join(tmp.dir, 'scratch-bomb');
    mkdirSync(scratch);
    const saved = process.env.TMPDIR;
    process.env.TMPDIR = scratch;
    let e: { code: string; message: string };
    try {
      e = await errorOf(openTarVfs(gz, { maxBytes: 1_000_000 }));
    } finally {
      if (saved === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = saved;
    }
    expect(e.code).toBe('TOO_LARGE');
    expect(e.message).toMatch(/TMPDIR/);
    expect(readdirSync(scratch)).toEqual([]);
  });

  it('a truncated gzip archive → ARCHIVE_INVALID, and no temp file is left', async () => {
    const gz = path.join(tmp.dir, 'cut.tar.gz');
    writeFileSync(gz, runBytes('gzip', ['-c', oci]).subarray(0, 600));
    const scratch = path.join(tmp.dir, 'scratch');
    mkdirSync(scratch);
    const saved = process.env.TMPDIR;
    process.env.TMPDIR = scratch; // os.tmpdir() follows it: the temp copy would land here
    let e: { code: string; message: string };
    try {
      e = await errorOf(openTarVfs(gz));
    } finally {
      if (saved === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = saved;
    }
    expect(readdirSync(scratch)).toEqual([]);
    expect(e.code).toBe('ARCHIVE_INVALID');
    expect(e.message).toMatch(/could not be decompressed/);
  });
});
