import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { isExplorerError } from '../../../shared/errors.js';
import { buildGraph } from '../../../shared/graph/build.js';
import { indexLayerStream } from '../../../shared/layers/indexer.js';
import { guessDocType, validateDocument, type DocType } from '../../../shared/oci/schema.js';
import { openSource } from '../../../shared/sources/open.js';
import { TarVfs } from '../../../shared/sources/tarfs.js';
import { hdr, paxRecord } from './build.js';

// Random mutations of real fixtures (../shared/fixtures) fed to the tar header parser (both readers)
// and to the JSON readers (schema validation, the graph builder over a layout). Used by the unit test
// (a bounded number of iterations) and by `npm run fuzz` (as many as asked). A finding is anything but
// a clean answer or an ExplorerError: a crash, a non-Explorer exception, an invariant broken.

/** xorshift32: reproducible from the printed seed. */
export function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x100000000;
  };
}

const pick = <T>(r: () => number, a: readonly T[]): T => a[Math.floor(r() * a.length)]!;
const int = (r: () => number, n: number) => Math.floor(r() * n);

const NUMBER_FIELDS: [number, number][] = [[100, 8], [108, 8], [116, 8], [124, 12], [136, 12], [329, 8], [337, 8]];
const NASTY_NUMBERS = ['NaN', '-1', '1e309', '99999999999999999999999', '0x10', ' 12 34', '', '4294967296', '18446744073709551616', '1.5', '\u0000'];

/** Offsets of the 512-byte header blocks of a tar (following sizes as written; stops at damage). */
function headerOffsets(t: Buffer): number[] {
  const out: number[] = [];
  for (let off = 0; off + 512 <= t.length && out.length < 10_000; ) {
    const h = t.subarray(off, off + 512);
    if (h.every((b) => b === 0)) break;
    out.push(off);
    const size = parseInt(h.toString('latin1', 124, 136).replace(/\0.*$/s, '').trim() || '0', 8);
    if (!Number.isFinite(size) || size < 0) break;
    off += 512 + Math.ceil(size / 512) * 512;
  }
  return out;
}

/** A structure-aware mutation of a tar: header fields, checksums fixed or not, PAX records inserted, cuts. */
export function mutateTar(seed: Buffer, r: () => number): Buffer {
  const t = Buffer.from(seed);
  const heads = headerOffsets(t);
  const at = heads.length ? pick(r, heads) : 0;
  const fixSum = () => {
    if (at + 512 > t.length) return;
    t.fill(0x20, at + 148, at + 156);
    let s = 0;
    for (let i = at; i < at + 512; i++) s += t[i]!;
    t.write(s.toString(8).padStart(6, '0') + '\0 ', at + 148, 'latin1');
  };
  switch (int(r, 7)) {
    case 0: {
      // Random bytes anywhere in one header, checksum fixed so the parser reads the fields.
      for (let k = 0; k < 1 + int(r, 8); k++) t[at + int(r, 512)] = int(r, 256);
      fixSum();
      return t;
    }
    case 1: {
      // A numeric field set to garbage, an extreme base-256 value, or a nasty decimal.
      const [off, len] = pick(r, NUMBER_FIELDS);
      if (r() < 0.5) for (let i = 0; i < len; i++) t[at + off + i] = i === 0 ? 0x80 | int(r, 0x80) : int(r, 256);
      else t.write(pick(r, NASTY_NUMBERS).padEnd(len, '\0').slice(0, len), at + off, 'latin1');
      fixSum();
      return t;
    }
    case 2: {
      // A PAX header with hostile records before a header.
      const keys = ['size', 'uid', 'gid', 'mtime', 'path', 'linkpath', 'SCHILY.xattr.user.x', 'LIBARCHIVE.xattr.%zz'];
      const recs = Array.from({ length: 1 + int(r, 4) }, () => paxRecord(pick(r, keys), r() < 0.5 ? pick(r, NASTY_NUMBERS) : Buffer.from(Array.from({ length: int(r, 300) }, () => int(r, 256)))));
      let body = Buffer.concat(recs);
      if (r() < 0.3) body = Buffer.concat([Buffer.from(String(int(r, 99999))), body.subarray(int(r, 4))]); // lengths that do not add up
      const x = Buffer.concat([hdr({ name: 'PaxHeader', type: pick(r, ['x', 'g', 'L', 'K']), size: body.length }), body, Buffer.alloc((512 - (body.length % 512)) % 512)]);
      return Buffer.concat([t.subarray(0, at), x, t.subarray(at)]);
    }
    case 3:
      // A cut anywhere.
      return t.subarray(0, int(r, t.length + 1));
    case 4: {
      // Random bytes without fixing the checksum (the parser must call it damaged, nothing worse).
      { const i = at + int(r, 512); t[i] = (t[i] ?? 0) ^ (1 + int(r, 255)); }
      return t;
    }
    case 5: {
      // The type flag set to anything.
      t[at + 156] = int(r, 256);
      fixSum();
      return t;
    }
    default: {
      // A header block duplicated (data then read as headers, or headers as data).
      const dup = t.subarray(at, at + 512);
      return Buffer.concat([t.subarray(0, at), dup, t.subarray(at)]);
    }
  }
}

export interface Finding {
  what: string;
  error: string;
}

const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** Runs both tar readers on one input and checks the invariants. */
export async function checkTar(input: Buffer, dir: string): Promise<Finding | undefined> {
  try {
    const idx = await indexLayerStream(Readable.from([input]), { digest: sha(input), compressedSize: input.length });
    for (let i = 0; i < idx.count; i++) {
      const e = idx.entry(i);
      if (e.path.includes('\0') || e.path.startsWith('/') || e.path.split('/').includes('..')) return { what: 'index', error: `bad path ${JSON.stringify(e.path)}` };
      if (!(e.uid >= 0 && e.uid < 2 ** 32 && e.gid >= 0 && e.gid < 2 ** 32)) return { what: 'index', error: `bad owner ${e.uid}/${e.gid}` };
      if (!(Number.isSafeInteger(e.size) && e.size >= 0 && Number.isFinite(e.mtime))) return { what: 'index', error: `bad size/mtime ${e.size}/${e.mtime}` };
    }
  } catch (e) {
    return { what: 'index', error: String((e as Error)?.stack ?? e) };
  }
  const f = path.join(dir, 'fuzz.tar');
  writeFileSync(f, input);
  try {
    const vfs = await TarVfs.open(f);
    for (const name of vfs.entries.keys()) if (name.includes('\0')) return { what: 'tarfs', error: `NUL in ${JSON.stringify(name)}` };
    for (const name of await vfs.list()) await vfs.readRange(name, 0, 16);
    await vfs.close();
  } catch (e) {
    if (!isExplorerError(e)) return { what: 'tarfs', error: String((e as Error)?.stack ?? e) };
  }
  return undefined;
}

/** A mutation of JSON text: bytes, or a value somewhere replaced by something hostile. */
export function mutateJson(seed: Buffer, r: () => number): Buffer {
  if (r() < 0.3) {
    const b = Buffer.from(seed);
    for (let k = 0; k < 1 + int(r, 4); k++) b[int(r, b.length)] = int(r, 256);
    return b;
  }
  let doc: unknown;
  try {
    doc = JSON.parse(seed.toString('utf8'));
  } catch {
    return seed;
  }
  const nasty: unknown[] = [-1, 1e308, 2 ** 53 + 2, 'x'.repeat(int(r, 100_000)), null, [], {}, '\u001b]0;t\u0007', 'sha256:' + 'z'.repeat(64), Array.from({ length: int(r, 2000) }, () => ({})), { digest: 'sha256:' + 'a'.repeat(64), size: -5, mediaType: 'application/vnd.oci.image.manifest.v1+json' }];
  const paths: { parent: Record<string, unknown> | unknown[]; key: string | number }[] = [];
  const walk = (v: unknown, depth: number) => {
    if (depth > 20 || !v || typeof v !== 'object') return;
    for (const [k, c] of Object.entries(v)) {
      paths.push({ parent: v as Record<string, unknown>, key: Array.isArray(v) ? Number(k) : k });
      walk(c, depth + 1);
    }
  };
  walk(doc, 0);
  for (let k = 0; k < 1 + int(r, 3) && paths.length; k++) {
    const p = pick(r, paths);
    (p.parent as Record<string | number, unknown>)[p.key] = pick(r, nasty);
  }
  // Deep nesting (as text: JSON.stringify itself would overflow the stack).
  if (r() < 0.05) return Buffer.from('['.repeat(100_000) + ']'.repeat(100_000));
  if (r() < 0.05) return Buffer.from('{"manifests":'.repeat(20_000) + '[]' + '}'.repeat(20_000));
  return Buffer.from(JSON.stringify(doc));
}

/** Schema validation and the graph builder (as root index, manifest, or config) on one JSON input. */
export async function checkJson(input: Buffer, r: () => number): Promise<Finding | undefined> {
  let doc: unknown;
  try {
    doc = JSON.parse(input.toString('utf8'));
  } catch {
    doc = undefined;
  }
  if (doc !== undefined) {
    try {
      const types: DocType[] = ['index', 'manifest', 'config', 'descriptor', 'layout'];
      guessDocType(doc);
      for (const t of types) validateDocument(doc, t);
    } catch (e) {
      return { what: 'validateDocument', error: String((e as Error)?.stack ?? e) };
    }
  }
  // As a blob of a layout (the manifest, or the config), or as index.json itself.
  const dir = mkdtempSync(path.join(os.tmpdir(), 'oci-fuzz-json-'));
  try {
    const blobs = path.join(dir, 'blobs/sha256');
    mkdirSync(blobs, { recursive: true });
    writeFileSync(path.join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
    const role = int(r, 3);
    const put = (b: Buffer) => writeFileSync(path.join(blobs, sha(b).slice(7)), b);
    if (role === 0) writeFileSync(path.join(dir, 'index.json'), input);
    else {
      const mt = role === 1 ? 'application/vnd.oci.image.manifest.v1+json' : 'application/vnd.oci.image.config.v1+json';
      let top = { mediaType: mt, digest: sha(input), size: input.length };
      put(input);
      if (role === 2) {
        const m = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: top, layers: [] }));
        put(m);
        top = { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: sha(m), size: m.length };
      }
      writeFileSync(path.join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [top] }));
    }
    try {
      const { source } = await openSource(`oci:${dir}`);
      try {
        await buildGraph(source);
      } finally {
        await source.close();
      }
    } catch (e) {
      if (!isExplorerError(e) || e.code === 'INTERNAL') return { what: `graph (role ${role})`, error: String((e as Error)?.stack ?? e) };
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return undefined;
}

/** Fixture files used as seeds (read in place from ../shared/fixtures). */
export const TAR_SEEDS = [
  'regclient/testdata/layer-wh.tar',
  'ggcr/pkg/v1/tarball/testdata/test_image_1.tar',
  'ggcr/pkg/v1/tarball/testdata/test_link.tar',
  'ggcr/pkg/crane/testdata/content.tar',
  'buildah/tests/conformance/testdata/add/parent-symlink/foobar.tar',
  'buildah/tests/conformance/testdata/add/dir-not-dir/test.tar',
  'ggcr/pkg/v1/mutate/testdata/whiteout_image.tar',
];
export const JSON_SEEDS = [
  'image-spec-schema-cases/compat-config-1-valid.json',
  'image-spec-schema-cases/compat-imageindex-1-valid.json',
  'image-spec-schema-cases/compat-manifest-1-valid.json',
  'image-spec-schema-cases/config-1-invalid.json',
  'ggcr/pkg/v1/layout/testdata/test_index/index.json',
  'buildkit/client/testdata/compatibility/oci/default-gzip/v20/manifest.json',
  'notation/test/e2e/testdata/registry/oci_layout/e2e-valid-signature/index.json',
];

/** Runs `iterations` mutations of each kind; returns the findings (with the seed that reproduces each). */
export async function fuzz(opts: { seed: number; iterations: number; read: (rel: string) => Buffer; onProgress?: (done: number) => void }): Promise<(Finding & { seed: number; kind: string })[]> {
  const findings: (Finding & { seed: number; kind: string })[] = [];
  const tars = TAR_SEEDS.map(opts.read);
  const jsons = JSON_SEEDS.map(opts.read);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'oci-fuzz-'));
  try {
    for (let i = 0; i < opts.iterations; i++) {
      const seed = (opts.seed + i) >>> 0;
      const r = rng(seed);
      const t = mutateTar(pick(r, tars), r);
      const ft = await checkTar(r() < 0.3 ? mutateTar(t, r) : t, dir);
      if (ft) findings.push({ ...ft, seed, kind: 'tar' });
      const j = mutateJson(pick(r, jsons), r);
      const fj = await checkJson(j, r);
      if (fj) findings.push({ ...fj, seed, kind: 'json' });
      opts.onProgress?.(i + 1);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return findings;
}
