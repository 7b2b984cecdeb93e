import { createHash } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pack } from 'tar-stream';

// A synthetic OCI layout with a very wide tree for the UI performance figures: layer 0 holds
// `dirs × files` empty files, layer 1 changes a few of them (added, modified, whiteouts).

async function tarOf(add: (p: ReturnType<typeof pack>) => void): Promise<Buffer> {
  const p = pack();
  const chunks: Buffer[] = [];
  p.on('data', (c: unknown) => void chunks.push(c as Buffer));
  const done = new Promise<void>((r) => p.on('end', () => r()));
  add(p);
  p.finalize();
  await done;
  return Buffer.concat(chunks);
}

const sha = (b: Buffer | string) => 'sha256:' + createHash('sha256').update(b).digest('hex');

export async function writeBigLayout(dir: string, dirs: number, files: number): Promise<{ entries: number }> {
  const mtime = new Date(1_700_000_000_000);
  const layer0 = await tarOf((p) => {
    for (let d = 0; d < dirs; d++) {
      const dn = `d${String(d).padStart(4, '0')}`;
      p.entry({ name: dn + '/', type: 'directory', mode: 0o755, mtime });
      for (let f = 0; f < files; f++) p.entry({ name: `${dn}/f${String(f).padStart(5, '0')}.txt`, size: 0, mode: 0o644, mtime }, '');
    }
  });
  const layer1 = await tarOf((p) => {
    p.entry({ name: 'd0000/', type: 'directory', mode: 0o755, mtime });
    for (let f = 0; f < 20; f++) p.entry({ name: `d0000/f${String(f).padStart(5, '0')}.txt`, mode: 0o644, mtime }, 'changed\n');
    for (let f = 20; f < 40; f++) p.entry({ name: `d0000/.wh.f${String(f).padStart(5, '0')}.txt`, size: 0, mode: 0o644, mtime }, '');
    for (let f = 0; f < 20; f++) p.entry({ name: `d0000/new${f}.txt`, mode: 0o644, mtime }, 'new\n');
  });
  writeLayout(dir, [
    { tar: layer0, createdBy: `generate ${dirs}×${files} files` },
    { tar: layer1, createdBy: 'change 60 files' },
  ]);
  return { entries: dirs * (files + 1) };
}

/** A small image with the things the file viewer treats specially: an image, a symlink, a big file. */
export async function writeViewerLayout(dir: string, png: Buffer, big: Buffer): Promise<void> {
  const mtime = new Date(1_700_000_000_000);
  const layer = await tarOf((p) => {
    p.entry({ name: 'srv/', type: 'directory', mode: 0o755, mtime });
    p.entry({ name: 'srv/logo.png', mode: 0o644, mtime }, png);
    p.entry({ name: 'srv/big.bin', mode: 0o644, mtime }, big);
    p.entry({ name: 'srv/readme.txt', mode: 0o644, mtime }, 'hello from the viewer fixture\n');
    p.entry({ name: 'srv/current', type: 'symlink', linkname: 'readme.txt', mode: 0o777, mtime });
  });
  writeLayout(dir, [{ tar: layer, createdBy: 'COPY srv /srv' }]);
}

/** Writes an OCI layout with one image made of these uncompressed layer tars. */
export function writeLayout(dir: string, layers: { tar: Buffer; createdBy: string }[], damage: { manifestExtra?: Record<string, unknown>; dropLayer?: number } = {}): { manifest: string; layers: string[] } {
  const blobs = path.join(dir, 'blobs', 'sha256');
  mkdirSync(blobs, { recursive: true });
  const put = (b: Buffer | string) => {
    const d = sha(b);
    writeFileSync(path.join(blobs, d.slice(7)), b);
    return d;
  };
  const digests = layers.map((l) => put(l.tar));
  const config = JSON.stringify({
    architecture: 'amd64',
    os: 'linux',
    config: { Cmd: ['/bin/sh'] },
    rootfs: { type: 'layers', diff_ids: digests },
    history: layers.map((l) => ({ created_by: l.createdBy })),
  });
  const c = put(config);
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: c, size: Buffer.byteLength(config) },
    layers: layers.map((l, i) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: digests[i], size: l.tar.length })),
    ...damage.manifestExtra,
  });
  if (damage.dropLayer !== undefined) rmSync(path.join(blobs, digests[damage.dropLayer]!.slice(7)));
  const m = put(manifest);
  writeFileSync(path.join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  writeFileSync(
    path.join(dir, 'index.json'),
    JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: m, size: Buffer.byteLength(manifest), annotations: { 'org.opencontainers.image.ref.name': 'latest' } }] }),
  );
  return { manifest: m, layers: digests };
}

/** Two layers, the second one's blob deleted, and a manifest annotation that is not a string. */
export async function writeDamagedLayout(dir: string): Promise<{ manifest: string; layers: string[] }> {
  const mtime = new Date(1_700_000_000_000);
  const a = await tarOf((p) => p.entry({ name: 'a.txt', mode: 0o644, mtime }, 'a\n'));
  const b = await tarOf((p) => p.entry({ name: 'b.txt', mode: 0o644, mtime }, 'b\n'));
  return writeLayout(dir, [{ tar: a, createdBy: 'COPY a.txt /' }, { tar: b, createdBy: 'COPY b.txt /' }], { manifestExtra: { annotations: { 'org.example.count': 3 } }, dropLayer: 1 });
}
