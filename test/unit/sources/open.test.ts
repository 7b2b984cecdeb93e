import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MT } from '../../../shared/oci/mediatypes.js';
import type { Descriptor, Index, Manifest } from '../../../shared/oci/types.js';
import { DockerArchiveSource } from '../../../shared/sources/docker-archive.js';
import { OciLayoutSource } from '../../../shared/sources/oci-layout.js';
import { openSource } from '../../../shared/sources/open.js';
import type { TarVfs } from '../../../shared/sources/tarfs.js';
import type { ImageSource } from '../../../shared/sources/types.js';
import { openVerified, readVerified } from '../../../shared/sources/verify.js';
import { fx, noSharedFixtures } from '../../helpers/fixtures.js';
import { EOF, entry, run, runBytes, tmpDir } from './tar-build.js';
import { readAll, errorOf } from './streams.js';
import { sha256, tarFacts, type FactEntry } from './tar-facts.js';

const tmp = tmpDir();
afterAll(() => tmp.cleanup());

function magicOf(b: Buffer): 'gzip' | 'zstd' | 'none' {
  if (b[0] === 0x1f && b[1] === 0x8b) return 'gzip';
  if (b.length >= 4 && b.readUInt32LE(0) === 0xfd2fb528) return 'zstd';
  return 'none';
}

/** Walks index → manifests → config + layers, checking every blob against the tar's own bytes. */
async function walk(source: ImageSource, facts: Map<string, FactEntry>): Promise<{ manifests: number; layers: { desc: Descriptor; data: Buffer }[] }> {
  const blob = (d: Descriptor): Buffer => facts.get(`blobs/sha256/${d.digest.slice(7)}`)!.data;
  const out = { manifests: 0, layers: [] as { desc: Descriptor; data: Buffer }[] };
  const visit = async (d: Descriptor): Promise<void> => {
    const bytes = await readVerified(source, d);
    if (d.mediaType === MT.ociIndex || d.mediaType === MT.dockerList) {
      for (const m of (JSON.parse(bytes.toString()) as Index).manifests ?? []) await visit(m);
      return;
    }
    out.manifests++;
    const m = JSON.parse(bytes.toString()) as Manifest;
    expect(m.config.size).toBe(blob(m.config).length);
    expect((await readVerified(source, m.config)).equals(blob(m.config))).toBe(true);
    for (const l of m.layers) {
      const data = blob(l);
      expect(l.size).toBe(data.length);
      expect((await readAll(await openVerified(source, l))).equals(data)).toBe(true);
      out.layers.push({ desc: l, data });
    }
  };
  for (const r of await source.roots()) await visit(r.descriptor);
  return out;
}

const OCI_TARBALLS: [string, string][] = [
  ['dive/.data/test-oci-gzip-image.tar', MT.ociLayerGzip],
  ['dive/.data/test-oci-estargz-image.tar', MT.ociLayerGzip],
  ['dive/.data/test-oci-uncompressed-image.tar', MT.ociLayer],
  ['dive/.data/test-oci-zstd-image.tar', MT.ociLayerZstd],
];

describe.skipIf(noSharedFixtures)('OCI archives (OCI layout in a tar, read in place)', () => {
  for (const [rel, layerType] of OCI_TARBALLS) {
    it(rel, async () => {
      const file = fx(rel);
      const facts = await tarFacts(file);
      const { source, selector } = await openSource(file);
      expect(selector).toEqual({});
      expect(source.kind).toBe('oci-archive');
      const roots = await source.roots();
      expect(roots).toHaveLength(1);
      const indexBytes = facts.get('index.json')!.data;
      expect(roots[0]!.descriptor).toEqual({ mediaType: MT.ociIndex, digest: sha256(indexBytes), size: indexBytes.length });
      const w = await walk(source, facts);
      expect(w.manifests).toBe(1);
      expect(w.layers.length).toBeGreaterThan(0);
      for (const l of w.layers) {
        expect(l.desc.mediaType).toBe(layerType);
        expect(magicOf(l.data)).toBe(layerType.endsWith('+gzip') ? 'gzip' : layerType.endsWith('+zstd') ? 'zstd' : 'none');
      }
      await source.close();
    });
  }

  for (const [tool, ext] of [['gzip', 'gz'], ['zstd', 'zst']] as const) {
    it(`${tool}-compressed OCI tarball (made here with ${tool} -c)`, async () => {
      const src = fx('dive/.data/test-oci-gzip-image.tar');
      const f = path.join(tmp.dir, `oci.tar.${ext}`);
      writeFileSync(f, runBytes(tool, ['-c', src]));
      const { source } = await openSource(f);
      expect(source.kind).toBe('oci-archive');
      expect(source.location).toBe(f);
      const w = await walk(source, await tarFacts(src));
      expect(w.manifests).toBe(1);
      const inner = ((source as OciLayoutSource).vfs as TarVfs).file;
      expect(existsSync(inner)).toBe(true);
      await source.close();
      expect(existsSync(inner)).toBe(false);
    });
  }
});

const LAYOUT_DIRS = [
  'ggcr/pkg/v1/layout/testdata/test_index',
  'ggcr/pkg/v1/layout/testdata/test_gc_index',
  'ggcr/pkg/v1/layout/testdata/test_index_media_type',
  'ggcr/pkg/v1/layout/testdata/test_index_one_image',
  'ggcr/pkg/v1/layout/testdata/test_gc_image_unknown_mediatype',
];

describe.skipIf(noSharedFixtures)('detection of every kind', () => {
  const notation = noSharedFixtures ? [] : readdirSync(fx('notation/test/e2e/testdata/registry/oci_layout')).map((d) => `notation/test/e2e/testdata/registry/oci_layout/${d}`);
  for (const rel of [...LAYOUT_DIRS, ...notation]) {
    it(`OCI layout folder ${rel}`, async () => {
      const { source } = await openSource(fx(rel));
      expect(source.kind).toBe('oci-layout');
      const roots = await source.roots();
      const idx = readFileSync(path.join(fx(rel), 'index.json'));
      expect(roots.map((r) => r.descriptor.digest)).toEqual([sha256(idx)]);
      await source.close();
    });
  }

  it('a layout folder whose index points at a missing blob opens; the blob read says BLOB_MISSING', async () => {
    const { source } = await openSource(fx('ggcr/pkg/v1/layout/testdata/test_gc_image_unknown_mediatype'));
    const idx = JSON.parse((await readVerified(source, (await source.roots())[0]!.descriptor)).toString()) as Index;
    expect((await errorOf(source.openBlob(idx.manifests![0]!))).code).toBe('BLOB_MISSING');
    await source.close();
  });

  const kinds: [string, string, unknown][] = [
    ['dive/.data/test-oci-uncompressed-image.tar', 'oci-archive', OciLayoutSource],
    ['dive/.data/test-docker-image.tar', 'docker-archive', DockerArchiveSource],
    ['ggcr/pkg/v1/tarball/testdata/hello-world-v25.tar', 'docker-archive', DockerArchiveSource],
    ['moby/integration-cli/testdata/emptyLayer.tar', 'docker-archive', DockerArchiveSource],
  ];
  for (const [rel, kind, cls] of kinds) {
    it(`${rel} → ${kind}`, async () => {
      const { source } = await openSource(fx(rel));
      expect(source.kind).toBe(kind);
      expect(source).toBeInstanceOf(cls);
      await source.close();
    });
  }

  it('a gzip-compressed docker save → docker-archive with the same roots as the plain one', async () => {
    const src = fx('ggcr/pkg/v1/tarball/testdata/test_link.tar');
    const f = path.join(tmp.dir, 'docker.tar.gz');
    writeFileSync(f, runBytes('gzip', ['-c', src]));
    const gz = await openSource(f);
    const plain = await openSource(src);
    expect(gz.source.kind).toBe('docker-archive');
    expect(await gz.source.roots()).toEqual(await plain.source.roots());
    await gz.source.close();
    await plain.source.close();
  });

  it('an already-aborted signal cancels decompression', async () => {
    const f = path.join(tmp.dir, 'abort.tar.gz');
    writeFileSync(f, runBytes('gzip', ['-c', fx('dive/.data/test-docker-image.tar')]));
    const ac = new AbortController();
    ac.abort();
    expect((await errorOf(openSource(f, { signal: ac.signal }))).code).toBe('CANCELLED');
  });

  it('an extracted docker save folder → docker-archive over the folder', async () => {
    const dir = path.join(tmp.dir, 'extracted');
    mkdirSync(dir);
    run('tar', ['-xf', fx('ggcr/pkg/v1/tarball/testdata/test_link.tar'), '-C', dir]);
    const { source } = await openSource(dir);
    expect(source.kind).toBe('docker-archive');
    const roots = await source.roots();
    expect(roots.map((r) => r.names)).toEqual([['bazel/v1/tarball:test_image_1'], ['bazel/v1/tarball:test_image_3']]);
    await source.close();
  });
});

describe.skipIf(noSharedFixtures)('prefixes as in skopeo', () => {
  it('oci:PATH:TAG', async () => {
    const dir = fx('ggcr/pkg/v1/layout/testdata/test_index');
    const { source, selector } = await openSource(`oci:${dir}:v1.0`);
    expect(source.kind).toBe('oci-layout');
    expect(selector).toEqual({ tag: 'v1.0' });
    await source.close();
    const plain = await openSource(`oci:${dir}`);
    expect(plain.selector).toEqual({});
    await plain.source.close();
  });

  it('oci-archive:PATH[:TAG]', async () => {
    const f = fx('dive/.data/test-oci-gzip-image.tar');
    const { source, selector } = await openSource(`oci-archive:${f}:latest`);
    expect(source.kind).toBe('oci-archive');
    expect(selector).toEqual({ tag: 'latest' });
    await source.close();
  });

  it('docker-archive:PATH:REPO:TAG, also with a registry port in REPO', async () => {
    const f = fx('ggcr/pkg/v1/tarball/testdata/test_link.tar');
    const a = await openSource(`docker-archive:${f}:bazel/v1/tarball:test_image_3`);
    expect(a.source.kind).toBe('docker-archive');
    expect(a.selector).toEqual({ tag: 'bazel/v1/tarball:test_image_3' });
    await a.source.close();
    const b = await openSource(`docker-archive:${f}:localhost:5000/x:y`);
    expect(b.selector).toEqual({ tag: 'localhost:5000/x:y' });
    await b.source.close();
  });

  it('a path holding a colon', async () => {
    const dir = path.join(tmp.dir, 'a:b');
    mkdirSync(dir);
    run('tar', ['-xf', fx('dive/.data/test-oci-gzip-image.tar'), '-C', dir]);
    const a = await openSource(`oci:${dir}`);
    expect(a.selector).toEqual({});
    await a.source.close();
    const b = await openSource(`oci:${dir}:t`);
    expect(b.selector).toEqual({ tag: 't' });
    await b.source.close();
    const c = await openSource(dir);
    expect(c.source.kind).toBe('oci-layout');
    await c.source.close();
  });

  it('oci-archive: on a docker save archive → LAYOUT_INVALID', async () => {
    const e = await errorOf(openSource(`oci-archive:${fx('dive/.data/test-docker-image.tar')}`));
    expect(e.code).toBe('LAYOUT_INVALID');
  });

  it('a prefix with a path that does not exist → SOURCE_NOT_FOUND', async () => {
    const e = await errorOf(openSource(`docker-archive:${tmp.dir}/nope.tar:repo:tag`));
    expect(e.code).toBe('SOURCE_NOT_FOUND');
    expect(e.message).toContain(`${tmp.dir}/nope.tar does not exist`);
  });
});

describe('what is not an image, or not here', () => {
  it.skipIf(noSharedFixtures)('NOT-AN-IMAGE tar → SOURCE_UNRECOGNISED naming what it holds and what is expected', async () => {
    const f = fx('dive/.data/NOT-AN-IMAGE_test-gzip-image.tar');
    const facts = await tarFacts(f);
    const e = await errorOf(openSource(f));
    expect(e.code).toBe('SOURCE_UNRECOGNISED');
    for (const name of facts.keys()) expect(e.message).toContain(name);
    expect(e.message).toMatch(/oci-layout.*manifest\.json/);
  });

  it('a file that is not a tar, a tiny file, an empty folder → SOURCE_UNRECOGNISED', async () => {
    const junk = path.join(tmp.dir, 'junk.bin');
    writeFileSync(junk, Buffer.alloc(4096, 0x41));
    const tiny = path.join(tmp.dir, 'tiny.json');
    writeFileSync(tiny, '{"a":1}');
    const empty = path.join(tmp.dir, 'empty');
    mkdirSync(empty);
    for (const p of [junk, tiny, empty]) {
      const e = await errorOf(openSource(p));
      expect(e.code, p).toBe('SOURCE_UNRECOGNISED');
    }
  });

  it('an unrecognised folder is described by its top-level names only', async () => {
    const dir = path.join(tmp.dir, 'notimage');
    mkdirSync(path.join(dir, 'deep', 'er'), { recursive: true });
    writeFileSync(path.join(dir, 'deep', 'er', 'file'), 'x');
    writeFileSync(path.join(dir, 'notes.txt'), 'x');
    const e = await errorOf(openSource(dir));
    expect(e.code).toBe('SOURCE_UNRECOGNISED');
    expect(e.message).toContain('deep, notes.txt');
    expect(e.message).not.toContain('deep/er');
  });

  it('a gzip file holding something that is not a tar → SOURCE_UNRECOGNISED', async () => {
    const f = path.join(tmp.dir, 'notatar.gz');
    writeFileSync(f, runBytes('sh', ['-c', 'head -c 5000 /dev/zero | tr "\\0" "x" | gzip -c']));
    expect((await errorOf(openSource(f))).code).toBe('SOURCE_UNRECOGNISED');
  });

  it('a truncated archive → ARCHIVE_TRUNCATED; a bad header checksum → ARCHIVE_INVALID', async () => {
    const good = Buffer.concat([entry('manifest.json', '[]'), entry('x', 'y'.repeat(3000)), EOF]);
    const cut = path.join(tmp.dir, 'cut.tar');
    writeFileSync(cut, good.subarray(0, 1024 + 512 + 1000));
    expect((await errorOf(openSource(cut))).code).toBe('ARCHIVE_TRUNCATED');
    const bad = Buffer.from(good);
    bad[1024 + 10] = 0x5a;
    const badf = path.join(tmp.dir, 'bad.tar');
    writeFileSync(badf, bad);
    expect((await errorOf(openSource(badf))).code).toBe('ARCHIVE_INVALID');
  });

  it('paths that do not exist → SOURCE_NOT_FOUND', async () => {
    for (const p of [`${tmp.dir}/missing`, './missing-dir', '~/surely-not-here.tar', 'image.tar', 'x.tar.gz']) {
      const e = await errorOf(openSource(p));
      expect(e.code, p).toBe('SOURCE_NOT_FOUND');
      expect(e.message).toMatch(/does not exist/);
    }
  });

  it('registry references go to the registry backend: a malformed one is refused with the reason, before any request', async () => {
    const cases: [string, RegExp][] = [
      ['Ruby:2.7', /lowercase/],
      ['ruby:', /tag after ":" is empty/],
      ['ruby@sha256:abc', /not a digest/],
      ['a//b', /empty part/],
      ['docker://ruby:-x', /may not start with "." or "-"/],
      ['a'.repeat(64), /image ID/],
    ];
    for (const [p, why] of cases) {
      const e = await errorOf(openSource(p, { cacheDir: tmp.dir }));
      expect(e.code, p).toBe('REFERENCE_INVALID');
      expect(e.message, p).toMatch(why);
    }
  });

  it('a reference to a loopback port where nothing listens → NETWORK_ERROR that names the host (docker:// prefix as in skopeo)', async () => {
    for (const p of ['127.0.0.1:1/x:y', 'docker://127.0.0.1:1/library/busybox', 'localhost:1/a/b@sha256:' + 'a'.repeat(64)]) {
      const e = await errorOf(openSource(p, { cacheDir: tmp.dir, env: {} }));
      expect(e.code, p).toBe('NETWORK_ERROR');
      expect(e.message, p).toMatch(/Cannot reach (127\.0\.0\.1|localhost):1: the connection was refused/);
    }
  });

  it('an empty spec → INVALID_ARGUMENT', async () => {
    expect((await errorOf(openSource('  '))).code).toBe('INVALID_ARGUMENT');
  });
});
