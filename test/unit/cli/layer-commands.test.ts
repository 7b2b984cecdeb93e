import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cliRunner } from '../../helpers/cli.js';
import { formatPlatform, hostPlatform } from '../../../shared/oci/platform.js';
import { B, STACK_EFFICIENCY, stackTars } from '../layers/eff-stack.js';
import { makeTar } from '../layers/helpers.js';
import { writeLayout } from '../layers/layout.js';

// The layer commands on images built in the test (OCI layouts in a temp folder): efficiency with
// every .dive-ci rule failing and passing, --platform on a two-platform index, and diff rows.

const tmp = (p: string) => mkdtempSync(path.join(os.tmpdir(), p));
const cache = tmp('oci-cli-layers-cache-');
const cli = cliRunner(cache);
const jsonLines = (s: string) => s.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);

/** A .dive-ci file in a temp folder. */
function ciFile(rules: string): string {
  const f = path.join(tmp('oci-ci-'), '.dive-ci');
  writeFileSync(f, `rules:\n${rules}`);
  return f;
}

describe('efficiency on the hand-computed stack (eff-stack.ts: score 1410/2095, wasted 815, user 605, reclaimable 595)', async () => {
  const image = writeLayout([{ layers: await stackTars() }]);

  it('--json prints the figures worked out by hand', async () => {
    const r = await cli('efficiency', image, '--json');
    expect(r.code, r.err).toBe(0);
    const { inefficiencies, ...figures } = STACK_EFFICIENCY;
    const j = JSON.parse(r.out) as Record<string, unknown>;
    expect(j).toEqual({ ...figures, topWasted: inefficiencies });
    expect(JSON.parse((await cli('efficiency', image, '--json', '--top', '2')).out)).toMatchObject({ topWasted: inefficiencies.slice(0, 2) });
  });

  it('highestWastedBytes fails above the limit (815 B > 814 B, > 0.8KB), passes at it (815 B)', async () => {
    for (const limit of ['814', '0.8KB']) {
      const r = await cli('efficiency', image, '--ci-config', ciFile(`  highestWastedBytes: ${limit}\n`));
      expect(r.code, limit).toBe(1);
      expect(r.out).toMatch(new RegExp(`^FAIL {2}highestWastedBytes: wasted 815 B \\(maximum ${limit === '814' ? 814 : 800} B\\)$`, 'm'));
      expect(r.out).not.toMatch(/^PASS/m);
    }
    const ok = await cli('efficiency', image, '--ci-config', ciFile('  highestWastedBytes: 815\n'));
    expect(ok.code).toBe(0);
    expect(ok.out).toMatch(/^PASS {2}highestWastedBytes: wasted 815 B \(maximum 815 B\)$/m);
  });

  it('highestUserWastedPercent fails above the limit (815/605 = 1.3471 > 1.3), also when another rule passes', async () => {
    const r = await cli('efficiency', image, '--ci-config', ciFile('  lowestEfficiency: 0.5\n  highestUserWastedPercent: 1.3\n'));
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/^PASS {2}lowestEfficiency: efficiency 0\.6730 \(minimum 0\.5\)$/m);
    expect(r.out).toMatch(/^FAIL {2}highestUserWastedPercent: wasted\/user size 1\.3471 \(maximum 1\.3\)$/m);
    const j = JSON.parse((await cli('efficiency', image, '--json', '--ci-config', ciFile('  lowestEfficiency: 0.5\n  highestUserWastedPercent: 1.3\n'))).out) as { pass: boolean; rules: { rule: string; pass: boolean }[] };
    expect(j.pass).toBe(false);
    expect(j.rules.map((x) => [x.rule, x.pass])).toEqual([
      ['lowestEfficiency', true],
      ['highestUserWastedPercent', false],
    ]);
    expect((await cli('efficiency', image, '--ci-config', ciFile('  highestUserWastedPercent: 1.35\n'))).code).toBe(0);
  });

  it('a config whose every rule passes exits 0 and prints PASS for each; "disabled" rules are not evaluated', async () => {
    const r = await cli('efficiency', image, '--ci-config', ciFile('  lowestEfficiency: 0.67\n  highestWastedBytes: 1KB\n  highestUserWastedPercent: "1.5"\n'));
    expect(r.code, r.out).toBe(0);
    expect(r.out.split('\n').filter((l) => /^(PASS|FAIL) /.test(l))).toEqual([
      'PASS  lowestEfficiency: efficiency 0.6730 (minimum 0.67)',
      'PASS  highestWastedBytes: wasted 815 B (maximum 1000 B)',
      'PASS  highestUserWastedPercent: wasted/user size 1.3471 (maximum 1.5)',
    ]);
    const d = await cli('efficiency', image, '--json', '--ci-config', ciFile('  lowestEfficiency: 0.99\n  highestWastedBytes: disabled\n  highestUserWastedPercent: disabled\n'));
    expect(d.code).toBe(1);
    expect((JSON.parse(d.out) as { rules: { rule: string }[] }).rules.map((x) => x.rule)).toEqual(['lowestEfficiency']);
    // A bad config is a usage error (exit 2), never a silent pass.
    expect((await cli('efficiency', image, '--ci-config', ciFile('  highestWastedBytes: lots\n'))).code).toBe(2);
    expect((await cli('efficiency', image, '--ci-config', path.join(tmp('oci-ci-none-'), 'missing.yaml'))).code).toBe(2);
  });

  it('diff --layer N --json prints exactly the changed paths, their kind and the layer that did it', async () => {
    const rows = async (...args: string[]) => jsonLines((await cli('diff', image, ...args, '--json')).out);
    // L1: etc/conf rewritten (100 → 200 B), junk added; cache/ declared again unchanged: not listed.
    expect(await rows('--layer', '1')).toEqual([
      { path: 'etc/conf', status: 'modified', changes: ['content'], sizeDelta: 100, layer: 1, type: 'file' },
      { path: 'junk', status: 'added', sizeDelta: 50, layer: 1, type: 'file' },
    ]);
    // L2: three whiteouts (a file, two folders with what they held) and two rewrites.
    expect(await rows('--layer', '2')).toEqual([
      { path: 'cache', status: 'removed', sizeDelta: 0, removedBy: 2, type: 'dir' },
      { path: 'cache/a', status: 'removed', sizeDelta: -40, removedBy: 2, type: 'file' },
      { path: 'cache/b', status: 'removed', sizeDelta: -60, removedBy: 2, type: 'file' },
      { path: 'etc/conf', status: 'modified', changes: ['content'], sizeDelta: 100, layer: 2, type: 'file' },
      { path: 'junk', status: 'removed', sizeDelta: -50, removedBy: 2, type: 'file' },
      { path: 'logs', status: 'removed', sizeDelta: 0, removedBy: 2, type: 'dir' },
      { path: 'logs/x.log', status: 'removed', sizeDelta: -80, removedBy: 2, type: 'file' },
      { path: 'opq/old', status: 'modified', changes: ['content'], sizeDelta: 5, layer: 2, type: 'file' },
    ]);
    // L3: the opaque marker removes opq/old (the layer's own opq/new stays); the marker is not a row.
    expect(await rows('--layer', '3')).toEqual([
      { path: 'opq/new', status: 'added', sizeDelta: 20, layer: 3, type: 'file' },
      { path: 'opq/old', status: 'removed', sizeDelta: -35, removedBy: 3, type: 'file' },
    ]);
    // Aggregated (layers 1..3 on top of layer 0) and --from/--to agree on what is left of L0.
    const agg = await rows('--layer', '3', '--aggregated');
    expect(agg.map((r) => [r.path, r.status])).toEqual([
      ['cache', 'removed'],
      ['cache/a', 'removed'],
      ['cache/b', 'removed'],
      ['etc/conf', 'modified'],
      ['logs', 'removed'],
      ['logs/x.log', 'removed'],
      ['opq/new', 'added'],
      ['opq/old', 'removed'],
    ]);
    expect((await rows('--from', '0', '--to', '3')).map((r) => [r.path, r.status])).toEqual(agg.map((r) => [r.path, r.status]));
  });
});

describe('--platform on a two-platform image', async () => {
  // Layers differ per platform: a shared base, then a file only one platform has.
  const base = await makeTar([{ name: 'etc/', type: 'directory' }, { name: 'etc/os-release', content: 'ID=fixture\n' }]);
  const images = await Promise.all(
    (['amd64', 'arm64'] as const).map(async (arch) => ({
      platform: { os: 'linux', architecture: arch },
      layers: [base, await makeTar([{ name: 'etc/arch', content: `${arch}\n` }, { name: `usr/bin/only-${arch}`, content: B(arch === 'amd64' ? 11 : 22), mode: 0o755 }])],
    })),
  );
  const image = writeLayout(images);
  const listing = (arch: string) => [
    { path: 'etc', type: 'dir', layer: 0 },
    { path: 'etc/arch', type: 'file', size: arch.length + 1, layer: 1 },
    { path: 'etc/os-release', type: 'file', size: 11, layer: 0 },
    { path: 'usr', type: 'dir', layer: 1 },
    { path: 'usr/bin', type: 'dir', layer: 1 },
    { path: `usr/bin/only-${arch}`, type: 'file', size: arch === 'amd64' ? 11 : 22, mode: 0o755, layer: 1 },
  ];

  it('ls --platform os/arch lists that platform\'s files (aliases normalised)', async () => {
    for (const [asked, arch] of [
      ['linux/arm64', 'arm64'],
      ['linux/aarch64', 'arm64'],
      ['linux/arm64/v8', 'arm64'],
      ['linux/amd64', 'amd64'],
      ['linux/x86_64', 'amd64'],
    ] as const) {
      const r = await cli('ls', image, '--platform', asked, '--json');
      expect(r.code, `${asked}: ${r.err}`).toBe(0);
      const rows = jsonLines(r.out);
      expect(rows.length, asked).toBe(6);
      rows.forEach((row, i) => expect(row, asked).toMatchObject(listing(arch)[i]!));
      expect((await cli('cat', image, '--platform', asked, 'etc/arch')).bytes.toString()).toBe(`${arch}\n`);
    }
    // --layer N with --platform: that platform's own layer.
    const l1 = jsonLines((await cli('ls', image, '--platform', 'linux/arm64', '--layer', '1', '--json')).out);
    expect(l1.map((r) => r.path)).toEqual(['etc/arch', 'usr', 'usr/bin', 'usr/bin/only-arm64']);
  });

  it('a platform the image does not have is exit 1 naming both; without --platform the host decides or the choices are listed', async () => {
    const none = await cli('ls', image, '--platform', 'windows/amd64');
    expect(none.code).toBe(1);
    expect(none.err).toMatch(/No image matches platform windows\/amd64\. Images in this source: .*linux\/amd64.*; .*linux\/arm64/);
    expect(none.out).toBe('');
    const bad = await cli('ls', image, '--platform', 'linux');
    expect(bad.code).toBe(2);
    const host = formatPlatform(hostPlatform());
    const r = await cli('ls', image, '--json');
    if (host === 'linux/amd64' || host === 'linux/arm64') {
      expect(r.code, r.err).toBe(0);
      expect(jsonLines(r.out).map((x) => x.path)).toContain(`usr/bin/only-${host.slice(6)}`);
    } else {
      expect(r.code).toBe(1);
      expect(r.err).toMatch(/holds 2 images; choose one with --image <digest> or --platform/);
    }
  });
});
