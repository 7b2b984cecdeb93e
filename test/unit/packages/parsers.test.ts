import { describe, expect, it } from 'vitest';
import { parseApkInstalled } from '../../../shared/packages/apk.js';
import { dep5Licenses, parseDpkgStatus } from '../../../shared/packages/dpkg.js';
import { listPaths } from '../../../shared/packages/files.js';
import { goPackages, parseModInfo } from '../../../shared/packages/go.js';
import { parsePackageJson } from '../../../shared/packages/npm.js';
import { normalizePyName, parsePythonMetadata, recordPaths } from '../../../shared/packages/python.js';
import { packagesFromHeaders } from '../../../shared/packages/rpm.js';
import { RpmHeaderError, TAG, headerFiles, parseRpmHeader } from '../../../shared/packages/rpm-header.js';
import { dpkgStatus } from './kit.js';

describe('dpkg status', () => {
  it('keeps installed packages only (install ok installed, hold ok installed), reads Source without its version, continuation lines', () => {
    const text =
      dpkgStatus([
        { name: 'libc6', version: '2.36-9+deb12u4', source: 'glibc (2.36-9)' },
        { name: 'gone', version: '1.0', status: 'deinstall ok config-files' },
        { name: 'held', version: '2:1.0-1', arch: 'all', status: 'hold ok installed' },
        { name: 'half', version: '0.1', status: 'install ok half-installed' },
      ]) + '\n\nStatus: install ok installed\nVersion: 1\n';
    const r = parseDpkgStatus(text, 'var/lib/dpkg/status');
    expect(r.packages.map((p) => [p.name, p.version, p.arch, p.source])).toEqual([
      ['libc6', '2.36-9+deb12u4', 'amd64', 'glibc'],
      ['held', '2:1.0-1', 'all', undefined],
    ]);
    expect(r.packages[0]!.fileList).toEqual({ paths: ['var/lib/dpkg/info/libc6:amd64.list', 'var/lib/dpkg/info/libc6.list'], base: '', format: 'lines' });
    expect(r.problems.map((p) => p.code)).toEqual(['PACKAGE_DB_INVALID']);
  });

  it('distroless status.d: no Status field means installed; files from <name>.md5sums', () => {
    const r = parseDpkgStatus('Package: tzdata\nVersion: 2024a-0+deb12u1\nArchitecture: all\n', 'var/lib/dpkg/status.d/tzdata', true);
    expect(r.packages.map((p) => [p.name, p.version])).toEqual([['tzdata', '2024a-0+deb12u1']]);
    expect(r.packages[0]!.fileList!.paths).toEqual(['var/lib/dpkg/status.d/tzdata.md5sums']);
    expect(listPaths('0123456789abcdef0123456789abcdef  usr/share/zoneinfo/UTC\n', 'md5sums', '')).toEqual(['usr/share/zoneinfo/UTC']);
  });

  it('DEP-5 copyright: licence short names in order without repeats; free-form files give none', () => {
    const dep5 = 'Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\nFiles: *\nLicense: GPL-2+\n\nFiles: a/*\nLicense: BSD-3-clause\n text of it\n\nLicense: GPL-2+\n full text\n';
    expect(dep5Licenses(dep5)).toEqual(['GPL-2+', 'BSD-3-clause']);
    expect(dep5Licenses('This is free software.\nLicense: GPL\n')).toBeUndefined();
  });
});

describe('apk installed (apk-tools v2 installed database)', () => {
  // Records as apk-package(5) describes them: one letter, a colon, the value; F a folder, R a file in it.
  const db = [
    'C:Q1vJ2vbf8hJ3Y8g3xDjAqiMg2jJo8=',
    'P:musl',
    'V:1.2.4-r2',
    'A:x86_64',
    'S:383152',
    'I:622592',
    'T:the musl c library (libc) implementation',
    'U:https://musl.libc.org/',
    'L:MIT',
    'o:musl',
    'm:Timo Teräs <timo.teras@iki.fi>',
    't:1695302049',
    'c:2d8aa40bc2ddb1d3ad5fdf2f5c40fd2bbc3d5b86',
    'p:so:libc.musl-x86_64.so.1=1',
    'F:lib',
    'R:ld-musl-x86_64.so.1',
    'a:0:0:755',
    'Z:Q1aT1nbf2k9vbGYnP2xjYT3Mi3bX0=',
    'R:libc.musl-x86_64.so.1',
    'a:0:0:777',
    'Z:Q17yJ3JFNypA4mxhJJr0ou6CzsJVI=',
    '',
    'P:busybox-binsh',
    'V:1.36.1-r5',
    'A:x86_64',
    'L:GPL-2.0-only',
    'o:busybox',
    'D:busybox=1.36.1-r5',
    'F:bin',
    'R:sh',
    'a:0:0:777',
    'F:etc/busybox-paths.d',
    'M:0:0:755',
    'R:busybox',
    '',
    'garbage line',
    '',
  ].join('\n');

  it('name, version, arch, licence, origin and files (F folders, R files)', () => {
    const r = parseApkInstalled(db, 'lib/apk/db/installed');
    expect(r.packages.map((p) => [p.name, p.version, p.arch, p.license, p.source])).toEqual([
      ['musl', '1.2.4-r2', 'x86_64', 'MIT', 'musl'],
      ['busybox-binsh', '1.36.1-r5', 'x86_64', 'GPL-2.0-only', 'busybox'],
    ]);
    expect(r.packages.map((p) => p.files)).toEqual([['lib/ld-musl-x86_64.so.1', 'lib/libc.musl-x86_64.so.1'], ['bin/sh', 'etc/busybox-paths.d/busybox']]);
    expect(r.problems.map((p) => p.code)).toEqual(['PACKAGE_DB_INVALID']);
  });

  it('CRLF line ends and a missing final blank line', () => {
    const r = parseApkInstalled('P:a\r\nV:1-r0\r\n\r\nP:b\r\nV:2-r0', 'x');
    expect(r.packages.map((p) => `${p.name} ${p.version}`)).toEqual(['a 1-r0', 'b 2-r0']);
    expect(r.problems).toEqual([]);
  });
});

describe('Python core metadata', () => {
  it('License-Expression first, then a one-line License, then License :: classifiers', () => {
    expect(parsePythonMetadata('Metadata-Version: 2.4\nName: a\nVersion: 1\nLicense-Expression: MIT OR Apache-2.0\nLicense: BSD\n', 'x').packages[0]!.license).toBe('MIT OR Apache-2.0');
    expect(parsePythonMetadata('Name: b\nVersion: 2\nLicense: BSD-3-Clause\n\nLicense: not a header, the body\n', 'x').packages[0]!.license).toBe('BSD-3-Clause');
    const cls = 'Name: c\nVersion: 3\nLicense: UNKNOWN\nClassifier: Programming Language :: Python\nClassifier: License :: OSI Approved :: MIT License\n';
    expect(parsePythonMetadata(cls, 'x').packages[0]!.license).toBe('MIT License');
    expect(parsePythonMetadata('Version: 1\n', 'x').problems.map((p) => p.code)).toEqual(['PACKAGE_DB_INVALID']);
  });

  it('names compare as pip does; RECORD paths with quotes and commas, relative to the site folder', () => {
    expect(normalizePyName('Zope.Interface__x')).toBe('zope-interface-x');
    const rec = 'six.py,sha256=abc,34549\n"odd,name.py",sha256=x,1\n"q""uote.py",,\n../../../bin/tool,sha256=y,10\nsix-1.16.0.dist-info/RECORD,,\n';
    expect(recordPaths(rec)).toEqual(['six.py', 'odd,name.py', 'q"uote.py', '../../../bin/tool', 'six-1.16.0.dist-info/RECORD']);
    expect(listPaths(rec, 'record', 'usr/lib/python3/site-packages')).toContain('usr/bin/tool');
  });
});

describe('npm package.json', () => {
  it('license as SPDX string, legacy {type}, legacy licenses[]; no name = not a package; bad JSON = a problem', () => {
    expect(parsePackageJson('{"name":"a","version":"1.0.0","license":"MIT"}', 'x').packages[0]).toMatchObject({ name: 'a', version: '1.0.0', license: 'MIT' });
    expect(parsePackageJson('{"name":"b","version":"1","license":{"type":"ISC"}}', 'x').packages[0]!.license).toBe('ISC');
    expect(parsePackageJson('\ufeff{"name":"c","licenses":[{"type":"MIT"},{"type":"GPL-2.0"}]}', 'x').packages[0]!.license).toBe('(MIT OR GPL-2.0)');
    expect(parsePackageJson('{"type":"module"}', 'x')).toEqual({ packages: [], problems: [] });
    expect(parsePackageJson('{"name": ', 'x').problems.map((p) => p.code)).toEqual(['PACKAGE_DB_INVALID']);
    expect(parsePackageJson('[1]', 'x').problems.map((p) => p.code)).toEqual(['PACKAGE_DB_INVALID']);
  });
});

/** An rpm header blob as rpmdb stores it (il, dl, index entries, data), big-endian. */
function rpmBlob(tags: { tag: number; type: number; value: string | string[] | number[] }[], opts: { truncate?: number } = {}): Buffer {
  const data: Buffer[] = [];
  let off = 0;
  const index: Buffer[] = [];
  // A region tag first, as rpm writes (skipped by the reader).
  const region = Buffer.alloc(16);
  region.writeUInt32BE(63, 0);
  region.writeUInt32BE(7, 4);
  index.push(region);
  for (const t of tags) {
    let b: Buffer;
    let count = 1;
    if (t.type === 6) b = Buffer.from(`${t.value as string}\0`);
    else if (t.type === 8) {
      b = Buffer.from((t.value as string[]).map((s) => `${s}\0`).join(''));
      count = (t.value as string[]).length;
    } else {
      const pad = (4 - (off % 4)) % 4;
      if (pad) {
        data.push(Buffer.alloc(pad));
        off += pad;
      }
      const nums = t.value as number[];
      b = Buffer.alloc(nums.length * 4);
      nums.forEach((n, i) => b.writeUInt32BE(n, i * 4));
      count = nums.length;
    }
    const e = Buffer.alloc(16);
    e.writeUInt32BE(t.tag, 0);
    e.writeUInt32BE(t.type, 4);
    e.writeUInt32BE(off, 8);
    e.writeUInt32BE(count, 12);
    index.push(e);
    data.push(b);
    off += b.length;
  }
  const head = Buffer.alloc(8);
  head.writeUInt32BE(index.length, 0);
  head.writeUInt32BE(off, 4);
  const blob = Buffer.concat([head, ...index, ...data]);
  return opts.truncate ? blob.subarray(0, blob.length - opts.truncate) : blob;
}

describe('rpm header blobs', () => {
  const tags = [
    { tag: TAG.NAME, type: 6, value: 'bash' },
    { tag: TAG.VERSION, type: 6, value: '5.2.26' },
    { tag: TAG.RELEASE, type: 6, value: '1.fc40' },
    { tag: TAG.EPOCH, type: 4, value: [1] },
    { tag: TAG.ARCH, type: 6, value: 'x86_64' },
    { tag: TAG.LICENSE, type: 6, value: 'GPL-3.0-or-later' },
    { tag: TAG.SOURCERPM, type: 6, value: 'bash-5.2.26-1.fc40.src.rpm' },
    { tag: TAG.DIRINDEXES, type: 4, value: [0, 1, 1] },
    { tag: TAG.BASENAMES, type: 8, value: ['bash', 'bash', 'README'] },
    { tag: TAG.DIRNAMES, type: 8, value: ['/usr/bin/', '/usr/share/doc/bash/'] },
  ];

  it('NAME, EPOCH:VERSION-RELEASE, ARCH, LICENSE, SOURCERPM and files from DIRNAMES/DIRINDEXES/BASENAMES', () => {
    const h = parseRpmHeader(rpmBlob(tags));
    expect(headerFiles(h)).toEqual(['usr/bin/bash', 'usr/share/doc/bash/bash', 'usr/share/doc/bash/README']);
    const r = packagesFromHeaders([rpmBlob(tags), rpmBlob(tags.filter((t) => t.tag !== TAG.EPOCH))], 'var/lib/rpm/rpmdb.sqlite');
    expect(r.packages.map((p) => [p.name, p.version, p.arch, p.license, p.source])).toEqual([
      ['bash', '1:5.2.26-1.fc40', 'x86_64', 'GPL-3.0-or-later', 'bash-5.2.26-1.fc40.src.rpm'],
      ['bash', '5.2.26-1.fc40', 'x86_64', 'GPL-3.0-or-later', 'bash-5.2.26-1.fc40.src.rpm'],
    ]);
  });

  it('a truncated or lying blob is a problem for that package, not a crash', () => {
    expect(() => parseRpmHeader(rpmBlob(tags, { truncate: 5 }))).toThrow(RpmHeaderError);
    const huge = Buffer.alloc(8);
    huge.writeUInt32BE(0xffffffff, 0);
    expect(() => parseRpmHeader(huge)).toThrow(/index entries/);
    const r = packagesFromHeaders([rpmBlob(tags), rpmBlob(tags, { truncate: 5 }), Buffer.alloc(3)], 'db');
    expect(r.packages.length).toBe(1);
    expect(r.problems.map((p) => p.code)).toEqual(['PACKAGE_DB_INVALID']);
    expect(r.problems[0]!.message).toMatch(/2 package header\(s\) could not be decoded/);
  });
});

describe('Go module info', () => {
  it('path, mod, dep and => lines as runtime/debug writes them; packages: stdlib, main module, deps at their compiled version', () => {
    const mod = 'path\texample.com/app/cmd/app\nmod\texample.com/app\t(devel)\t\ndep\tgolang.org/x/sys\tv0.1.0\th1:abc=\ndep\texample.com/lib\tv1.0.0\t\n=>\t../lib\t\t\nbuild\t-compiler=gc\nbuild\tCGO_ENABLED=0\n';
    const info = parseModInfo('go1.22.1', mod);
    expect(info.main).toEqual({ path: 'example.com/app', version: '(devel)' });
    expect(info.deps[1]!.replace).toEqual({ path: '../lib', version: '' });
    expect(info.settings).toEqual([['-compiler', 'gc'], ['CGO_ENABLED', '0']]);
    expect(goPackages(info, 'usr/bin/app').map((p) => [p.name, p.version, p.source])).toEqual([
      ['stdlib', 'go1.22.1', 'example.com/app'],
      ['example.com/app', '(devel)', 'example.com/app'],
      ['golang.org/x/sys', 'v0.1.0', 'example.com/app'],
      ['example.com/lib', 'v1.0.0', 'example.com/app'],
    ]);
  });
});
