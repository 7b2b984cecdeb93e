import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { CliIO } from '../../../shared/cli/io.js';
import { runValidate } from '../../../shared/cli/commands/validate.js';
import { fx, noSharedFixtures } from '../../helpers/fixtures.js';

interface Run { code: number; out: string; err: string }

async function run(argv: string[], cwd = fx('image-spec-schema-cases')): Promise<Run> {
  let out = '';
  let err = '';
  const io: CliIO = { stdout: (s) => void (out += s), stderr: (s) => void (err += s), cwd, env: {} };
  const code = await runValidate(argv, io);
  return { code, out, err };
}

const oneLine = (s: string): void => {
  expect(s.endsWith('\n')).toBe(true);
  expect(s.trimEnd().split('\n')).toHaveLength(1);
};

const tmp = mkdtempSync(path.join(tmpdir(), 'oci-validate-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const write = (name: string, text: string): string => {
  const p = path.join(tmp, name);
  writeFileSync(p, text);
  return p;
};

describe.skipIf(noSharedFixtures)('oci-explorer validate over image-spec cases', () => {
  const cases = noSharedFixtures ? [] : (JSON.parse(readFileSync(fx('image-spec-schema-cases/cases.json'), 'utf8')) as { file: string; fail: boolean | null; parses: boolean }[]);

  it('every valid case prints "valid <type>" and exits 0; the type is guessed', async () => {
    const valid = cases.filter((c) => !c.fail);
    expect(valid.length).toBe(44);
    for (const c of valid) {
      const r = await run([c.file]);
      const prefix = c.file.replace(/^compat-/, '').split('-')[0]!;
      const type = { imageindex: 'index', imagelayout: 'layout' }[prefix] ?? prefix;
      expect(r, c.file).toEqual({ code: 0, out: `valid ${type}\n`, err: '' });
    }
  });

  it('every well-formed invalid case prints "<pointer>: <reason>" lines and exits 1', async () => {
    const invalid = cases.filter((c) => c.fail && c.parses);
    expect(invalid.length).toBe(37);
    for (const c of invalid) {
      const r = await run([c.file]);
      expect(r.code, c.file).toBe(1);
      const lines = r.out.trimEnd().split('\n');
      expect(lines.length).toBeGreaterThan(0);
      for (const l of lines) expect(l, c.file).toMatch(/^\/\S*: \S.+$/);
    }
  });

  it('prints the exact field and reason', async () => {
    expect(await run(['descriptor-16-invalid.json'])).toMatchObject({ code: 1, out: '/digest: digest must be sha256: followed by 64 lowercase hex characters\n' });
    const r = await run(['imageindex-4-invalid.json']);
    expect(r.out).toBe('/manifests/0/platform/architecture: architecture is required\n');
    oneLine(r.err);
  });

  it('the 3 cases that are not JSON exit 2 with one stderr line naming the place', async () => {
    const broken = cases.filter((c) => !c.parses).map((c) => c.file);
    expect(broken.sort()).toEqual(['config-7-invalid.json', 'imagelayout-1-invalid.json', 'manifest-2-invalid.json']);
    for (const f of broken) {
      const r = await run([f]);
      expect(r.code).toBe(2);
      expect(r.out).toBe('');
      oneLine(r.err);
      expect(r.err).toContain(`${f} is not valid JSON`);
    }
    // imagelayout-1 has an unquoted 1.0.0 on its third line.
    expect((await run(['imagelayout-1-invalid.json'])).err).toMatch(/line 3, column \d+/);
  });

  it('--type overrides the guess', async () => {
    const r = await run(['--type', 'manifest', 'descriptor-1-valid.json']);
    expect(r.code).toBe(1);
    expect(r.out).toContain('/schemaVersion: schemaVersion is required\n');
    expect((await run(['descriptor-1-valid.json', '--type=descriptor'])).out).toBe('valid descriptor\n');
  });

  it('reads BuildKit goldens with Docker media types by a path relative to cwd', async () => {
    const cwd = fx('buildkit/client/testdata/compatibility');
    expect(await run(['image/default-gzip/v10/manifest.json'], cwd)).toEqual({ code: 0, out: 'valid manifest\n', err: '' });
    expect(await run(['common/default-gzip/v10/config.json'], cwd)).toEqual({ code: 0, out: 'valid config\n', err: '' });
  });

  it('validates an OCI layout\'s oci-layout and index.json', async () => {
    const cwd = fx('ggcr/pkg/v1/layout/testdata/test_index');
    expect((await run(['oci-layout'], cwd)).out).toBe('valid layout\n');
    expect((await run(['index.json'], cwd)).out).toBe('valid index\n');
  });
});

describe('oci-explorer validate: usage and unreadable input', () => {
  it('prints "/" for a violation of the whole document', async () => {
    const r = await run(['--type', 'manifest', write('array.json', '[]')], tmp);
    expect(r).toMatchObject({ code: 1, out: '/: the document must be a JSON object\n' });
  });

  it('exit 2 with one stderr line for every usage error', async () => {
    const f = write('m.json', '{"imageLayoutVersion":"1.0.0"}');
    for (const argv of [[], [f, f], ['--type', 'blob', f], ['--type'], ['--bogus', f], ['-x', f]]) {
      const r = await run(argv, tmp);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.out).toBe('');
      oneLine(r.err);
      expect(r.err.startsWith('oci-explorer validate: ')).toBe(true);
    }
    expect((await run([f], tmp)).out).toBe('valid layout\n');
  });

  it('exit 2 for a missing file, a folder, an empty file and a document of no known kind', async () => {
    mkdirSync(path.join(tmp, 'dir'), { recursive: true });
    const cases: [string, RegExp][] = [
      ['missing.json', /missing.json does not exist/],
      ['dir', /is a folder/],
      [write('empty.json', ''), /is not valid JSON/],
      [write('other.json', '{"hello": 1}'), /cannot tell what kind of document .* give --type/],
      [write('text.json', 'hello'), /is not valid JSON/],
    ];
    for (const [file, re] of cases) {
      const r = await run([file], tmp);
      expect(r.code, file).toBe(2);
      expect(r.out).toBe('');
      oneLine(r.err);
      expect(r.err).toMatch(re);
    }
  });

  it('accepts a UTF-8 byte-order mark and reports a multi-line parse error on one line', async () => {
    expect((await run([write('bom.json', '\uFEFF{"imageLayoutVersion":"1.0.0"}')], tmp)).out).toBe('valid layout\n');
    const r = await run([write('bad.json', '{\n  "schemaVersion": 2,\n  "manifests": [1\n}')], tmp);
    expect(r.code).toBe(2);
    oneLine(r.err);
    expect(r.err).toMatch(/bad.json is not valid JSON \(line 4, column 1: /);
  });

  it('--help prints the usage and exits 0', async () => {
    const r = await run(['--help'], tmp);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^Usage: oci-explorer validate <file.json>/);
  });
});
