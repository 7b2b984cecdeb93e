import { execFile } from 'node:child_process';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import type { CliIO } from '../../../shared/cli/io.js';
import { main } from '../../../shared/cli/main.js';
import { fx, noSharedFixtures, REPO_ROOT } from '../../helpers/fixtures.js';
import { layoutFacts, readerFor, sha256 } from '../graph/facts.js';
import { Kit } from '../graph/layout-kit.js';

const run = promisify(execFile);

function captured(cwd = process.cwd()): CliIO & { out: () => string; err: () => string } {
  let out = '';
  let err = '';
  return { stdout: (s) => void (out += s), stderr: (s) => void (err += s), cwd, env: {}, out: () => out, err: () => err };
}

interface JsonGraph {
  nodes: Record<string, unknown>[];
  edges: Record<string, unknown>[];
  roots: string[];
}

const NODE_KEYS = ['digest', 'mediaType', 'size', 'kind', 'platform', 'annotations', 'problems'];
const KINDS = ['index', 'manifest', 'config', 'layer', 'attestation', 'signature', 'artifact', 'unknown'];
const ROLES = ['manifest', 'config', 'layer', 'subject', 'attestation', 'referrer'];

/** The issue's --json shape, key by key. */
function checkShape(j: JsonGraph): void {
  expect(Object.keys(j).sort()).toEqual(['edges', 'nodes', 'roots']);
  for (const n of j.nodes) {
    for (const k of Object.keys(n)) expect(NODE_KEYS).toContain(k);
    expect(typeof n.digest).toBe('string');
    expect(typeof n.mediaType).toBe('string');
    expect(typeof n.size).toBe('number');
    expect(KINDS).toContain(n.kind);
    for (const p of n.problems as Record<string, unknown>[]) expect(Object.keys(p).sort()).toEqual(['code', 'message']);
  }
  for (const e of j.edges) {
    expect(Object.keys(e).sort()).toEqual(['from', 'role', 'to']);
    expect(ROLES).toContain(e.role);
  }
}

const kits: Kit[] = [];
afterEach(() => {
  while (kits.length) kits.pop()!.remove();
});

describe.skipIf(noSharedFixtures)('oci-explorer inspect (in process)', () => {
  const TEST_INDEX = fx('ggcr/pkg/v1/layout/testdata/test_index');

  it('--json prints exactly the issue shape, matching the layout read independently', async () => {
    const io = captured();
    expect(await main(['inspect', TEST_INDEX, '--json'], io)).toBe(0);
    expect(io.err()).toBe('');
    const j = JSON.parse(io.out()) as JsonGraph;
    checkShape(j);
    const facts = layoutFacts(readerFor(TEST_INDEX));
    expect(j.roots).toEqual([facts.indexDigest]);
    const digests = new Set([facts.indexDigest, ...facts.docs.keys(), ...facts.configs.keys(), ...facts.layers.keys()]);
    expect(new Set(j.nodes.map((n) => n.digest))).toEqual(digests);
    expect(j.edges.filter((e) => e.role === 'layer')).toHaveLength(facts.layerRefs);
    const withRef = j.nodes.filter((n) => (n.annotations as Record<string, string> | undefined)?.['org.opencontainers.image.ref.name']);
    expect(withRef.length).toBeGreaterThan(0);
  });

  it('the tree names every node with kind, short digest, media type, size and problems', async () => {
    const io = captured();
    expect(await main(['inspect', TEST_INDEX], io)).toBe(0);
    const text = io.out();
    const facts = layoutFacts(readerFor(TEST_INDEX));
    for (const d of [facts.indexDigest, ...facts.docs.keys(), ...facts.configs.keys(), ...facts.layers.keys()]) expect(text).toContain(d.slice(7, 19));
    for (const { desc } of facts.docs.values()) expect(text).toContain(desc.mediaType);
    expect(text).toMatch(/! MEDIATYPE_UNKNOWN: /);
    expect(text).toMatch(/├─ |└─ /);
    expect(text).toContain('linux/amd64');
    expect(text).toContain('"1"');
  });

  it('a relative source is taken against io.cwd; oci:PATH works too', async () => {
    const dir = path.dirname(TEST_INDEX);
    const io = captured(dir);
    expect(await main(['inspect', 'test_index', '--json'], io)).toBe(0);
    const io2 = captured(dir);
    expect(await main(['inspect', 'oci:test_index', '--json'], io2)).toBe(0);
    expect(io2.out()).toBe(io.out());
  });

  it('a docker save archive: roots are its manifest.json entries', async () => {
    const p = fx('dive/.data/test-docker-image.tar');
    const io = captured();
    expect(await main(['inspect', p, '--json'], io)).toBe(0);
    const j = JSON.parse(io.out()) as JsonGraph;
    checkShape(j);
    const m = JSON.parse(readerFor(p).read('manifest.json')!.toString()) as { Config: string; Layers: string[] }[];
    expect(j.roots).toHaveLength(m.length);
    expect(j.nodes.map((n) => n.digest)).toContain(sha256(readerFor(p).read(m[0]!.Config)!));
    expect(j.nodes.filter((n) => n.kind === 'layer')).toHaveLength(new Set(m[0]!.Layers).size);
  });

  it('a partly broken image still prints, exit 0, with the problem on its node', async () => {
    const k = new Kit();
    kits.push(k);
    const img = k.image();
    k.index([img.manifest]);
    rmSync(k.blobPath(img.layers[0]!.digest));
    const io = captured();
    expect(await main(['inspect', k.dir, '--json'], io)).toBe(0);
    const j = JSON.parse(io.out()) as JsonGraph;
    const layer = j.nodes.find((n) => n.digest === img.layers[0]!.digest)!;
    expect((layer.problems as { code: string }[]).map((p) => p.code)).toEqual(['BLOB_MISSING']);
  });

  it.each([
    ['a missing path', ['inspect', '/nonexistent/image.tar'], 1, /does not exist/],
    ['a plain tar that is not an image', ['inspect', fx('dive/.data/NOT-AN-IMAGE_test-gzip-image.tar')], 1, /not an image/],
    ['a null manifest.json', ['inspect', fx('ggcr/pkg/v1/tarball/testdata/null_manifest.tar')], 1, /null/],
    // A loopback port where nothing listens (tests reach no other host).
    ['a registry reference that cannot be reached', ['inspect', '127.0.0.1:1/ubuntu:22.04'], 1, /Cannot reach 127\.0\.0\.1:1: the connection was refused/],
    ['a malformed reference', ['inspect', 'Ubuntu:22.04'], 1, /must be lowercase/],
    ['no source', ['inspect'], 2, /needs a <source>/],
    ['an unknown option', ['inspect', TEST_INDEX, '--jsn'], 2, /Unknown option --jsn/],
  ])('%s: non-zero exit and one clear stderr line', async (_name, argv, code, re) => {
    const io = captured();
    expect(await main(argv, io)).toBe(code);
    expect(io.out()).toBe('');
    expect(io.err().trimEnd().split('\n')).toHaveLength(1);
    expect(io.err()).toMatch(re);
  });
});

describe('oci-explorer dispatch', () => {
  it('--help lists the commands, exit 0; unknown command and no command exit 2 with the usage', async () => {
    const help = captured();
    expect(await main(['--help'], help)).toBe(0);
    expect(help.out()).toMatch(/inspect/);
    expect(help.out()).toMatch(/validate/);
    const bad = captured();
    expect(await main(['frobnicate'], bad)).toBe(2);
    expect(bad.err()).toMatch(/unknown command "frobnicate"/);
    expect(bad.err()).toMatch(/Usage: oci-explorer/);
    const none = captured();
    expect(await main([], none)).toBe(2);
    expect(none.err()).toMatch(/Usage: oci-explorer/);
  });

  it('inspect --help and help inspect print the command usage', async () => {
    const a = captured();
    expect(await main(['inspect', '--help'], a)).toBe(0);
    expect(a.out()).toMatch(/Usage: oci-explorer inspect <source> \[--json\]/);
    const b = captured();
    expect(await main(['help', 'inspect'], b)).toBe(0);
    expect(b.out()).toBe(a.out());
  });
});

describe.skipIf(noSharedFixtures)('bin/oci-explorer.mjs as a real process', () => {
  const bin = path.join(REPO_ROOT, 'bin/oci-explorer.mjs');

  it('inspect <fixture> --json exits 0 with the graph on stdout', async () => {
    const p = fx('notation/test/e2e/testdata/registry/oci_layout/e2e-valid-signature');
    const { stdout, stderr } = await run(process.execPath, [bin, 'inspect', p, '--json'], { cwd: REPO_ROOT });
    expect(stderr).toBe('');
    const j = JSON.parse(stdout) as JsonGraph;
    checkShape(j);
    expect(j.roots).toEqual([layoutFacts(readerFor(p)).indexDigest]);
    expect(j.edges.some((e) => e.role === 'referrer')).toBe(true);
  });

  it('npm run cli (tsx shared/cli/main.ts) runs main when it is the entry module', async () => {
    const { stdout } = await run(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'shared/cli/main.ts'), '--help'], { cwd: REPO_ROOT });
    expect(stdout).toMatch(/Usage: oci-explorer <command>/);
  });

  it('an unreadable source exits 1 with one stderr line', async () => {
    const err = await run(process.execPath, [bin, 'inspect', '/nonexistent/x.tar'], { cwd: REPO_ROOT }).then(
      () => undefined,
      (e: { code: number; stdout: string; stderr: string }) => e,
    );
    expect(err?.code).toBe(1);
    expect(err?.stdout).toBe('');
    expect(err?.stderr.trimEnd().split('\n')).toHaveLength(1);
  });
});
