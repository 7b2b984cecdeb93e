import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openImage } from '../../../shared/layers/open-image.js';
import { cliRunner } from '../../helpers/cli.js';
import { file, hdr, layoutOf, pax, tar } from './build.js';

// Issue 15 item 5: an entry the host cannot take is skipped with a reason listed in the result, never a
// rollback of everything; setuid/setgid bits and device nodes only when asked, even as root. Item 6:
// non-UTF-8 names are written back as their original bytes.

const tmp = (p: string) => mkdtempSync(path.join(os.tmpdir(), p));
const cache = tmp('oci-x-cache-');

async function extractLayers(layers: Buffer[], opts: { setuid?: boolean; devices?: boolean } = {}) {
  const dir = layoutOf(layers.map((t) => ({ blob: t })));
  const r = await openImage(`oci:${dir}`, {}, { cacheDir: cache });
  try {
    const out = path.join(tmp('oci-x-out-'), 'root');
    const res = await r.image.layers.extract(out, opts);
    return { out, res, problems: r.image.layers.layers.flatMap((l) => l.problems) };
  } finally {
    await r.close();
  }
}

describe('extraction skips what the host cannot take, keeps the rest', () => {
  it('a 10,000-character name, 3,000 nested folders, a name component over 255 bytes: each skipped with why', async () => {
    const deep = Array.from({ length: 3000 }, () => 'a').join('/');
    const t = tar(
      file('ok/first', 'kept'),
      pax({ path: `long/${'x'.repeat(10_000)}` }),
      file('placeholder', 'never written'),
      pax({ path: `${deep}/leaf` }),
      file('placeholder2', 'deep leaf'),
      pax({ path: `c/${'y'.repeat(300)}` }),
      file('placeholder3', 'long component'),
      file('ok/last', 'kept too'),
    );
    const { out, res } = await extractLayers([t]);
    expect(readFileSync(path.join(out, 'ok/first'), 'utf8')).toBe('kept');
    expect(readFileSync(path.join(out, 'ok/last'), 'utf8')).toBe('kept too');
    const why = new Map(res.skipped.map((s) => [s.path.slice(0, 40), s.reason]));
    expect(why.get(`long/${'x'.repeat(35)}`)).toMatch(/over this system's 4096-byte limit|255-byte limit/);
    expect(why.get(`c/${'y'.repeat(38)}`)).toMatch(/over this system's 255-byte limit/);
    // The deep chain: the first folder whose path is too long is listed; nothing below it is attempted.
    expect([...why.entries()].some(([p, r]) => p.startsWith('a/a/a/') && /4096-byte limit/.test(r))).toBe(true);
    expect(res.skipped.length).toBeLessThan(10);
    expect(res.files).toBe(2);
  });

  it('an out-of-range mtime, a uid ≥ 2^32 and a NUL in a name never reach the disk: refused by the parser, listed on the layer', async () => {
    const t = tar(file('a', 'A'), pax({ mtime: '1e300' }), file('m', 'x'), pax({ uid: '4294967296' }), file('u', 'x'), pax({ path: Buffer.from('n\0ul') }), file('z', 'x'), file('b', 'B'));
    const { out, res, problems } = await extractLayers([t]);
    expect(readdirSync(out).sort()).toEqual(['a', 'b']);
    expect(res.skipped).toEqual([]);
    expect(problems.map((p) => p.message.replace(/ at byte \d+/, ''))).toEqual([
      expect.stringMatching(/^Entry "m" was skipped: its PAX header is malformed \(mtime "1e300" is not a number\)/),
      expect.stringMatching(/^Entry "u" was skipped: its owner id 4294967296 is not a valid uid/),
      expect.stringMatching(/^Entry "n\0ul" was skipped: its name contains a NUL byte/),
    ]);
  });

  it('setuid/setgid bits only with setuid: true (even as root); listed when dropped', async () => {
    const t = tar(file('bin/su', 'x', { mode: 0o4755 }), file('bin/wall', 'x', { mode: 0o2755 }), file('bin/plain', 'x', { mode: 0o755 }));
    const plain = await extractLayers([t]);
    expect(statSync(path.join(plain.out, 'bin/su')).mode & 0o7777).toBe(0o755);
    expect(statSync(path.join(plain.out, 'bin/wall')).mode & 0o7777).toBe(0o755);
    expect(plain.res.skipped.map((s) => s.path).sort()).toEqual(['bin/su', 'bin/wall']);
    expect(plain.res.skipped[0]!.reason).toMatch(/without its setuid\/setgid bits \(extract --setuid keeps them\)/);
    const kept = await extractLayers([t], { setuid: true });
    expect(statSync(path.join(kept.out, 'bin/su')).mode & 0o7777).toBe(0o4755);
    expect(kept.res.skipped).toEqual([]);
  });

  it('device nodes only with devices: true, even as root', async () => {
    const t = tar(hdr({ name: 'dev/null', type: '3', mode: 0o666, devmajor: 1, devminor: 3 }), file('f', 'x'));
    const { out, res } = await extractLayers([t]);
    expect(existsSync(path.join(out, 'dev/null'))).toBe(false);
    expect(res.skipped).toEqual([{ path: 'dev/null', reason: expect.stringMatching(/made only when asked \(extract --devices/) as unknown }]);
  });

  it('non-UTF-8 names are written back as their bytes; two names differing only in invalid bytes are two files', async () => {
    const a = Buffer.from([0x66, 0xff]);
    const b = Buffer.from([0x66, 0xfe]);
    const { out } = await extractLayers([tar(file(a, 'one'), file(b, 'two'), file(Buffer.from('d\xe9/x', 'latin1'), 'three'))]);
    const names = execFileSync('ls', ['-1', out]).toString('latin1').trim().split('\n').sort();
    expect(names).toEqual(['d\xe9', 'f\xfe', 'f\xff'].sort());
    expect(readFileSync(Buffer.concat([Buffer.from(out + '/'), a]) as unknown as string, 'utf8')).toBe('one');
    expect(lstatSync(Buffer.concat([Buffer.from(out + '/'), Buffer.from('d\xe9/x', 'latin1')]) as unknown as string).isFile()).toBe(true);
  });

  it('the CLI lists skipped entries escaped, and --help names --setuid and --devices', async () => {
    const cli = cliRunner(cache);
    const dir = layoutOf([{ blob: tar(file('ok', 'x'), file('evil\x1b]0;title\x07', 'x', { mode: 0o4755 })) }]);
    const out = path.join(tmp('oci-x-cli-'), 'root');
    const r = await cli('extract', dir, '--to', out);
    expect(r.code).toBe(0);
    expect(r.err).toContain('skipped evil\\x1b]0;title\\x07: written without its setuid/setgid bits');
    expect(r.err).not.toContain('\x1b');
    const help = await cli('extract', '--help');
    expect(help.out).toMatch(/--setuid/);
    expect(help.out).toMatch(/--devices/);
  });
});
