import { afterEach, describe, expect, it } from 'vitest';
import type { CliIO } from '../../../shared/cli/io.js';
import { main } from '../../../shared/cli/main.js';
import type { GraphContext } from '../../../shared/graph/build.js';
import { listImages } from '../../../shared/graph/select.js';
import { codes, Kit, type Desc } from './layout-kit.js';

// Schema violations inside otherwise well-formed, correctly hashed documents: each one is a
// SCHEMA_INVALID problem with the JSON pointer of the failing field, on the node whose document
// holds it, and nowhere else.

const MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const CONFIG = 'application/vnd.oci.image.config.v1+json';
const LAYER = 'application/vnd.oci.image.layer.v1.tar';

const kits: Kit[] = [];
afterEach(() => {
  while (kits.length) kits.pop()!.remove();
});

interface Broken {
  k: Kit;
  manifest: Desc;
  config: Desc;
  layer: Desc;
  sibling: { manifest: Desc; config: Desc; layers: Desc[] };
}

/**
 * One image whose manifest says `layers[0].size: "12"` (a string) and whose config has `config.Env`
 * as a string instead of an array; a clean sibling image beside it in the same index.
 */
function brokenLayout(): Broken {
  const k = new Kit();
  kits.push(k);
  const layer = k.put('hello world\n', LAYER);
  expect(layer.size).toBe(12);
  const config = k.put({ architecture: 'amd64', os: 'linux', config: { Env: 'PATH=/usr/bin' }, rootfs: { type: 'layers', diff_ids: [layer.digest] } }, CONFIG);
  const manifest = k.put({ schemaVersion: 2, mediaType: MANIFEST, config, layers: [{ ...layer, size: '12' }] }, MANIFEST);
  const sibling = k.image({ layers: ['other'] });
  k.index([manifest, sibling.manifest]);
  return { k, manifest, config, layer, sibling };
}

const schemaProblems = (g: GraphContext, digest: string) => g.node(digest)!.problems.filter((p) => p.code === 'SCHEMA_INVALID');

describe('SCHEMA_INVALID on the node that holds the bad field', () => {
  it('a string layer size is on the manifest (/layers/0/size), a string Env on the config (/config/Env)', async () => {
    const { k, manifest, config, layer, sibling } = brokenLayout();
    const g = await k.graph();

    // The bytes are what their digests say: only the schema can tell.
    expect(g.node(manifest.digest)!.verify).toBe('verified');
    expect(g.node(config.digest)!.verify).toBe('verified');

    expect(codes(g, manifest.digest)).toEqual(['SCHEMA_INVALID']);
    const mp = schemaProblems(g, manifest.digest);
    expect(mp).toHaveLength(1);
    expect(mp[0]!.path).toBe('/layers/0/size');
    expect(mp[0]!.message).toMatch(/^\/layers\/0\/size: size must be an integer/);

    expect(codes(g, config.digest)).toEqual(['SCHEMA_INVALID']);
    const cp = schemaProblems(g, config.digest);
    expect(cp).toHaveLength(1);
    expect(cp[0]!.path).toBe('/config/Env');
    expect(cp[0]!.message).toMatch(/^\/config\/Env: Env must be an array/);

    // The layer node is built from that descriptor: it has no usable size, and says so about its own
    // descriptor field (not the manifest's pointer), without any read of the blob.
    const ln = g.node(layer.digest)!;
    expect(ln.size).toBe(-1);
    expect(ln.verify).toBe('pending');
    expect(ln.problems).toEqual([{ code: 'SCHEMA_INVALID', message: expect.any(String) as string, path: '/size' }]);

    // Everything else is clean: the index and the whole sibling image.
    expect(g.node(g.graph.roots[0]!)!.problems).toEqual([]);
    for (const d of [sibling.manifest.digest, sibling.config.digest, ...sibling.layers.map((l) => l.digest)]) expect(g.node(d)!.problems).toEqual([]);
    expect(g.graph.nodes).toHaveLength(1 + 3 + 3);
    // The broken image is still an image (a schema problem is shown, not a reason to drop it).
    expect(listImages(g.graph).map((i) => i.manifest).sort()).toEqual([manifest.digest, sibling.manifest.digest].sort());
  });

  it('the same document with the fields fixed has no problems (the test above is about those two fields)', async () => {
    const k = new Kit();
    kits.push(k);
    const layer = k.put('hello world\n', LAYER);
    const config = k.put({ architecture: 'amd64', os: 'linux', config: { Env: ['PATH=/usr/bin'] }, rootfs: { type: 'layers', diff_ids: [layer.digest] } }, CONFIG);
    const manifest = k.put({ schemaVersion: 2, mediaType: MANIFEST, config, layers: [layer] }, MANIFEST);
    k.index([manifest]);
    const g = await k.graph();
    expect(g.graph.nodes.flatMap((n) => n.problems)).toEqual([]);
  });

  it('inspect --json reports them on the same nodes (the pointer leads the message)', async () => {
    const { k, manifest, config, layer, sibling } = brokenLayout();
    let out = '';
    let err = '';
    const io: CliIO = { stdout: (s) => void (out += s), stderr: (s) => void (err += s), cwd: process.cwd(), env: {} };
    expect(await main(['inspect', k.dir, '--json'], io)).toBe(0);
    expect(err).toBe('');
    const j = JSON.parse(out) as { nodes: { digest: string; size: number; problems: { code: string; message: string }[] }[] };
    const byDigest = new Map(j.nodes.map((n) => [n.digest, n]));
    const m = byDigest.get(manifest.digest)!;
    expect(m.problems.map((p) => p.code)).toEqual(['SCHEMA_INVALID']);
    expect(m.problems[0]!.message).toMatch(/^\/layers\/0\/size: /);
    const c = byDigest.get(config.digest)!;
    expect(c.problems.map((p) => p.code)).toEqual(['SCHEMA_INVALID']);
    expect(c.problems[0]!.message).toMatch(/^\/config\/Env: /);
    expect(byDigest.get(layer.digest)!.size).toBe(-1);
    for (const d of [sibling.manifest.digest, sibling.config.digest, sibling.layers[0]!.digest]) expect(byDigest.get(d)!.problems).toEqual([]);
    expect(j.nodes.filter((n) => n.problems.length).map((n) => n.digest).sort()).toEqual([manifest.digest, config.digest, layer.digest].sort());
  });
});
