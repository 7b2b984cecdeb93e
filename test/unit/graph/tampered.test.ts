import { appendFileSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { listImages } from '../../../shared/graph/select.js';
import { fx, noSharedFixtures } from '../../helpers/fixtures.js';
import { layoutFacts, readerFor } from './facts.js';
import { codes, Kit } from './layout-kit.js';

// Tampered copies of a real layout and hand-made broken ones: each problem lands on the right node
// and the rest of the graph is still there.

const kits: Kit[] = [];
const kit = (from?: string): Kit => {
  const k = new Kit(from);
  kits.push(k);
  return k;
};
afterEach(() => {
  while (kits.length) kits.pop()!.remove();
});

const ONE = 'ggcr/pkg/v1/layout/testdata/test_index_one_image';
const IDX = 'application/vnd.oci.image.index.v1+json';

describe.skipIf(noSharedFixtures)('tampered copies of test_index_one_image', () => {
  const facts = () => {
    const f = layoutFacts(readerFor(fx(ONE)));
    return { manifest: [...f.docs.keys()][0]!, config: [...f.configs.keys()][0]!, layer: [...f.layers.keys()][0]!, nodes: 1 + f.docs.size + f.configs.size + f.layers.size };
  };

  it('a flipped byte in the config is a DIGEST_MISMATCH on the config node only', async () => {
    const f = facts();
    const k = kit(fx(ONE));
    const p = k.blobPath(f.config);
    const b = readFileSync(p);
    const at = b.indexOf('linux');
    expect(at).toBeGreaterThan(0);
    b[at] = 'L'.charCodeAt(0); // one byte, still valid JSON: only the digest can tell
    rmSync(p);
    writeFileSync(p, b);
    const g = await k.graph();
    expect(g.node(f.config)).toMatchObject({ verify: 'failed' });
    expect(codes(g, f.config)).toEqual(['DIGEST_MISMATCH']);
    expect(g.node(f.manifest)).toMatchObject({ verify: 'verified', problems: [] });
    expect(g.node(f.layer)).toMatchObject({ verify: 'pending', problems: [] });
    expect(g.graph.nodes).toHaveLength(f.nodes);
  });

  it('a truncated config and an extended layer are SIZE_MISMATCH on their nodes', async () => {
    const f = facts();
    const k = kit(fx(ONE));
    truncateSync(k.blobPath(f.config), 20);
    appendFileSync(k.blobPath(f.layer), Buffer.from('extra'));
    const g = await k.graph();
    expect(codes(g, f.config)).toContain('SIZE_MISMATCH');
    expect(g.node(f.config)!.verify).toBe('failed');
    // The truncated bytes are still shown for what they are: not JSON.
    expect(codes(g, f.config)).toContain('JSON_INVALID');
    expect(codes(g, f.layer)).toEqual(['SIZE_MISMATCH']);
    expect(g.node(f.layer)!.verify).toBe('failed');
    expect(g.node(f.manifest)!.problems).toEqual([]);
  });

  it('a deleted layer blob is BLOB_MISSING on that layer; the graph is otherwise complete', async () => {
    const f = facts();
    const k = kit(fx(ONE));
    rmSync(k.blobPath(f.layer));
    const g = await k.graph();
    expect(codes(g, f.layer)).toEqual(['BLOB_MISSING']);
    expect(g.node(f.layer)!.verify).toBe('missing');
    expect(g.graph.nodes).toHaveLength(f.nodes);
    expect(g.graph.nodes.filter((n) => n.digest !== f.layer).flatMap((n) => n.problems)).toEqual([]);
    expect(listImages(g.graph)).toHaveLength(1);
  });

  it('a flipped byte in the manifest still shows its children, flagged', async () => {
    const f = facts();
    const k = kit(fx(ONE));
    const p = k.blobPath(f.manifest);
    const text = readFileSync(p, 'utf8');
    rmSync(p);
    writeFileSync(p, text.replace('"schemaVersion":2', '"schemaVersion":3'));
    const g = await k.graph();
    expect(codes(g, f.manifest)).toContain('DIGEST_MISMATCH');
    expect(g.node(f.config)!.verify).toBe('verified');
    expect(g.node(f.layer)!.verify).toBe('pending');
  });
});

describe('hand-made broken layouts', () => {
  it('malformed JSON in a manifest is JSON_INVALID with the parser message, the sibling image still walks', async () => {
    const k = kit();
    const good = k.image();
    const bad = k.put('{"schemaVersion": 2, "config": ', 'application/vnd.oci.image.manifest.v1+json');
    k.index([good.manifest, bad]);
    const g = await k.graph();
    const n = g.node(bad.digest)!;
    expect(n.verify).toBe('verified'); // the bytes are what the digest says; they are just not JSON
    expect(n.problems.map((p) => p.code)).toEqual(['JSON_INVALID']);
    let parserMessage = '';
    try {
      JSON.parse('{"schemaVersion": 2, "config": ');
    } catch (e) {
      parserMessage = (e as Error).message;
    }
    expect(n.problems[0]!.message).toContain(parserMessage);
    expect(n.kind).toBe('manifest');
    expect(listImages(g.graph).map((i) => i.manifest)).toEqual([good.manifest.digest]);
  });

  it('two manifests whose subjects point at each other: SUBJECT_LOOP on both, and the walk ends', async () => {
    const k = kit();
    const base = k.image();
    const fakeB = `sha256:${'b'.repeat(64)}`;
    const a = k.put({ ...JSON.parse(readFileSync(k.blobPath(base.manifest.digest), 'utf8')), subject: { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: fakeB, size: 1 } }, 'application/vnd.oci.image.manifest.v1+json');
    // B cannot carry A's digest and be named by its own: it sits under a made-up digest (a mismatch too).
    const bBody = Buffer.from(JSON.stringify({ ...JSON.parse(readFileSync(k.blobPath(base.manifest.digest), 'utf8')), subject: a }));
    k.put(bBody, 'application/vnd.oci.image.manifest.v1+json', fakeB);
    k.index([a]);
    const g = await k.graph();
    expect(codes(g, a.digest)).toContain('SUBJECT_LOOP');
    expect(codes(g, fakeB)).toEqual(expect.arrayContaining(['SUBJECT_LOOP', 'SIZE_MISMATCH']));
    expect(g.graph.edges).toContainEqual({ from: a.digest, to: fakeB, role: 'subject' });
    expect(g.graph.edges).toContainEqual({ from: fakeB, to: a.digest, role: 'subject' });
  });

  it('an index that lists itself (only possible with unverified bytes) is walked once', async () => {
    const k = kit();
    const fake = `sha256:${'c'.repeat(64)}`;
    const self = { mediaType: 'application/vnd.oci.image.index.v1+json', digest: fake, size: 10 };
    k.put({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [self] }, self.mediaType, fake);
    k.index([self]);
    const g = await k.graph();
    expect(g.graph.nodes).toHaveLength(2);
    expect(g.node(fake)!.verify).toBe('failed');
  });

  it('indexes nested deeper than 32 levels stop with a problem instead of walking on', async () => {
    const k = kit();
    let top = k.image().manifest;
    for (let i = 0; i < 40; i++) top = k.put({ schemaVersion: 2, mediaType: IDX, manifests: [top] }, IDX);
    k.index([top]);
    const g = await k.graph();
    const deep = g.graph.nodes.filter((n) => n.problems.some((p) => p.code === 'TOO_LARGE'));
    expect(deep).toHaveLength(1);
    expect(g.graph.nodes.filter((n) => n.kind === 'index').length).toBeLessThan(41);
  });

  it('an entry with an invalid digest is a node with DIGEST_INVALID', async () => {
    const k = kit();
    const img = k.image();
    k.index([img.manifest, { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: 'sha256:XYZ', size: 3 }]);
    const g = await k.graph();
    expect(codes(g, 'sha256:XYZ')).toEqual(['DIGEST_INVALID']);
    expect(listImages(g.graph)).toHaveLength(1);
  });

  it('a Docker schema 1 manifest is a read-only manifest node with a note', async () => {
    const k = kit();
    const v1 = k.put({ schemaVersion: 1, name: 'x', tag: 'latest', architecture: 'amd64', fsLayers: [{ blobSum: `sha256:${'d'.repeat(64)}` }], history: [{ v1Compatibility: '{}' }] }, 'application/vnd.docker.distribution.manifest.v1+prettyjws');
    k.index([v1]);
    const g = await k.graph();
    expect(g.node(v1.digest)).toMatchObject({ kind: 'manifest', verify: 'verified' });
    expect(codes(g, v1.digest)).toEqual(['LEGACY_SCHEMA1']);
    expect(listImages(g.graph)).toEqual([]);
  });

  it('an unknown media type in an index is MEDIATYPE_UNKNOWN, still a node', async () => {
    const k = kit();
    const blob = k.put('hello', 'application/x-something');
    k.index([blob]);
    const g = await k.graph();
    expect(g.node(blob.digest)).toMatchObject({ kind: 'unknown', verify: 'verified' });
    expect(codes(g, blob.digest)).toContain('MEDIATYPE_UNKNOWN');
  });

  it('layers and diff_ids that disagree in number are a problem on the manifest', async () => {
    const k = kit();
    const img = k.image({ layers: ['one', 'two'] });
    const m = JSON.parse(readFileSync(k.blobPath(img.manifest.digest), 'utf8')) as { layers: unknown[] };
    m.layers = m.layers.slice(0, 1);
    const short = k.put(m, 'application/vnd.oci.image.manifest.v1+json');
    k.index([short]);
    const g = await k.graph();
    expect(codes(g, short.digest)).toEqual(['DIFFID_MISMATCH']);
  });

  it('an index platform that the config contradicts is a PLATFORM_INVALID problem on the manifest', async () => {
    const k = kit();
    const arm = k.image({ arch: 'arm64' });
    const amd = k.image({ arch: 'amd64', layers: ['x'] });
    k.index([
      { ...arm.manifest, platform: { os: 'linux', architecture: 'amd64' } },
      { ...amd.manifest, platform: { os: 'linux', architecture: 'x86_64' } }, // an alias, not a contradiction
    ]);
    const g = await k.graph();
    expect(codes(g, arm.manifest.digest)).toEqual(['PLATFORM_INVALID']);
    expect(codes(g, amd.manifest.digest)).toEqual([]);
  });

  it('a malformed index.json is a root node with JSON_INVALID, not a crash', async () => {
    const k = kit();
    writeFileSync(`${k.dir}/index.json`, '{"schemaVersion": 2, "manifests": [');
    const g = await k.graph();
    expect(g.graph.nodes).toHaveLength(1);
    expect(g.graph.nodes[0]).toMatchObject({ kind: 'index', verify: 'verified', synthetic: true });
    expect(codes(g, g.graph.roots[0]!)).toEqual(['JSON_INVALID']);
  });

  it('a missing layout index.json throws a clear error (the container itself is broken)', async () => {
    const k = kit();
    await expect(k.graph()).rejects.toMatchObject({ code: 'LAYOUT_INVALID' });
  });

  it('an aborted signal cancels', async () => {
    const k = kit();
    k.index([k.image().manifest]);
    const ac = new AbortController();
    ac.abort();
    await expect(k.graph(ac.signal)).rejects.toMatchObject({ code: 'CANCELLED' });
  });
});
