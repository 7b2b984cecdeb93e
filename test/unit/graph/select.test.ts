import { afterEach, describe, expect, it } from 'vitest';
import { buildGraph } from '../../../shared/graph/build.js';
import { listImages, nameMatches, selectImage } from '../../../shared/graph/select.js';
import { hostPlatform, formatPlatform } from '../../../shared/oci/platform.js';
import { openSource } from '../../../shared/sources/open.js';
import { fx, noSharedFixtures } from '../../helpers/fixtures.js';
import { dockerSaveFacts, readerFor } from './facts.js';
import { Kit } from './layout-kit.js';

const kits: Kit[] = [];
afterEach(() => {
  while (kits.length) kits.pop()!.remove();
});

const IDX = 'application/vnd.oci.image.index.v1+json';

/** index.json → "app:1.0" multi-platform index (amd64, arm64/v8 via aarch64, arm/v7) + attestation, and "tool" single image. */
async function multi() {
  const k = new Kit();
  kits.push(k);
  const amd = k.image({ layers: ['amd'], arch: 'amd64' });
  const arm64 = k.image({ layers: ['arm64'], arch: 'arm64' });
  const armv7 = k.image({ layers: ['armv7'], arch: 'arm' });
  const att = k.put(
    { schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', artifactType: 'application/vnd.docker.attestation.manifest.v1+json', config: k.put('{}', 'application/vnd.oci.empty.v1+json'), layers: [k.put('{"_type":"https://in-toto.io/Statement/v0.1"}', 'application/vnd.in-toto+json', undefined, { annotations: { 'in-toto.io/predicate-type': 'https://slsa.dev/provenance/v0.2' } })] },
    'application/vnd.oci.image.manifest.v1+json',
  );
  const index = k.put(
    {
      schemaVersion: 2,
      mediaType: IDX,
      manifests: [
        { ...amd.manifest, platform: { os: 'linux', architecture: 'amd64' } },
        { ...arm64.manifest, platform: { os: 'linux', architecture: 'aarch64' } },
        { ...armv7.manifest, platform: { os: 'linux', architecture: 'arm', variant: 'v7' } },
        { ...att, platform: { os: 'unknown', architecture: 'unknown' }, annotations: { 'vnd.docker.reference.type': 'attestation-manifest', 'vnd.docker.reference.digest': amd.manifest.digest } },
      ],
    },
    IDX,
  );
  const tool = k.image({ layers: ['tool'], arch: 'amd64' });
  k.index([
    { ...index, annotations: { 'org.opencontainers.image.ref.name': 'app:1.0' } },
    { ...tool.manifest, annotations: { 'io.containerd.image.name': 'docker.io/library/tool:latest', 'org.opencontainers.image.ref.name': 'latest' } },
  ]);
  const { graph } = await k.graph();
  return { graph, amd, arm64, armv7, att, index, tool };
}

describe('attestations and listImages', () => {
  it('a BuildKit attestation hangs off its image and is not a platform', async () => {
    const { graph, amd, att } = await multi();
    const n = graph.nodes.find((x) => x.digest === att.digest)!;
    expect(n.kind).toBe('attestation');
    expect(n.platform).toBeUndefined();
    expect(graph.edges).toContainEqual({ from: amd.manifest.digest, to: att.digest, role: 'attestation' });
    const layer = graph.edges.find((e) => e.from === att.digest && e.role === 'layer')!;
    expect(graph.nodes.find((x) => x.digest === layer.to)!.kind).toBe('attestation');
    expect(listImages(graph).map((i) => i.manifest)).not.toContain(att.digest);
  });

  it('lists the four images with normalised platforms and inherited names', async () => {
    const { graph, amd, arm64, armv7, tool } = await multi();
    const imgs = listImages(graph);
    expect(imgs.map((i) => i.manifest)).toEqual([amd, arm64, armv7, tool].map((x) => x.manifest.digest));
    expect(imgs.map((i) => formatPlatform(i.platform))).toEqual(['linux/amd64', 'linux/arm64', 'linux/arm/v7', 'linux/amd64']);
    expect(imgs[0]!.names).toEqual(['app:1.0']);
    expect(imgs[3]!.names).toEqual(['latest', 'docker.io/library/tool:latest']);
    expect(imgs[1]!.layers).toEqual(arm64.layers.map((l) => l.digest));
    expect(imgs[1]!.config).toBe(arm64.config.digest);
  });
});

describe('selectImage', () => {
  it('by tag, then by platform; the tag of an index names each platform', async () => {
    const { graph, arm64, armv7, tool } = await multi();
    expect(selectImage(graph, { tag: 'app:1.0', platform: 'linux/arm64' }).manifest).toBe(arm64.manifest.digest);
    expect(selectImage(graph, { tag: 'app:1.0', platform: 'linux/arm64/v8' }).manifest).toBe(arm64.manifest.digest);
    expect(selectImage(graph, { platform: 'linux/arm' }).manifest).toBe(armv7.manifest.digest);
    expect(selectImage(graph, { tag: 'tool' }).manifest).toBe(tool.manifest.digest);
    expect(selectImage(graph, { tag: 'tool:latest' }).manifest).toBe(tool.manifest.digest);
  });

  it('by manifest digest, config digest (image ID), short prefix, or index digest + platform', async () => {
    const { graph, arm64, armv7, index } = await multi();
    expect(selectImage(graph, { digest: arm64.manifest.digest }).manifest).toBe(arm64.manifest.digest);
    expect(selectImage(graph, { digest: armv7.config.digest }).manifest).toBe(armv7.manifest.digest);
    expect(selectImage(graph, { digest: arm64.manifest.digest.slice(7, 19) }).manifest).toBe(arm64.manifest.digest);
    expect(selectImage(graph, { digest: index.digest, platform: 'linux/arm/v7' }).manifest).toBe(armv7.manifest.digest);
  });

  it('several candidates and no choice: the host platform settles it, else IMAGE_AMBIGUOUS lists the choices', async () => {
    const { graph, amd, arm64, armv7 } = await multi();
    const host = formatPlatform(hostPlatform());
    const byHost = { 'linux/amd64': amd, 'linux/arm64': arm64, 'linux/arm/v7': armv7 }[host];
    if (byHost) expect(selectImage(graph, { tag: 'app:1.0' }).manifest).toBe(byHost.manifest.digest);
    // Without a tag, two amd64 images (app and tool) remain on an amd64 host: ambiguous anywhere.
    let err: unknown;
    try {
      selectImage(graph, {});
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ code: host === 'linux/amd64' ? 'IMAGE_AMBIGUOUS' : expect.any(String) });
    if (host === 'linux/amd64') {
      const choices = (err as { details: { choices: { digest: string }[] } }).details.choices.map((c) => c.digest);
      expect(choices).toEqual(listImages(graph).map((i) => i.manifest));
      expect((err as Error).message).toContain('--platform');
    }
  });

  it('nothing matching is IMAGE_NOT_FOUND naming what exists; a bad platform is PLATFORM_INVALID', async () => {
    const { graph } = await multi();
    expect(() => selectImage(graph, { tag: 'nope' })).toThrow(expect.objectContaining({ code: 'IMAGE_NOT_FOUND', message: expect.stringContaining('app:1.0') }));
    expect(() => selectImage(graph, { platform: 'windows/amd64' })).toThrow(expect.objectContaining({ code: 'IMAGE_NOT_FOUND' }));
    expect(() => selectImage(graph, { platform: 'linux' })).toThrow(expect.objectContaining({ code: 'PLATFORM_INVALID' }));
  });

  it('a source with only artifacts has no image to select', async () => {
    const k = new Kit();
    kits.push(k);
    k.index([k.put({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', artifactType: 'application/x-thing', config: k.put('{}', 'application/vnd.oci.empty.v1+json'), layers: [] }, 'application/vnd.oci.image.manifest.v1+json')]);
    const { graph } = await k.graph();
    expect(() => selectImage(graph)).toThrow(expect.objectContaining({ code: 'IMAGE_NOT_FOUND' }));
  });

  it('name matching follows docker normalisation', () => {
    expect(nameMatches('docker.io/library/busybox:latest', 'busybox')).toBe(true);
    expect(nameMatches('busybox:latest', 'busybox:latest')).toBe(true);
    expect(nameMatches('docker.io/x/y:1.0', '1.0')).toBe(true);
    expect(nameMatches('busybox:1.0', 'busybox')).toBe(false);
    expect(nameMatches('a/busybox:latest', 'busybox')).toBe(false);
  });
});

describe.skipIf(noSharedFixtures)('selectImage over docker save archives', () => {
  it('test_bundle.tar: two images picked by RepoTag (docker-archive:PATH:REPO:TAG)', async () => {
    const p = fx('ggcr/pkg/v1/tarball/testdata/test_bundle.tar');
    const facts = dockerSaveFacts(readerFor(p));
    expect(facts.length).toBe(2);
    for (const f of facts) {
      const { source, selector } = await openSource(`docker-archive:${p}:${f.repoTags[0]}`);
      const graph = await buildGraph(source);
      await source.close();
      expect(selector.tag).toBe(f.repoTags[0]);
      expect(selectImage(graph, selector).config).toBe(f.configDigest);
    }
    const { source } = await openSource(p);
    const graph = await buildGraph(source);
    await source.close();
    expect(() => selectImage(graph, { platform: 'linux/amd64' })).toThrow(expect.objectContaining({ code: 'IMAGE_AMBIGUOUS' }));
  });
});
