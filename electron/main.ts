import { existsSync } from 'node:fs';
import path from 'node:path';
import { BrowserWindow, Menu, app, dialog, ipcMain, protocol, session, shell, utilityProcess, type WebContents } from 'electron';
import { IPC_CHANNEL, type EventEnvelope, type RecentSource } from '../shared/api/contract.js';
import { appProtocolAnswer } from './app-protocol.js';
import { sourceFromArgv } from './argv.js';
import { createCoreClient, type ChildLike } from './core-client.js';
import { registerIpc, type SenderLike } from './ipc.js';
import { menuTemplate } from './menu.js';
import {
  APP_ENTRY,
  APP_SCHEME,
  APP_SCHEME_PRIVILEGES,
  allowNavigation,
  allowPermission,
  allowRequest,
  isAllowedExternal,
  webPreferences,
  windowOpenDecision,
} from './security.js';

// The desktop shell: windows, menus, dialogs and security wiring. Image work runs in a utilityProcess
// (core-host.ts) so the main thread only routes messages. Built to dist/electron/main.cjs.

const here = __dirname; // dist/electron (CommonJS build)
const appRoot = app.getAppPath();
const rendererDir = path.join(appRoot, 'dist', 'renderer');
const demoPath = app.isPackaged ? path.join(process.resourcesPath, 'demo') : path.join(appRoot, 'resources', 'demo');

app.enableSandbox();
protocol.registerSchemesAsPrivileged([{ scheme: APP_SCHEME, privileges: { ...APP_SCHEME_PRIVILEGES } }]);

if (!app.requestSingleInstanceLock()) {
  app.quit();
} else {
  void start();
}

const windows = new Map<number, BrowserWindow>();

function broadcast(env: EventEnvelope): void {
  for (const w of windows.values()) if (!w.isDestroyed()) w.webContents.send(IPC_CHANNEL, env);
  if (env.event === 'sources-changed') void rebuildMenu();
}

const core = createCoreClient(
  () => {
    const child = utilityProcess.fork(path.join(here, 'core-host.cjs'), [], { serviceName: 'OCI Explorer core', stdio: 'inherit' });
    return child as unknown as ChildLike;
  },
  {
    appVersion: app.getVersion(),
    stateDir: app.getPath('userData'),
    demoPath,
    runtime: { electron: process.versions.electron ?? '', chrome: process.versions.chrome ?? '' },
    capabilities: { nativeDialogs: true, dropFiles: true, openExternal: true },
  },
  broadcast,
);

function focused(): BrowserWindow | undefined {
  return BrowserWindow.getFocusedWindow() ?? [...windows.values()][0];
}

/** Opens a source on behalf of the shell (menu, argv, second launch); failures get a dialog. */
async function openFromShell(spec: string): Promise<void> {
  const r = await core.dispatch('openSource', { spec });
  if (!r.ok) {
    const w = focused();
    const opts = { type: 'error' as const, message: `Could not open ${spec}`, detail: r.error.message };
    await (w ? dialog.showMessageBox(w, opts) : dialog.showMessageBox(opts));
  }
}

async function chooseAndOpen(kind: 'folder' | 'archive'): Promise<void> {
  const p = await chooseSourcePath(kind, focused());
  if (p) await openFromShell(p);
}

async function chooseSourcePath(kind: 'folder' | 'archive', win: BrowserWindow | undefined): Promise<string | null> {
  const opts: Electron.OpenDialogOptions =
    kind === 'folder'
      ? { title: 'Open OCI Layout Folder', properties: ['openDirectory'] }
      : { title: 'Open Archive', properties: ['openFile'], filters: [{ name: 'Image archives', extensions: ['tar', 'gz', 'tgz', 'zst'] }, { name: 'All files', extensions: ['*'] }] };
  const r = win ? await dialog.showOpenDialog(win, opts) : await dialog.showOpenDialog(opts);
  return r.canceled ? null : (r.filePaths[0] ?? null);
}

const windowOf = (s: SenderLike) => BrowserWindow.fromWebContents(s as unknown as WebContents) ?? undefined;

async function rebuildMenu(): Promise<void> {
  const r = await core.dispatch('recentSources', {});
  const recent = r.ok ? (r.value as RecentSource[]) : [];
  const template = menuTemplate(
    recent,
    {
      openFolder: () => void chooseAndOpen('folder'),
      openArchive: () => void chooseAndOpen('archive'),
      openRecent: (spec) => void openFromShell(spec),
      clearRecent: () => void core.dispatch('clearRecent', {}).then(() => rebuildMenu()),
      openDemo: () => void core.dispatch('openDemo', {}),
      openExternal: (url) => {
        if (isAllowedExternal(url)) void shell.openExternal(url);
      },
    },
    { isMac: process.platform === 'darwin', devTools: !app.isPackaged },
  );
  Menu.setApplicationMenu(Menu.buildFromTemplate(template));
}

function hardenContents(contents: WebContents): void {
  contents.on('will-navigate', (e, url) => {
    if (!allowNavigation(url)) e.preventDefault();
  });
  contents.on('will-redirect', (e, url) => {
    if (!allowNavigation(url)) e.preventDefault();
  });
  contents.on('will-attach-webview', (e) => e.preventDefault());
  contents.setWindowOpenHandler(({ url }) => {
    const d = windowOpenDecision(url);
    if (d.openExternally) void shell.openExternal(url);
    return { action: 'deny' };
  });
}

function createWindow(): BrowserWindow {
  const win = new BrowserWindow({
    width: 1280,
    height: 800,
    minWidth: 900,
    minHeight: 560,
    show: false,
    title: 'OCI Explorer',
    webPreferences: webPreferences(path.join(here, 'preload.cjs'), { devTools: !app.isPackaged }),
  });
  const id = win.webContents.id;
  windows.set(id, win);
  win.on('closed', () => windows.delete(id));
  win.once('ready-to-show', () => win.show());
  void win.loadURL(APP_ENTRY);
  return win;
}

async function start(): Promise<void> {
  app.on('web-contents-created', (_e, contents) => hardenContents(contents));
  app.on('second-instance', (_e, argv, workingDirectory) => {
    const w = focused();
    if (w) {
      if (w.isMinimized()) w.restore();
      w.focus();
    }
    // argv of the second launch is relative to ITS working directory.
    const spec = sourceFromArgv(argv, app.isPackaged);
    if (spec) void openFromShell(existsSync(path.resolve(workingDirectory, spec)) ? path.resolve(workingDirectory, spec) : spec);
  });
  app.on('window-all-closed', () => {
    if (process.platform !== 'darwin') app.quit();
  });
  app.on('before-quit', () => core.close());

  await app.whenReady();

  protocol.handle(APP_SCHEME, async (req) => {
    const a = await appProtocolAnswer(rendererDir, req.url, req.method);
    return new Response(req.method === 'HEAD' ? null : (a.body as unknown as BodyInit), { status: a.status, headers: a.headers });
  });
  const ses = session.defaultSession;
  ses.setPermissionRequestHandler((_wc, permission, callback) => callback(allowPermission(permission)));
  ses.setPermissionCheckHandler((_wc, permission) => allowPermission(permission));
  // Belt and braces beside the CSP: the renderer never talks to the network.
  ses.webRequest.onBeforeRequest((details, cb) => cb({ cancel: !allowRequest(details.url) }));

  registerIpc(ipcMain as unknown as Parameters<typeof registerIpc>[0], {
    dispatch: (m, a) => core.dispatch(m, a),
    isOurWindow: (s) => windows.has(s.id),
    shell: {
      chooseSource: async (a: { kind: 'folder' | 'archive' }, s) => ({ path: await chooseSourcePath(a.kind, windowOf(s)) }),
      chooseTarget: async (a: { kind: 'folder' | 'file'; defaultName?: string }, s) => {
        const w = windowOf(s);
        if (a.kind === 'folder') {
          const opts: Electron.OpenDialogOptions = { title: 'Extract to Folder', properties: ['openDirectory', 'createDirectory'] };
          const r = w ? await dialog.showOpenDialog(w, opts) : await dialog.showOpenDialog(opts);
          return { path: r.canceled ? null : (r.filePaths[0] ?? null) };
        }
        const opts: Electron.SaveDialogOptions = { title: 'Save As', ...(a.defaultName ? { defaultPath: a.defaultName } : {}) };
        const r = w ? await dialog.showSaveDialog(w, opts) : await dialog.showSaveDialog(opts);
        return { path: r.canceled ? null : (r.filePath ?? null) };
      },
      openExternal: async (a: { url: string }) => {
        if (!isAllowedExternal(a.url)) throw Object.assign(new Error(`Links to ${a.url} are not opened: only https links to known spec and documentation sites are.`), { code: 'FORBIDDEN' });
        await shell.openExternal(a.url);
        return { opened: true };
      },
    },
  });

  // The first screen is never empty: the source from the command line, else the bundled demo image.
  const spec = sourceFromArgv(process.argv, app.isPackaged);
  if (spec) await openFromShell(existsSync(path.resolve(spec)) ? path.resolve(spec) : spec);
  else await core.dispatch('openDemo', {});
  await rebuildMenu();
  createWindow();
  app.on('activate', () => {
    if (windows.size === 0) createWindow();
  });
}
