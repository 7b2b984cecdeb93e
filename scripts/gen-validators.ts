// Generates shared/oci/schemas/validators.generated.cjs: our JSON Schemas compiled ahead of time by
// Ajv's standalone mode, so no process pays Ajv's code generation (~170 ms) when it opens an image.
// Run after changing shared/oci/schemas/*: `npx tsx scripts/gen-validators.ts`. A unit test fails
// when the committed file is stale.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateValidatorsSource } from '../shared/oci/schemas/compile.js';

const out = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../shared/oci/schemas/validators.generated.cjs');
writeFileSync(out, generateValidatorsSource());
console.log(`wrote ${out}`);
