// Builds the demo image bundled with the app (resources/demo/, an OCI image layout) from files made
// up here, so the first screen is never empty and nothing third-party is shipped. Deterministic: the
// same script gives the same digests, so the committed output can be checked against a rebuild.
//
//   npx tsx scripts/build-demo.ts [OUT_DIR]
//
// The image shows what the explorer is for: an index with two platforms sharing layers, three layers
// that add, modify, chmod and delete files (a whiteout and an opaque directory), a symlink, a hard link,
// an executable, a wasted copy, and history with an empty_layer step.

import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { pack } from 'tar-stream';

const MTIME = new Date('2024-01-01T00:00:00Z');

interface Entry {
  name: string;
  type?: 'file' | 'directory' | 'symlink' | 'link';
  mode?: number;
  body?: string;
  linkname?: string;
}

async function tarOf(entries: Entry[]): Promise<Buffer> {
  const p = pack();
  const chunks: Buffer[] = [];
  p.on('data', (c: unknown) => void chunks.push(c as Buffer));
  const done = new Promise<void>((resolve, reject) => {
    p.on('end', resolve);
    p.on('error', reject);
  });
  for (const e of entries) {
    const type = e.type ?? 'file';
    const header = {
      name: e.name,
      type,
      mode: e.mode ?? (type === 'directory' ? 0o755 : 0o644),
      mtime: MTIME,
      uid: 0,
      gid: 0,
      uname: 'root',
      gname: 'root',
      ...(e.linkname ? { linkname: e.linkname } : {}),
    };
    await new Promise<void>((resolve, reject) => {
      const cb = (err?: Error | null) => (err ? reject(err) : resolve());
      if (type === 'file') p.entry(header, e.body ?? '', cb);
      else p.entry(header, cb);
    });
  }
  p.finalize();
  await done;
  return Buffer.concat(chunks);
}

const sha256 = (b: Buffer | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

const CACHE_BLOB = Array.from({ length: 96 }, (_, i) => `cached package index line ${i.toString().padStart(3, '0')}\n`).join('');

const LAYERS: { command: string; entries: Entry[] }[] = [
  {
    command: '/bin/sh -c #(nop) ADD file:demo-rootfs in / ',
    entries: [
      { name: 'bin/', type: 'directory' },
      { name: 'etc/', type: 'directory' },
      { name: 'etc/os-release', body: 'NAME="Demo Linux"\nID=demo\nVERSION_ID=1.0\nPRETTY_NAME="Demo Linux 1.0"\n' },
      { name: 'etc/hostname', body: 'demo\n' },
      { name: 'etc/motd', body: 'Welcome to the OCI Explorer demo image.\n' },
      { name: 'bin/busybox', mode: 0o755, body: '#!/bin/sh\n# stand-in for a real busybox binary\necho "busybox demo"\n' },
      { name: 'bin/sh', type: 'link', linkname: 'bin/busybox' },
      { name: 'usr/', type: 'directory' },
      { name: 'usr/share/', type: 'directory' },
      { name: 'usr/share/doc/', type: 'directory' },
      { name: 'usr/share/doc/README', body: 'Documentation that a later layer replaces with an opaque directory.\n' },
      { name: 'usr/share/doc/CHANGES', body: '1.0: first release\n' },
      { name: 'var/', type: 'directory' },
      { name: 'var/cache/', type: 'directory' },
      { name: 'var/cache/apk-index.txt', body: CACHE_BLOB },
    ],
  },
  {
    command: '/bin/sh -c #(nop) COPY dir:app in /app ',
    entries: [
      { name: 'app/', type: 'directory' },
      { name: 'app/hello.sh', mode: 0o755, body: '#!/bin/sh\necho "hello from the demo image"\n' },
      { name: 'app/config.json', body: '{\n  "greeting": "hello",\n  "port": 8080\n}\n' },
      { name: 'app/logo.svg', body: '<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16"><rect width="16" height="16" fill="#2b6cb0"/></svg>\n' },
      { name: 'app/data.bin', body: '\u0000\u0001\u0002\u0003OCI\u00ff\u00fe binary-ish bytes\n' },
      { name: 'usr/', type: 'directory' },
      { name: 'usr/bin/', type: 'directory' },
      { name: 'usr/bin/hello', type: 'symlink', linkname: '/app/hello.sh' },
      { name: 'etc/', type: 'directory' },
      { name: 'etc/motd', body: 'Welcome to the OCI Explorer demo image.\nThis line was added by layer 2.\n' },
      // A second copy of the cache file: wasted space the efficiency panel shows.
      { name: 'var/', type: 'directory' },
      { name: 'var/cache/', type: 'directory' },
      { name: 'var/cache/apk-index.txt', body: CACHE_BLOB + 'refreshed\n' },
    ],
  },
  {
    command: '/bin/sh -c rm -rf /var/cache/apk-index.txt /usr/share/doc && mkdir /usr/share/doc && echo new > /usr/share/doc/README && chmod 600 /app/config.json',
    entries: [
      { name: 'var/', type: 'directory' },
      { name: 'var/cache/', type: 'directory' },
      { name: 'var/cache/.wh.apk-index.txt' },
      { name: 'usr/', type: 'directory' },
      { name: 'usr/share/', type: 'directory' },
      { name: 'usr/share/doc/', type: 'directory' },
      { name: 'usr/share/doc/.wh..wh..opq' },
      { name: 'usr/share/doc/README', body: 'new\n' },
      { name: 'app/', type: 'directory' },
      { name: 'app/config.json', mode: 0o600, body: '{\n  "greeting": "hello",\n  "port": 8080\n}\n' },
    ],
  },
];

export interface DemoBuild {
  dir: string;
  indexDigest: string;
  manifests: string[];
  layers: { digest: string; diffId: string; size: number }[];
  bytes: number;
}

export async function buildDemo(outDir: string): Promise<DemoBuild> {
  await fsp.rm(outDir, { recursive: true, force: true });
  const blobDir = path.join(outDir, 'blobs', 'sha256');
  await fsp.mkdir(blobDir, { recursive: true });
  let bytes = 0;
  const put = async (b: Buffer): Promise<{ digest: string; size: number }> => {
    const digest = sha256(b);
    await fsp.writeFile(path.join(blobDir, digest.slice(7)), b);
    bytes += b.length;
    return { digest, size: b.length };
  };

  const layers: DemoBuild['layers'] = [];
  for (const l of LAYERS) {
    const tar = await tarOf(l.entries);
    const gz = gzipSync(tar, { level: 9 });
    const { digest, size } = await put(gz);
    layers.push({ digest, size, diffId: sha256(tar) });
  }

  const history = [
    { created: '2024-01-01T00:00:00Z', created_by: LAYERS[0]!.command },
    { created: '2024-01-01T00:00:00Z', created_by: '/bin/sh -c #(nop)  ENV APP_HOME=/app', empty_layer: true },
    { created: '2024-01-01T00:00:00Z', created_by: LAYERS[1]!.command },
    { created: '2024-01-01T00:00:00Z', created_by: LAYERS[2]!.command },
    { created: '2024-01-01T00:00:00Z', created_by: '/bin/sh -c #(nop)  CMD ["/app/hello.sh"]', empty_layer: true },
  ];
  const platforms = [
    { os: 'linux', architecture: 'amd64' },
    { os: 'linux', architecture: 'arm64' },
  ];
  const manifests: { digest: string; size: number; platform: { os: string; architecture: string } }[] = [];
  for (const platform of platforms) {
    const config = {
      created: '2024-01-01T00:00:00Z',
      architecture: platform.architecture,
      os: platform.os,
      config: {
        Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'APP_HOME=/app'],
        Cmd: ['/app/hello.sh'],
        WorkingDir: '/app',
        Labels: { 'org.opencontainers.image.title': 'OCI Explorer demo' },
      },
      rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
      history,
    };
    const cfg = await put(Buffer.from(JSON.stringify(config)));
    const manifest = {
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: cfg.digest, size: cfg.size },
      layers: layers.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: l.digest, size: l.size })),
      annotations: { 'org.opencontainers.image.title': 'OCI Explorer demo' },
    };
    const m = await put(Buffer.from(JSON.stringify(manifest)));
    manifests.push({ ...m, platform });
  }
  const imageIndex = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: manifests.map((m) => ({ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: m.digest, size: m.size, platform: m.platform })),
  };
  const idx = await put(Buffer.from(JSON.stringify(imageIndex)));
  const top = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: [{ mediaType: 'application/vnd.oci.image.index.v1+json', digest: idx.digest, size: idx.size, annotations: { 'org.opencontainers.image.ref.name': 'demo:latest' } }],
  };
  const indexJson = JSON.stringify(top, null, 2) + '\n';
  await fsp.writeFile(path.join(outDir, 'index.json'), indexJson);
  await fsp.writeFile(path.join(outDir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  bytes += indexJson.length;
  return { dir: outDir, indexDigest: idx.digest, manifests: manifests.map((m) => m.digest), layers, bytes };
}

const here = path.dirname(fileURLToPath(import.meta.url));
export const DEFAULT_DEMO_DIR = path.resolve(here, '..', 'resources', 'demo');

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const out = path.resolve(process.argv[2] ?? DEFAULT_DEMO_DIR);
  const r = await buildDemo(out);
  process.stdout.write(`demo image written to ${r.dir}: ${r.layers.length} layers, ${r.manifests.length} manifests, ${r.bytes} bytes\n`);
}
