import { readFileSync } from 'node:fs';
import { describe, expect, inject, it } from 'vitest';
import { buildGraph } from '../../shared/graph/build.js';
import { listImages, selectImage } from '../../shared/graph/select.js';
import type { ImageGraph } from '../../shared/graph/types.js';
import { formatPlatform } from '../../shared/oci/platform.js';
import { openSource } from '../../shared/sources/open.js';
import type { AttestedFacts, ConvertedFacts, ImageFacts, MultiplatformFacts, ReferrerFacts } from '../fixtures/types.js';

// The graph over images built with real tools (umoci, skopeo) by test/fixtures, checked against the
// facts files the builder wrote from the tools' own output.

const fixtures = inject('fixtures');
const facts = <T>(file: string): T => JSON.parse(readFileSync(file, 'utf8')) as T;

async function graphOf(spec: string): Promise<ImageGraph> {
  const { source } = await openSource(spec);
  try {
    return await buildGraph(source);
  } finally {
    await source.close();
  }
}
const node = (g: ImageGraph, d: string) => g.nodes.find((n) => n.digest === d);

describe('graph over built fixtures', () => {
  it('multiplatform: one index, one image per platform, selectable by --platform', async () => {
    const f = facts<MultiplatformFacts>(fixtures.multiplatform.facts);
    const g = await graphOf(fixtures.multiplatform.layout);
    expect(node(g, f.indexDigest)).toMatchObject({ kind: 'index', mediaType: f.indexMediaType, verify: 'verified', names: [f.tag] });
    const imgs = listImages(g);
    expect(imgs.map((i) => i.manifest).sort()).toEqual(f.images.map((i) => i.manifestDigest).sort());
    for (const want of f.images) {
      const img = selectImage(g, { tag: f.tag, platform: formatPlatform(want.platform) });
      expect(img.manifest).toBe(want.manifestDigest);
      expect(img.config).toBe(want.configDigest);
      expect(img.layers).toHaveLength(want.layers);
      expect(g.edges).toContainEqual({ from: f.indexDigest, to: want.manifestDigest, role: 'manifest', index: expect.any(Number) });
    }
    expect(g.nodes.flatMap((n) => n.problems)).toEqual([]);
  });

  it('attested: the attestation hangs off its image, is not a platform, and its in-toto layers are attestations', async () => {
    const f = facts<AttestedFacts>(fixtures.attested.facts);
    const g = await graphOf(fixtures.attested.layout);
    const att = node(g, f.attestation.manifestDigest)!;
    expect(att.kind).toBe('attestation');
    expect(att.platform).toBeUndefined();
    expect(g.edges).toContainEqual({ from: f.image.manifestDigest, to: f.attestation.manifestDigest, role: 'attestation' });
    for (const l of f.attestation.layers) {
      expect(node(g, l.digest)).toMatchObject({ kind: 'attestation', size: l.size, verify: 'pending' });
      expect(node(g, l.digest)!.annotations?.['in-toto.io/predicate-type']).toBe(l.predicateType);
    }
    const imgs = listImages(g);
    expect(imgs.map((i) => i.manifest)).toEqual([f.image.manifestDigest]);
    expect(imgs[0]!.platform).toMatchObject(f.image.platform);
    // With one platform, no choice is needed even though the index has two entries.
    expect(selectImage(g, { tag: f.tag }).manifest).toBe(f.image.manifestDigest);
    expect(g.nodes.flatMap((n) => n.problems)).toEqual([]);
  });

  it('referrer: subject and referrer edges, the sha256-<hex> tag index, the cosign .sig tag', async () => {
    const f = facts<ReferrerFacts>(fixtures.referrer.facts);
    const g = await graphOf(fixtures.referrer.layout);
    for (const r of f.referrers) {
      expect(node(g, r.digest)).toMatchObject({ mediaType: r.mediaType, size: r.size, artifactType: r.artifactType, verify: 'verified' });
      expect(g.edges).toContainEqual({ from: r.digest, to: f.image.manifestDigest, role: 'subject' });
      expect(g.edges).toContainEqual({ from: f.image.manifestDigest, to: r.digest, role: 'referrer' });
      expect(g.edges).toContainEqual({ from: f.fallbackIndexDigest, to: r.digest, role: 'manifest', index: expect.any(Number) });
    }
    expect(node(g, f.fallbackIndexDigest)).toMatchObject({ kind: 'index', names: [f.fallbackTag] });
    const sig = g.nodes.find((n) => n.names?.includes(f.signatureTag))!;
    expect(sig.kind).toBe('signature');
    expect(listImages(g).map((i) => i.manifest)).toEqual([f.image.manifestDigest]);
    expect(g.nodes.flatMap((n) => n.problems)).toEqual([]);
  });

  it.each([
    ['realistic OCI layout', () => fixtures.realistic.layout, () => fixtures.realistic.facts, false],
    ['realistic zstd OCI layout', () => fixtures.realisticZstd.layout, () => fixtures.realisticZstd.facts, false],
    ['realistic OCI archive', () => fixtures.realisticOciArchive.file, () => fixtures.realisticOciArchive.facts, false],
    ['realistic docker archive', () => fixtures.realisticDockerArchive.file, () => fixtures.realisticDockerArchive.facts, true],
  ])('%s: config, layers and platform as skopeo reports them; no layer read', async (_n, where, factsFile, docker) => {
    const f = facts<ImageFacts & ConvertedFacts>(factsFile());
    const g = await graphOf(where());
    const [img] = listImages(g);
    expect(listImages(g)).toHaveLength(1);
    expect(img!.config).toBe(f.configDigest);
    expect(img!.platform).toMatchObject({ os: f.os, architecture: f.architecture });
    expect(img!.layers).toEqual(f.layers.map((l) => l.digest));
    for (const l of f.layers) {
      expect(node(g, l.digest)).toMatchObject({ kind: 'layer', size: l.size, verify: 'pending' });
      // skopeo inspect reports docker-archive layers as tar.gzip, but the files it wrote are plain tars
      // (first bytes are a tar header): the source types them by their magic bytes.
      if (!docker) expect(node(g, l.digest)!.mediaType).toBe(l.mediaType);
    }
    expect(node(g, f.configDigest)).toMatchObject({ kind: 'config', verify: 'verified' });
    expect(g.nodes.flatMap((n) => n.problems)).toEqual([]);
  });
});
