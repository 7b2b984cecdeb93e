import fs, { promises as fsp } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MT } from '../../../shared/oci/mediatypes.js';
import type { Manifest } from '../../../shared/oci/types.js';
import { buildGraph } from '../../../shared/graph/build.js';
import { openSource } from '../../../shared/sources/open.js';
import { readVerified } from '../../../shared/sources/verify.js';
import { EOF, entry, header, tmpDir } from './tar-build.js';
import { sha256 } from './tar-facts.js';

// Acceptance: opening a big archive down to manifests and configs must not read layer bytes.
// The layers here are sparse holes of 150 MB each; every byte read through fs is counted.

const tmp = tmpDir();
afterAll(() => tmp.cleanup());

const LAYER = 150 * 1024 * 1024;

/** Writes parts in order; `{ hole: n }` appends a header-described sparse entry of n zero bytes. */
async function build(file: string, parts: (Buffer | { name: string; hole: number })[]): Promise<void> {
  await fsp.writeFile(file, '');
  for (const p of parts) {
    if (Buffer.isBuffer(p)) {
      await fsp.appendFile(file, p);
    } else {
      await fsp.appendFile(file, header({ name: p.name, size: p.hole }));
      const { size } = await fsp.stat(file);
      await fsp.truncate(file, size + Math.ceil(p.hole / 512) * 512);
    }
  }
}

/** Counts bytes requested through fs.read (streams) and FileHandle#read (the scanner) while `fn` runs. */
async function countReads<T>(fn: () => Promise<T>): Promise<{ value: T; bytes: number }> {
  let bytes = 0;
  const probe = await fsp.open(__filename, 'r');
  const proto = Object.getPrototypeOf(probe) as { read: (...a: unknown[]) => unknown };
  await probe.close();
  const origHandle = proto.read;
  const origRead = fs.read;
  proto.read = function (this: unknown, ...args: unknown[]) {
    bytes += typeof args[2] === 'number' ? args[2] : 0;
    return origHandle.apply(this, args);
  };
  (fs as { read: unknown }).read = function (...args: unknown[]) {
    bytes += typeof args[3] === 'number' ? args[3] : 0;
    return (origRead as (...a: unknown[]) => unknown).apply(fs, args);
  };
  try {
    return { value: await fn(), bytes };
  } finally {
    proto.read = origHandle;
    (fs as { read: unknown }).read = origRead;
  }
}

describe('big archives open without reading layer bytes', () => {
  it('docker save with two 150 MB layers: manifests and config read, layers not', async () => {
    const d1 = `sha256:${'1'.repeat(64)}`;
    const d2 = `sha256:${'2'.repeat(64)}`;
    const config = JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [d1, d2] } });
    const file = path.join(tmp.dir, 'big-docker.tar');
    await build(file, [
      entry('cfg.json', config),
      { name: 'a/layer.tar', hole: LAYER },
      { name: 'b/layer.tar', hole: LAYER },
      entry('manifest.json', JSON.stringify([{ Config: 'cfg.json', RepoTags: ['big:1'], Layers: ['a/layer.tar', 'b/layer.tar'] }])),
      EOF,
    ]);
    expect((await fsp.stat(file)).size).toBeGreaterThan(2 * LAYER);
    const { value: m, bytes } = await countReads(async () => {
      const { source } = await openSource(file);
      const [root] = await source.roots();
      const manifest = JSON.parse((await readVerified(source, root!.descriptor)).toString()) as Manifest;
      await readVerified(source, manifest.config);
      // The whole graph, as the app builds it: documents verified, layers left pending.
      const g = await buildGraph(source);
      await source.close();
      const layers = g.nodes.filter((n) => n.kind === 'layer');
      expect(layers.map((n) => [n.digest, n.verify, n.problems.length])).toEqual([[d1, 'pending', 0], [d2, 'pending', 0]]);
      expect(g.nodes.filter((n) => n.kind !== 'layer').every((n) => n.verify === 'verified')).toBe(true);
      return manifest;
    });
    expect(m.layers).toEqual([
      { mediaType: MT.dockerLayer, digest: d1, size: LAYER },
      { mediaType: MT.dockerLayer, digest: d2, size: LAYER },
    ]);
    expect(bytes).toBeLessThan(256 * 1024);
  });

  it('OCI archive with a 150 MB layer blob: index, manifest and config read, the layer not', async () => {
    const layerDigest = `sha256:${'3'.repeat(64)}`;
    const cfg = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [layerDigest] } }));
    const mf = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MT.ociManifest, config: { mediaType: MT.ociConfig, digest: sha256(cfg), size: cfg.length }, layers: [{ mediaType: MT.ociLayer, digest: layerDigest, size: LAYER }] }));
    const index = JSON.stringify({ schemaVersion: 2, mediaType: MT.ociIndex, manifests: [{ mediaType: MT.ociManifest, digest: sha256(mf), size: mf.length }] });
    const file = path.join(tmp.dir, 'big-oci.tar');
    await build(file, [
      entry('oci-layout', '{"imageLayoutVersion":"1.0.0"}'),
      { name: `blobs/sha256/${layerDigest.slice(7)}`, hole: LAYER },
      entry(`blobs/sha256/${sha256(cfg).slice(7)}`, cfg),
      entry(`blobs/sha256/${sha256(mf).slice(7)}`, mf),
      entry('index.json', index),
      EOF,
    ]);
    const { bytes } = await countReads(async () => {
      const { source } = await openSource(file);
      expect(source.kind).toBe('oci-archive');
      const [root] = await source.roots();
      await readVerified(source, root!.descriptor);
      const manifest = JSON.parse((await readVerified(source, { mediaType: MT.ociManifest, digest: sha256(mf), size: mf.length })).toString()) as Manifest;
      await readVerified(source, manifest.config);
      expect(await source.statBlob(layerDigest)).toBe(LAYER);
      const g = await buildGraph(source);
      await source.close();
      expect(g.nodes.filter((n) => n.kind === 'layer').map((n) => [n.digest, n.verify, n.problems.length])).toEqual([[layerDigest, 'pending', 0]]);
      expect(g.nodes.filter((n) => n.kind !== 'layer').every((n) => n.verify === 'verified')).toBe(true);
    });
    expect(bytes).toBeLessThan(256 * 1024);
  });
});
