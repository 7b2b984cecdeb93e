import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openImage, type OpenedImage } from '../../../shared/layers/open-image.js';
import { ImageFs } from '../../../shared/packages/image-fs.js';
import { ParseCache, packagesOf } from '../../../shared/packages/scan.js';
import type { Package } from '../../../shared/packages/types.js';
import { dir, dpkgStatus, file, kitLayout, whiteout } from './kit.js';

// packagesOf over small images made here: attribution of each package to the layer that added or
// last changed it, per-layer deltas, files and bytes from the merged tree, Python/npm/apk side by side,
// reads served together, bounds, and cancellation in the middle of a scan.

const tmp = mkdtempSync(path.join(os.tmpdir(), 'oe-pkgscan-'));
const cacheDir = path.join(tmp, 'cache');
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const SITE = 'usr/lib/python3.11/site-packages';
const COPYRIGHT = 'Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\nFiles: *\nLicense: GPL-3+\n';
const DEP_JSON = '{"name":"dep","version":"0.1.0"}';
const apkDb = (v: string) => `P:musl\nV:${v}\nA:x86_64\nL:MIT\no:musl\nF:lib\nR:libc.so\n\n`;

async function open(layers: Parameters<typeof kitLayout>[0]['layers'], gzip = true): Promise<OpenedImage> {
  return openImage(`oci:${await kitLayout({ layers, gzip })}`, {}, { cacheDir, workers: 0 });
}

const brief = (ps: Package[]) => ps.map((p) => `${p.ecosystem} ${p.name} ${p.version}`);

describe('packagesOf', () => {
  it('attributes packages to layers across add, upgrade and removal (dpkg, python, npm, apk)', async () => {
    const img = await open([
      // 0: a dpkg base with two packages, their file lists and files; an apk database.
      [
        dir('var/lib/dpkg/info'),
        file('var/lib/dpkg/status', dpkgStatus([{ name: 'base-files', version: '12.4' }, { name: 'hello', version: '2.10-3', source: 'hello-src (2.10-2)' }])),
        file('var/lib/dpkg/info/hello.list', '/.\n/usr\n/usr/bin\n/usr/bin/hello\n/usr/share/doc/hello/copyright\n/usr/bin/missing\n'),
        file('var/lib/dpkg/info/base-files:amd64.list', '/etc/debian_version\n'),
        file('etc/debian_version', '12.4\n'),
        file('usr/bin/hello', Buffer.alloc(1000)),
        file('usr/share/doc/hello/copyright', COPYRIGHT),
        file('lib/apk/db/installed', apkDb('1.2.4-r1')),
        file('lib/libc.so', Buffer.alloc(300)),
      ],
      // 1: pip installs a wheel; npm installs two packages (one scoped, one nested).
      [
        file(`${SITE}/six-1.16.0.dist-info/METADATA`, 'Metadata-Version: 2.1\nName: six\nVersion: 1.16.0\nLicense: MIT\n'),
        file(`${SITE}/six-1.16.0.dist-info/RECORD`, 'six.py,sha256=x,500\nsix-1.16.0.dist-info/METADATA,,\nsix-1.16.0.dist-info/RECORD,,\n'),
        file(`${SITE}/six.py`, Buffer.alloc(500)),
        file('app/node_modules/left-pad/package.json', '{"name":"left-pad","version":"1.3.0","license":"WTFPL"}'),
        file('app/node_modules/left-pad/index.js', Buffer.alloc(200)),
        file('app/node_modules/@scope/util/package.json', '{"name":"@scope/util","version":"2.0.0","license":{"type":"MIT"}}'),
        file('app/node_modules/@scope/util/node_modules/dep/package.json', DEP_JSON),
        file('app/node_modules/@scope/util/node_modules/dep/a.js', Buffer.alloc(70)),
        file('app/package.json', '{"name":"the-app","version":"9.9.9"}'),
      ],
      // 2: an upgrade of hello (status and list rewritten), apk upgrades musl; a layer with no packages touched after it.
      [
        file('var/lib/dpkg/status', dpkgStatus([{ name: 'base-files', version: '12.4' }, { name: 'hello', version: '2.10-4', source: 'hello-src (2.10-2)' }])),
        file('usr/bin/hello', Buffer.alloc(1500)),
        file('lib/apk/db/installed', apkDb('1.2.4-r2')),
      ],
      // 3: the wheel removed with a whiteout of its dist-info folder and module; left-pad downgraded.
      [whiteout(`${SITE}/six-1.16.0.dist-info`), whiteout(`${SITE}/six.py`), file('app/node_modules/left-pad/package.json', '{"name":"left-pad","version":"1.1.0"}')],
      // 4: nothing about packages (a data file).
      [file('srv/data.txt', 'x')],
    ]);
    try {
      const r = await packagesOf(img.image);
      expect(r.problems).toEqual([]);
      expect(brief(r.packages)).toEqual(['apk musl 1.2.4-r2', 'dpkg base-files 12.4', 'dpkg hello 2.10-4', 'npm @scope/util 2.0.0', 'npm dep 0.1.0', 'npm left-pad 1.1.0']);
      const by = new Map(r.packages.map((p) => [p.name, p]));
      expect(by.get('hello')).toMatchObject({ layer: 2, source: 'hello-src', arch: 'amd64', files: 2, bytes: 1500 + COPYRIGHT.length, license: 'GPL-3+' });
      expect(by.get('base-files')).toMatchObject({ layer: 0, files: 1, bytes: 5 });
      expect(by.get('musl')).toMatchObject({ layer: 2, files: 1, bytes: 300, source: 'musl', license: 'MIT' });
      // npm: the folder's files without nested node_modules; the scoped package does not count dep's files.
      expect(by.get('@scope/util')).toMatchObject({ layer: 1, files: 1, license: 'MIT' });
      expect(by.get('dep')).toMatchObject({ layer: 1, files: 2, bytes: 70 + DEP_JSON.length });
      expect(by.get('left-pad')).toMatchObject({ layer: 3, files: 2 });
      const d = r.perLayer.map((l) => [brief(l.added), brief(l.removed), l.changed.map((c) => `${c.after.name} ${c.before.version}->${c.after.version} ${c.direction}`)]);
      expect(d).toEqual([
        [['apk musl 1.2.4-r1', 'dpkg base-files 12.4', 'dpkg hello 2.10-3'], [], []],
        [['npm @scope/util 2.0.0', 'npm dep 0.1.0', 'npm left-pad 1.3.0', 'python six 1.16.0'], [], []],
        [[], [], ['musl 1.2.4-r1->1.2.4-r2 upgrade', 'hello 2.10-3->2.10-4 upgrade']],
        [[], ['python six 1.16.0'], ['left-pad 1.3.0->1.1.0 downgrade']],
        [[], [], []],
      ]);
      // The image as of layer 1: six is there with its RECORD files; hello at its first version and size.
      const at1 = await packagesOf(img.image, { layer: 1 });
      const six = at1.packages.find((p) => p.name === 'six')!;
      expect(six).toMatchObject({ layer: 1, license: 'MIT', files: 3, location: `${SITE}/six-1.16.0.dist-info` });
      expect(at1.packages.find((p) => p.name === 'hello')).toMatchObject({ version: '2.10-3', bytes: 1000 + COPYRIGHT.length });
      expect(at1.perLayer.length).toBe(2);
    } finally {
      await img.close();
    }
  });

  it('reads many files of a compressed layer in one pass', async () => {
    const n = 300;
    const img = await open([Array.from({ length: n }, (_, i) => file(`app/node_modules/p${i}/package.json`, JSON.stringify({ name: `p${i}`, version: `1.0.${i}` })))]);
    try {
      const fs = new ImageFs(img.image.layers, 0, new AbortController().signal);
      const texts = await Promise.all(Array.from({ length: n }, (_, i) => fs.read(`app/node_modules/p${i}/package.json`, { max: 1 << 20 })));
      expect(texts.map((b) => (JSON.parse(b.toString()) as { version: string }).version)).toEqual(Array.from({ length: n }, (_, i) => `1.0.${i}`));
      expect(fs.passes).toBe(1);
      const r = await packagesOf(img.image);
      expect(r.packages.length).toBe(n);
    } finally {
      await img.close();
    }
  });

  it('a second image with the same layers parses nothing again (one ParseCache)', async () => {
    const layers = [[file('var/lib/dpkg/status', dpkgStatus([{ name: 'a', version: '1' }]))], [file('app/node_modules/x/package.json', '{"name":"x","version":"1.0.0"}')]];
    const one = await open(layers);
    const two = await open([...layers, [file('etc/motd', 'hi')]]);
    try {
      const cache = new ParseCache();
      await packagesOf(one.image, { cache });
      const parsed = cache.parsed;
      expect(parsed).toBeGreaterThan(0);
      const r = await packagesOf(two.image, { cache });
      expect(cache.parsed).toBe(parsed);
      expect(brief(r.packages)).toEqual(['dpkg a 1', 'npm x 1.0.0']);
    } finally {
      await one.close();
      await two.close();
    }
  });

  it('bad input is a problem on the scan, not a failure: broken JSON, an oversized package.json, a database that is a folder', async () => {
    const img = await open([
      [
        file('app/node_modules/bad/package.json', '{"name": "bad", '),
        file('app/node_modules/big/package.json', `{"name":"big","version":"1","pad":"${'x'.repeat(5 * 1024 * 1024)}"}`),
        dir('var/lib/dpkg/status'),
        file('app/node_modules/good/package.json', '{"name":"good","version":"3"}'),
      ],
    ]);
    try {
      const r = await packagesOf(img.image);
      expect(brief(r.packages)).toEqual(['npm good 3']);
      expect(r.problems.map((p) => `${p.code} ${p.path}`).sort()).toEqual(['PACKAGES_TRUNCATED app/node_modules/big/package.json', 'PACKAGE_DB_INVALID app/node_modules/bad/package.json'].sort());
    } finally {
      await img.close();
    }
  });

  it('cancelling in the middle of a scan stops it with CANCELLED', async () => {
    const img = await open([Array.from({ length: 50 }, (_, i) => file(`app/node_modules/p${i}/package.json`, `{"name":"p${i}","version":"1"}`)), [file('app/node_modules/z/package.json', '{"name":"z","version":"1"}')]]);
    try {
      const ac = new AbortController();
      const layers = img.image.layers;
      const orig = layers.openLayerBytes.bind(layers);
      let calls = 0;
      // Abort as the first layer read starts: parsing is under way, nothing is finished.
      layers.openLayerBytes = (...a) => {
        calls++;
        ac.abort();
        return orig(...a);
      };
      await expect(packagesOf(img.image, { signal: ac.signal })).rejects.toMatchObject({ code: 'CANCELLED' });
      expect(calls).toBe(1);
    } finally {
      await img.close();
    }
  });

  it('distroless status.d with md5sums, setuptools egg-info folders and lone egg-info files', async () => {
    const img = await open([
      [
        file('var/lib/dpkg/status.d/tzdata', 'Package: tzdata\nVersion: 2024a-0+deb12u1\nArchitecture: all\n'),
        file('var/lib/dpkg/status.d/tzdata.md5sums', '0123456789abcdef0123456789abcdef  usr/share/zoneinfo/UTC\n0123456789abcdef0123456789abcdef  usr/share/zoneinfo/gone\n'),
        file('usr/share/zoneinfo/UTC', Buffer.alloc(118)),
        file(`${SITE}/req-2.0.egg-info/PKG-INFO`, 'Metadata-Version: 1.1\nName: req\nVersion: 2.0\nLicense: Apache 2.0\n'),
        file(`${SITE}/req-2.0.egg-info/installed-files.txt`, '../req/__init__.py\nPKG-INFO\n'),
        file(`${SITE}/req/__init__.py`, Buffer.alloc(40)),
        file(`${SITE}/lone-1.0.egg-info`, 'Metadata-Version: 1.0\nName: lone\nVersion: 1.0\n'),
      ],
    ]);
    try {
      const r = await packagesOf(img.image);
      expect(r.problems).toEqual([]);
      const by = new Map(r.packages.map((p) => [p.name, p]));
      expect(brief(r.packages)).toEqual(['dpkg tzdata 2024a-0+deb12u1', 'python lone 1.0', 'python req 2.0']);
      expect(by.get('tzdata')).toMatchObject({ files: 1, bytes: 118, location: 'var/lib/dpkg/status.d/tzdata' });
      expect(by.get('req')).toMatchObject({ files: 2, license: 'Apache 2.0', location: `${SITE}/req-2.0.egg-info` });
      expect(by.get('req')!.bytes).toBe(40 + 'Metadata-Version: 1.1\nName: req\nVersion: 2.0\nLicense: Apache 2.0\n'.length);
      expect(by.get('lone')).toMatchObject({ files: 1, location: `${SITE}/lone-1.0.egg-info` });
    } finally {
      await img.close();
    }
  });

  it('an image without layers has no packages', async () => {
    const img = await open([]);
    try {
      expect(await packagesOf(img.image)).toEqual({ packages: [], problems: [], perLayer: [] });
    } finally {
      await img.close();
    }
  });
});
