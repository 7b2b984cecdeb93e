import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fx, noSharedFixtures } from '../../helpers/fixtures.js';
import { fuzz } from './fuzz-harness.js';

// Issue 15 acceptance: the tar header parser (both readers) and the JSON readers take random mutations
// of real fixtures without a crash, a hang or a non-Explorer error. A bounded run here (a fixed seed
// per CI run, printed on failure); `npm run fuzz -- --iterations N --seed S` runs longer.

const SEED = Number(process.env.FUZZ_SEED ?? 20_261_203);
const ITERATIONS = Number(process.env.FUZZ_ITERATIONS ?? 150);

describe.skipIf(noSharedFixtures)('fuzzing the tar header parser and the JSON readers', () => {
  it(`${ITERATIONS} mutations of each kind (seed ${SEED})`, { timeout: 300_000 }, async () => {
    const findings = await fuzz({ seed: SEED, iterations: ITERATIONS, read: (rel) => readFileSync(fx(rel)) });
    expect(findings.map((f) => `${f.kind} seed ${f.seed} ${f.what}: ${f.error.slice(0, 400)}`)).toEqual([]);
  });
});
