// Builds the restart-point addon (native/zran.c) with node-gyp when npm installs the project.
// It is optional: when there is no compiler, no zlib headers or no Node headers, the layer engine
// uses its JavaScript inflater instead (slower indexing of gzip layers; see docs/benchmarks.md),
// so a failed build only warns. OCI_EXPLORER_ADDON_REQUIRED=1 (CI) makes a failure fatal.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
let gyp;
try {
  gyp = require.resolve('node-gyp/bin/node-gyp.js');
} catch {
  gyp = undefined;
}
const required = process.env.OCI_EXPLORER_ADDON_REQUIRED === '1';
const fail = (why) => {
  process.stderr.write(`native/zran: the restart-point addon was not built (${why}); gzip layers will be indexed by the slower JavaScript inflater.\n`);
  process.exit(required ? 1 : 0);
};
if (!gyp) fail('node-gyp is not installed');
// Build against the running Node's own headers when it has them (distribution packages do), so
// node-gyp never tries to download them.
const prefix = path.dirname(path.dirname(process.execPath));
const nodedir = process.env.npm_config_nodedir || (existsSync(path.join(prefix, 'include/node/node_api.h')) ? prefix : undefined);
const r = spawnSync(process.execPath, [gyp, 'rebuild', '--loglevel=warn', ...(nodedir ? [`--nodedir=${nodedir}`] : [])], { cwd: here, stdio: ['ignore', 'inherit', 'inherit'] });
if (r.status !== 0) fail(`node-gyp exited with ${r.status ?? r.signal}`);
