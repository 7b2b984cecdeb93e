import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
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
  const blobs = path.join(dir, 'blobs', 'sha256');
  mkdirSync(blobs, { recursive: true });
  const put = (b: Buffer | string) => {
    const d = sha(b);
    writeFileSync(path.join(blobs, d.slice(7)), b);
    return d;
  };
  const l0 = put(layer0);
  const l1 = put(layer1);
  const config = JSON.stringify({
    architecture: 'amd64',
    os: 'linux',
    config: { Cmd: ['/bin/sh'] },
    rootfs: { type: 'layers', diff_ids: [l0, l1] },
    history: [{ created_by: `generate ${dirs}×${files} files` }, { created_by: 'change 60 files' }],
  });
  const c = put(config);
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: c, size: Buffer.byteLength(config) },
    layers: [
      { mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: l0, size: layer0.length },
      { mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: l1, size: layer1.length },
    ],
  });
  const m = put(manifest);
  writeFileSync(path.join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  writeFileSync(
    path.join(dir, 'index.json'),
    JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: m, size: Buffer.byteLength(manifest), annotations: { 'org.opencontainers.image.ref.name': 'big' } }] }),
  );
  return { entries: dirs * (files + 1) };
}
