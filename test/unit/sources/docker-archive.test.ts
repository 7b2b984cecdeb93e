import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { MT } from '../../../shared/oci/mediatypes.js';
import type { Descriptor, Manifest } from '../../../shared/oci/types.js';
import { openSource } from '../../../shared/sources/open.js';
import type { ImageSource } from '../../../shared/sources/types.js';
import { openVerified, readVerified } from '../../../shared/sources/verify.js';
import { fx, noSharedFixtures } from '../../helpers/fixtures.js';
import { EOF, entry, tmpDir } from './tar-build.js';
import { readAll, errorOf } from './streams.js';
import { entryData, json, sha256, tarFacts } from './tar-facts.js';

const tmp = tmpDir();
afterAll(() => tmp.cleanup());

interface MJ {
  Config: string;
  RepoTags?: string[] | null;
  Layers: string[];
  LayerSources?: Record<string, Descriptor>;
}

async function manifestOf(source: ImageSource, d: Descriptor): Promise<Manifest> {
  return JSON.parse((await readVerified(source, d)).toString('utf8')) as Manifest;
}

const norm = (p: string): string => path.posix.normalize(p).replace(/^\.\//, '');

const LEGACY = [
  'ggcr/pkg/v1/tarball/testdata/test_bundle.tar',
  'ggcr/pkg/v1/tarball/testdata/test_image_1.tar',
  'ggcr/pkg/v1/tarball/testdata/test_image_2.tar',
  'ggcr/pkg/v1/tarball/testdata/test_link.tar',
  'ggcr/pkg/v1/mutate/testdata/whiteout_image.tar',
  'ggcr/pkg/v1/mutate/testdata/whiteout_dir.tar',
  'ggcr/pkg/v1/mutate/testdata/overwritten_file.tar',
  'ggcr/pkg/v1/mutate/testdata/source_image.tar',
  'ggcr/pkg/v1/mutate/testdata/source_image_with_empty_layer_history.tar',
  'dive/.data/test-docker-image.tar',
  'dive/.data/test-kaniko-image.tar',
];

describe.skipIf(noSharedFixtures)('docker-archive (legacy docker save): every fixture', () => {
  for (const rel of LEGACY) {
    it(rel, async () => {
      const file = fx(rel);
      const facts = await tarFacts(file);
      const mj = json<MJ[]>(facts, 'manifest.json');
      const { source } = await openSource(file);
      try {
        expect(source.kind).toBe('docker-archive');
        const roots = await source.roots();
        expect(roots).toHaveLength(mj.length);
        for (const [i, root] of roots.entries()) {
          const want = mj[i]!;
          expect(root.synthetic).toBe(true);
          expect(root.label).toBe(`manifest.json[${i}]`);
          expect(root.names).toEqual(want.RepoTags ?? []);
          expect(root.descriptor.mediaType).toBe(MT.dockerManifest);
          const m = await manifestOf(source, root.descriptor);
          expect(m.schemaVersion).toBe(2);
          expect(m.mediaType).toBe(MT.dockerManifest);
          // config: digest and size computed here from the tar entry
          const cfgBytes = entryData(facts, norm(want.Config));
          expect(m.config).toEqual({ mediaType: MT.dockerConfig, digest: sha256(cfgBytes), size: cfgBytes.length });
          expect((await readVerified(source, m.config)).equals(cfgBytes)).toBe(true);
          const diffIds = (JSON.parse(cfgBytes.toString()) as { rootfs: { diff_ids: string[] } }).rootfs.diff_ids;
          expect(m.layers).toHaveLength(want.Layers.length);
          for (const [j, layer] of m.layers.entries()) {
            const data = entryData(facts, norm(want.Layers[j]!));
            const foreign = want.LayerSources?.[diffIds[j]!];
            if (foreign) {
              expect(layer).toEqual(foreign);
              // the archive holds the uncompressed layer, reachable by its diff_id
              const raw = await readAll(await openVerified(source, { mediaType: MT.dockerLayer, digest: diffIds[j]!, size: data.length }));
              expect(raw.equals(data)).toBe(true);
              continue;
            }
            expect(layer.size).toBe(data.length);
            const gz = data[0] === 0x1f && data[1] === 0x8b;
            expect(layer.mediaType).toBe(gz ? MT.dockerLayerGzip : MT.dockerLayer);
            if (gz) {
              expect(layer.digest).toBe(sha256(data));
              expect(sha256(gunzipSync(data))).toBe(diffIds[j]);
            } else {
              expect(layer.digest).toBe(diffIds[j]);
              expect(sha256(data)).toBe(diffIds[j]);
            }
            const got = await readAll(await openVerified(source, layer));
            expect(got.equals(data)).toBe(true);
          }
        }
      } finally {
        await source.close();
      }
    });
  }

  it('synthesized manifests are deterministic (same digest on every open)', async () => {
    const file = fx('ggcr/pkg/v1/tarball/testdata/test_link.tar');
    const a = await openSource(file);
    const b = await openSource(file);
    const da = (await a.source.roots()).map((r) => r.descriptor.digest);
    const db = (await b.source.roots()).map((r) => r.descriptor.digest);
    expect(da).toEqual(db);
    await a.source.close();
    await b.source.close();
  });

  it('test_link.tar: the symlinked layer is served from the link target and verifies', async () => {
    const file = fx('ggcr/pkg/v1/tarball/testdata/test_link.tar');
    const facts = await tarFacts(file);
    const link = [...facts].find(([, e]) => e.type === 'symlink')!;
    const { source } = await openSource(file);
    const roots = await source.roots();
    const img3 = roots.find((r) => r.names.includes('bazel/v1/tarball:test_image_3'))!;
    const m = await manifestOf(source, img3.descriptor);
    const target = entryData(facts, link[0]);
    expect(m.layers[0]!.size).toBe(target.length);
    expect((await readAll(await openVerified(source, m.layers[0]!))).equals(target)).toBe(true);
    await source.close();
  });

  it('test_bundle.tar: a LayerSources layer whose bytes are not in the archive is missing with a clear reason', async () => {
    const { source } = await openSource(fx('ggcr/pkg/v1/tarball/testdata/test_bundle.tar'));
    const [first] = await source.roots();
    const m = await manifestOf(source, first!.descriptor);
    const e = await errorOf(source.openBlob(m.layers[0]!));
    expect(e.code).toBe('BLOB_MISSING');
    expect(e.message).toMatch(/LayerSources.*uncompressed content/);
    await source.close();
  });

  it('a flipped byte in a layer is caught by the verified read', async () => {
    const f = path.join(tmp.dir, 'tampered.tar');
    copyFileSync(fx('ggcr/pkg/v1/tarball/testdata/test_image_1.tar'), f);
    const facts = await tarFacts(f);
    const mj = json<MJ[]>(facts, 'manifest.json');
    const layer = entryData(facts, mj[0]!.Layers[0]!);
    const bytes = readFileSync(f);
    const at = bytes.indexOf(layer);
    expect(at).toBeGreaterThan(0);
    bytes[at + 600] = (bytes[at + 600] ?? 0) ^ 0xff;
    writeFileSync(f, bytes);
    const { source } = await openSource(f);
    const m = await manifestOf(source, (await source.roots())[0]!.descriptor);
    const e = await errorOf(readAll(await openVerified(source, m.layers[0]!)));
    expect(e.code).toBe('DIGEST_MISMATCH');
    await source.close();
  });
});

describe.skipIf(noSharedFixtures)('docker-archive: Docker 25+ save (hello-world-v25.tar)', () => {
  it('index.json lists nothing: the image is found through manifest.json', async () => {
    const file = fx('ggcr/pkg/v1/tarball/testdata/hello-world-v25.tar');
    const facts = await tarFacts(file);
    expect(json<{ manifests: unknown }>(facts, 'index.json').manifests).toBeNull();
    const mj = json<MJ[]>(facts, 'manifest.json');
    const { source } = await openSource(file);
    expect(source.kind).toBe('docker-archive');
    const roots = await source.roots();
    expect(roots).toHaveLength(1);
    expect(roots[0]!.names).toEqual([]); // RepoTags is null
    // the manifest blob is the one whose config is manifest.json's Config
    const cfgDigest = `sha256:${path.posix.basename(mj[0]!.Config)}`;
    const mfName = [...facts.keys()].find((n) => n.startsWith('blobs/') && facts.get(n)!.data.toString().includes(`"digest":"${cfgDigest}"`))!;
    const mfBytes = facts.get(mfName)!.data;
    expect(roots[0]!.descriptor).toEqual({ mediaType: MT.ociManifest, digest: sha256(mfBytes), size: mfBytes.length });
    expect(roots[0]!.synthetic).toBeFalsy();
    const m = await manifestOf(source, roots[0]!.descriptor);
    expect(m.config.digest).toBe(cfgDigest);
    expect(sha256(await readVerified(source, m.config))).toBe(cfgDigest);
    for (const l of m.layers) {
      const data = facts.get(`blobs/sha256/${l.digest.slice(7)}`)!.data;
      expect((await readAll(await openVerified(source, l))).equals(data)).toBe(true);
    }
    await source.close();
  });
});

describe.skipIf(noSharedFixtures)('docker-archive: pre-1.10 archives (repositories + <id>/json)', () => {
  it('emptyLayer.tar: parent chain walked, config and manifest rebuilt, layers verify against diff_ids', async () => {
    const file = fx('moby/integration-cli/testdata/emptyLayer.tar');
    const facts = await tarFacts(file);
    expect(facts.has('manifest.json')).toBe(false);
    const repos = json<Record<string, Record<string, string>>>(facts, 'repositories');
    const [[repo, tags]] = Object.entries(repos) as [[string, Record<string, string>]];
    const [[tag, top]] = Object.entries(tags) as [[string, string]];
    // walk the chain here, independently
    const chain: string[] = [];
    for (let id: string | undefined = top; id; id = json<{ parent?: string }>(facts, `${id}/json`).parent) chain.unshift(id);
    expect(chain.length).toBe(3);

    const { source } = await openSource(file);
    expect(source.kind).toBe('docker-archive');
    const roots = await source.roots();
    expect(roots).toHaveLength(1);
    expect(roots[0]!.names).toEqual([`${repo}:${tag}`]);
    expect(source.warnings?.().join(' ')).toMatch(/pre-1\.10/);
    const m = await manifestOf(source, roots[0]!.descriptor);
    expect(m.layers.map((l) => l.size)).toEqual(chain.map((id) => facts.get(`${id}/layer.tar`)!.size));
    expect(m.layers.map((l) => l.digest)).toEqual(chain.map((id) => sha256(facts.get(`${id}/layer.tar`)!.data)));
    expect(m.layers.some((l) => l.size === 0)).toBe(true); // the 0-byte layer.tar
    const cfg = JSON.parse((await readVerified(source, m.config)).toString()) as Record<string, unknown> & { rootfs: { diff_ids: string[] }; history: unknown[] };
    expect(cfg.rootfs.diff_ids).toEqual(m.layers.map((l) => l.digest));
    expect(cfg.history).toHaveLength(3);
    expect(cfg).not.toHaveProperty('id');
    expect(cfg).not.toHaveProperty('parent');
    expect(cfg.architecture).toBe(json<{ architecture: string }>(facts, `${top}/json`).architecture);
    for (const l of m.layers) await readAll(await openVerified(source, l));
    await source.close();
  });

  it('a cancelled rebuild (layers are hashed) says CANCELLED and does not stick', async () => {
    const { source } = await openSource(fx('moby/integration-cli/testdata/emptyLayer.tar'));
    const ac = new AbortController();
    ac.abort();
    expect((await errorOf(source.roots(ac.signal))).code).toBe('CANCELLED');
    expect(await source.roots()).toHaveLength(1);
    await source.close();
  });

  it('no_manifest.tar: no manifest.json, but repositories + <id>/json form an image; its saved config is found', async () => {
    const file = fx('ggcr/pkg/v1/tarball/testdata/no_manifest.tar');
    const facts = await tarFacts(file);
    const cfgName = [...facts.keys()].find((n) => /^[a-f0-9]{64}\.json$/.test(n))!;
    const cfgBytes = facts.get(cfgName)!.data;
    const { source } = await openSource(file);
    const roots = await source.roots();
    expect(roots).toHaveLength(1);
    expect(roots[0]!.names).toEqual(['bazel/v1/tarball:test_image']);
    expect(source.warnings?.().join(' ')).toMatch(/no manifest\.json/);
    const m = await manifestOf(source, roots[0]!.descriptor);
    expect(m.config.digest).toBe(sha256(cfgBytes));
    const layerName = [...facts.keys()].find((n) => n.endsWith('/layer.tar'))!;
    expect(m.layers[0]!.digest).toBe(sha256(facts.get(layerName)!.data));
    await readAll(await openVerified(source, m.layers[0]!));
    await source.close();
  });
});

describe.skipIf(noSharedFixtures)('docker-archive: broken archives give clear errors', () => {
  it('null_manifest.tar → ARCHIVE_INVALID', async () => {
    const e = await errorOf(openSource(fx('ggcr/pkg/v1/tarball/testdata/null_manifest.tar')).then((o) => o.source.roots()));
    expect(e.code).toBe('ARCHIVE_INVALID');
    expect(e.message).toMatch(/manifest\.json .* is null.*docker save/);
  });
});

describe('docker-archive: hand-made archives', () => {
  const layer = Buffer.concat([entry('hello.txt', 'hi'), EOF]);
  const diffId = sha256(layer);
  const config = JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [diffId] } });
  const make = (name: string, ...parts: Buffer[]): string => {
    const f = path.join(tmp.dir, name);
    writeFileSync(f, Buffer.concat([...parts, EOF]));
    return f;
  };
  const roots = async (f: string) => {
    const { source } = await openSource(f);
    return { source, roots: await source.roots() };
  };

  it('manifest.json that is not a list, or an empty list → ARCHIVE_INVALID', async () => {
    for (const [body, re] of [['{}', /not a list/], ['[]', /lists no images/], ['[{', /not valid JSON/]] as const) {
      const e = await errorOf(roots(make(`mj-${body.length}.tar`, entry('manifest.json', body))));
      expect(e.code).toBe('ARCHIVE_INVALID');
      expect(e.message).toMatch(re);
    }
  });

  it('an entry whose config is missing is skipped with a note; the others open', async () => {
    const mj = JSON.stringify([
      { Config: 'nope.json', RepoTags: ['a:1'], Layers: ['l/layer.tar'] },
      { Config: 'c.json', RepoTags: ['b:2'], Layers: ['l/layer.tar'] },
    ]);
    const { source, roots: r } = await roots(make('partial.tar', entry('c.json', config), entry('l/layer.tar', layer), entry('manifest.json', mj)));
    expect(r.map((x) => x.names)).toEqual([['b:2']]);
    expect(source.warnings?.().join(' ')).toMatch(/nope\.json/);
    await source.close();
  });

  it('every entry broken → the first error is thrown', async () => {
    const mj = JSON.stringify([{ RepoTags: ['a:1'], Layers: [] }]);
    const e = await errorOf(roots(make('allbad.tar', entry('manifest.json', mj))));
    expect(e.code).toBe('ARCHIVE_INVALID');
    expect(e.message).toMatch(/no Config/);
  });

  it('RepoTags missing → names from repositories; gzip layer without a digest name is hashed', async () => {
    const gz = gzipSync(layer);
    const mj = JSON.stringify([{ Config: 'c.json', Layers: ['abc/layer.tar'] }]);
    const f = make('names.tar', entry('c.json', config), entry('abc/layer.tar', gz), entry('repositories', JSON.stringify({ 'repo/x': { v1: 'abc' } })), entry('manifest.json', mj));
    const { source, roots: r } = await roots(f);
    expect(r[0]!.names).toEqual(['repo/x:v1']);
    const m = await manifestOf(source, r[0]!.descriptor);
    expect(m.layers[0]).toEqual({ mediaType: MT.dockerLayerGzip, digest: sha256(gz), size: gz.length });
    await readAll(await openVerified(source, m.layers[0]!));
    await source.close();
  });

  it('a missing layer file keeps the image, with the layer missing', async () => {
    const mj = JSON.stringify([{ Config: 'c.json', RepoTags: ['a:1'], Layers: ['gone/layer.tar'] }]);
    const { source, roots: r } = await roots(make('nolayer.tar', entry('c.json', config), entry('manifest.json', mj)));
    const m = await manifestOf(source, r[0]!.descriptor);
    expect(m.layers[0]!.digest).toBe(diffId);
    expect((await errorOf(source.openBlob(m.layers[0]!))).code).toBe('BLOB_MISSING');
    expect(source.warnings?.().join(' ')).toMatch(/gone\/layer\.tar is missing/);
    await source.close();
  });

  it('pre-1.10: a parent loop and a missing <id>/json → ARCHIVE_INVALID', async () => {
    const loop = make('loop.tar', entry('repositories', JSON.stringify({ r: { t: 'a' } })), entry('a/json', JSON.stringify({ id: 'a', parent: 'b' })), entry('b/json', JSON.stringify({ id: 'b', parent: 'a' })));
    const e1 = await errorOf(roots(loop));
    expect(e1.code).toBe('ARCHIVE_INVALID');
    expect(e1.message).toMatch(/loop/);
    const nojson = make('nojson.tar', entry('repositories', JSON.stringify({ r: { t: 'a' } })), entry('a/layer.tar', layer));
    const e2 = await errorOf(roots(nojson));
    expect(e2.code).toBe('ARCHIVE_INVALID');
    expect(e2.message).toMatch(/a\/json/);
  });

  it('docker-archive: prefix on a tar with neither manifest.json nor repositories → ARCHIVE_INVALID', async () => {
    const f = make('plain.tar', entry('README.md', 'hi'));
    const e = await errorOf(openSource(`docker-archive:${f}`).then((o) => o.source.roots()));
    expect(e.code).toBe('ARCHIVE_INVALID');
    expect(e.message).toMatch(/neither manifest\.json nor repositories/);
  });

  it('Docker 25+ with an index.json that lists the image: one index root named by RepoTags', async () => {
    const cfgBytes = Buffer.from(config);
    const mf = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MT.ociManifest, config: { mediaType: MT.ociConfig, digest: sha256(cfgBytes), size: cfgBytes.length }, layers: [{ mediaType: MT.ociLayer, digest: diffId, size: layer.length }] }));
    const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MT.ociIndex, manifests: [{ mediaType: MT.ociManifest, digest: sha256(mf), size: mf.length }] }));
    const b = (d: string): string => `blobs/sha256/${d.slice(7)}`;
    const f = make(
      'v25.tar',
      entry('oci-layout', '{"imageLayoutVersion":"1.0.0"}'),
      entry('index.json', index),
      entry(b(sha256(cfgBytes)), cfgBytes),
      entry(b(diffId), layer),
      entry(b(sha256(mf)), mf),
      entry('manifest.json', JSON.stringify([{ Config: b(sha256(cfgBytes)), RepoTags: ['x:y'], Layers: [b(diffId)] }])),
    );
    const { source, roots: r } = await roots(f);
    expect(source.kind).toBe('docker-archive');
    expect(r).toHaveLength(1);
    expect(r[0]!.descriptor.digest).toBe(sha256(index));
    expect(r[0]!.names).toEqual(['x:y']);
    expect((await readVerified(source, { mediaType: MT.ociManifest, digest: sha256(mf), size: mf.length })).equals(mf)).toBe(true);
    await source.close();
  });
});
