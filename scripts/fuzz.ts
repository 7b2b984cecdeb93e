// `npm run fuzz -- [--iterations N] [--seed S]`: the fuzz harness of test/unit/hostile/fuzz-harness.ts
// run for longer than CI does (default 5,000 mutations of each kind), on the fixtures in
// ../shared/fixtures (OCI_EXPLORER_SHARED_FIXTURES overrides). Prints each finding with the seed that
// reproduces it (`FUZZ_SEED=S FUZZ_ITERATIONS=1 npx vitest run test/unit/hostile/fuzz.test.ts`); exit 1 on any.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { fx } from '../test/helpers/fixtures.js';
import { fuzz } from '../test/unit/hostile/fuzz-harness.js';

const { values } = parseArgs({ options: { iterations: { type: 'string' }, seed: { type: 'string' } } });
const iterations = Number(values.iterations ?? 5000);
const seed = Number(values.seed ?? Date.now() % 2 ** 31);
console.log(`fuzzing ${iterations} mutations of each kind from seed ${seed}`);
const t0 = Date.now();
const findings = await fuzz({
  seed,
  iterations,
  read: (rel) => readFileSync(fx(rel)),
  onProgress: (n) => {
    if (n % 500 === 0) console.log(`${n} done (${Math.round((Date.now() - t0) / 1000)} s)`);
  },
});
for (const f of findings) console.log(`FINDING ${f.kind} seed ${f.seed} ${f.what}: ${f.error}`);
console.log(`${iterations * 2 - findings.length} passed, ${findings.length} failed`);
process.exitCode = findings.length ? 1 : 0;
