import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseBytes, parseCiConfig } from '../../../shared/cli/commands/efficiency.js';
import type { CliIO } from '../../../shared/cli/io.js';
import { main } from '../../../shared/cli/main.js';
import { fx, noSharedFixtures } from '../../helpers/fixtures.js';
import { dockerSaveLayers, tarMembers } from './helpers.js';

const cache = mkdtempSync(path.join(os.tmpdir(), 'oci-cli-cache-'));
async function cli(...argv: string[]) {
  let out = '';
  let err = '';
  const bytes: Buffer[] = [];
  const io: CliIO = { stdout: (s) => void (out += s), stderr: (s) => void (err += s), stdoutBytes: (b) => void bytes.push(Buffer.from(b)), cwd: process.cwd(), env: { OCI_EXPLORER_CACHE: cache } };
  const code = await main(argv, io);
  return { code, out, err, bytes: Buffer.concat(bytes) };
}
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

  it('diff --layer N and --from/--to', async () => {
    const d = await cli('diff', DIVE, '--layer', '5', '--json');
    expect(d.code).toBe(0);
    const rows = d.out.trim().split('\n').map((l) => JSON.parse(l) as { path: string; status: string });
    expect(rows.length).toBeGreaterThan(0);
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
