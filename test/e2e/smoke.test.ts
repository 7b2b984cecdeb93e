import { execFile } from 'node:child_process';
import { mkdir, mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runServe } from '../../shared/cli/commands/serve.js';
import type { CliIO } from '../../shared/cli/io.js';
import type { WebServer } from '../../shared/web/server.js';

// Smoke test of web mode in Debian Chromium: the real renderer build, the real `serve` command (the demo
// image opened at start), the token URL. Asserts only what does not depend on the UI's layout.

const run = promisify(execFile);
const REPO = path.resolve(__dirname, '../..');
const ARTIFACTS = path.join(REPO, 'test/artifacts');
const CHROMIUM_ARGS = ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'];

let browser: Browser;
let server: WebServer;
let stop: AbortController;
let served: Promise<number>;
const out: string[] = [];

beforeAll(async () => {
  const dist = await mkdtemp(path.join(os.tmpdir(), 'oe-e2e-'));
  // Layer indexes of this run go to a scratch cache, not the user's.
  process.env.OCI_EXPLORER_CACHE ??= path.join(dist, 'cache');
  await run(path.join(REPO, 'node_modules/.bin/vite'), ['build', '--config', 'vite.renderer.config.ts'], { cwd: REPO, env: { ...process.env, OCI_EXPLORER_DIST: dist } });
  const io: CliIO = { stdout: (s) => void out.push(s), stderr: (s) => void out.push(s), cwd: REPO, env: {} };
  stop = new AbortController();
  let listening!: (s: WebServer) => void;
  const ready = new Promise<WebServer>((r) => (listening = r));
  served = runServe(['--no-open'], io, { rendererDir: path.join(dist, 'renderer'), stateDir: path.join(dist, 'state'), signal: stop.signal, onListening: (s) => listening(s) });
  server = await ready;
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
});

afterAll(async () => {
  await browser?.close();
  stop?.abort();
  await served;
});

describe('web mode in Chromium', () => {
  it('opens the printed URL, shows the demo image, and saves a screenshot', async () => {
    const printed = out.join('').match(/http:\/\/127\.0\.0\.1:\d+\/\?token=\S+/)?.[0];
    expect(printed).toBe(server.url);
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const problems: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' && /Content Security Policy|Refused to/.test(m.text())) problems.push(m.text());
    });
    page.on('pageerror', (e) => problems.push(String(e)));
    await page.goto(printed!);
    // The token was traded for a cookie and removed from the address bar.
    expect(new URL(page.url()).searchParams.has('token')).toBe(false);
    expect(await page.title()).toBe('OCI Explorer');
    await page.getByText(/Demo image|demo:latest/).first().waitFor({ state: 'visible' });
    await mkdir(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: path.join(ARTIFACTS, 'web-smoke.png') });
    expect(problems).toEqual([]);
    await page.close();
  });

  it('a page without the token gets nothing', async () => {
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    const res = await page.goto(server.origin + '/');
    expect(res?.status()).toBe(401);
    await ctx.close();
  });
});
