import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// Third-party fixtures are read in place from ../shared/fixtures (never copied into the repo).
// Under CI=true a missing fixture folder fails the run instead of skipping.
const here = path.dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = path.resolve(here, '../..');
// OCI_EXPLORER_SHARED_FIXTURES points elsewhere (a git worktree whose parent has no shared/).
export const SHARED_FIXTURES = process.env.OCI_EXPLORER_SHARED_FIXTURES ?? path.resolve(REPO_ROOT, '../shared/fixtures');
/** Git-ignored cache where test/fixtures/build.ts writes the images it builds with real tools. */
export const FIXTURE_CACHE = path.join(REPO_ROOT, 'test/.cache');

export const sharedFixturesPresent = existsSync(SHARED_FIXTURES);
if (!sharedFixturesPresent && process.env.CI === 'true') {
  throw new Error(`Third-party fixtures are missing: expected ${SHARED_FIXTURES} (the team kit beside the repo).`);
}

/** Absolute path of a file under ../shared/fixtures. */
export function fx(rel: string): string {
  return path.join(SHARED_FIXTURES, rel);
}

/** `describe.skipIf(noSharedFixtures)` for suites that need ../shared/fixtures (never skipped under CI). */
export const noSharedFixtures = !sharedFixturesPresent;
