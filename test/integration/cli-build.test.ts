import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// The CLI compiled ahead of time (vite.cli.config.ts → dist/cli) must behave exactly like the CLI run
// from the TypeScript sources: same output and exit status for the same commands, including the
// lazily loaded commands and the bundled dependencies (schema validators, picomatch, sql.js, pako).

const run = promisify(execFile);
const REPO = path.resolve(__dirname, '../..');
const DEMO = path.join(REPO, 'resources/demo');
let dist: string;
let cache: string;

beforeAll(async () => {
  dist = await mkdtemp(path.join(os.tmpdir(), 'oe-cli-dist-'));
  cache = await mkdtemp(path.join(os.tmpdir(), 'oe-cli-cache-'));
  await run(process.execPath, [path.join(REPO, 'node_modules/vite/bin/vite.js'), 'build', '--config', 'vite.cli.config.ts', '--logLevel', 'warn'], { cwd: REPO, env: { ...process.env, OCI_EXPLORER_DIST: dist } });
});
afterAll(async () => {
  await rm(dist, { recursive: true, force: true });
  await rm(cache, { recursive: true, force: true });
});

async function both(args: string[]): Promise<[{ code: number; out: string }, { code: number; out: string }]> {
  const env = { ...process.env, OCI_EXPLORER_CACHE: cache, OCI_EXPLORER_CLI_FROM_SOURCE: '1' };
  const exec = async (argv: string[]) => {
    try {
      const r = await run(process.execPath, argv, { cwd: REPO, env, maxBuffer: 64 << 20 });
      return { code: 0, out: r.stdout + r.stderr };
    } catch (e) {
      const x = e as { code: number; stdout: string; stderr: string };
      return { code: x.code, out: x.stdout + x.stderr };
    }
  };
  return Promise.all([exec([path.join(dist, 'cli', 'main.mjs'), ...args]), exec([path.join(REPO, 'bin/oci-explorer.mjs'), ...args])]);
}

describe('the compiled CLI', () => {
  for (const args of [['--help'], ['inspect', DEMO, '--json'], ['ls', DEMO, '--json'], ['validate', path.join(DEMO, 'index.json')], ['packages', DEMO, '--json'], ['efficiency', DEMO, '--json'], ['ls', '/nonexistent/x.tar']]) {
    it(`answers like the sources: ${args.map((a) => a.replace(REPO, '.')).join(' ')}`, async () => {
      const [compiled, source] = await both(args);
      expect(compiled).toEqual(source);
      if (args[1] !== '/nonexistent/x.tar') expect(compiled.code).toBe(0);
      else expect(compiled.code).not.toBe(0);
    });
  }
});
