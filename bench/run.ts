import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// `npm run bench [-- name…]`: runs every bench/*.bench.ts (or the ones named, with or without the
// suffix) one after another, each in its own Node process so one benchmark's heap and caches do not
// colour the next. A benchmark is a script that prints one line per figure; add one by adding a file.

const here = path.dirname(fileURLToPath(import.meta.url));
const all = readdirSync(here).filter((f) => f.endsWith('.bench.ts')).sort();
const wanted = process.argv.slice(2).map((a) => path.basename(a).replace(/(\.bench)?\.ts$/, ''));
const chosen = wanted.length ? all.filter((f) => wanted.includes(f.replace(/\.bench\.ts$/, ''))) : all;
const unknown = wanted.filter((w) => !all.includes(`${w}.bench.ts`));
if (unknown.length) {
  process.stderr.write(`bench: no benchmark named ${unknown.join(', ')}; there are: ${all.map((f) => f.replace(/\.bench\.ts$/, '')).join(', ')}\n`);
  process.exit(2);
}
let failed = 0;
for (const f of chosen) {
  process.stdout.write(`# ${f}\n`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(here, f)], { stdio: 'inherit', cwd: path.dirname(here) });
  if (r.status !== 0) {
    failed++;
    process.stderr.write(`bench: ${f} failed (exit ${r.status ?? r.signal})\n`);
  }
}
process.exit(failed ? 1 : 0);
