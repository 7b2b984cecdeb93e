import { describe, expect, it } from 'vitest';
import { buildGraph } from '../../../shared/graph/build.js';
import { listImages } from '../../../shared/graph/select.js';
import type { GraphNode, ImageGraph } from '../../../shared/graph/types.js';
import { openSource } from '../../../shared/sources/open.js';
import { fx, noSharedFixtures } from '../../helpers/fixtures.js';
import { dockerSaveFacts, layoutFacts, readerFor, sha256 } from './facts.js';

// Every image fixture of ../shared/fixtures opened into a graph, checked against facts read with
// JSON.parse, fs and the system tar (facts.ts), never against what the code printed before.

async function graphOf(p: string): Promise<ImageGraph> {
  const { source } = await openSource(p);
  try {
    return await buildGraph(source);
  } finally {
    await source.close();
  }
}

const node = (g: ImageGraph, d: string): GraphNode => {
  const n = g.nodes.find((x) => x.digest === d);
  if (!n) throw new Error(`no node ${d}`);
  return n;
};
const edges = (g: ImageGraph, role: string) => g.edges.filter((e) => e.role === role);
const MANIFEST_KINDS = ['manifest', 'artifact', 'signature', 'attestation'];

const LAYOUTS = [
  'ggcr/pkg/v1/layout/testdata/test_index',
  'ggcr/pkg/v1/layout/testdata/test_gc_index',
  'ggcr/pkg/v1/layout/testdata/test_index_media_type',
  'ggcr/pkg/v1/layout/testdata/test_index_one_image',
  'ggcr/pkg/v1/layout/testdata/test_gc_image_unknown_mediatype',
  ...['e2e', 'e2e-expired-signature', 'e2e-invalid-signature', 'e2e-valid-multiple-signatures', 'e2e-valid-signature', 'e2e-with-expired-cert', 'e2e-with-invalid-timestamped-signature', 'e2e-with-timestamped-signature'].map(
    (d) => `notation/test/e2e/testdata/registry/oci_layout/${d}`,
  ),
  'dive/.data/test-oci-gzip-image.tar',
  'dive/.data/test-oci-estargz-image.tar',
  'dive/.data/test-oci-uncompressed-image.tar',
  'dive/.data/test-oci-zstd-image.tar',
];

describe.skipIf(noSharedFixtures)('graph over every OCI layout fixture', () => {
  it.each(LAYOUTS)('%s matches the layout read independently', async (rel) => {
    const p = fx(rel);
    const facts = layoutFacts(readerFor(p));
    const g = await graphOf(p);

    expect(g.roots).toEqual([facts.indexDigest]);
    expect(node(g, facts.indexDigest)).toMatchObject({ kind: 'index', verify: 'verified', synthetic: true });
    for (const [d, { desc, doc }] of facts.docs) {
      const n = node(g, d);
      expect(n.mediaType).toBe(desc.mediaType);
      expect(n.size).toBe(desc.size);
      if (!doc) {
        expect(n.verify).toBe('missing');
        expect(n.problems.map((p) => p.code)).toContain('BLOB_MISSING');
      } else {
        expect(n.verify).toBe('verified');
        expect(Array.isArray(doc.manifests) ? ['index'] : MANIFEST_KINDS).toContain(n.kind);
      }
    }
    for (const [d, desc] of facts.configs) {
      expect(node(g, d)).toMatchObject({ kind: 'config', mediaType: desc.mediaType, verify: 'verified' });
    }
    for (const [d, desc] of facts.layers) {
      const n = node(g, d);
      expect(n.size).toBe(desc.size);
      expect(n.mediaType).toBe(desc.mediaType);
      // Layers are never read while building the graph.
      expect(n.verify).toBe('pending');
    }
    const all = new Set([facts.indexDigest, ...facts.docs.keys(), ...facts.configs.keys(), ...facts.layers.keys()]);
    expect(new Set(g.nodes.map((n) => n.digest))).toEqual(all);
    expect(edges(g, 'manifest')).toHaveLength(facts.manifestRefs);
    expect(edges(g, 'config')).toHaveLength(facts.configRefs);
    expect(edges(g, 'layer')).toHaveLength(facts.layerRefs);
    // Every edge joins two nodes of the graph.
    for (const e of g.edges) expect(all.has(e.from) && all.has(e.to)).toBe(true);
  });

  it('test_index: OCI manifest, descriptor-typed entry, nested index and Docker list', async () => {
    const p = fx('ggcr/pkg/v1/layout/testdata/test_index');
    const facts = layoutFacts(readerFor(p));
    const g = await graphOf(p);
    const index = JSON.parse(readerFor(p).read('index.json')!.toString()) as { manifests: { digest: string; mediaType: string; annotations: Record<string, string> }[] };
    expect(index.manifests).toHaveLength(4);
    const rootEdges = g.edges.filter((e) => e.from === facts.indexDigest && e.role === 'manifest');
    expect(rootEdges.map((e) => e.to)).toEqual(index.manifests.map((m) => m.digest));
    for (const m of index.manifests) expect(node(g, m.digest).names).toContain(m.annotations['org.opencontainers.image.ref.name']);
    const [oci, descTyped, nested, list] = index.manifests as [typeof index.manifests[0], typeof index.manifests[0], typeof index.manifests[0], typeof index.manifests[0]];
    expect(descTyped.mediaType).toBe('application/vnd.oci.descriptor.v1+json');
    expect(node(g, descTyped.digest).problems.map((p) => p.code)).toContain('MEDIATYPE_UNKNOWN');
    expect(node(g, descTyped.digest).kind).toBe('manifest'); // read by its content
    expect(node(g, nested.digest).kind).toBe('index');
    expect(node(g, list.digest)).toMatchObject({ kind: 'index', mediaType: 'application/vnd.docker.distribution.manifest.list.v2+json' });
    // The OCI-typed entry holds a Docker manifest: the disagreement is reported on it.
    const ociDoc = facts.docs.get(oci.digest)!.doc!;
    expect(ociDoc.mediaType).not.toBe(oci.mediaType);
    expect(node(g, oci.digest).problems.some((p) => p.path === '/mediaType')).toBe(true);
    // Two distinct images; the manifest listed by the nested index and the Docker list is one node.
    expect(listImages(g).map((i) => i.manifest).sort()).toEqual([oci.digest, descTyped.digest].sort());
    const configDoc = JSON.parse(readerFor(p).read(`blobs/${(ociDoc.config as { digest: string }).digest.replace(':', '/')}`)!.toString()) as { os: string; architecture: string };
    expect(node(g, oci.digest).platform).toMatchObject({ os: configDoc.os, architecture: configDoc.architecture });
  });

  it('test_index_media_type: a Helm chart is an artifact, not an image', async () => {
    const p = fx('ggcr/pkg/v1/layout/testdata/test_index_media_type');
    const facts = layoutFacts(readerFor(p));
    const g = await graphOf(p);
    const [d, { doc }] = [...facts.docs][0]!;
    expect((doc!.config as { mediaType: string }).mediaType).toBe('application/vnd.cncf.helm.config.v1+json');
    expect(node(g, d).kind).toBe('artifact');
    expect(listImages(g)).toEqual([]);
  });

  it('test_gc_image_unknown_mediatype: the missing blob is a node with a problem', async () => {
    const p = fx('ggcr/pkg/v1/layout/testdata/test_gc_image_unknown_mediatype');
    const g = await graphOf(p);
    const index = JSON.parse(readerFor(p).read('index.json')!.toString()) as { manifests: { digest: string }[] };
    const n = node(g, index.manifests[0]!.digest);
    expect(n.verify).toBe('missing');
    expect(n.problems.map((x) => x.code).sort()).toEqual(['BLOB_MISSING', 'MEDIATYPE_UNKNOWN']);
  });

  it.each(LAYOUTS.filter((l) => l.startsWith('notation/')))('%s: signatures attached through subject and sha256-<hex> tag indexes', async (rel) => {
    const p = fx(rel);
    const facts = layoutFacts(readerFor(p));
    const g = await graphOf(p);
    let referrers = 0;
    for (const [d, { desc, doc }] of facts.docs) {
      if (!doc) continue;
      const subject = doc.subject as { digest: string } | undefined;
      if (subject) {
        referrers++;
        expect(g.edges).toContainEqual({ from: d, to: subject.digest, role: 'subject' });
        expect(g.edges).toContainEqual({ from: subject.digest, to: d, role: 'referrer' });
      }
      const tag = /^sha256-([a-f0-9]{64})$/.exec(desc.annotations?.['org.opencontainers.image.ref.name'] ?? '');
      if (tag) {
        for (const m of doc.manifests as { digest: string }[]) expect(g.edges).toContainEqual({ from: `sha256:${tag[1]}`, to: m.digest, role: 'referrer' });
      }
      const sig = (doc.config as { mediaType?: string } | undefined)?.mediaType === 'application/vnd.cncf.notary.signature' || doc.artifactType === 'application/vnd.cncf.notary.signature';
      expect(node(g, d).kind === 'signature').toBe(sig);
    }
    expect(g.edges.filter((e) => e.role === 'subject')).toHaveLength(referrers);
    // Nothing in these layouts is broken.
    expect(g.nodes.flatMap((n) => n.problems)).toEqual([]);
  });

  it.each(LAYOUTS.filter((l) => l.startsWith('dive/')))('%s: platform and layer media type from the OCI tarball', async (rel) => {
    const p = fx(rel);
    const r = readerFor(p);
    const index = JSON.parse(r.read('index.json')!.toString()) as { manifests: { digest: string; platform: { os: string; architecture: string } }[] };
    const g = await graphOf(p);
    const [img] = listImages(g);
    expect(listImages(g)).toHaveLength(1);
    expect(img!.manifest).toBe(index.manifests[0]!.digest);
    expect(img!.platform).toMatchObject(index.manifests[0]!.platform);
    const manifest = JSON.parse(r.read(`blobs/${img!.manifest.replace(':', '/')}`)!.toString()) as { layers: { digest: string; mediaType: string }[]; config: { digest: string } };
    expect(img!.layers).toEqual(manifest.layers.map((l) => l.digest));
    expect(img!.config).toBe(manifest.config.digest);
  });
});

const DOCKER_SAVES = [
  'ggcr/pkg/v1/tarball/testdata/test_bundle.tar',
  'ggcr/pkg/v1/tarball/testdata/test_image_1.tar',
  'ggcr/pkg/v1/tarball/testdata/test_image_2.tar',
  'ggcr/pkg/v1/tarball/testdata/test_link.tar',
  'ggcr/pkg/v1/tarball/testdata/hello-world-v25.tar',
  'ggcr/pkg/v1/mutate/testdata/whiteout_image.tar',
  'ggcr/pkg/v1/mutate/testdata/whiteout_dir.tar',
  'ggcr/pkg/v1/mutate/testdata/overwritten_file.tar',
  'ggcr/pkg/v1/mutate/testdata/source_image.tar',
  'ggcr/pkg/v1/mutate/testdata/source_image_with_empty_layer_history.tar',
  'dive/.data/test-docker-image.tar',
  'dive/.data/test-kaniko-image.tar',
];

describe.skipIf(noSharedFixtures)('graph over every docker save fixture', () => {
  it.each(DOCKER_SAVES)('%s matches manifest.json read independently', async (rel) => {
    const p = fx(rel);
    const r = readerFor(p);
    const facts = dockerSaveFacts(r);
    const g = await graphOf(p);
    const images = listImages(g);
    expect(images).toHaveLength(facts.length);
    for (const f of facts) {
      const img = images.find((i) => i.config === f.configDigest);
      expect(img, `image with config ${f.configDigest}`).toBeDefined();
      expect(node(g, img!.config)).toMatchObject({ kind: 'config', verify: 'verified' });
      expect(img!.layers).toHaveLength(f.layers.length);
      for (const t of f.repoTags) expect(img!.names).toContain(t);
      expect(f.config.rootfs.diff_ids).toHaveLength(f.layers.length);
      expect(img!.platform).toMatchObject({ os: f.config.os });
      f.layers.forEach((file, i) => {
        const n = node(g, img!.layers[i]!);
        expect(n.kind).toBe('layer');
        const src = f.layerSources[f.config.rootfs.diff_ids[i]!];
        if (src && r.size(`blobs/${src.digest.replace(':', '/')}`) === undefined) {
          // docker save leaves LayerSources bytes out: the layer is the distributable descriptor, marked missing.
          expect(n).toMatchObject({ digest: src.digest, size: src.size, verify: 'missing' });
          expect(n.problems.map((x) => x.message).join()).toMatch(/LayerSources/);
          return;
        }
        expect(n.verify).toBe('pending');
        const size = r.size(file);
        if (size !== undefined) expect(n.size).toBe(size); // a symlinked layer.tar has its target's size
      });
    }
    // The only problems: LayerSources without bytes, and config files renamed away from their digest.
    const missing = g.nodes.filter((n) => n.verify === 'missing').length;
    const renamed = facts.filter((f) => !f.configFile.includes(f.configDigest.slice(7))).length;
    expect(g.nodes.flatMap((n) => n.problems)).toHaveLength(missing + renamed);
  });

  it.each(['moby/integration-cli/testdata/emptyLayer.tar', 'ggcr/pkg/v1/tarball/testdata/no_manifest.tar'])('%s (pre-1.10, no manifest.json): the layer chain from repositories', async (rel) => {
    const p = fx(rel);
    const r = readerFor(p);
    const repos = JSON.parse(r.read('repositories')!.toString()) as Record<string, Record<string, string>>;
    const [[repo, tags]] = Object.entries(repos) as [[string, Record<string, string>]];
    const [[tag, top]] = Object.entries(tags) as [[string, string]];
    const chain: string[] = [];
    for (let id: string | undefined = top; id; ) {
      chain.unshift(id);
      id = (JSON.parse(r.read(`${id}/json`)!.toString()) as { parent?: string }).parent;
    }
    const g = await graphOf(p);
    const [img] = listImages(g);
    expect(listImages(g)).toHaveLength(1);
    expect(img!.names).toContain(`${repo}:${tag}`);
    expect(img!.layers).toHaveLength(chain.length);
    chain.forEach((id, i) => {
      const bytes = r.read(`${id}/layer.tar`)!;
      expect(node(g, img!.layers[i]!).size).toBe(bytes.length);
      expect(img!.layers[i]).toBe(sha256(bytes));
    });
  });
});
