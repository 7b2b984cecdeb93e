import { lstatSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { openImage, type OpenedImage } from '../../shared/layers/open-image.js';
import { packagesOf } from '../../shared/packages/scan.js';
import type { Package } from '../../shared/packages/types.js';
import { hasCommand, run } from '../helpers/tools.js';
import { writeLayout } from '../unit/layers/layout.js';

// Acceptance (issue 14, packages): our lists equal what the distributions' own tools print for the
// same root filesystem — dpkg-query on the debootstrap rootfs, rpm -qa on an rpm database made by
// Debian's rpm (sqlite backend), `go version -m` on a Go binary built here — and each package's files
// and bytes equal what its file list names on the unpacked filesystem (lstat, hard links once).

const fixtures = inject('fixtures');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'oe-packages-'));
const cacheDir = path.join(tmp, 'cache');
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const CI = process.env.CI === 'true';
/** Under CI a missing tool is a failure; elsewhere the suite is skipped. */
function need(...tools: string[]): boolean {
  const missing = tools.filter((t) => !hasCommand(t));
  if (missing.length && CI) throw new Error(`missing tools under CI: ${missing.join(', ')} (.ci/run installs them)`);
  return missing.length === 0;
}

/** Files and bytes of a list of paths on a real filesystem: folders skipped, parents' symlinks followed, each inode's bytes once. */
function measureOnDisk(root: string, paths: string[]): { files: number; bytes: number } {
  const seen = new Set<string>();
  const inodes = new Set<string>();
  let files = 0;
  let bytes = 0;
  for (const p of paths) {
    const rel = p.replace(/^\/+/, '');
    if (!rel || rel === '.') continue;
    let real: string;
    try {
      const dir = realpathSync(path.join(root, path.dirname(rel)));
      if (!dir.startsWith(root)) continue;
      real = path.join(dir, path.basename(rel));
    } catch {
      continue;
    }
    if (seen.has(real)) continue;
    seen.add(real);
    let st;
    try {
      st = lstatSync(real);
    } catch {
      continue;
    }
    if (st.isDirectory()) continue;
    files++;
    if (st.isFile() && !inodes.has(`${st.dev}:${st.ino}`)) {
      inodes.add(`${st.dev}:${st.ino}`);
      bytes += st.size;
    }
  }
  return { files, bytes };
}

const byName = (ps: Package[]) => new Map(ps.map((p) => [p.name, p]));

describe.skipIf(!need('dpkg-query', 'tar'))('dpkg: the debootstrap rootfs against dpkg-query', () => {
  const rootfs = path.join(tmp, 'rootfs');
  let opened: OpenedImage;
  beforeAll(async () => {
    mkdirSync(rootfs);
    await run('tar', ['-xf', fixtures.rootfs.tar, '-C', rootfs, '--exclude=./dev/*']);
    opened = await openImage(`oci:${fixtures.realistic.layout}:${fixtures.realistic.tag}`, {}, { cacheDir });
  });
  afterAll(() => opened?.close());

  it('layer 0 (the rootfs): names, versions, architectures and sources equal dpkg-query; files and bytes equal the .list files on disk', async () => {
    const q = await run('dpkg-query', ['--admindir', path.join(rootfs, 'var/lib/dpkg'), '-W', '-f', '${Package}\t${Version}\t${Architecture}\t${source:Package}\t${db:Status-Status}\n']);
    const want = q.stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split('\t'))
      .filter((f) => f[4] === 'installed');
    expect(want.length).toBeGreaterThan(80);
    const r = await packagesOf(opened.image, { layer: 0 });
    expect(r.problems).toEqual([]);
    const ours = r.packages.filter((p) => p.ecosystem === 'dpkg');
    expect(ours.map((p) => `${p.name} ${p.version} ${p.arch}`).sort()).toEqual(want.map((f) => `${f[0]} ${f[1]} ${f[2]}`).sort());
    const got = byName(ours);
    for (const [name, , arch, source] of want) {
      const p = got.get(name!)!;
      // dpkg-query prints the package's own name when there is no Source field.
      expect(p.source ?? name, name).toBe(source);
      expect(p.layer, name).toBe(0);
      const list = [`${name}:${arch}.list`, `${name}.list`].map((f) => path.join(rootfs, 'var/lib/dpkg/info', f)).find((f) => {
        try {
          return lstatSync(f).isFile();
        } catch {
          return false;
        }
      });
      const disk = measureOnDisk(rootfs, list ? readFileSync(list, 'utf8').split('\n') : []);
      expect({ files: p.files, bytes: p.bytes }, name).toEqual(disk);
    }
    expect(ours.reduce((n, p) => n + p.bytes, 0)).toBeGreaterThan(50_000_000);
    expect(r.perLayer[0]!.added.length).toBe(want.length);
  });

  it('the whole image: the same packages, none changed by the later layers; bash lost its copyright file (layer 2) and so its licence', async () => {
    const r = await packagesOf(opened.image);
    const l0 = await packagesOf(opened.image, { layer: 0 });
    expect(r.packages.map((p) => p.key)).toEqual(l0.packages.map((p) => p.key));
    for (const d of r.perLayer.slice(1)) expect(d.added.length + d.removed.length + d.changed.length).toBe(0);
    const bash0 = byName(l0.packages).get('bash')!;
    const bash = byName(r.packages).get('bash')!;
    expect(bash0.license).toBeDefined();
    expect(bash.license).toBeUndefined();
    expect(bash.bytes).toBeLessThan(bash0.bytes);
  });
});

/** A noarch rpm built with rpmbuild from a spec written here. */
async function buildRpm(top: string, name: string, version: string, release: string, epoch: number | undefined, license: string, files: Record<string, string>): Promise<string> {
  mkdirSync(path.join(top, 'SPECS'), { recursive: true });
  const install = Object.entries(files)
    .map(([p, content]) => `mkdir -p %{buildroot}${path.dirname(p)} && printf '%s' '${content}' > %{buildroot}${p}`)
    .join('\n');
  const spec = [`Name: ${name}`, `Version: ${version}`, `Release: ${release}`, ...(epoch !== undefined ? [`Epoch: ${epoch}`] : []), 'Summary: test package', `License: ${license}`, 'BuildArch: noarch', '%description', 'A test package.', '%install', install, '%files', ...Object.keys(files), ''].join('\n');
  const file = path.join(top, 'SPECS', `${name}.spec`);
  writeFileSync(file, spec);
  await run('rpmbuild', ['--define', `_topdir ${top}`, '-bb', file]);
  return path.join(top, 'RPMS', 'noarch', `${name}-${version}-${release}.noarch.rpm`);
}

describe.skipIf(!need('rpm', 'rpmbuild', 'tar', 'python3'))('rpm: an rpmdb.sqlite made by Debian\'s rpm against rpm -qa', () => {
  const work = path.join(tmp, 'rpm');
  const root = path.join(work, 'root');
  const rpms: string[] = [];
  beforeAll(async () => {
    expect((await run('rpm', ['--eval', '%_db_backend'])).stdout.trim()).toBe('sqlite');
    mkdirSync(root, { recursive: true });
    rpms.push(await buildRpm(path.join(work, 'top'), 'oci-hello', '1.2.3', '4', 2, 'MIT AND Apache-2.0', { '/usr/share/oci-hello/a.txt': 'hello\\n', '/usr/share/oci-hello/b.txt': 'bytes of b' }));
    rpms.push(await buildRpm(path.join(work, 'top'), 'oci-other', '0.9', '1.fc40', undefined, 'GPL-2.0-or-later', { '/opt/other/x': 'x' }));
    await run('rpm', ['--root', root, '--dbpath', '/var/lib/rpm', '--initdb']);
    await run('rpm', ['--root', root, '--dbpath', '/var/lib/rpm', '-i', '--nodeps', '--nosignature', ...rpms]);
  });

  async function layoutOf(dir: string): Promise<string> {
    const tar = (await run('tar', ['-C', dir, '--numeric-owner', '-cf', '-', '.'])).stdoutBytes;
    return writeLayout([{ layers: [tar], gzip: true }], { dir: mkdtempSync(path.join(work, 'layout-')) });
  }

  it('names, epoch:version-release, arch, licence, source rpm and files equal rpm -qa / rpm -ql', async () => {
    const q = await run('rpm', ['--root', root, '--dbpath', '/var/lib/rpm', '-qa', '--qf', '%{NAME}\t%{EVR}\t%{ARCH}\t%{LICENSE}\t%{SOURCERPM}\n']);
    const want = q.stdout.split('\n').filter(Boolean).map((l) => l.split('\t'));
    expect(want.length).toBe(2);
    const img = await openImage(`oci:${await layoutOf(root)}`, {}, { cacheDir });
    try {
      const r = await packagesOf(img.image);
      expect(r.problems).toEqual([]);
      expect(r.packages.map((p) => [p.name, p.version, p.arch, p.license, p.source]).sort()).toEqual(want.sort());
      for (const p of r.packages) {
        const files = (await run('rpm', ['--root', root, '--dbpath', '/var/lib/rpm', '-ql', p.name])).stdout.split('\n').filter(Boolean);
        expect({ files: p.files, bytes: p.bytes }, p.name).toEqual(measureOnDisk(root, files));
        expect(p.files).toBeGreaterThan(0);
      }
    } finally {
      await img.close();
    }
  });

  it('a write-ahead log that was not checkpointed is applied: the package only in rpmdb.sqlite-wal is listed', async () => {
    // Copy the database while a writer holds it open with checkpoints off: the image's layer then has
    // the new row only in the -wal file, as a layer captured mid-transaction-log would.
    const walRoot = path.join(work, 'walroot');
    mkdirSync(path.join(walRoot, 'var/lib/rpm'), { recursive: true });
    const py = [
      'import sqlite3, shutil, sys',
      'src, dst = sys.argv[1], sys.argv[2]',
      'c = sqlite3.connect(src)',
      "rows = c.execute('SELECT hnum, blob FROM Packages ORDER BY hnum').fetchall()",
      'c.close()',
      'd = sqlite3.connect(dst, isolation_level=None)',
      "d.execute('PRAGMA journal_mode=WAL')",
      "d.execute('CREATE TABLE Packages (hnum INTEGER PRIMARY KEY AUTOINCREMENT, blob BLOB NOT NULL)')",
      "d.execute('INSERT INTO Packages (hnum, blob) VALUES (?, ?)', rows[0])",
      "d.execute('PRAGMA wal_checkpoint(TRUNCATE)')",
      "d.execute('PRAGMA wal_autocheckpoint=0')",
      "d.execute('INSERT INTO Packages (hnum, blob) VALUES (?, ?)', rows[1])",
      "shutil.copy(dst, dst + '.copy'); shutil.copy(dst + '-wal', dst + '-wal.copy')",
      'd.close()',
    ].join('\n');
    const dst = path.join(work, 'wal.sqlite');
    await run('python3', ['-c', py, path.join(root, 'var/lib/rpm/rpmdb.sqlite'), dst]);
    // The database file alone (no log beside it) holds one package.
    expect((await run('python3', ['-c', 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT count(*) FROM Packages").fetchone()[0])', `${dst}.copy`])).stdout.trim()).toBe('1');
    writeFileSync(path.join(walRoot, 'var/lib/rpm/rpmdb.sqlite'), readFileSync(`${dst}.copy`));
    const wal = readFileSync(`${dst}-wal.copy`);
    expect(wal.length).toBeGreaterThan(32);
    writeFileSync(path.join(walRoot, 'var/lib/rpm/rpmdb.sqlite-wal'), wal);
    const img = await openImage(`oci:${await layoutOf(walRoot)}`, {}, { cacheDir });
    try {
      const r = await packagesOf(img.image);
      expect(r.problems).toEqual([]);
      expect(r.packages.map((p) => p.name).sort()).toEqual(['oci-hello', 'oci-other']);
    } finally {
      await img.close();
    }
  });

  it('a BerkeleyDB Packages file is reported as not read, with a sentence', async () => {
    const bdb = path.join(work, 'bdb');
    mkdirSync(path.join(bdb, 'var/lib/rpm'), { recursive: true });
    // The BerkeleyDB hash magic (0x00061561) at offset 12, as rpm < 4.16 wrote Packages.
    const b = Buffer.alloc(4096);
    b.writeUInt32LE(0x00061561, 12);
    writeFileSync(path.join(bdb, 'var/lib/rpm/Packages'), b);
    const img = await openImage(`oci:${await layoutOf(bdb)}`, {}, { cacheDir });
    try {
      const r = await packagesOf(img.image);
      expect(r.packages).toEqual([]);
      expect(r.problems.map((p) => p.code)).toEqual(['PACKAGE_DB_UNSUPPORTED']);
      expect(r.problems[0]!.message).toMatch(/BerkeleyDB database, which is not read/);
    } finally {
      await img.close();
    }
  });
});

describe.skipIf(!need('go', 'tar'))('Go: a binary built here against go version -m', () => {
  const work = path.join(tmp, 'go');
  it('the Go version, the main module and every dependency (a replaced one at its replacement) equal go version -m', async () => {
    const mod = path.join(work, 'app');
    const lib = path.join(work, 'lib');
    mkdirSync(mod, { recursive: true });
    mkdirSync(lib, { recursive: true });
    writeFileSync(path.join(lib, 'go.mod'), 'module example.com/greet\n\ngo 1.19\n');
    writeFileSync(path.join(lib, 'greet.go'), 'package greet\n\nfunc Hello() string { return "hello" }\n');
    writeFileSync(path.join(mod, 'go.mod'), 'module example.com/app\n\ngo 1.19\n\nrequire example.com/greet v1.4.0\n\nreplace example.com/greet v1.4.0 => ../lib\n');
    writeFileSync(path.join(mod, 'main.go'), 'package main\n\nimport (\n\t"fmt"\n\t"example.com/greet"\n)\n\nfunc main() { fmt.Println(greet.Hello()) }\n');
    const root = path.join(work, 'root');
    mkdirSync(path.join(root, 'usr/local/bin'), { recursive: true });
    const bin = path.join(root, 'usr/local/bin/app');
    const env = { GOFLAGS: '-mod=mod', GOPROXY: 'off', GOCACHE: path.join(work, 'gocache'), GOPATH: path.join(work, 'gopath'), CGO_ENABLED: '0' };
    await run('go', ['build', '-o', bin, '.'], { cwd: mod, env });
    const m = (await run('go', ['version', '-m', bin], { env })).stdout;
    const goVersion = /: (go\S+)/.exec(m)![1]!;
    const lines = m.split('\n').map((l) => l.trim().split('\t'));
    const mainMod = lines.find((f) => f[0] === 'mod')!;
    const dep = lines.find((f) => f[0] === 'dep')!;
    const rep = lines.find((f) => f[0] === '=>')!;
    expect(dep[1]).toBe('example.com/greet');
    const tar = (await run('tar', ['-C', root, '-cf', '-', '.'])).stdoutBytes;
    const img = await openImage(`oci:${writeLayout([{ layers: [tar], gzip: true }], { dir: mkdtempSync(path.join(work, 'layout-')) })}`, {}, { cacheDir });
    try {
      const r = await packagesOf(img.image);
      expect(r.problems).toEqual([]);
      const got = r.packages.map((p) => [p.name, p.version, p.location, p.source ?? '']).sort();
      const want = [
        ['stdlib', goVersion, 'usr/local/bin/app', mainMod[1]],
        [mainMod[1], mainMod[2], 'usr/local/bin/app', mainMod[1]],
        [dep[1], rep[2] || dep[2], 'usr/local/bin/app', mainMod[1]],
      ].sort();
      expect(got).toEqual(want);
      const main = r.packages.find((p) => p.name === mainMod[1])!;
      expect(main.bytes).toBe(lstatSync(bin).size);
      expect(main.layer).toBe(0);
    } finally {
      await img.close();
    }
  });
});
