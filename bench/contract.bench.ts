import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build, type Rollup } from 'vite';
import { argsProblem } from '../shared/api/validate.js';

// Issue 9 item 4: what declaring the contract as schemas costs. (1) The renderer bundle: the same
// representative argument schemas (listDir's: an object with a discriminated union, a nullable range,
// patterns, limits, enums, arrays) bundled and minified as the renderer is, with TypeBox as contract.ts
// imports it, TypeBox's `Type.*` namespace, zod and zod/mini (the public peer); plus the real
// shared/api/contract.ts as the renderer imports it (METHODS + a constant), checked to hold no Ajv.
// (2) Validation: our Ajv-compiled check vs zod's safeParse on the same listDir arguments.

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DIR = path.join(REPO, 'bench/.cache/contract');
const ITER = Number(process.env.BENCH_CONTRACT_ITER ?? 20_000);
const hasZod = (() => {
  try {
    createRequire(import.meta.url).resolve('zod');
    return true;
  } catch {
    return false;
  }
})();

const TYPEBOX = (imp: string) => `${imp}
const obj = (p) => T.Object(p, { additionalProperties: false });
const RANGE = obj({ start: T.Integer({ minimum: 0, maximum: 100000 }), end: T.Integer({ minimum: 0, maximum: 100000 }) });
const REF = obj({ sourceId: T.String({ pattern: '^[A-Za-z0-9_-]+$', minLength: 1, maxLength: 64 }), manifest: T.String({ minLength: 3, maxLength: 200 }) });
const VIEW = T.Unsafe({ type: 'object', required: ['kind'], discriminator: { propertyName: 'kind' }, oneOf: [
  obj({ kind: T.Literal('merged'), upTo: T.Optional(T.Integer({ minimum: 0 })) }),
  obj({ kind: T.Literal('layer'), layer: T.Integer({ minimum: 0 }) }),
  obj({ kind: T.Literal('diff'), bottom: T.Union([RANGE, T.Null()]), top: RANGE }),
] });
const SORT = obj({ by: T.Unsafe({ type: 'string', enum: ['name', 'size'] }), order: T.Unsafe({ type: 'string', enum: ['asc', 'desc'] }) });
export const LIST_DIR = obj({ image: REF, view: VIEW, path: T.String({ pattern: '^/', maxLength: 4096 }), offset: T.Optional(T.Integer({ minimum: 0 })),
  limit: T.Optional(T.Integer({ minimum: 1, maximum: 5000 })), sort: T.Optional(SORT), changes: T.Optional(T.Array(T.Unsafe({ type: 'string', enum: ['added', 'modified', 'removed', 'unchanged'] }), { maxItems: 4 })) });
`;

const ZOD = `import { z } from 'zod';
const RANGE = z.strictObject({ start: z.number().int().min(0).max(100000), end: z.number().int().min(0).max(100000) });
const REF = z.strictObject({ sourceId: z.string().regex(/^[A-Za-z0-9_-]+$/).min(1).max(64), manifest: z.string().min(3).max(200) });
const VIEW = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('merged'), upTo: z.number().int().min(0).optional() }),
  z.strictObject({ kind: z.literal('layer'), layer: z.number().int().min(0) }),
  z.strictObject({ kind: z.literal('diff'), bottom: RANGE.nullable(), top: RANGE }),
]);
const SORT = z.strictObject({ by: z.enum(['name', 'size']), order: z.enum(['asc', 'desc']) });
export const LIST_DIR = z.strictObject({ image: REF, view: VIEW, path: z.string().regex(/^\\//).max(4096), offset: z.number().int().min(0).optional(),
  limit: z.number().int().min(1).max(5000).optional(), sort: SORT.optional(), changes: z.array(z.enum(['added', 'modified', 'removed', 'unchanged'])).max(4).optional() });
`;

const ZOD_MINI = `import * as z from 'zod/mini';
const int = (min, max) => z.int().check(z.minimum(min), z.maximum(max));
const RANGE = z.strictObject({ start: int(0, 100000), end: int(0, 100000) });
const REF = z.strictObject({ sourceId: z.string().check(z.regex(/^[A-Za-z0-9_-]+$/), z.minLength(1), z.maxLength(64)), manifest: z.string().check(z.minLength(3), z.maxLength(200)) });
const VIEW = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('merged'), upTo: z.optional(int(0, 1e9)) }),
  z.strictObject({ kind: z.literal('layer'), layer: int(0, 1e9) }),
  z.strictObject({ kind: z.literal('diff'), bottom: z.nullable(RANGE), top: RANGE }),
]);
const SORT = z.strictObject({ by: z.enum(['name', 'size']), order: z.enum(['asc', 'desc']) });
export const LIST_DIR = z.strictObject({ image: REF, view: VIEW, path: z.string().check(z.regex(/^\\//), z.maxLength(4096)), offset: z.optional(int(0, 1e15)),
  limit: z.optional(int(1, 5000)), sort: z.optional(SORT), changes: z.optional(z.array(z.enum(['added', 'modified', 'removed', 'unchanged'])).check(z.maxLength(4))) });
`;

const variants: [string, string][] = [
  ['typebox (import * as T, as contract.ts)', TYPEBOX(`import * as T from '@sinclair/typebox';`)],
  ['typebox (Type.*)', TYPEBOX(`import { Type as T } from '@sinclair/typebox';`)],
  ...(hasZod ? ([['zod', ZOD], ['zod/mini', ZOD_MINI]] as [string, string][]) : []),
];

/** Minified bytes and gzip bytes of `entry` bundled for the browser as the renderer is (es2022, rolldown minify). */
async function bundle(name: string, source: string, entryImport: string): Promise<{ min: number; gz: number; code: string }> {
  const dir = path.join(DIR, name.replace(/\W+/g, '-'));
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'schemas.js'), source);
  writeFileSync(path.join(dir, 'entry.js'), entryImport);
  const out = (await build({
    configFile: false,
    logLevel: 'silent',
    root: dir,
    build: { write: false, minify: true, target: 'es2022', lib: { entry: path.join(dir, 'entry.js'), formats: ['es'], fileName: () => 'x.js' } },
  })) as Rollup.RollupOutput[];
  const code = out.flatMap((o) => o.output).map((c) => ('code' in c ? c.code : '')).join('');
  return { min: Buffer.byteLength(code), gz: gzipSync(code).length, code };
}

rmSync(DIR, { recursive: true, force: true });
const kb = (n: number) => `${(n / 1024).toFixed(1)} kB`;
const sizes: Record<string, { min: number; gz: number }> = {};
for (const [name, src] of variants) {
  sizes[name] = await bundle(name, src, `import { LIST_DIR } from './schemas.js';\nconsole.log(Object.keys(LIST_DIR));\n`);
}
const ours = sizes[variants[0]![0]]!;
for (const [name] of variants) {
  const s = sizes[name]!;
  console.log(`bundle ${name}: ${kb(s.min)} min, ${kb(s.gz)} gzip (×${(s.gz / ours.gz).toFixed(2)} of ours)`);
}
const real = await bundle('real-contract', '', `import { METHODS, MAX_PAGE } from '${path.join(REPO, 'shared/api/contract.ts')}';\nconsole.log(METHODS, MAX_PAGE);\n`);
console.log(`bundle shared/api/contract.ts as the renderer imports it: ${kb(real.min)} min, ${kb(real.gz)} gzip; Ajv in it: ${/ajv/i.test(real.code) ? 'YES' : 'no'}`);

// Validation speed on valid listDir arguments: best of 5 rounds (after the first, JIT-warm), µs per call.
const args = { image: { sourceId: 's1', manifest: 'sha256:' + 'a'.repeat(64) }, view: { kind: 'diff', bottom: { start: 0, end: 2 }, top: { start: 3, end: 3 } }, path: '/usr/lib', limit: 500, sort: { by: 'size', order: 'desc' } };
function perCall(check: () => unknown): number {
  let best = Infinity;
  for (let r = 0; r < 5; r++) {
    const t0 = performance.now();
    for (let i = 0; i < ITER; i++) check();
    best = Math.min(best, ((performance.now() - t0) * 1000) / ITER);
  }
  return best;
}
const t = performance.now();
if (argsProblem('listDir', args) !== undefined) throw new Error('the benchmark arguments do not fit listDir');
const compileMs = performance.now() - t;
const oursUs = perCall(() => argsProblem('listDir', args));
console.log(`validate listDir (Ajv; the first call compiles: ${compileMs.toFixed(1)} ms): ${oursUs.toFixed(2)} µs per call`);
if (hasZod) {
  const { z } = await import('zod');
  const schema = new Function('z', ZOD.replace(/^import .*$/m, '').replace('export const LIST_DIR =', 'return'))(z) as { safeParse(v: unknown): { success: boolean } };
  if (!schema.safeParse(args).success) throw new Error('the benchmark arguments do not fit the zod schema');
  const zodUs = perCall(() => schema.safeParse(args));
  console.log(`validate listDir (zod safeParse): ${zodUs.toFixed(2)} µs per call; ours/zod ×${(oursUs / zodUs).toFixed(2)}`);
} else {
  console.log('zod is not installed (it comes with eslint-plugin-react-hooks): peer figures skipped');
}
