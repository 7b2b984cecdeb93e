import { mkdir, mkdtemp, readFile, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { appProtocolAnswer } from '../../../electron/app-protocol.js';
import { sourceFromArgv } from '../../../electron/argv.js';
import {
  APP_ENTRY,
  APP_SCHEME_PRIVILEGES,
  CONTENT_SECURITY_POLICY,
  allowNavigation,
  allowPermission,
  allowRequest,
  isAllowedExternal,
  isAppUrl,
  webPreferences,
  windowOpenDecision,
} from '../../../electron/security.js';

const MAIN_SRC = path.resolve(__dirname, '../../../electron/main.ts');

function csp(): Map<string, string[]> {
  return new Map(CONTENT_SECURITY_POLICY.split(';').map((d) => d.trim().split(/\s+/)).map(([k, ...v]) => [k!, v]));
}

describe('window security', () => {
  it('webPreferences are the checklist values, with webSecurity left at its default', () => {
    const w = webPreferences('/x/preload.cjs');
    expect(w.devTools).toBe(false);
    expect(webPreferences('/p', { devTools: true }).devTools).toBe(true);
    expect(w.disableBlinkFeatures).toBe('Auxclick');
    expect(w).toMatchObject({ sandbox: true, contextIsolation: true, nodeIntegration: false, nodeIntegrationInWorker: false, nodeIntegrationInSubFrames: false, webviewTag: false, allowRunningInsecureContent: false, experimentalFeatures: false, preload: '/x/preload.cjs' });
    expect('webSecurity' in w).toBe(false);
  });

  it('main.ts creates its window with exactly these webPreferences and loads app://, never file://', async () => {
    const src = await readFile(MAIN_SRC, 'utf8');
    expect(src).toMatch(/webPreferences: webPreferences\(path\.join\(here, 'preload\.cjs'\), \{ devTools: !app\.isPackaged \}\)/);
    expect(src.match(/new BrowserWindow\(/g)).toHaveLength(1);
    expect(src).toMatch(/loadURL\(APP_ENTRY\)/);
    expect(src).not.toMatch(/loadFile\(|file:\/\/\//);
    expect(src).toMatch(/setPermissionRequestHandler/);
    expect(src).toMatch(/setWindowOpenHandler/);
    expect(src).toMatch(/'will-navigate'/);
    expect(APP_ENTRY).toBe('app://app/index.html');
  });

  it('the CSP allows only the app itself', () => {
    const d = csp();
    expect(d.get('default-src')).toEqual(["'none'"]);
    expect(d.get('script-src')).toEqual(["'self'", "'wasm-unsafe-eval'"]);
    expect(d.get('script-src')).not.toContain("'unsafe-inline'");
    expect(d.get('script-src')).not.toContain("'unsafe-eval'");
    expect(d.get('connect-src')).toEqual(["'self'"]);
    expect(d.get('object-src')).toEqual(["'none'"]);
    expect(d.get('frame-ancestors')).toEqual(["'none'"]);
    expect(d.get('base-uri')).toEqual(["'none'"]);
    for (const [, v] of d) for (const s of v) expect(s).not.toMatch(/^(https?:|\*)/);
  });

  it('the app:// scheme is standard and secure, without CORS or CSP bypass', () => {
    expect(APP_SCHEME_PRIVILEGES).toMatchObject({ standard: true, secure: true, corsEnabled: false, bypassCSP: false, allowServiceWorkers: false });
  });

  it('denies every permission request', () => {
    for (const p of ['media', 'geolocation', 'notifications', 'clipboard-read', 'clipboard-sanitized-write', 'openExternal', 'fullscreen', 'unknown']) expect(allowPermission(p)).toBe(false);
  });

  it('opens only https links to known hosts, and never a new window', () => {
    expect(isAllowedExternal('https://github.com/opencontainers/image-spec/blob/main/manifest.md')).toBe(true);
    expect(isAllowedExternal('https://specs.opencontainers.org/image-spec/')).toBe(true);
    for (const bad of ['http://github.com/', 'https://evil.example/', 'https://github.com.evil.example/', 'https://user:pw@github.com/', 'https://github.com:8443/', 'file:///etc/passwd', 'javascript:alert(1)', 'smb://github.com/x', 'not a url']) {
      expect(isAllowedExternal(bad), bad).toBe(false);
    }
    expect(windowOpenDecision('https://github.com/x')).toEqual({ action: 'deny', openExternally: true });
    expect(windowOpenDecision('https://evil.example/')).toEqual({ action: 'deny', openExternally: false });
  });

  it('the renderer may load only app:// and in-memory URLs', () => {
    for (const u of ['app://app/assets/x.js', 'data:image/png;base64,AA', 'blob:app://app/123', 'devtools://devtools/bundled/x']) expect(allowRequest(u), u).toBe(true);
    for (const u of ['https://example.com/', 'http://127.0.0.1:8080/', 'file:///etc/passwd', 'ws://x/', 'app://other/']) expect(allowRequest(u), u).toBe(false);
  });

  it('navigation stays inside app://app', () => {
    expect(allowNavigation('app://app/index.html')).toBe(true);
    for (const u of ['https://github.com/', 'app://evil/index.html', 'file:///index.html', 'app://user@app/']) expect(allowNavigation(u), u).toBe(false);
    expect(isAppUrl(undefined)).toBe(false);
  });
});

describe('app:// protocol', () => {
  it('serves the renderer with the CSP and refuses anything outside it', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'oe-proto-'));
    const root = path.join(dir, 'renderer');
    await mkdir(path.join(root, 'assets'), { recursive: true });
    await writeFile(path.join(root, 'index.html'), '<title>OCI Explorer</title>');
    await writeFile(path.join(dir, 'secret'), 'TOP SECRET');
    await symlink(path.join(dir, 'secret'), path.join(root, 'assets', 'evil'));
    const ok = await appProtocolAnswer(root, 'app://app/');
    expect(ok.status).toBe(200);
    expect(ok.headers['Content-Security-Policy']).toBe(CONTENT_SECURITY_POLICY);
    expect(Buffer.from(ok.body as Uint8Array).toString()).toContain('OCI Explorer');
    for (const u of ['app://app/../secret', 'app://app/%2e%2e/secret', 'app://app/assets/..%2f..%2fsecret', 'app://app/assets/evil', 'app://other/index.html', 'file:///etc/passwd']) {
      const r = await appProtocolAnswer(root, u);
      expect(r.status, u).toBeGreaterThanOrEqual(400);
      expect(String(r.body)).not.toContain('TOP SECRET');
    }
    expect((await appProtocolAnswer(root, 'app://app/index.html', 'POST')).status).toBe(405);
  });
});

describe('command line', () => {
  it('takes the first non-switch argument after the app', () => {
    expect(sourceFromArgv(['/opt/OCI Explorer/oci-explorer', '/imgs/layout'], true)).toBe('/imgs/layout');
    expect(sourceFromArgv(['/usr/bin/electron', '.', '--no-sandbox', 'img.tar'], false)).toBe('img.tar');
    expect(sourceFromArgv(['/usr/bin/electron', '.'], false)).toBeUndefined();
  });
});
