import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { REPO_ROOT } from '../helpers/fixtures.js';

// Web mode for e2e tests: the real CLI (`oci-explorer serve`) in its own process with its own state
// folder, and Debian Chromium driven by playwright-core.

export const CHROMIUM = '/usr/bin/chromium';
export const CHROMIUM_ARGS = ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'];
export const ARTIFACTS = path.join(REPO_ROOT, 'test/artifacts');

let built = false;
/** Builds the renderer once per test process, so the UI under test is the current source. */
export function buildRenderer(): void {
  if (built || process.env.OCI_E2E_SKIP_BUILD === '1') return;
  execFileSync(process.execPath, [path.join(REPO_ROOT, 'node_modules/vite/bin/vite.js'), 'build', '--config', 'vite.renderer.config.ts', '--logLevel', 'warn'], { cwd: REPO_ROOT, stdio: 'pipe' });
  built = true;
}

export interface WebMode {
  url: string;
  /** This server's layer-index cache (OCI_EXPLORER_CACHE), empty at start, removed by stop(). */
  cacheDir: string;
  stop(): Promise<void>;
}

/**
 * Starts `oci-explorer serve --no-open --port 0 [source]` and resolves with the URL it prints. Each server
 * gets its own state folder and its own empty layer-index cache (OCI_EXPLORER_CACHE), so every run indexes
 * its images for the first time and nothing is written to the user's ~/.cache; stop() removes both.
 */
export async function startWebMode(source?: string): Promise<WebMode> {
  const stateDir = mkdtempSync(path.join(os.tmpdir(), 'oci-e2e-state-'));
  const cacheDir = mkdtempSync(path.join(os.tmpdir(), 'oci-e2e-cache-'));
  const cleanup = () => {
    rmSync(stateDir, { recursive: true, force: true });
    rmSync(cacheDir, { recursive: true, force: true });
  };
  const args = [path.join(REPO_ROOT, 'bin/oci-explorer.mjs'), 'serve', '--no-open', '--port', '0'];
  if (source) args.push(source);
  const child: ChildProcess = spawn(process.execPath, args, {
    cwd: REPO_ROOT,
    env: { ...process.env, XDG_CONFIG_HOME: stateDir, OCI_EXPLORER_CACHE: cacheDir, DISPLAY: '', WAYLAND_DISPLAY: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let url: string;
  try {
    url = await new Promise<string>((resolve, reject) => {
      const onData = (b: Buffer) => {
        out += b.toString();
        const m = /http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]+/.exec(out);
        if (m) resolve(m[0]);
      };
      child.stdout!.on('data', onData);
      child.stderr!.on('data', onData);
      child.on('error', reject);
      child.on('exit', (code) => reject(new Error(`serve exited with ${code}: ${out}`)));
    });
  } catch (e) {
    if (child.exitCode === null) child.kill('SIGTERM');
    cleanup();
    throw e;
  }
  return {
    url,
    cacheDir,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const gone = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await gone;
      }
      cleanup();
    },
  };
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}

/** Web mode on `source` and a 1280×800 Chromium page at its URL (both ended again if either fails to start). */
export async function openApp(source: string): Promise<{ web: WebMode; browser: Browser; page: Page }> {
  const web = await startWebMode(source);
  let browser: Browser | undefined;
  try {
    browser = await launchChromium();
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(web.url);
    return { web, browser, page };
  } catch (e) {
    await browser?.close();
    await web.stop();
    throw e;
  }
}
