import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// The layering rules (.dependency-cruiser.cjs: layer order, cycles; .dependency-cruiser-runtime.cjs: what
// the renderer and preload reach) run by `npm run lint`, checked on small source trees written into temp
// folders with the repository's own configs and the same depcruise command: each counter-example must
// fail its rule, and a tree that keeps the rules must pass (so an over-broad rule fails here too).

const repo = process.cwd();
const depcruise = path.join(repo, 'node_modules/dependency-cruiser/bin/dependency-cruise.mjs');

interface Violation {
  rule: { name: string };
  from: string;
  to: string;
  cycle?: { name: string }[];
}

/** Writes `files` into a fresh tree with the repo's configs and tsconfig; returns its folder. */
function tree(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'oci-layering-'));
  for (const f of ['.dependency-cruiser.cjs', '.dependency-cruiser-runtime.cjs', 'tsconfig.json']) copyFileSync(path.join(repo, f), path.join(dir, f));
  symlinkSync(path.join(repo, 'node_modules'), path.join(dir, 'node_modules'));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    writeFileSync(path.join(dir, name), text);
  }
  return dir;
}

/** The violations depcruise reports with `config` over `targets` (as `npm run lint` runs it). */
function cruise(dir: string, config: string, targets: string[]): Promise<Violation[]> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [depcruise, ...targets, '-c', config, '--output-type', 'json'], { cwd: dir, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      // depcruise exits non-zero when it finds violations; the JSON still says which.
      try {
        resolve((JSON.parse(stdout) as { summary: { violations: Violation[] } }).summary.violations);
      } catch {
        reject(new Error(`depcruise failed: ${err?.message ?? ''}\n${stderr}`));
      }
    });
  });
}
const full = (dir: string) => cruise(dir, '.dependency-cruiser.cjs', ['renderer', 'shared', 'electron']);
const runtime = (dir: string) => cruise(dir, '.dependency-cruiser-runtime.cjs', ['renderer', 'electron/preload.ts']);

// A tree that keeps every rule: the renderer imports the contract (which imports types from Node-using
// modules, as the real one does), shared/ui helpers and a pure shared/oci module; layers go downward.
const CLEAN: Record<string, string> = {
  'shared/errors.ts': `export class ExplorerError extends Error {}\n`,
  'shared/oci/mediatypes.ts': `export const MT = { index: 'application/vnd.oci.image.index.v1+json' };\n`,
  'shared/oci/digest.ts': `import { createHash } from 'node:crypto';\nimport { ExplorerError } from '../errors.js';\nexport type Digest = string;\nexport const sha = (b: string) => { if (!b) throw new ExplorerError(); return createHash('sha256').update(b).digest('hex'); };\n`,
  'shared/sources/types.ts': `import type { Readable } from 'node:stream';\nimport type { Digest } from '../oci/digest.js';\nexport interface ImageSource { open(d: Digest): Readable }\n`,
  'shared/graph/types.ts': `import type { ImageSource } from '../sources/types.js';\nexport interface ImageGraph { source?: ImageSource }\n`,
  'shared/layers/read.ts': `import { promises as fsp } from 'node:fs';\nimport { sha } from '../oci/digest.js';\nimport type { ImageGraph } from '../graph/types.js';\nexport const read = async (g: ImageGraph) => sha(String(await fsp.readFile(String(g))));\n`,
  // The contract's vocabulary sits low: argument schemas with oci, result types with layers.
  'shared/api/schemas.ts': `export type TreeView = { kind: 'merged' };\n`,
  'shared/api/results.ts': `import type { ImageGraph } from '../graph/types.js';\nimport type { TreeView } from './schemas.js';\nexport interface Page { view: TreeView; graph?: ImageGraph }\n`,
  'shared/layers/views.ts': `import type { Page } from '../api/results.js';\nimport type { TreeView } from '../api/schemas.js';\nexport const page = (view: TreeView): Page => ({ view });\n`,
  'shared/api/contract.ts': `import type { ImageGraph } from '../graph/types.js';\nimport type { Page } from './results.js';\nexport const METHODS = ['getGraph'] as const;\nexport type Graph = ImageGraph;\nexport type { Page };\n`,
  'shared/layers/open-image.ts': `import { read } from './read.js';\nexport class OpenImage { read = read; }\n`,
  'shared/api/handlers.ts': `import path from 'node:path';\nimport { OpenImage } from '../layers/open-image.js';\nimport { METHODS } from './contract.js';\nexport const handlers = { [METHODS[0]]: (p: string) => new OpenImage().read(path.resolve(p) as never) };\n`,
  'shared/ui/format.ts': `import { MT } from '../oci/mediatypes.js';\nexport const label = (t: string) => (t === MT.index ? 'index' : t);\n`,
  'shared/web/server.ts': `import http from 'node:http';\nimport { handlers } from '../api/handlers.js';\nexport const serve = () => http.createServer(() => void handlers);\n`,
  'renderer/main.tsx': `import type { Graph } from '../shared/api/contract.js';\nimport { METHODS } from '../shared/api/contract.js';\nimport { label } from '../shared/ui/format.js';\nimport { MT } from '../shared/oci/mediatypes.js';\nexport const show = (g: Graph) => [g, METHODS, label(MT.index)];\n`,
  'electron/preload.ts': `import { contextBridge } from 'electron';\nimport { METHODS } from '../shared/api/contract.js';\ncontextBridge.exposeInMainWorld('explorer', { METHODS });\n`,
  'electron/main.ts': `import { app } from 'electron';\nimport { serve } from '../shared/web/server.js';\nvoid app; serve();\n`,
};

// Every counter-example, in one tree: each must be reported against its own files.
const DIRTY: Record<string, string> = {
  ...CLEAN,
  // renderer → shared/api/handlers.ts (node:path, and node:fs through layers/read.ts)
  'renderer/state.ts': `import { handlers } from '../shared/api/handlers.js';\nexport const h = handlers;\n`,
  // renderer → shared/ui/size.ts → shared/ui/stat.ts → node:fs
  'shared/ui/size.ts': `import { stat } from './stat.js';\nexport const size = (p: string) => stat(p);\n`,
  'shared/ui/stat.ts': `import { statSync } from 'node:fs';\nexport const stat = (p: string) => statSync(p).size;\n`,
  'renderer/size-view.tsx': `import { size } from '../shared/ui/size.js';\nexport const v = size('/');\n`,
  // renderer → electron
  'renderer/ipc.ts': `import { ipcRenderer } from 'electron';\nexport const r = ipcRenderer;\n`,
  // preload → shared/api/handlers.ts (Node)
  'electron/preload.ts': `import { contextBridge } from 'electron';\nimport { handlers } from '../shared/api/handlers.js';\ncontextBridge.exposeInMainWorld('x', handlers);\n`,
  // shared/oci → shared/layers, by a type only; shared/layers → the method table (shared/api/contract.ts)
  'shared/oci/types.ts': `import type { read } from '../layers/read.js';\nexport type Reader = typeof read;\n`,
  'shared/layers/api-user.ts': `import type { Graph } from '../api/contract.js';\nexport type G = Graph;\n`,
  // shared/api reaching past OpenImage into the layer engine's internals
  'shared/api/reach-in.ts': `import { read } from '../layers/read.js';\nexport const r = read;\n`,
  // shared → electron and → renderer
  'shared/api/shell.ts': `import { app } from 'electron';\nimport { show } from '../../renderer/main.js';\nexport const s = [app, show];\n`,
  // a 2-file cycle, and one of type-only imports
  'renderer/a.ts': `import { b } from './b.js';\nexport const a = () => b;\n`,
  'renderer/b.ts': `import { a } from './a.js';\nexport const b = () => a;\n`,
  'shared/graph/x.ts': `import type { Y } from './y.js';\nexport interface X { y?: Y }\n`,
  'shared/graph/y.ts': `import type { X } from './x.js';\nexport interface Y { x?: X }\n`,
};

const dirs: string[] = [];
let clean: { full: Violation[]; runtime: Violation[] };
let dirty: { full: Violation[]; runtime: Violation[] };
const has = (v: Violation[], rule: string, from: string, to?: RegExp) => v.some((x) => x.rule.name === rule && x.from === from && (!to || to.test(x.to)));

beforeAll(async () => {
  // Under CI a missing tool is a failure, never a skip.
  expect(existsSync(depcruise), 'dependency-cruiser is a devDependency: run npm install').toBe(true);
  const c = tree(CLEAN);
  const d = tree(DIRTY);
  dirs.push(c, d);
  const [cf, cr, df, dr] = await Promise.all([full(c), runtime(c), full(d), runtime(d)]);
  clean = { full: cf, runtime: cr };
  dirty = { full: df, runtime: dr };
}, 300_000);
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('layering rules (dependency-cruiser)', () => {
  it('passes a tree that keeps the rules (type-only imports of Node modules are fine for the renderer)', () => {
    expect(clean.full).toEqual([]);
    expect(clean.runtime).toEqual([]);
  });

  it('refuses the renderer importing shared/api/handlers.ts (it needs node:path, node:fs)', () => {
    expect(has(dirty.runtime, 'renderer-reaches-node', 'renderer/state.ts')).toBe(true);
  });

  it('refuses the renderer reaching node:fs two hops away', () => {
    expect(has(dirty.runtime, 'renderer-reaches-node', 'renderer/size-view.tsx', /fs$/)).toBe(true);
  });

  it('refuses the renderer reaching electron, and the preload reaching Node through shared/', () => {
    expect(has(dirty.runtime, 'renderer-reaches-node', 'renderer/ipc.ts', /electron/)).toBe(true);
    expect(has(dirty.runtime, 'preload-reaches-node', 'electron/preload.ts')).toBe(true);
  });

  it('refuses shared/oci importing shared/layers (a lower layer importing a higher one), even for a type', () => {
    expect(has(dirty.full, 'layer-oci-imports-higher', 'shared/oci/types.ts', /^shared\/layers\/read\.ts$/)).toBe(true);
  });

  it('lets the layers use the contract vocabulary (schemas.ts, results.ts) but not the method table', () => {
    expect(clean.full.filter((x) => x.from.startsWith('shared/layers/'))).toEqual([]);
    expect(has(dirty.full, 'layer-layers-imports-higher', 'shared/layers/api-user.ts', /^shared\/api\/contract\.ts$/)).toBe(true);
  });

  it('refuses shared/api reaching into the layer engine past OpenImage', () => {
    expect(clean.full.filter((x) => x.rule.name === 'api-through-open-image')).toEqual([]);
    expect(has(dirty.full, 'api-through-open-image', 'shared/api/reach-in.ts', /^shared\/layers\/read\.ts$/)).toBe(true);
  });

  it('refuses shared/ importing electron or the renderer', () => {
    expect(has(dirty.full, 'shared-imports-ui-or-shell', 'shared/api/shell.ts', /^renderer\/main\.tsx$/)).toBe(true);
    expect(has(dirty.full, 'shared-imports-ui-or-shell', 'shared/api/shell.ts', /electron/)).toBe(true);
  });

  it('refuses a 2-file import cycle, and a cycle made of type-only imports', () => {
    const cycles = dirty.full.filter((x) => x.rule.name === 'no-circular').map((x) => x.from);
    expect(cycles).toEqual(expect.arrayContaining(['renderer/a.ts', 'shared/graph/x.ts']));
  });
});
