import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { compareImages } from '../../shared/compare/compare.js';
import { compareReport } from '../../shared/compare/report.js';
import { openImage, type OpenedImage } from '../../shared/layers/open-image.js';
import { ParseCache } from '../../shared/packages/scan.js';
import type { ImageSource } from '../../shared/sources/types.js';
import { cliRunner } from '../helpers/cli.js';
import { canRunDockerd, run, startDockerd, type TestDockerd } from '../helpers/tools.js';

// Acceptance (issue 14, compare): two images built by dockerd from the same imported base, B with
// known changes (a local .deb installed with dpkg, a package removed, a config file edited, an ENV
// changed). Every change is found and nothing else: the files against an oracle of both images
// unpacked by skopeo + umoci and listed with find and md5sum; packages and config exactly the known
// changes. An image against itself is empty (exit 0). The shared base layer is not read again for B.

const fixtures = inject('fixtures');
const CI = process.env.CI === 'true';
const ok = canRunDockerd();
if (!ok && CI) throw new Error('dockerd cannot run here (needs the binary and root); CI must run this suite.');

const tmp = mkdtempSync(path.join(os.tmpdir(), 'oe-compare-'));
const cacheDir = path.join(tmp, 'cache');
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const BASE = 'fixture/compare-base:1';
const DEB = 'oci-added_1.0-1_all.deb';

/** path → "type size mode uid gid link md5" of a docker-archive's merged rootfs, unpacked by skopeo + umoci. */
async function oracle(archive: string, name: string): Promise<Map<string, string>> {
  const work = path.join(tmp, `oracle-${name}`);
  mkdirSync(work, { recursive: true });
  await run('skopeo', ['copy', '-q', `docker-archive:${archive}`, `oci:${work}/layout:x`]);
  const rootfs = path.join(work, 'rootfs');
  await run('umoci', ['raw', 'unpack', '--image', `${work}/layout:x`, rootfs]);
  const list = (await run('find', [rootfs, '-mindepth', '1', '-printf', '%P\\t%y\\t%s\\t%m\\t%U\\t%G\\t%l\\n'])).stdout;
  const sums = new Map<string, string>();
  const md5 = (await run('sh', ['-c', 'cd "$1" && find . -type f -print0 | xargs -0 -r md5sum', 'sh', rootfs])).stdout;
  for (const line of md5.split('\n').filter(Boolean)) sums.set(line.slice(34).replace(/^\.\//, ''), line.slice(0, 32));
  const out = new Map<string, string>();
  for (const l of list.split('\n').filter(Boolean)) {
    const [p, type, size, mode, uid, gid, link] = l.split('\t');
    // Folder sizes are file-system blocks and symlink sizes their target's length: not image facts.
    out.set(p!, [type, type === 'f' ? size : '-', mode, uid, gid, link, sums.get(p!) ?? ''].join(' '));
  }
  rmSync(work, { recursive: true, force: true });
  return out;
}

function expectedChanges(a: Map<string, string>, b: Map<string, string>): string[] {
  const out: string[] = [];
  for (const [p, v] of b) {
    if (!a.has(p)) out.push(`added ${p}`);
    else if (a.get(p) !== v) out.push(`modified ${p}`);
  }
  for (const p of a.keys()) if (!b.has(p)) out.push(`removed ${p}`);
  return out.sort();
}

describe.skipIf(!ok)('compare: two images built by dockerd from one base with known changes', () => {
  let dockerd: TestDockerd;
  const archA = path.join(tmp, 'a.tar');
  const archB = path.join(tmp, 'b.tar');
  beforeAll(async () => {
    dockerd = await startDockerd();
    const docker = dockerd.docker;
    await docker(['import', fixtures.rootfs.tar, BASE]);
    // A local package, built with dpkg-deb (no network in the build).
    const ctx = path.join(tmp, 'ctx');
    const pkg = path.join(tmp, 'deb');
    mkdirSync(path.join(pkg, 'DEBIAN'), { recursive: true });
    mkdirSync(path.join(pkg, 'usr/share/oci-added'), { recursive: true });
    writeFileSync(path.join(pkg, 'DEBIAN/control'), 'Package: oci-added\nVersion: 1.0-1\nArchitecture: all\nMaintainer: Tests <tests@example.invalid>\nDescription: a package the compare test installs\n');
    writeFileSync(path.join(pkg, 'usr/share/oci-added/README'), 'installed by the compare test\n');
    writeFileSync(path.join(pkg, 'usr/share/oci-added/data.bin'), Buffer.alloc(4096, 7));
    mkdirSync(ctx);
    await run('dpkg-deb', ['--root-owner-group', '--build', pkg, path.join(ctx, DEB)]);
    writeFileSync(path.join(ctx, 'Dockerfile.a'), `FROM ${BASE}\nENV APP_MODE=a\n`);
    writeFileSync(
      path.join(ctx, 'Dockerfile.b'),
      `FROM ${BASE}\nENV APP_MODE=b\nCOPY ${DEB} /tmp/\nRUN dpkg -i /tmp/${DEB} && rm /tmp/${DEB} && dpkg -r e2fsprogs && sed -i 's/^#DSHELL=.*/DSHELL=\\/bin\\/sh/' /etc/adduser.conf\n`,
    );
    const env = { DOCKER_BUILDKIT: '0' };
    await docker(['build', '--network=host', '-f', path.join(ctx, 'Dockerfile.a'), '-t', 'fixture/compare:a', ctx], { env });
    await docker(['build', '--network=host', '-f', path.join(ctx, 'Dockerfile.b'), '-t', 'fixture/compare:b', ctx], { env });
    await docker(['save', '-o', archA, 'fixture/compare:a']);
    await docker(['save', '-o', archB, 'fixture/compare:b']);
  });
  afterAll(async () => {
    await dockerd?.stop();
  });

  it('every change is found and nothing else; the base layer is indexed and read once', async () => {
    const opened: OpenedImage[] = [];
    try {
      opened.push(await openImage(`docker-archive:${archA}`, {}, { cacheDir }));
      opened.push(await openImage(`docker-archive:${archB}`, {}, { cacheDir }));
      const [a, b] = [opened[0]!.image, opened[1]!.image];
      // B's base layer came from the index cache A's indexing wrote (same layer digest).
      expect(b.layers.layers[0]!.descriptor.digest).toBe(a.layers.layers[0]!.descriptor.digest);
      expect(b.layers.layers[0]!.fromCache).toBe(true);
      expect(b.layers.layers[0]!.indexedIn).toBeUndefined();
      // Every blob B's source serves from here on is recorded: the shared base must not be among them.
      const reads: string[] = [];
      const src = b.source as ImageSource;
      const openBlob = src.openBlob.bind(src);
      src.openBlob = (d, r) => (reads.push(d.digest), openBlob(d, r));
      const cache = new ParseCache();
      const r = await compareImages(a, b, new AbortController().signal, { cache });
      expect(reads.length).toBeGreaterThan(0);
      expect(reads).not.toContain(b.layers.layers[0]!.descriptor.digest);

      expect(r.identical).toBe(false);
      expect(r.totals.different).toBe(true);
      expect(r.config).toEqual([{ field: 'env', key: 'APP_MODE', before: 'a', after: 'b' }]);
      expect(r.packages.added.map((p) => `${p.ecosystem} ${p.name} ${p.version}`)).toEqual(['dpkg oci-added 1.0-1']);
      expect(r.packages.removed.map((p) => `${p.ecosystem} ${p.name}`)).toEqual(['dpkg e2fsprogs']);
      expect(r.packages.changed).toEqual([]);
      const added = r.packages.added[0]!;
      expect(added.files).toBe(2);
      expect(added.bytes).toBe(4096 + 'installed by the compare test\n'.length);
      expect(added.layer).toBe(2);
      // History: the imported base is shared, then each image's own steps.
      expect(r.history.sharedBaseLayers).toBe(1);
      expect(r.history.sharedLayers).toBe(1);
      expect(r.history.rows[0]!.shared).toBe(true);
      expect(r.history.rows.slice(1).every((row) => !row.shared)).toBe(true);

      const want = expectedChanges(await oracle(archA, 'a'), await oracle(archB, 'b'));
      expect(want).toContain('modified etc/adduser.conf');
      expect(want).toContain('added usr/share/oci-added/README');
      expect(want.some((w) => w.startsWith('removed sbin/') || w.startsWith('removed usr/sbin/'))).toBe(true);
      expect(r.files.entries.map((e) => `${e.status} ${e.path}`).sort()).toEqual(want);
      const conf = r.files.entries.find((e) => e.path === 'etc/adduser.conf')!;
      expect(conf.changes).toContain('content');
      expect(conf.sizeDelta).toBe(conf.after!.size - conf.before!.size);

      const md = compareReport(r);
      expect(md).toContain('| env | APP_MODE | `a` | `b` |');
      expect(md).toMatch(/### Added[\s\S]*oci-added/);
      expect(md).toMatch(/### Removed[\s\S]*e2fsprogs/);
    } finally {
      for (const o of opened) await o.close();
    }
  });

  it('the CLI: exit 1 for A against B, 0 and no differences for an image against itself; --json is the comparison', async () => {
    const cli = cliRunner(cacheDir);
    const diff = await cli('compare', archA, archB);
    expect(diff.code).toBe(1);
    expect(diff.out).toContain('+ dpkg oci-added 1.0-1');
    expect(diff.out).toContain('- dpkg e2fsprogs');
    expect(diff.out).toContain('env APP_MODE: "a" -> "b"');
    const same = await cli('compare', archB, `docker-archive:${archB}`);
    expect(same.err).toBe('');
    expect(same.code).toBe(0);
    const json = await cli('compare', '--json', archB, archB);
    const r = JSON.parse(json.out) as { identical: boolean; config: unknown[]; files: { entries: unknown[] }; packages: { added: unknown[]; removed: unknown[]; changed: unknown[] }; totals: { different: boolean } };
    expect(json.code).toBe(0);
    expect(r.identical).toBe(true);
    expect(r.totals.different).toBe(false);
    expect([r.config, r.files.entries, r.packages.added, r.packages.removed, r.packages.changed].map((x) => x.length)).toEqual([0, 0, 0, 0, 0]);
    const trouble = await cli('compare', archA, path.join(tmp, 'missing.tar'));
    expect(trouble.code).toBe(2);
    expect(trouble.err).toMatch(/^oci-explorer compare: .+/);
  });
});
