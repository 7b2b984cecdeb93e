import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as zlib from 'node:zlib';
import { makeTar } from '../layers/helpers.js';

// Small OCI layouts for package and compare tests: layer tars from entry specs (tar-stream, the
// independent writer), a config with the fields a test sets, history one step per layer unless given.

export type Entry = Parameters<typeof makeTar>[0][number];

export interface KitImage {
  layers: Entry[][];
  config?: Record<string, unknown>;
  history?: { created_by?: string; empty_layer?: boolean }[];
  gzip?: boolean;
}

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

export async function kitLayout(img: KitImage, dir = mkdtempSync(path.join(os.tmpdir(), 'oe-kit-'))): Promise<string> {
  mkdirSync(path.join(dir, 'blobs/sha256'), { recursive: true });
  writeFileSync(path.join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  const put = (b: Buffer | string, mediaType: string) => {
    const buf = typeof b === 'string' ? Buffer.from(b) : b;
    writeFileSync(path.join(dir, 'blobs/sha256', sha(buf)), buf);
    return { mediaType, digest: `sha256:${sha(buf)}`, size: buf.length };
  };
  const tars = await Promise.all(img.layers.map((l) => makeTar(l)));
  const layers = tars.map((t) => (img.gzip === false ? put(t, 'application/vnd.oci.image.layer.v1.tar') : put(zlib.gzipSync(t), 'application/vnd.oci.image.layer.v1.tar+gzip')));
  const config = put(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config: img.config ?? {},
      rootfs: { type: 'layers', diff_ids: tars.map((t) => `sha256:${sha(t)}`) },
      history: img.history ?? tars.map((_, i) => ({ created_by: `step ${i}` })),
    }),
    'application/vnd.oci.image.config.v1+json',
  );
  const mt = 'application/vnd.oci.image.manifest.v1+json';
  const manifest = put(JSON.stringify({ schemaVersion: 2, mediaType: mt, config, layers }), mt);
  writeFileSync(path.join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [{ ...manifest, annotations: { 'org.opencontainers.image.ref.name': 'latest' } }] }));
  return dir;
}

export const dir = (name: string): Entry => ({ name, type: 'directory' });
export const file = (name: string, content: string | Buffer, mode?: number): Entry => ({ name, content, ...(mode !== undefined ? { mode } : {}) });
export const whiteout = (p: string): Entry => {
  const i = p.lastIndexOf('/');
  return { name: `${p.slice(0, i + 1)}.wh.${p.slice(i + 1)}`, content: '' };
};

export function dpkgStatus(pkgs: { name: string; version: string; arch?: string; source?: string; status?: string }[]): string {
  return pkgs
    .map((p) => [`Package: ${p.name}`, `Status: ${p.status ?? 'install ok installed'}`, 'Priority: optional', `Architecture: ${p.arch ?? 'amd64'}`, ...(p.source ? [`Source: ${p.source}`] : []), `Version: ${p.version}`, 'Description: a test package', ' with a continuation line', ' .', ' and a paragraph break'].join('\n'))
    .join('\n\n') + '\n';
}
