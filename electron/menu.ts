import type { MenuItemConstructorOptions } from 'electron';
import type { RecentSource } from '../shared/api/contract.js';

// The application menu as plain data: a pure function of the recent sources, the platform and the
// actions, so it is tested in Node (main.ts turns it into a Menu). Only a type comes from electron.

/** What the menu items do; main.ts supplies them (dialogs, the core, shell.openExternal). */
export interface MenuHandlers {
  openFolder(): void;
  openArchive(): void;
  openRecent(spec: string): void;
  clearRecent(): void;
  openDemo(): void;
  /** Only called with MENU_LINKS urls (all on the openExternal allow-list). */
  openExternal(url: string): void;
}

export interface MenuOptions {
  /** macOS: app menu first, Close instead of Quit, no mnemonic escaping. */
  isMac: boolean;
  /** Offer Toggle Developer Tools (unpackaged builds only). */
  devTools: boolean;
}

export const MENU_LINKS = [
  { label: 'OCI Image Format Specification', url: 'https://github.com/opencontainers/image-spec' },
] as const;

/** Longest Open Recent label; longer specs keep their start and end ("/home/me/…/image.tar"). */
export const RECENT_LABEL_MAX = 80;

/** A recent source's menu label: the spec, shortened in the middle, with "&" shown as itself on Windows/Linux. */
export function recentLabel(spec: string, isMac: boolean): string {
  let s = spec;
  if (s.length > RECENT_LABEL_MAX) {
    const head = Math.ceil((RECENT_LABEL_MAX - 1) / 2);
    s = `${s.slice(0, head)}…${s.slice(s.length - (RECENT_LABEL_MAX - 1 - head))}`;
  }
  // On Windows and Linux "&" marks a mnemonic; "&&" is a literal "&".
  return isMac ? s : s.replace(/&/g, '&&');
}

export function menuTemplate(recent: readonly RecentSource[], h: MenuHandlers, opts: MenuOptions): MenuItemConstructorOptions[] {
  const openRecent: MenuItemConstructorOptions[] = recent.length
    ? [
        ...recent.map((x): MenuItemConstructorOptions => ({ label: recentLabel(x.spec, opts.isMac), click: () => h.openRecent(x.spec) })),
        { type: 'separator' },
        { label: 'Clear Recent', click: () => h.clearRecent() },
      ]
    : [{ label: 'No Recent Sources', enabled: false }];
  return [
    ...(opts.isMac ? [{ role: 'appMenu' as const }] : []),
    {
      label: 'File',
      submenu: [
        { label: 'Open OCI Layout Folder…', accelerator: 'CmdOrCtrl+O', click: () => h.openFolder() },
        { label: 'Open Archive…', accelerator: 'CmdOrCtrl+Shift+O', click: () => h.openArchive() },
        { label: 'Open Recent', submenu: openRecent },
        { label: 'Open Demo Image', click: () => h.openDemo() },
        { type: 'separator' },
        opts.isMac ? { role: 'close' } : { role: 'quit' },
      ],
    },
    { role: 'editMenu' },
    {
      label: 'View',
      submenu: [
        { role: 'reload' },
        ...(opts.devTools ? [{ role: 'toggleDevTools' as const }] : []),
        { type: 'separator' },
        { role: 'resetZoom' },
        { role: 'zoomIn' },
        { role: 'zoomOut' },
        { type: 'separator' },
        { role: 'togglefullscreen' },
      ],
    },
    {
      role: 'help',
      submenu: MENU_LINKS.map((l) => ({ label: l.label, click: () => h.openExternal(l.url) })),
    },
  ];
}
