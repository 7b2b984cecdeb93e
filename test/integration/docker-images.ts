import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { TestDockerd } from '../helpers/tools.js';

// Small images for the Docker source tests: a base of the host's own sh and coreutils (with the
// libraries ldd names; a few MiB, no network, no debootstrap) imported into a test dockerd, and a
// `docker build` whose RUN steps add, modify, chmod and delete files, replace a folder (an opaque
// marker), hard-link, symlink and write a path longer than 100 bytes.

const TOOLS = ['sh', 'mkdir', 'chmod', 'rm', 'ln', 'head', 'cat', 'mv', 'cp', 'touch'];

/** A minimal root filesystem tarball from host binaries; returns the tar path. */
export function tinyRootfs(dir: string): string {
  const root = path.join(dir, 'rootfs');
  mkdirSync(path.join(root, 'bin'), { recursive: true });
  mkdirSync(path.join(root, 'etc'), { recursive: true });
  mkdirSync(path.join(root, 'tmp'), { recursive: true });
  const libs = new Set<string>();
  for (const t of TOOLS) {
    const bin = realpathSync(execFileSync('sh', ['-c', `command -v ${t}`], { encoding: 'utf8' }).trim());
    copyFileSync(bin, path.join(root, 'bin', t));
    const ldd = execFileSync('ldd', [bin], { encoding: 'utf8' });
    for (const m of ldd.matchAll(/(\/[^\s]+)/g)) libs.add(m[1]!);
  }
  for (const lib of libs) {
    const dest = path.join(root, lib);
    mkdirSync(path.dirname(dest), { recursive: true });
    copyFileSync(realpathSync(lib), dest);
  }
  // /lib64/ld-linux… and /lib/x86_64-linux-gnu both reached through /lib, as on Debian (usrmerge).
  writeFileSync(path.join(root, 'etc/motd'), 'tiny base\n');
  writeFileSync(path.join(root, 'etc/issue'), 'tiny 1\n');
  mkdirSync(path.join(root, 'usr/share/doc/tiny'), { recursive: true });
  writeFileSync(path.join(root, 'usr/share/doc/tiny/copyright'), 'public domain\n');
  symlinkSync('bin', path.join(root, 'sbin'));
  const tar = path.join(dir, 'rootfs.tar');
  execFileSync('tar', ['--numeric-owner', '--owner=0', '--group=0', '-C', root, '-cf', tar, '.']);
  return tar;
}

const LONG = `/srv/${'deep-folder-name-'.repeat(4)}/${'x'.repeat(40)}/file-with-a-long-name.txt`;

/** The RUN steps of the test image (legacy builder: one layer per step). */
export const STEPS = [
  // add
  "mkdir -p /srv/app/conf /srv/replaced && printf 'hello\\n' > /srv/app/hello.txt && printf 'a=1\\n' > /srv/app/conf/app.conf && head -c 300000 /bin/sh > /srv/app/blob.bin && printf 'old\\n' > /srv/replaced/old.txt",
  // modify, chmod
  "printf 'a=2\\n' > /srv/app/conf/app.conf && printf 'line\\n' >> /etc/issue && chmod 4755 /srv/app/hello.txt && chmod 600 /etc/motd",
  // delete files and a folder, replace a folder (opaque marker), long path
  `rm /etc/motd && rm -rf /usr/share/doc/tiny && rm -rf /srv/replaced && mkdir -p /srv/replaced && printf 'new\\n' > /srv/replaced/new.txt && mkdir -p ${path.posix.dirname(LONG)} && printf 'long\\n' > ${LONG}`,
  // hard link, symlink, empty file
  'ln /srv/app/hello.txt /srv/app/hello-hardlink.txt && ln -s hello.txt /srv/app/hello-symlink && touch /srv/app/empty',
];

export const LONG_PATH = LONG.slice(1);

/** Imports the tiny base and builds the test image as `tag`; returns its image id. */
export async function buildTestImage(d: TestDockerd, work: string, tag: string): Promise<string> {
  const base = `${tag}-base`;
  await d.docker(['import', tinyRootfs(work), base]);
  const ctx = path.join(work, 'ctx');
  mkdirSync(ctx, { recursive: true });
  writeFileSync(path.join(ctx, 'Dockerfile'), [`FROM ${base}`, ...STEPS.map((s) => `RUN ${s}`), 'ENV GREETING=hi', ''].join('\n'));
  await d.docker(['build', '--network=host', '-t', tag, ctx], { env: { DOCKER_BUILDKIT: '0' } });
  return (await d.docker(['image', 'inspect', '-f', '{{.Id}}', tag])).stdout.trim();
}
