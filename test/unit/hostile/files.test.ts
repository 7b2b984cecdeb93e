import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildGraph } from '../../../shared/graph/build.js';
import { openSource } from '../../../shared/sources/open.js';
import { DirVfs } from '../../../shared/sources/vfs.js';
import { openVerified } from '../../../shared/sources/verify.js';
import { cliRunner } from '../../helpers/cli.js';
import { REPO_ROOT } from '../../helpers/fixtures.js';
import { file, layoutOf, tar } from './build.js';

// Issue 15 item 4: blobs and documents are opened as what they claim to be (regular files inside the
// image: no FIFO, device, or link out of it), and reads are bounded by the descriptor's size.

const tmp = (p: string) => mkdtempSync(path.join(os.tmpdir(), p));

/** Resolves within `ms` or says it hung (a FIFO open blocks forever; this keeps the test from hanging too). */
async function within<T>(p: Promise<T>, ms = 20_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`hung for ${ms} ms`)), ms)));
  try {
    return await Promise.race([p, hang]);
  } finally {
    clearTimeout(timer);
  }
}

describe('files opened as what they claim', () => {
  it('DirVfs: a FIFO, a device and a link out of the folder are not read (no block, no endless read)', async () => {
    const root = tmp('oci-vfs-');
    execFileSync('mkfifo', [path.join(root, 'fifo')]);
    symlinkSync('/dev/zero', path.join(root, 'zero'));
    symlinkSync('/etc/hostname', path.join(root, 'out'));
    writeFileSync(path.join(root, 'ok'), 'fine');
    const vfs = new DirVfs(root);
    for (const rel of ['fifo', 'zero', 'out']) {
      expect(await vfs.stat(rel)).toBeUndefined();
      await expect(within(vfs.readFile(rel))).rejects.toMatchObject({ code: 'BLOB_MISSING' });
      await expect(within(vfs.createReadStream(rel))).rejects.toMatchObject({ code: 'BLOB_MISSING' });
    }
    expect((await vfs.readFile('ok')).toString()).toBe('fine');
  });

  it('a layout whose blobs are a FIFO and a link to /dev/zero: the graph says so on those nodes, nothing hangs or reads on', async () => {
    const dir = layoutOf([{ blob: tar(file('a', 'A')) }, { blob: tar(file('b', 'B')) }]);
    const manifest = JSON.parse(readFileSync(path.join(dir, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
    const m = JSON.parse(readFileSync(path.join(dir, 'blobs/sha256', manifest.manifests[0]!.digest.slice(7)), 'utf8')) as { config: { digest: string }; layers: { digest: string }[] };
    const blob = (d: string) => path.join(dir, 'blobs/sha256', d.slice(7));
    rmSync(blob(m.config.digest));
    execFileSync('mkfifo', [blob(m.config.digest)]);
    rmSync(blob(m.layers[1]!.digest));
    symlinkSync('/dev/zero', blob(m.layers[1]!.digest));
    const { source } = await openSource(`oci:${dir}`);
    try {
      const g = await within(buildGraph(source));
      const problems = (d: string) => g.nodes.find((n) => n.digest === d)!.problems.map((p) => p.code);
      expect(problems(m.config.digest)).toContain('BLOB_MISSING');
      expect(problems(m.layers[1]!.digest)).toContain('BLOB_MISSING');
    } finally {
      await source.close();
    }
  });

  it('a blob bigger than its descriptor is read only to size+1 bytes, then SIZE_MISMATCH', async () => {
    const t = tar(file('a', 'A'));
    const dir = layoutOf([{ blob: t }]);
    const { source } = await openSource(`oci:${dir}`);
    try {
      const g = await buildGraph(source);
      const layer = g.nodes.find((n) => n.kind === 'layer')!;
      writeFileSync(path.join(dir, 'blobs/sha256', layer.digest.slice(7)), Buffer.concat([t, Buffer.alloc(64 * 1024 * 1024)]));
      let raw = 0;
      const open = source.openBlob.bind(source);
      source.openBlob = async (d, o) => {
        const s = await open(d, o);
        s.on('data', (c: Buffer) => (raw += c.length));
        return s;
      };
      const v = await openVerified(source, { mediaType: layer.mediaType, digest: layer.digest, size: layer.size });
      await expect((async () => {
        for await (const _ of v) void _;
      })()).rejects.toMatchObject({ code: 'SIZE_MISMATCH' });
      expect(raw).toBe(layer.size + 1);
    } finally {
      await source.close();
    }
  });

  it('validate: a FIFO and a link to /dev/zero are refused at once (exit 2), a real file is read', async () => {
    const root = tmp('oci-validate-');
    execFileSync('mkfifo', [path.join(root, 'doc.json')]);
    symlinkSync('/dev/zero', path.join(root, 'zero.json'));
    mkdirSync(path.join(root, 'd'));
    const cli = cliRunner(tmp('oci-validate-cache-'));
    for (const f of ['doc.json', 'zero.json']) {
      const r = await within(cli('validate', path.join(root, f)));
      expect(r.code).toBe(2);
      expect(r.err).toMatch(/not a regular file/);
    }
    writeFileSync(path.join(root, 'ok.json'), JSON.stringify({ mediaType: 'application/vnd.oci.descriptor.v1+json', digest: `sha256:${'a'.repeat(64)}`, size: 1 }));
    expect((await cli('validate', path.join(root, 'ok.json'), '--type', 'descriptor')).code).toBe(0);
  });

  it('the CLI binary on a FIFO exits promptly too (no event loop stuck in open)', async () => {
    const root = tmp('oci-fifo-bin-');
    execFileSync('mkfifo', [path.join(root, 'x.json')]);
    const child = spawn(process.execPath, [path.join(REPO_ROOT, 'bin/oci-explorer.mjs'), 'validate', path.join(root, 'x.json')], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    const code = await within(new Promise<number | null>((r) => child.on('close', r)), 60_000).finally(() => child.kill());
    expect(code).toBe(2);
    expect(err).toMatch(/not a regular file/);
  });
});
