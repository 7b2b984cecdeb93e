import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as zlib from 'node:zlib';

// Hand-made OCI layouts in a temp folder from layer tars built in the test (makeTar): a real source
// on disk for openImageLayers and the CLI, without umoci or skopeo.

export interface LayoutImage {
  /** Uncompressed layer tars, bottom first. */
  layers: Buffer[];
  platform?: { os: string; architecture: string; variant?: string };
  gzip?: boolean;
}

const REF_NAME = 'org.opencontainers.image.ref.name';

/**
 * Writes an OCI layout holding `images`: one image is listed in index.json directly; several sit
 * under one image index (with their platforms), which index.json tags `tag` (default `latest`).
 */
export function writeLayout(images: LayoutImage[], opts: { tag?: string; dir?: string } = {}): string {
  const dir = opts.dir ?? mkdtempSync(path.join(os.tmpdir(), 'oci-layout-'));
  mkdirSync(path.join(dir, 'blobs/sha256'), { recursive: true });
  writeFileSync(path.join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  const put = (bytes: Buffer | string, mediaType: string, extra: Record<string, unknown> = {}) => {
    const b = typeof bytes === 'string' ? Buffer.from(bytes) : bytes;
    const hex = createHash('sha256').update(b).digest('hex');
    writeFileSync(path.join(dir, 'blobs/sha256', hex), b);
    return { mediaType, digest: `sha256:${hex}`, size: b.length, ...extra };
  };
  const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
  const manifests = images.map((img) => {
    const layers = img.layers.map((t) => (img.gzip ? put(zlib.gzipSync(t), 'application/vnd.oci.image.layer.v1.tar+gzip') : put(t, 'application/vnd.oci.image.layer.v1.tar')));
    const p = img.platform ?? { os: 'linux', architecture: 'amd64' };
    const config = put(
      JSON.stringify({ architecture: p.architecture, os: p.os, ...(p.variant ? { variant: p.variant } : {}), rootfs: { type: 'layers', diff_ids: img.layers.map(sha) }, history: img.layers.map((_, i) => ({ created_by: `layer ${i}` })) }),
      'application/vnd.oci.image.config.v1+json',
    );
    const mt = 'application/vnd.oci.image.manifest.v1+json';
    return put(JSON.stringify({ schemaVersion: 2, mediaType: mt, config, layers }), mt, img.platform ? { platform: img.platform } : {});
  });
  const tag = opts.tag ?? 'latest';
  let top = manifests[0]!;
  if (images.length !== 1) {
    const it = 'application/vnd.oci.image.index.v1+json';
    top = put(JSON.stringify({ schemaVersion: 2, mediaType: it, manifests }), it);
  }
  const { platform: _p, ...root } = top as typeof top & { platform?: unknown };
  writeFileSync(path.join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [{ ...root, annotations: { [REF_NAME]: tag } }] }));
  return dir;
}
