import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { CliIO } from '../../../shared/cli/io.js';
import { main } from '../../../shared/cli/main.js';
import { openImage } from '../../../shared/layers/open-image.js';
import { makeTar } from './helpers.js';
import { writeLayout } from './layout.js';

// Hostile layer tars (issue: extraction must never write outside its target). Each hostile entry is
// either refused with a problem that names it, or contained: its name is read inside the image root
// (as chroot / moby do), so it lands inside the target. The benign entries are all extracted.

const tmp = (p: string) => mkdtempSync(path.join(os.tmpdir(), p));

/** Every path under `dir` (relative, sorted), not following symlinks. */
function listAll(dir: string, skip?: string): string[] {
  const out: string[] = [];
  const walk = (d: string, rel: string) => {
    for (const n of readdirSync(d).sort()) {
      const r = rel ? `${rel}/${n}` : n;
      if (path.join(d, n) === skip) continue;
      out.push(r);
      if (lstatSync(path.join(d, n)).isDirectory()) walk(path.join(d, n), r);
    }
  };
  walk(dir, '');
  return out;
}

/** A stat of a host file that must stay untouched (link count, inode, mode, owner, size, mtime). */
const fingerprint = (p: string) => {
  const s = statSync(p);
  return { ino: s.ino, nlink: s.nlink, mode: s.mode, uid: s.uid, size: s.size, mtimeMs: s.mtimeMs };
};

/**
 * base/sentinel   an empty folder the symlinks aim at (absolutely and relatively)
 * base/a/b/root   the extraction target, so `../..` from it stays inside base where we can see it
 */
async function hostileImage() {
  const base = tmp('oci-hostile-');
  const sentinel = path.join(base, 'sentinel');
  mkdirSync(sentinel);
  const sentinelInRoot = sentinel.slice(1); // "/tmp/…/sentinel" read inside the image root
  const layer0 = await makeTar([
    { name: 'etc/', type: 'directory' },
    { name: 'etc/passwd', content: 'root:x:0:0:image:/root:/bin/sh\n' },
    { name: 'ok', content: 'benign' },
    // Names that climb out: refused at indexing (PATH_ESCAPE), the rest of the layer kept.
    { name: '../x', content: 'escape by ..' },
    { name: 'a/../../y', content: 'escape by a/../..' },
    // An absolute name is read inside the root.
    { name: '/abs/name', content: 'absolute name' },
    // Hard links: one climbing out (refused), one absolute (inside the root), one to nothing in the image.
    { name: 'hl-up', type: 'link', linkname: '../../etc/passwd' },
    { name: 'hl-abs', type: 'link', linkname: '/etc/passwd' },
    { name: 'hl-abs-missing', type: 'link', linkname: '/etc/shadow' },
    // Symlinks to the root and above it, then files through them in the same layer.
    { name: 'evil', type: 'symlink', linkname: '/' },
    { name: 'evil/x', content: 'through evil -> / (same layer)' },
    { name: 'evil2', type: 'symlink', linkname: '../..' },
    { name: 'evil2/y2', content: 'through evil2 -> ../.. (same layer)' },
    // Symlinks aimed at a real folder of the host, absolutely and relatively from the target.
    { name: 'esc', type: 'symlink', linkname: sentinel },
    { name: 'esc/pwned', content: 'through esc -> host sentinel' },
    { name: 'esc-rel', type: 'symlink', linkname: '../../../sentinel' },
    { name: 'esc-rel/pwned-rel', content: 'through esc-rel -> ../../../sentinel' },
    // A symlink loop as a parent: skipped with a problem.
    { name: 'loop', type: 'symlink', linkname: 'loop/deeper' },
    { name: 'loop/z', content: 'through a loop' },
  ]);
  const layer1 = await makeTar([
    { name: 'evil/x2', content: 'through evil -> / (later layer)' },
    { name: 'evil2/etc/hostile', content: 'through evil2 -> ../.. into etc (later layer)' },
    { name: 'esc/pwned-later', content: 'through esc (later layer)' },
    { name: 'hl-through', type: 'link', linkname: 'evil/etc/passwd' },
  ]);
  return { base, sentinel, sentinelInRoot, dir: writeLayout([{ layers: [layer0, layer1] }]) };
}

describe('extracting hostile layers', () => {
  it('opens the image, refuses or contains every hostile entry, writes nothing outside the target', async () => {
    const h = await hostileImage();
    const hostPasswd = fingerprint('/etc/passwd');
    const r = await openImage(h.dir, {}, { cacheDir: tmp('oci-hostile-cache-'), workers: 0 });
    try {
      // The image opens; the refused names are problems on their layer, named.
      expect(r.image.layers.layers.map((l) => l.state)).toEqual(['ready', 'ready']);
      const p0 = r.image.layers.layers[0]!.problems;
      expect(p0.map((p) => [p.code, p.path])).toEqual([
        ['PATH_ESCAPE', '../x'],
        ['PATH_ESCAPE', 'a/../../y'],
        ['PATH_ESCAPE', 'hl-up'],
      ]);
      expect(p0[2]!.message).toMatch(/hl-up.*\.\.\/\.\.\/etc\/passwd.*outside the image root.*skipped/);
      expect(r.image.layers.layers[1]!.problems).toEqual([]);
      const tree = r.image.layers.mergedTree();
      expect(tree.problems.map((p) => [p.code, p.path])).toEqual([['PATH_ESCAPE', 'loop/z']]);
      expect(tree.problems[0]!.message).toMatch(/too many symbolic links.*skipped/);

      const target = path.join(h.base, 'a', 'b', 'root');
      const res = await r.image.layers.extract(target);

      // Nothing outside the target: the sentinel stays empty and base holds only a/b/root and it.
      expect(readdirSync(h.sentinel)).toEqual([]);
      expect(listAll(h.base, target)).toEqual(['a', 'a/b', 'sentinel']);
      expect(fingerprint('/etc/passwd')).toEqual(hostPasswd);

      // Inside: every benign and every contained entry, at its path read inside the root.
      const inRoot = (p: string) => path.join(target, p);
      const text = (p: string) => readFileSync(inRoot(p), 'utf8');
      expect(text('ok')).toBe('benign');
      expect(text('etc/passwd')).toBe('root:x:0:0:image:/root:/bin/sh\n');
      expect(text('abs/name')).toBe('absolute name');
      expect(text('x')).toBe('through evil -> / (same layer)');
      expect(text('y2')).toBe('through evil2 -> ../.. (same layer)');
      expect(text('x2')).toBe('through evil -> / (later layer)');
      expect(text('etc/hostile')).toBe('through evil2 -> ../.. into etc (later layer)');
      expect(text(`${h.sentinelInRoot}/pwned`)).toBe('through esc -> host sentinel');
      expect(text(`${h.sentinelInRoot}/pwned-later`)).toBe('through esc (later layer)');
      expect(text('sentinel/pwned-rel')).toBe('through esc-rel -> ../../../sentinel');
      // The absolute hard links are links to the image's own etc/passwd.
      for (const l of ['hl-abs', 'hl-through']) expect(statSync(inRoot(l)).ino).toBe(statSync(inRoot('etc/passwd')).ino);
      expect(statSync(inRoot('etc/passwd')).nlink).toBe(3);
      // Symlinks are written as they are (last, so nothing was written through them).
      expect(readlinkSync(inRoot('evil'))).toBe('/');
      expect(readlinkSync(inRoot('evil2'))).toBe('../..');
      expect(readlinkSync(inRoot('esc'))).toBe(h.sentinel);
      expect(readlinkSync(inRoot('esc-rel'))).toBe('../../../sentinel');
      expect(readlinkSync(inRoot('loop'))).toBe('loop/deeper');
      // Refused names are nowhere.
      for (const p of ['x', 'y', 'z', 'hl-up']) expect(existsSync(path.join(h.base, 'a', 'b', p)), p).toBe(false);
      expect(existsSync(inRoot('hl-up'))).toBe(false);
      expect(existsSync(inRoot('loop/z'))).toBe(false);
      // The hard link to a file the image does not have is skipped, with the reason.
      expect(res.skipped.map((s) => s.path)).toEqual(['hl-abs-missing']);
      expect(res.skipped[0]!.reason).toMatch(/hl-abs-missing.*etc\/shadow.*not a file in the image/);
      expect(existsSync(inRoot('hl-abs-missing'))).toBe(false);
      expect(res).toMatchObject({ files: 10, hardlinks: 2, symlinks: 5 });
      // Exactly these paths, nothing else.
      expect(listAll(target)).toEqual(
        [
          'abs',
          'abs/name',
          'esc',
          'esc-rel',
          'etc',
          'etc/hostile',
          'etc/passwd',
          'evil',
          'evil2',
          'hl-abs',
          'hl-through',
          'loop',
          'ok',
          'sentinel',
          'sentinel/pwned-rel',
          'x',
          'x2',
          'y2',
          ...h.sentinelInRoot.split('/').map((_, i, a) => a.slice(0, i + 1).join('/')),
          `${h.sentinelInRoot}/pwned`,
          `${h.sentinelInRoot}/pwned-later`,
        ].sort(),
      );
    } finally {
      await r.close();
    }
  });

  it('the CLI extract reports the refused entries and the skipped one on stderr, exit 0', async () => {
    const h = await hostileImage();
    let out = '';
    let err = '';
    const io: CliIO = { stdout: (s) => void (out += s), stderr: (s) => void (err += s), cwd: h.base, env: { OCI_EXPLORER_CACHE: tmp('oci-hostile-cli-cache-') } };
    const code = await main(['extract', h.dir, '--to', 'a/b/root'], io);
    expect(code, err).toBe(0);
    expect(readdirSync(h.sentinel)).toEqual([]);
    expect(listAll(h.base, path.join(h.base, 'a/b/root'))).toEqual(['a', 'a/b', 'sentinel']);
    expect(err).toMatch(/^layer 0 \(\w+\): PATH_ESCAPE: Entry "\.\.\/x"/m);
    expect(err).toMatch(/^layer 0 \(\w+\): PATH_ESCAPE: Hard link "hl-up"/m);
    expect(err).toMatch(/^merged filesystem: PATH_ESCAPE: "loop\/z" in layer 0 goes through too many symbolic links; it was skipped\.$/m);
    expect(err).toMatch(/^skipped hl-abs-missing: .*etc\/shadow/m);
    expect(out).toMatch(/^10 files \(\d+ B\), \d+ folders, 5 symbolic links, 2 hard links written; 1 skipped\.$/m);
  });
});
