import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openImage, type OpenedImage } from '../../../shared/layers/open-image.js';
import { makeTar } from './helpers.js';
import { writeLayout } from './layout.js';

// Devices, FIFOs and owners: made only "as root". `asRoot` (default: process.getuid() === 0) lets
// both branches run in one test process, whatever user runs the tests.

const tmp = (p: string) => mkdtempSync(path.join(os.tmpdir(), p));
const isRoot = process.getuid?.() === 0;
/** Linux dev_t → major/minor (glibc's gnu_dev_major/minor). */
const major = (rdev: number) => Number(((BigInt(rdev) >> 8n) & 0xfffn) | ((BigInt(rdev) >> 32n) & ~0xfffn));
const minor = (rdev: number) => Number((BigInt(rdev) & 0xffn) | ((BigInt(rdev) >> 12n) & ~0xffn));

/** Can this process make a character device at all (root in a container may lack CAP_MKNOD)? */
function canMknod(): boolean {
  const d = tmp('oci-mknod-probe-');
  return spawnSync('mknod', [path.join(d, 'c'), 'c', '1', '3'], { stdio: 'ignore' }).status === 0;
}

async function ownedImage(): Promise<OpenedImage> {
  const tar = await makeTar([
    { name: 'dev/', type: 'directory' },
    { name: 'dev/null', type: 'character-device', devmajor: 1, devminor: 3, mode: 0o666 },
    { name: 'dev/loop0', type: 'block-device', devmajor: 7, devminor: 0, mode: 0o660, gid: 6 },
    { name: 'run/', type: 'directory' },
    { name: 'run/initctl', type: 'fifo', mode: 0o600 },
    { name: 'home/', type: 'directory' },
    { name: 'home/u/', type: 'directory', mode: 0o750, uid: 1234, gid: 5678 },
    { name: 'home/u/f', content: 'owned by 1234', mode: 0o640, uid: 1234, gid: 5678 },
    { name: 'home/u/l', type: 'symlink', linkname: 'f', uid: 1234, gid: 5678 },
    { name: 'home/u/setgid', content: 'g', mode: 0o2755, uid: 1234, gid: 5678 },
  ]);
  return openImage(writeLayout([{ layers: [tar] }]), {}, { cacheDir: tmp('oci-owners-cache-'), workers: 0 });
}

describe('extraction of devices, FIFOs and owners', () => {
  it('asRoot: false (what a normal user gets): no mknod, no chown, each skipped node listed with why', async () => {
    const r = await ownedImage();
    try {
      const out = path.join(tmp('oci-owners-'), 'root');
      const res = await r.image.layers.extract(out, { asRoot: false, devices: true, setuid: true });
      expect(res.skipped).toEqual([
        { path: 'dev/loop0', reason: 'block device not created: that needs root (extract as root to get device nodes and owners)' },
        { path: 'dev/null', reason: 'character device not created: that needs root (extract as root to get device nodes and owners)' },
        { path: 'run/initctl', reason: 'FIFO not created: that needs root (extract as root to get device nodes and owners)' },
      ]);
      for (const p of ['dev/null', 'dev/loop0', 'run/initctl']) expect(existsSync(path.join(out, p)), p).toBe(false);
      // The folders that held them are still made.
      expect(lstatSync(path.join(out, 'dev')).isDirectory()).toBe(true);
      expect(lstatSync(path.join(out, 'run')).isDirectory()).toBe(true);
      // Owners are the extracting user's, not the image's; modes and content are the image's.
      const me = { uid: process.getuid!(), gid: process.getgid!() };
      for (const p of ['home/u', 'home/u/f', 'home/u/l', 'home/u/setgid']) {
        const s = lstatSync(path.join(out, p));
        expect({ uid: s.uid, gid: s.gid }, p).toEqual(me);
      }
      expect(readFileSync(path.join(out, 'home/u/f'), 'utf8')).toBe('owned by 1234');
      expect(statSync(path.join(out, 'home/u/f')).mode & 0o7777).toBe(0o640);
      expect(statSync(path.join(out, 'home/u')).mode & 0o7777).toBe(0o750);
      expect(statSync(path.join(out, 'home/u/setgid')).mode & 0o7777).toBe(0o2755);
      expect(res).toMatchObject({ files: 2, symlinks: 1 });
    } finally {
      await r.close();
    }
  });

  it.skipIf(!isRoot)('asRoot: true (and the default when uid is 0): devices with their numbers, the FIFO, the image owners', async () => {
    const mknod = canMknod();
    const r = await ownedImage();
    try {
      for (const opts of [{ asRoot: true, devices: true, setuid: true }, { devices: true, setuid: true }]) {
        const out = path.join(tmp('oci-owners-root-'), 'root');
        const res = await r.image.layers.extract(out, opts);
        if (!mknod) {
          // Root without CAP_MKNOD: the failure is listed, not fatal.
          expect(res.skipped.map((s) => [s.path, s.reason])).toEqual([
            ['dev/loop0', 'mknod failed for the block device'],
            ['dev/null', 'mknod failed for the character device'],
          ]);
        } else {
          expect(res.skipped).toEqual([]);
          const c = lstatSync(path.join(out, 'dev/null'));
          expect(c.isCharacterDevice()).toBe(true);
          expect([major(c.rdev), minor(c.rdev), c.mode & 0o7777]).toEqual([1, 3, 0o666]);
          const b = lstatSync(path.join(out, 'dev/loop0'));
          expect(b.isBlockDevice()).toBe(true);
          expect([major(b.rdev), minor(b.rdev), b.mode & 0o7777, b.gid]).toEqual([7, 0, 0o660, 6]);
        }
        const p = lstatSync(path.join(out, 'run/initctl'));
        expect(p.isFIFO()).toBe(true);
        expect(p.mode & 0o7777).toBe(0o600);
        for (const q of ['home/u', 'home/u/f', 'home/u/l', 'home/u/setgid']) {
          const s = lstatSync(path.join(out, q));
          expect({ uid: s.uid, gid: s.gid }, q).toEqual({ uid: 1234, gid: 5678 });
        }
        // chown clears setgid on a file: modes are set after owners, so the bit survives.
        expect(statSync(path.join(out, 'home/u/setgid')).mode & 0o7777).toBe(0o2755);
        expect(lstatSync(path.join(out, 'home/u/l')).isSymbolicLink()).toBe(true);
      }
    } finally {
      await r.close();
    }
  });
});
