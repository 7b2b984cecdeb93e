import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { listImages } from '../../../shared/graph/select.js';
import { readVerified } from '../../../shared/sources/verify.js';
import { codes, Kit, type Desc } from './layout-kit.js';

// A layout whose blobs live in blobs/sha512/ and whose descriptors carry sha512 digests (image-spec
// registers sha512 beside sha256; no real fixture has one, so it is made here with node:crypto).

const MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const CONFIG = 'application/vnd.oci.image.config.v1+json';
const LAYER = 'application/vnd.oci.image.layer.v1.tar';

const sha512 = (b: Buffer): string => `sha512:${createHash('sha512').update(b).digest('hex')}`;

const kits: Kit[] = [];
afterEach(() => {
  while (kits.length) kits.pop()!.remove();
});

function put512(k: Kit, content: string | object, mediaType: string): Desc {
  const bytes = Buffer.from(typeof content === 'string' ? content : JSON.stringify(content));
  const digest = sha512(bytes);
  mkdirSync(path.join(k.dir, 'blobs/sha512'), { recursive: true });
  writeFileSync(k.blobPath(digest), bytes);
  return { mediaType, digest, size: bytes.length };
}

function layout512(): { k: Kit; manifest: Desc; config: Desc; layer: Desc } {
  const k = new Kit();
  kits.push(k);
  const layer = put512(k, 'not really a tar, but a layer blob all the same', LAYER);
  const config = put512(k, { architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [layer.digest] } }, CONFIG);
  const manifest = put512(k, { schemaVersion: 2, mediaType: MANIFEST, config, layers: [layer] }, MANIFEST);
  k.index([manifest]);
  return { k, manifest, config, layer };
}

/** Rewrites a blob with the first byte of `from` changed to `to` (same length: only the digest can tell). */
function flip(k: Kit, digest: string, from: string, to: string): Buffer {
  const p = k.blobPath(digest);
  const b = readFileSync(p);
  const at = b.indexOf(from);
  expect(at).toBeGreaterThanOrEqual(0);
  expect(b[at]).not.toBe(to.charCodeAt(0));
  b[at] = to.charCodeAt(0);
  rmSync(p);
  writeFileSync(p, b);
  return b;
}

describe('sha512 layouts (blobs/sha512/<128 hex>)', () => {
  it('a good one verifies: manifest and config read from blobs/sha512 and hashed with sha512', async () => {
    const { k, manifest, config, layer } = layout512();
    for (const d of [manifest, config, layer]) {
      expect(d.digest).toMatch(/^sha512:[a-f0-9]{128}$/);
      expect(existsSync(path.join(k.dir, 'blobs/sha512', d.digest.slice(7)))).toBe(true);
    }
    expect(existsSync(path.join(k.dir, 'blobs/sha256', manifest.digest.slice(7)))).toBe(false);
    const g = await k.graph();
    expect(g.node(manifest.digest)).toMatchObject({ kind: 'manifest', verify: 'verified', problems: [] });
    expect(g.node(config.digest)).toMatchObject({ kind: 'config', verify: 'verified', problems: [] });
    expect(g.node(layer.digest)).toMatchObject({ kind: 'layer', verify: 'pending', problems: [] });
    expect(g.graph.nodes.flatMap((n) => n.problems)).toEqual([]);
    expect(listImages(g.graph)).toMatchObject([{ manifest: manifest.digest, config: config.digest, layers: [layer.digest] }]);
    // The layer, read later, verifies against its sha512 digest too.
    expect((await readVerified(g.source, layer)).toString()).toBe('not really a tar, but a layer blob all the same');
  });

  it('a flipped byte in the sha512 manifest is DIGEST_MISMATCH on the manifest only, naming the sha512 of what is there', async () => {
    const { k, manifest, config, layer } = layout512();
    const now = flip(k, manifest.digest, '2,"mediaType"', '3'); // "schemaVersion":3, still JSON
    const g = await k.graph();
    const m = g.node(manifest.digest)!;
    expect(m.verify).toBe('failed');
    expect(codes(g, manifest.digest)[0]).toBe('DIGEST_MISMATCH');
    expect(codes(g, manifest.digest)).not.toContain('JSON_INVALID');
    // The actual hash in the message is the sha512 of the stored bytes (not a sha256 of them).
    const actual = sha512(now).slice(7, 19);
    expect(m.problems[0]!.message).toContain(actual);
    expect(g.node(config.digest)).toMatchObject({ verify: 'verified', problems: [] });
    expect(g.node(layer.digest)).toMatchObject({ verify: 'pending', problems: [] });
    expect(g.node(g.graph.roots[0]!)!.problems).toEqual([]);
  });

  it('a flipped byte in the sha512 config is DIGEST_MISMATCH on the config only', async () => {
    const { k, manifest, config, layer } = layout512();
    const now = flip(k, config.digest, 'linux', 'L');
    expect(() => JSON.parse(now.toString()) as unknown).not.toThrow();
    const g = await k.graph();
    expect(g.node(config.digest)!.verify).toBe('failed');
    expect(codes(g, config.digest)).toEqual(['DIGEST_MISMATCH']);
    expect(g.node(config.digest)!.problems[0]!.message).toContain(sha512(now).slice(7, 19));
    expect(g.node(manifest.digest)).toMatchObject({ verify: 'verified', problems: [] });
    expect(g.node(layer.digest)).toMatchObject({ verify: 'pending', problems: [] });
  });

  it('a flipped byte in a sha512 layer is a DIGEST_MISMATCH when it is read', async () => {
    const { k, layer } = layout512();
    flip(k, layer.digest, 'tar', 'T');
    const g = await k.graph();
    expect(g.node(layer.digest)!.verify).toBe('pending'); // layers are not read by the graph
    await expect(readVerified(g.source, layer)).rejects.toMatchObject({ code: 'DIGEST_MISMATCH' });
  });
});
