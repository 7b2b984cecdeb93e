import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateValidatorsSource } from '../../../shared/oci/schemas/compile.js';
import { REPO_ROOT } from '../../helpers/fixtures.js';

describe('precompiled schema validators', () => {
  it('match the schemas (regenerate with `npx tsx scripts/gen-validators.ts`)', () => {
    const committed = readFileSync(path.join(REPO_ROOT, 'shared/oci/schemas/validators.generated.cjs'), 'utf8');
    expect(committed === generateValidatorsSource()).toBe(true);
  });
});
