import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cliError } from '../../../shared/cli/main.js';
import { cliRunner } from '../../helpers/cli.js';
import { REPO_ROOT } from '../../helpers/fixtures.js';
import { file, layoutOf, tar } from './build.js';

// Issue 15 items 6 and 9: control characters are escaped in every human output of the CLI (a name with
// "\n" cannot forge a line, ESC/OSC cannot drive the terminal), --json stays exact; the CLI exits quietly
// on a closed pipe and maps internal errors to a code and a sentence.

const cli = cliRunner(mkdtempSync(path.join(os.tmpdir(), 'oci-cliout-cache-')));
const HOSTILE = ['evil\x1b]0;pwned\x07', 'two\nfake -rw-r--r-- 0:0 1 L0 forged', 'cr\rhidden', 'csi\x1b[2J', 'c1\u009bx'];
const RAW = Buffer.from([0x62, 0x61, 0x64, 0xff]); // "bad\xff"

function image(): string {
  const dir = layoutOf([{ blob: tar(...HOSTILE.map((n) => file(n, 'x')), file(RAW, 'y')) }, { blob: tar(file('added\x1b[31m', 'z')) }]);
  // A tag with ESC, as a RepoTag or ref.name can carry.
  const idx = JSON.parse(readFileSync(path.join(dir, 'index.json'), 'utf8')) as { manifests: { annotations: Record<string, string> }[] };
  idx.manifests[0]!.annotations['org.opencontainers.image.ref.name'] = 'tag\x1b]8;;http://x\x07';
  writeFileSync(path.join(dir, 'index.json'), JSON.stringify(idx));
  return dir;
}

const noControls = (s: string) => {
  // Newlines end lines; nothing else below 0x20 (but tab), no DEL/C1, no lone surrogates.
  // eslint-disable-next-line no-control-regex
  expect(s).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\udc80-\udcff]/);
};

describe('CLI output is safe for a terminal, --json exact', () => {
  const dir = image();
  const spec = `oci:${dir}:tag\x1b]8;;http://x\x07`;

  it('ls: one line per entry whatever the names hold; escapes are visible; --json keeps the exact names', async () => {
    const r = await cli('ls', spec, '--layer', '0');
    expect(r.code).toBe(0);
    noControls(r.out);
    const lines = r.out.trim().split('\n');
    expect(lines).toHaveLength(HOSTILE.length + 1);
    expect(r.out).toContain('evil\\x1b]0;pwned\\x07');
    expect(r.out).toContain('two\\nfake -rw-r--r-- 0:0 1 L0 forged');
    expect(r.out).toContain('bad\\xff');
    const j = await cli('ls', spec, '--layer', '0', '--json');
    const paths = j.out.trim().split('\n').map((l) => (JSON.parse(l) as { path: string }).path);
    expect(paths.sort()).toEqual([...HOSTILE, 'bad\udcff'].sort());
  });

  it('diff and inspect escape names, tags and problem texts; inspect --json is exact', async () => {
    const d = await cli('diff', spec, '--layer', '1');
    expect(d.code).toBe(0);
    noControls(d.out);
    expect(d.out).toContain('added\\x1b[31m');
    const i = await cli('inspect', dir);
    expect(i.code).toBe(0);
    noControls(i.out);
    expect(i.out).toContain('tag\\x1b]8;;http://x\\x07');
    const ij = await cli('inspect', dir, '--json');
    expect(ij.out).toContain('tag\\u001b]8;;http://x\\u0007'); // JSON's own escapes: exact once parsed
  });

  it('error sentences that embed a name are escaped too', async () => {
    const r = await cli('cat', spec, 'no\x1b[2Jsuch\nfile');
    expect(r.code).toBe(1);
    noControls(r.err.replace(/\n$/, ''));
    expect(r.err.trim().split('\n')).toHaveLength(1);
    expect(r.err).toContain('no\\x1b[2Jsuch');
  });

  it('errno errors that escape a command get a code and a sentence, not "Unexpected error"', () => {
    const e = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', path: '/out/x' });
    expect(cliError(e)).toMatchObject({ code: 'TOO_LARGE', message: '/out/x cannot be written: the disk is full; free some space and try again (ENOSPC).' });
    expect(cliError(Object.assign(new Error('x'), { code: 'EACCES', path: '/p' }))).toMatchObject({ code: 'FORBIDDEN' });
    expect(cliError(new Error('boom')).code).toBe('INTERNAL');
  });

  it('a closed pipe (ls | head -1) ends the CLI quietly: no stack trace, exit 0', () => {
    const many = layoutOf([{ blob: tar(...Array.from({ length: 20_000 }, (_, k) => file(`f${k}`, ''))) }]);
    const bin = path.join(REPO_ROOT, 'bin/oci-explorer.mjs');
    const r = spawnSync('bash', ['-c', `set -o pipefail; "${process.execPath}" "${bin}" ls "${many}" 2>err.txt | head -1 >/dev/null; s=$?; cat err.txt; exit $s`], {
      cwd: mkdtempSync(path.join(os.tmpdir(), 'oci-epipe-')),
      encoding: 'utf8',
      env: { ...process.env, OCI_EXPLORER_CACHE: mkdtempSync(path.join(os.tmpdir(), 'oci-epipe-cache-')) },
      timeout: 120_000,
    });
    expect(r.stdout).toBe('');
    expect(r.status).toBe(0);
  });
});
