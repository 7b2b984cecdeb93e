#!/usr/bin/env node
// The CLI. `npm run build` compiles it ahead of time (dist/cli/main.mjs, starting in a fraction of a
// second); when that build is missing or older than any source file, it runs straight from the
// TypeScript sources through tsx's loader instead, so a checkout never runs stale code.
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const built = path.join(root, 'dist', 'cli', 'main.mjs');

/** Newest modification time of the .ts files under `dir` (0 when there is none). */
function newest(dir) {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) t = Math.max(t, newest(p));
    else if (e.name.endsWith('.ts')) t = Math.max(t, statSync(p).mtimeMs);
  }
  return t;
}

function fresh() {
  try {
    return statSync(built).mtimeMs >= newest(path.join(root, 'shared'));
  } catch {
    return false;
  }
}

let cli;
if (process.env.OCI_EXPLORER_CLI_FROM_SOURCE !== '1' && fresh()) cli = await import(built);
else {
  const { register } = await import('tsx/esm/api');
  register();
  cli = await import('../shared/cli/main.ts');
}
process.exitCode = await cli.main(process.argv.slice(2), cli.processIO());
