import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseBytes, parseCiConfig } from '../../../shared/cli/commands/efficiency.js';
import { cliRunner } from '../../helpers/cli.js';
import { fx, noSharedFixtures } from '../../helpers/fixtures.js';
import { dockerSaveLayers, tarHeaders, tarMembers } from './helpers.js';

const cache = mkdtempSync(path.join(os.tmpdir(), 'oci-cli-cache-'));
const cli = cliRunner(cache);
const DIVE = fx('dive/.data/test-docker-image.tar');

describe('.dive-ci parsing', () => {
  it('reads dive rules, sizes as go-humanize does, and "disabled"', () => {
    expect(parseBytes('20MB')).toBe(20_000_000);
    expect(parseBytes('1.5KiB')).toBe(1536);
    expect(parseBytes('1000')).toBe(1000);
    expect(() => parseBytes('lots')).toThrow(/not a size/);
    expect(parseCiConfig('rules:\n  # comment\n  lowestEfficiency: 0.95\n  highestWastedBytes: disabled\n  highestUserWastedPercent: "0.1"\n', 'f')).toEqual({ lowestEfficiency: 0.95, highestUserWastedPercent: 0.1 });
    expect(() => parseCiConfig('rules:\n  nope: 1\n', 'f')).toThrow(/unknown rule/);
  });
});

describe.skipIf(noSharedFixtures)('layer commands on dive test-docker-image.tar', () => {
  it('ls --json prints one object per path with the issue fields; --layer N lists that layer', async () => {
    const r = await cli('ls', DIVE, '--json');
    expect(r.code).toBe(0);
    const rows = r.out.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const ls = rows.find((x) => x.path === 'bin/ls')!;
    expect(Object.keys(ls)).toEqual(['path', 'type', 'size', 'mode', 'uid', 'gid', 'linkname', 'layer']);
    // The hard link has its target's size (read independently from the layer tar).
    const layer0 = await dockerSaveLayers(DIVE);
    const f = path.join(mkdtempSync(path.join(os.tmpdir(), 'l0-')), 'l0.tar');
    writeFileSync(f, layer0[0]!);
    const members = await tarMembers(f);
    expect(ls.size).toBe(members.get(ls.linkname as string)!.length);
    expect(rows.some((x) => String(x.path).includes('.wh.'))).toBe(false);
    const l5 = await cli('ls', DIVE, '--layer', '5', '--json');
    expect(l5.out.trim().split('\n').every((l) => (JSON.parse(l) as { layer: number }).layer === 5)).toBe(true);
    expect((await cli('ls', DIVE, '--layer', '99')).code).toBe(2);
  });

  it('diff --layer N --json prints the rows the layer tars imply; --from/--to', async () => {
    const diff = async (n: number) => {
      const d = await cli('diff', DIVE, '--layer', String(n), '--json');
      expect(d.code, d.err).toBe(0);
      return d.out.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    };
    // What each layer's tar holds (read with tar-stream), against what diff reports for it.
    const tars = await dockerSaveLayers(DIVE);
    const headers = async (n: number) => new Map((await tarHeaders(tars[n]!)).map((h) => [h.name, h]));
    // Layer 4 re-adds somefile1.txt with mode 0444 (was 0644 in layer 3), same bytes: a mode change only.
    const [h3, h4] = [await headers(3), await headers(4)];
    const f1 = 'root/example/somefile1.txt';
    expect([h3.get(f1)!.mode & 0o7777, h4.get(f1)!.mode & 0o7777, h4.get(f1)!.size]).toEqual([0o644, 0o444, 6405]);
    expect(await diff(4)).toEqual([{ path: f1, status: 'modified', changes: ['mode'], sizeDelta: 0, layer: 4, type: 'file' }]);
    // Layer 5 adds one file.
    expect((await headers(5)).get('root/example/somefile2.txt')!.size).toBe(6405);
    expect(await diff(5)).toEqual([{ path: 'root/example/somefile2.txt', status: 'added', sizeDelta: 6405, layer: 5, type: 'file' }]);
    // Layer 7 whites out somefile3.txt (added by layer 6) and adds saved.txt; the re-declared parent
    // folders (same modes) are not changes.
    const h7 = await headers(7);
    expect([...h7.keys()]).toEqual(['root/', 'root/example/', 'root/example/.wh.somefile3.txt', 'root/saved.txt']);
    expect(await diff(7)).toEqual([
      { path: 'root/example/somefile3.txt', status: 'removed', sizeDelta: -6405, removedBy: 7, type: 'file' },
      { path: 'root/saved.txt', status: 'added', sizeDelta: h7.get('root/saved.txt')!.size, layer: 7, type: 'file' },
    ]);
    // Layer 9 whites out root/example: the folder and everything left under it are removed rows.
    expect([...(await headers(9)).keys()]).toEqual(['root/', 'root/.wh.example']);
    expect(await diff(9)).toEqual([
      { path: 'root/example', status: 'removed', sizeDelta: 0, removedBy: 9, type: 'dir' },
      { path: 'root/example/really', status: 'removed', sizeDelta: 0, removedBy: 9, type: 'dir' },
      { path: 'root/example/really/nested', status: 'removed', sizeDelta: 0, removedBy: 9, type: 'dir' },
      { path: f1, status: 'removed', sizeDelta: -6405, removedBy: 9, type: 'file' },
      { path: 'root/example/somefile2.txt', status: 'removed', sizeDelta: -6405, removedBy: 9, type: 'file' },
    ]);
    const text = await cli('diff', DIVE, '--from', '0', '--to', '13');
    expect(text.out).toMatch(/added .* modified .* removed/);
    expect((await cli('diff', DIVE)).code).toBe(2);
  });

  it('efficiency prints dive figures and --ci-config fails the run when a rule fails', async () => {
    const j = await cli('efficiency', DIVE, '--json');
    const e = JSON.parse(j.out) as { score: number; wastedBytes: number; reclaimableBytes: number };
    expect(e.score.toFixed(5)).toBe('0.98442');
    expect(e.wastedBytes).toBe(32025);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ci-'));
    writeFileSync(path.join(dir, 'pass.yaml'), 'rules:\n  lowestEfficiency: 0.9\n  highestWastedBytes: 1MB\n  highestUserWastedPercent: disabled\n');
    writeFileSync(path.join(dir, 'fail.yaml'), 'rules:\n  lowestEfficiency: 0.99\n');
    expect((await cli('efficiency', DIVE, '--ci-config', path.join(dir, 'pass.yaml'))).code).toBe(0);
    const fail = await cli('efficiency', DIVE, '--ci-config', path.join(dir, 'fail.yaml'));
    expect(fail.code).toBe(1);
    expect(fail.out).toMatch(/FAIL {2}lowestEfficiency/);
  });

  it('cat writes the bytes of a file (hard links followed), extract writes the rootfs', async () => {
    const layers = await dockerSaveLayers(DIVE);
    const last = path.join(mkdtempSync(path.join(os.tmpdir(), 'ln-')), 'l.tar');
    writeFileSync(last, layers[layers.length - 1]!);
    const m = await tarMembers(last);
    const [name, content] = [...m].find(([n, c]) => c.length > 0 && !n.endsWith('/'))!;
    const c = await cli('cat', DIVE, name);
    expect(c.code).toBe(0);
    expect(c.bytes.equals(content)).toBe(true);
    expect((await cli('cat', DIVE, 'no/such/file')).code).toBe(1);
    const out = path.join(mkdtempSync(path.join(os.tmpdir(), 'x-')), 'root');
    const x = await cli('extract', DIVE, '--to', out, '--path', 'root');
    expect(x.code).toBe(0);
    expect(readdirSync(out)).toEqual(['root']);
    expect(readFileSync(path.join(out, name)).equals(content)).toBe(true);
  });

  it('gzip, eStargz, zstd and uncompressed OCI tarballs give the same file (dive OCI fixtures)', async () => {
    // The four images hold the README that dive's placeholder tar holds as a plain member.
    const want = (await tarMembers(fx('dive/.data/NOT-AN-IMAGE_test-gzip-image.tar'))).get('README.md')!;
    for (const kind of ['gzip', 'estargz', 'zstd', 'uncompressed']) {
      const r = await cli('cat', fx(`dive/.data/test-oci-${kind}-image.tar`), 'README.md');
      expect(r.code, `${kind}: ${r.err}`).toBe(0);
      expect(r.bytes.equals(want), kind).toBe(true);
    }
  });

  it('a plain tar that is not an image gives a clear error', async () => {
    const r = await cli('ls', fx('dive/.data/NOT-AN-IMAGE_test-gzip-image.tar'));
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/not an image/);
  });
});
