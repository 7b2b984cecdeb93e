import { defineConfig } from 'vitest/config';

// Three projects: fast unit tests, integration tests against real tools (registry, skopeo,
// umoci, dockerd) and fixtures built once per run, and e2e in Debian Chromium via web mode.
export default defineConfig({
  test: {
    projects: [
      { extends: true, test: { name: 'unit', include: ['test/unit/**/*.test.ts'], testTimeout: 30_000 } },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          globalSetup: ['test/fixtures/global-setup.ts'],
          testTimeout: 300_000,
          hookTimeout: 900_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          // expect.poll waits for the UI to reach a state; its 1 s default is a time limit in disguise, and
          // CI runs the three projects at once on 2 cores (a poll that clicks can need longer there).
          expect: { poll: { timeout: 30_000 } },
          globalSetup: ['test/fixtures/global-setup.ts'],
          testTimeout: 300_000,
          hookTimeout: 900_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
