import { createReadStream, readdirSync, readFileSync, statSync, existsSync } from 'node:fs';
import path from 'node:path';
import tar from 'tar-stream';
import { describe, expect, it } from 'vitest';
import { guessDocType, validateDocument, type DocType, type SchemaViolation } from '../../../shared/oci/schema.js';
import { fx, noSharedFixtures } from '../../helpers/fixtures.js';

const CASES = fx('image-spec-schema-cases');

interface Case { file: string; fail: boolean | null; comment: string; parses: boolean; schema_only: string; note?: string }
const cases: Case[] = noSharedFixtures ? [] : JSON.parse(readFileSync(path.join(CASES, 'cases.json'), 'utf8'));

/** The document type follows from the file name, as in image-spec's test files (schema/<type>_test.go). */
function typeOf(file: string): DocType {
  const prefix = file.startsWith('compat-') ? file.split('-')[1] : file.split('-')[0];
  const t = ({ manifest: 'manifest', descriptor: 'descriptor', imageindex: 'index', config: 'config', imagelayout: 'layout' } as const)[prefix as string];
  if (!t) throw new Error(`no type for ${file}`);
  return t;
}

// The field each invalid case is about, read from its comment in cases.json and its document.
// config-4/5/6 also carry `"os": 123`, so both fields are expected.
const EXPECTED_PATHS: Record<string, string[]> = {
  'manifest-1-invalid.json': ['/config/mediaType'],
  'manifest-3-invalid.json': ['/layers/0/size'],
  'manifest-6-invalid.json': ['/layers'],
  'manifest-9-invalid.json': ['/subject'],
  'manifest-10-invalid.json': ['/layers/0/digest'],
  'descriptor-3-invalid.json': ['/mediaType'],
  'descriptor-4-invalid.json': ['/mediaType'],
  'descriptor-5-invalid.json': ['/mediaType'],
  'descriptor-6-invalid.json': ['/mediaType'],
  'descriptor-8-invalid.json': ['/mediaType'],
  'descriptor-9-invalid.json': ['/mediaType'],
  'descriptor-10-invalid.json': ['/size'],
  'descriptor-11-invalid.json': ['/size'],
  'descriptor-12-invalid.json': ['/digest'],
  'descriptor-13-invalid.json': ['/digest'],
  'descriptor-14-invalid.json': ['/digest'],
  'descriptor-15-invalid.json': ['/digest'],
  'descriptor-16-invalid.json': ['/digest'],
  'descriptor-18-invalid.json': ['/urls/0'],
  'descriptor-20-invalid.json': ['/artifactType'],
  'descriptor-27-invalid.json': ['/digest'],
  'descriptor-30-invalid.json': ['/data'],
  'descriptor-31-invalid.json': ['/size'],
  'imageindex-1-invalid.json': ['/manifests/0/mediaType'],
  'imageindex-2-invalid.json': ['/manifests/0/size'],
  'imageindex-3-invalid.json': ['/manifests/0/digest'],
  'imageindex-4-invalid.json': ['/manifests/0/platform/architecture'],
  'imageindex-5-invalid.json': ['/manifests/0/mediaType'],
  'imageindex-6-invalid.json': ['/manifests/0/mediaType'],
  'imageindex-12-invalid.json': ['/subject'],
  'config-1-invalid.json': ['/os'],
  'config-2-invalid.json': ['/variant'],
  'config-3-invalid.json': ['/config/User'],
  'config-4-invalid.json': ['/os', '/history'],
  'config-5-invalid.json': ['/os', '/config/Env/0'],
  'config-6-invalid.json': ['/os', '/config/Volumes'],
  'config-10-invalid.json': ['/config/Env/0'],
};

// The 4 cases cases.json marks as needing more than the schema, with the word the reason must name.
const BEYOND_SCHEMA: Record<string, RegExp> = {
  'descriptor-16-invalid.json': /lowercase hex/,
  'descriptor-18-invalid.json': /URL/,
  'descriptor-30-invalid.json': /base64.*padding/,
  'config-10-invalid.json': /NAME=value/,
};

const paths = (v: SchemaViolation[]): string[] => v.map((x) => x.path);
const read = (file: string): unknown => JSON.parse(readFileSync(path.join(CASES, file), 'utf8'));

describe.skipIf(noSharedFixtures)('image-spec schema cases', () => {
  it('has every case of cases.json on disk and the 84 cases the README counts', () => {
    expect(cases.length).toBe(84);
    for (const c of cases) expect(existsSync(path.join(CASES, c.file)), c.file).toBe(true);
  });

  it('names an expected path for every well-formed invalid case', () => {
    const invalid = cases.filter((c) => c.fail && c.parses).map((c) => c.file).sort();
    expect(invalid).toEqual(Object.keys(EXPECTED_PATHS).sort());
  });

  for (const c of cases) {
    if (!c.parses) {
      it(`${c.file}: is not well-formed JSON, so it never reaches the validator`, () => {
        expect(c.fail).toBe(true);
        expect(() => read(c.file)).toThrow(SyntaxError);
      });
      continue;
    }
    if (!c.fail) {
      it(`${c.file}: accepted (${c.comment})`, () => {
        expect(validateDocument(read(c.file), typeOf(c.file))).toEqual([]);
      });
      continue;
    }
    it(`${c.file}: flagged at ${EXPECTED_PATHS[c.file]?.join(', ')} (${c.comment})`, () => {
      const v = validateDocument(read(c.file), typeOf(c.file));
      expect(v.length).toBeGreaterThan(0);
      expect(paths(v)).toEqual(expect.arrayContaining(EXPECTED_PATHS[c.file]!));
      const beyond = BEYOND_SCHEMA[c.file];
      if (beyond) {
        expect(c.schema_only).toBe('valid'); // the schema alone accepts it: our extra rule must catch it
        expect(v.find((x) => x.path === EXPECTED_PATHS[c.file]![0])?.message).toMatch(beyond);
      }
    });
  }

  it('the cases needing more than the schema are exactly the ones cases.json marks', () => {
    const marked = cases.filter((c) => c.fail && c.schema_only === 'valid').map((c) => c.file).sort();
    expect(marked).toEqual(Object.keys(BEYOND_SCHEMA).sort());
  });

  it('guesses the type of every well-formed case from its mediaType or shape', () => {
    for (const c of cases.filter((x) => x.parses)) expect(guessDocType(read(c.file)), c.file).toBe(typeOf(c.file));
  });

  it('accepts the Docker Hub documents also after the OCI media-type substitution image-spec applies', () => {
    const swap: [string, string][] = [
      ['application/vnd.docker.distribution.manifest.list.v2+json', 'application/vnd.oci.image.index.v1+json'],
      ['application/vnd.docker.distribution.manifest.v2+json', 'application/vnd.oci.image.manifest.v1+json'],
      ['application/vnd.docker.container.image.v1+json', 'application/vnd.oci.image.config.v1+json'],
      ['application/vnd.docker.image.rootfs.diff.tar.gzip', 'application/vnd.oci.image.layer.v1.tar+gzip'],
    ];
    const compat = cases.filter((c) => c.file.startsWith('compat-'));
    expect(compat.length).toBe(4);
    for (const c of compat) {
      let text = readFileSync(path.join(CASES, c.file), 'utf8');
      for (const [from, to] of swap) text = text.split(from).join(to);
      expect(validateDocument(JSON.parse(text), typeOf(c.file)), c.file).toEqual([]);
    }
  });

  it('words every message as a sentence about the field, never in Ajv\'s terms', () => {
    for (const c of cases.filter((x) => x.parses && x.fail)) {
      for (const v of validateDocument(read(c.file), typeOf(c.file))) {
        expect(v.message, c.file).not.toMatch(/must have required property|must match pattern|must NOT|instancePath/);
        expect(v.path === '' || v.path.startsWith('/'), c.file).toBe(true);
      }
    }
  });
});

const D = (o: Record<string, unknown> = {}): Record<string, unknown> => ({
  mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
  digest: 'sha256:5b0bcabd1ed22e9fb1310cf6c2dec7cdef19f0ad69efa1f392e94a4333501270',
  size: 7682,
  ...o,
});
const manifest = (o: Record<string, unknown> = {}): Record<string, unknown> => ({
  schemaVersion: 2,
  mediaType: 'application/vnd.oci.image.manifest.v1+json',
  config: D({ mediaType: 'application/vnd.oci.image.config.v1+json' }),
  layers: [D()],
  ...o,
});
const index = (o: Record<string, unknown> = {}): Record<string, unknown> => ({
  schemaVersion: 2,
  mediaType: 'application/vnd.oci.image.index.v1+json',
  manifests: [D({ mediaType: 'application/vnd.oci.image.manifest.v1+json', platform: { os: 'linux', architecture: 'amd64' } })],
  ...o,
});
const config = (o: Record<string, unknown> = {}): Record<string, unknown> => ({
  architecture: 'amd64',
  os: 'linux',
  rootfs: { type: 'layers', diff_ids: ['sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef'] },
  ...o,
});
const only = (v: SchemaViolation[]): SchemaViolation => {
  expect(v).toHaveLength(1);
  return v[0]!;
};

describe('spec rules beyond the schema', () => {
  it('the builders make valid documents', () => {
    expect(validateDocument(manifest(), 'manifest')).toEqual([]);
    expect(validateDocument(index(), 'index')).toEqual([]);
    expect(validateDocument(config(), 'config')).toEqual([]);
    expect(validateDocument(D(), 'descriptor')).toEqual([]);
    expect(validateDocument({ imageLayoutVersion: '1.0.0' }, 'layout')).toEqual([]);
  });

  it('schemaVersion must be 2; schema 1 is named as legacy', () => {
    expect(only(validateDocument(manifest({ schemaVersion: 3 }), 'manifest'))).toEqual({ path: '/schemaVersion', message: 'schemaVersion must be 2' });
    expect(only(validateDocument(index({ schemaVersion: '2' }), 'index')).path).toBe('/schemaVersion');
    const v1 = only(validateDocument({ schemaVersion: 1, name: 'library/x', tag: 'latest', fsLayers: [], history: [] }, 'manifest'));
    expect(v1.path).toBe('/schemaVersion');
    expect(v1.message).toMatch(/legacy/);
  });

  it('the document mediaType must name the kind being validated', () => {
    const v = only(validateDocument(manifest({ mediaType: 'application/vnd.oci.image.index.v1+json' }), 'manifest'));
    expect(v.path).toBe('/mediaType');
    expect(v.message).toMatch(/image index, not an image manifest/);
    expect(only(validateDocument(index({ mediaType: 'application/vnd.example+json' }), 'index')).path).toBe('/mediaType');
    expect(validateDocument(manifest({ mediaType: undefined }), 'manifest')).toEqual([]); // optional
  });

  it('manifests may be null (Docker 25 index.json) but not missing or a string', () => {
    expect(validateDocument({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: null }, 'index')).toEqual([]);
    expect(only(validateDocument({ schemaVersion: 2 }, 'index'))).toEqual({ path: '/manifests', message: 'manifests is required' });
    expect(only(validateDocument(index({ manifests: 'x' }), 'index')).path).toBe('/manifests');
  });

  it('artifactType is required when the config is the empty descriptor', () => {
    const empty = D({ mediaType: 'application/vnd.oci.empty.v1+json', size: 2, digest: 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a' });
    expect(only(validateDocument(manifest({ config: empty }), 'manifest')).path).toBe('/artifactType');
    expect(validateDocument(manifest({ config: empty, artifactType: 'application/vnd.example+type' }), 'manifest')).toEqual([]);
  });

  it('annotation values must be strings; the key is escaped in the pointer', () => {
    const v = only(validateDocument(manifest({ annotations: { 'in-toto.io/predicate-type': 3 } }), 'manifest'));
    expect(v.path).toBe('/annotations/in-toto.io~1predicate-type');
    expect(v.message).toMatch(/^annotation "in-toto.io\/predicate-type" must be a string/);
    expect(only(validateDocument(index({ annotations: [] }), 'index')).path).toBe('/annotations');
    expect(only(validateDocument(index({ annotations: { 'a\nb': 1 } }), 'index')).message).toBe('annotation "a\\nb" must be a string (annotation values are always strings)');
    expect(only(validateDocument(manifest({ layers: [D({ annotations: { a: null } })] }), 'manifest')).path).toBe('/layers/0/annotations/a');
  });

  it('registered digests: sha256 and sha512 need their exact lowercase hex; other algorithms only the grammar', () => {
    const sha512 = `sha512:${'ab'.repeat(64)}`;
    expect(validateDocument(D({ digest: sha512 }), 'descriptor')).toEqual([]);
    expect(only(validateDocument(D({ digest: `sha512:${'ab'.repeat(32)}` }), 'descriptor')).message).toBe('digest must be sha512: followed by 128 lowercase hex characters');
    expect(only(validateDocument(D({ digest: `sha256:${'a'.repeat(63)}` }), 'descriptor')).message).toBe('digest must be sha256: followed by 64 lowercase hex characters');
    expect(only(validateDocument(D({ digest: `sha256:${'g'.repeat(64)}` }), 'descriptor')).path).toBe('/digest');
    expect(validateDocument(D({ digest: 'blake3:abc' }), 'descriptor')).toEqual([]);
    expect(only(validateDocument(manifest({ layers: [D({ digest: 'sha256:' })] }), 'manifest')).path).toBe('/layers/0/digest');
  });

  it('embedded data must decode to the size and digest it claims', () => {
    const data = Buffer.from('{}').toString('base64');
    const good = { mediaType: 'application/vnd.oci.empty.v1+json', size: 2, digest: 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a', data };
    expect(validateDocument(good, 'descriptor')).toEqual([]);
    expect(only(validateDocument({ ...good, size: 3 }, 'descriptor')).message).toBe('data holds 2 bytes but size says 3');
    expect(only(validateDocument({ ...good, data: Buffer.from('[]').toString('base64') }, 'descriptor')).message).toMatch(/^data does not match digest/);
    expect(only(validateDocument({ ...good, data: 'e30' }, 'descriptor')).path).toBe('/data');
  });

  it('config: rootfs.type must be "layers", diff_ids are digests, created is RFC 3339', () => {
    expect(only(validateDocument(config({ rootfs: { type: 'tarballs', diff_ids: [] } }), 'config')).message).toBe('type must be "layers"; found "tarballs"');
    expect(only(validateDocument(config({ rootfs: { type: 'layers', diff_ids: ['sha256:ABC'] } }), 'config')).path).toBe('/rootfs/diff_ids/0');
    const short = only(validateDocument(config({ rootfs: { type: 'layers', diff_ids: [`sha256:${'a'.repeat(10)}`] } }), 'config'));
    expect(short.message).toBe('diff_ids[0] must be sha256: followed by 64 lowercase hex characters');
    expect(only(validateDocument(config({ rootfs: { type: 'layers' } }), 'config')).path).toBe('/rootfs/diff_ids');
    expect(only(validateDocument(config({ created: 'yesterday' }), 'config')).path).toBe('/created');
    expect(only(validateDocument(config({ history: [{ created: '2015-10-31 22:22' }] }), 'config')).path).toBe('/history/0/created');
    expect(only(validateDocument(config({ history: [{ empty_layer: 'yes' }] }), 'config')).path).toBe('/history/0/empty_layer');
  });

  it('config: nullable fields as Docker writes them, Labels values are strings, Env is NAME=value', () => {
    expect(validateDocument(config({ config: { Entrypoint: null, Cmd: null, Volumes: null, Labels: null, Env: ['A=', 'B=c=d'] } }), 'config')).toEqual([]);
    expect(only(validateDocument(config({ config: { Labels: { a: 1 } } }), 'config')).path).toBe('/config/Labels/a');
    expect(only(validateDocument(config({ config: { Env: ['=x'] } }), 'config')).path).toBe('/config/Env/0');
    expect(only(validateDocument(config({ config: { ExposedPorts: { '80/tcp': 'open' } } }), 'config')).path).toBe('/config/ExposedPorts/80~1tcp');
  });

  it('unknown fields are allowed everywhere', () => {
    expect(validateDocument(manifest({ 'x-extra': { any: [1] }, layers: [D({ foo: 1 })] }), 'manifest')).toEqual([]);
    expect(validateDocument(config({ container_config: { Hostname: 'x' }, docker_version: '20.10' }), 'config')).toEqual([]);
  });

  it('a document that is not an object gets one violation at the root', () => {
    for (const doc of [null, [], 'x', 3]) {
      expect(only(validateDocument(doc, 'manifest'))).toEqual({ path: '', message: 'the document must be a JSON object' });
    }
  });

  it('an unknown document type from an untyped caller is a violation, not a crash', () => {
    expect(only(validateDocument({}, 'blob' as DocType)).message).toMatch(/"blob" is not a document type/);
  });

  it('layout: imageLayoutVersion must be "1.0.0"', () => {
    expect(only(validateDocument({ imageLayoutVersion: '2.0.0' }, 'layout')).path).toBe('/imageLayoutVersion');
    expect(only(validateDocument({}, 'layout'))).toEqual({ path: '/imageLayoutVersion', message: 'imageLayoutVersion is required' });
  });

  it('Docker v2 schema 2: a manifest may have no layers; every manifest-list entry needs a platform', () => {
    const dm = manifest({ mediaType: 'application/vnd.docker.distribution.manifest.v2+json', layers: [] });
    expect(validateDocument(dm, 'manifest')).toEqual([]);
    expect(only(validateDocument(manifest({ layers: [] }), 'manifest')).path).toBe('/layers'); // OCI needs one
    const list = index({ mediaType: 'application/vnd.docker.distribution.manifest.list.v2+json' });
    expect(validateDocument(list, 'index')).toEqual([]);
    const noPlatform = index({ mediaType: 'application/vnd.docker.distribution.manifest.list.v2+json', manifests: [D()] });
    expect(only(validateDocument(noPlatform, 'index'))).toEqual({ path: '/manifests/0/platform', message: 'platform is required' });
    expect(only(validateDocument(index({ mediaType: 'application/vnd.docker.distribution.manifest.list.v2+json', manifests: null }), 'index')).path).toBe('/manifests');
  });

  it('platform: os and architecture required, features are string lists', () => {
    const entry = (platform: unknown): Record<string, unknown> => index({ manifests: [D({ mediaType: 'application/vnd.oci.image.manifest.v1+json', platform })] });
    expect(only(validateDocument(entry({ architecture: 'amd64' }), 'index')).path).toBe('/manifests/0/platform/os');
    expect(only(validateDocument(entry({ architecture: 'amd64', os: 'windows', 'os.features': 'win32k' }), 'index')).path).toBe('/manifests/0/platform/os.features');
    expect(validateDocument(entry({ architecture: 'amd64', os: 'windows', 'os.version': '10.0.17763.1040', 'os.features': ['win32k'] }), 'index')).toEqual([]);
  });

  it('guessDocType: descriptors by shape first, then mediaType, then shape', () => {
    expect(guessDocType(D({ mediaType: 'application/vnd.oci.image.manifest.v1+json' }))).toBe('descriptor');
    expect(guessDocType({ schemaVersion: 2, mediaType: 'application/vnd.docker.distribution.manifest.list.v2+json' })).toBe('index');
    expect(guessDocType({ schemaVersion: 2, manifests: [] })).toBe('index');
    expect(guessDocType({ schemaVersion: 2, config: {}, layers: [] })).toBe('manifest');
    expect(guessDocType({ rootfs: {} })).toBe('config');
    expect(guessDocType({ imageLayoutVersion: '1.0.0' })).toBe('layout');
    expect(guessDocType({ digest: 'sha256:x', size: 1 })).toBe('descriptor');
    expect(guessDocType({ hello: 1 })).toBeUndefined();
    expect(guessDocType([])).toBeUndefined();
  });
});

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = path.join(dir, n);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}

describe.skipIf(noSharedFixtures)('BuildKit compatibility goldens', () => {
  const root = fx('buildkit/client/testdata/compatibility');
  const files = noSharedFixtures ? [] : walk(root).filter((f) => f.endsWith('.json'));

  it('are the 58 manifest/config goldens', () => {
    expect(files.length).toBe(58);
    expect(new Set(files.map((f) => path.basename(f)))).toEqual(new Set(['manifest.json', 'config.json']));
  });

  for (const f of files) {
    const rel = path.relative(root, f);
    it(`${rel} is a valid ${path.basename(f, '.json')}`, () => {
      const doc = JSON.parse(readFileSync(f, 'utf8')) as { mediaType?: string };
      const type = path.basename(f, '.json') as DocType;
      expect(guessDocType(doc)).toBe(type);
      expect(validateDocument(doc, type)).toEqual([]);
      // image/ goldens use Docker media types, oci/ ones OCI: both rule sets are exercised.
      if (rel.startsWith('image/')) expect(doc.mediaType).toBe('application/vnd.docker.distribution.manifest.v2+json');
      if (rel.startsWith('oci/')) expect(doc.mediaType).toBe('application/vnd.oci.image.manifest.v1+json');
    });
  }
});

const LAYOUTS = ['ggcr/pkg/v1/layout/testdata', 'notation/test/e2e/testdata/registry/oci_layout'];
const TYPE_BY_MEDIA_TYPE: Record<string, DocType> = {
  'application/vnd.oci.image.index.v1+json': 'index',
  'application/vnd.docker.distribution.manifest.list.v2+json': 'index',
  'application/vnd.oci.image.manifest.v1+json': 'manifest',
  'application/vnd.docker.distribution.manifest.v2+json': 'manifest',
  'application/vnd.oci.image.config.v1+json': 'config',
  'application/vnd.docker.container.image.v1+json': 'config',
  'application/vnd.oci.descriptor.v1+json': 'descriptor',
};

describe.skipIf(noSharedFixtures)('OCI layouts from ggcr and notation', () => {
  const dirs = noSharedFixtures ? [] : LAYOUTS.flatMap((r) => readdirSync(fx(r)).map((n) => path.join(fx(r), n)).filter((p) => statSync(p).isDirectory()));

  it('are 13 layouts (5 ggcr + 8 notation)', () => expect(dirs.length).toBe(13));

  for (const dir of dirs) {
    it(`${path.basename(dir)}: oci-layout, index.json and every JSON blob they reach validate`, () => {
      const json = (p: string): unknown => JSON.parse(readFileSync(p, 'utf8'));
      expect(validateDocument(json(path.join(dir, 'oci-layout')), 'layout')).toEqual([]);
      type Desc = { mediaType: string; digest: string };
      const idx = json(path.join(dir, 'index.json')) as { manifests: Desc[] };
      expect(validateDocument(idx, 'index')).toEqual([]);
      const seen = new Set<string>();
      let checked = 0;
      const visit = (d: Desc | undefined): void => {
        if (!d || seen.has(d.digest)) return;
        seen.add(d.digest);
        const type = TYPE_BY_MEDIA_TYPE[d.mediaType];
        const blob = path.join(dir, 'blobs', ...d.digest.split(':'));
        if (!type || !existsSync(blob)) return;
        const doc = json(blob) as { manifests?: Desc[]; config?: Desc; layers?: Desc[]; subject?: Desc };
        checked++;
        if (type === 'descriptor') {
          // ggcr's test_index points a descriptor media type at a manifest blob: the declared type
          // does not fit (no digest/size), the content is a valid manifest.
          expect(paths(validateDocument(doc, 'descriptor')).sort()).toEqual(['/digest', '/size']);
          expect(guessDocType(doc)).toBe('manifest');
          expect(validateDocument(doc, 'manifest')).toEqual([]);
          return;
        }
        expect(validateDocument(doc, type), d.digest).toEqual([]);
        if (type === 'index') (doc.manifests ?? []).forEach(visit);
        if (type === 'manifest') [doc.config, ...(doc.layers ?? []), doc.subject].forEach(visit);
      };
      idx.manifests.forEach(visit);
      // Every layout with blobs has at least one manifest to check (test_gc_image_unknown_mediatype has none).
      if (existsSync(path.join(dir, 'blobs'))) expect(checked).toBeGreaterThan(0);
    });
  }
});

/** Small entries of a tar, read with tar-stream (independent of our own TarVfs). */
async function tarEntries(file: string): Promise<Map<string, Buffer>> {
  const extract = tar.extract();
  createReadStream(file).pipe(extract);
  const out = new Map<string, Buffer>();
  for await (const entry of extract) {
    const chunks: Buffer[] = [];
    for await (const c of entry) chunks.push(c as Buffer);
    if (entry.header.type === 'file' && (entry.header.size ?? 0) < 1 << 20) out.set(entry.header.name, Buffer.concat(chunks));
  }
  return out;
}

describe.skipIf(noSharedFixtures)('OCI tarballs (dive) and the Docker 25 save (ggcr)', () => {
  for (const name of ['gzip', 'estargz', 'uncompressed', 'zstd']) {
    it(`dive test-oci-${name}-image.tar: oci-layout, index.json, manifest and config validate`, async () => {
      const files = await tarEntries(fx(`dive/.data/test-oci-${name}-image.tar`));
      const json = (n: string): Record<string, unknown> => JSON.parse(files.get(n)!.toString('utf8'));
      expect(validateDocument(json('oci-layout'), 'layout')).toEqual([]);
      const idx = json('index.json') as { manifests: { mediaType: string; digest: string }[] };
      expect(validateDocument(idx, 'index')).toEqual([]);
      expect(idx.manifests).toHaveLength(1);
      const blob = (d: string): Record<string, unknown> => json(`blobs/${d.replace(':', '/')}`);
      const m = blob(idx.manifests[0]!.digest) as { config: { digest: string } };
      expect(validateDocument(m, 'manifest')).toEqual([]);
      expect(validateDocument(blob(m.config.digest), 'config')).toEqual([]);
    });
  }

  it('hello-world-v25.tar: "manifests": null is accepted; its manifest and config validate', async () => {
    const files = await tarEntries(fx('ggcr/pkg/v1/tarball/testdata/hello-world-v25.tar'));
    const json = (n: string): Record<string, unknown> => JSON.parse(files.get(n)!.toString('utf8'));
    const idx = json('index.json');
    expect(idx.manifests).toBeNull();
    expect(validateDocument(idx, 'index')).toEqual([]);
    expect(validateDocument(json('oci-layout'), 'layout')).toEqual([]);
    const [entry] = JSON.parse(files.get('manifest.json')!.toString('utf8')) as { Config: string }[];
    expect(validateDocument(json(entry!.Config), 'config')).toEqual([]);
    const manifestBlob = 'blobs/sha256/411caf340c828657e915a83ed561a79d2b8150dabad4dc079d881cbfe6f86afe';
    expect(json(manifestBlob).mediaType).toBe('application/vnd.oci.image.manifest.v1+json');
    expect(validateDocument(json(manifestBlob), 'manifest')).toEqual([]);
    // The legacy v1 image JSON Docker also writes is not an image config: it has no rootfs.
    const legacy = json('blobs/sha256/ac09ed77c1b58dc3f93528f17515cb1c5487fa8f304ba2ed54d0f14686f1136e');
    expect(legacy.rootfs).toBeUndefined();
    expect(validateDocument(legacy, 'config')).toEqual([{ path: '/rootfs', message: 'rootfs is required' }]);
  });
});
