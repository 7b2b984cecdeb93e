import { CONTENT_SECURITY_POLICY, SECURITY_HEADERS } from '../shared/web/csp.js';

// Every security decision of the desktop shell as plain data and pure functions, with no import of
// electron, so tests can assert the real values (test/unit/electron). main.ts only applies them.

/** The renderer is served from app://app/ — a standard, secure custom scheme; never file://. */
export const APP_SCHEME = 'app';
export const APP_HOST = 'app';
export const APP_ORIGIN = `${APP_SCHEME}://${APP_HOST}`;
export const APP_ENTRY = `${APP_ORIGIN}/index.html`;

export { CONTENT_SECURITY_POLICY, SECURITY_HEADERS };

/** Privileges of the app:// scheme (protocol.registerSchemesAsPrivileged). No CORS, no service workers. */
export const APP_SCHEME_PRIVILEGES = {
  standard: true,
  secure: true,
  supportFetchAPI: true,
  corsEnabled: false,
  allowServiceWorkers: false,
  bypassCSP: false,
  stream: true,
} as const;

/**
 * webPreferences of every window (Electron security checklist): sandboxed, isolated, no Node, no
 * webview, no remote content flags. webSecurity is deliberately left at its default (true).
 */
export function webPreferences(preloadPath: string, opts: { devTools: boolean } = { devTools: false }) {
  return {
    preload: preloadPath,
    sandbox: true,
    contextIsolation: true,
    nodeIntegration: false,
    nodeIntegrationInWorker: false,
    nodeIntegrationInSubFrames: false,
    webviewTag: false,
    allowRunningInsecureContent: false,
    experimentalFeatures: false,
    // Middle-click (auxclick) on a link must not open anything; window.open is denied anyway.
    disableBlinkFeatures: 'Auxclick',
    navigateOnDragDrop: false,
    safeDialogs: true,
    spellcheck: false,
    // Developer tools only in development builds.
    devTools: opts.devTools,
  } as const;
}

/** Hosts whose https links may open in the system browser: specs and docs the inspector links to. */
export const EXTERNAL_HOSTS: readonly string[] = [
  'github.com',
  'opencontainers.org',
  'specs.opencontainers.org',
  'docs.docker.com',
  'distribution.github.io',
  'in-toto.io',
  'slsa.dev',
  'spdx.dev',
  'spdx.github.io',
  'docs.sigstore.dev',
  'www.iana.org',
  'datatracker.ietf.org',
];

/** True only for https URLs (no credentials, default port) to a host on the allow-list. */
export function isAllowedExternal(raw: string): boolean {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    return false;
  }
  if (u.protocol !== 'https:' || u.username || u.password || u.port) return false;
  return EXTERNAL_HOSTS.includes(u.hostname.toLowerCase());
}

/** True when a URL belongs to the app (app://app/…). Compared by parts: Node gives custom schemes a "null" origin. */
export function isAppUrl(raw: string | undefined): boolean {
  if (!raw) return false;
  try {
    const u = new URL(raw);
    return u.protocol === `${APP_SCHEME}:` && u.host === APP_HOST && !u.username && !u.password;
  } catch {
    return false;
  }
}

/** Permission requests from the renderer: all denied (the UI needs none; clipboard writes need no permission). */
export function allowPermission(_permission: string): boolean {
  return false;
}

/** Window.open / target=_blank: never a new Electron window; allowed https links go to the browser. */
export function windowOpenDecision(url: string): { action: 'deny'; openExternally: boolean } {
  return { action: 'deny', openExternally: isAllowedExternal(url) };
}

/** Navigation of the main frame away from the app is always prevented. */
export function allowNavigation(url: string): boolean {
  return isAppUrl(url);
}

/** What the renderer may load at all (webRequest filter beside the CSP): the app and in-memory URLs. */
export function allowRequest(url: string): boolean {
  if (isAppUrl(url)) return true;
  return /^(data|blob|devtools|chrome-extension):/i.test(url);
}
