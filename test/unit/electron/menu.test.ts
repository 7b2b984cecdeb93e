import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { MenuItemConstructorOptions } from 'electron';
import { describe, expect, it, vi } from 'vitest';
import type { RecentSource } from '../../../shared/api/contract.js';
import { MENU_LINKS, RECENT_LABEL_MAX, menuTemplate, recentLabel, type MenuHandlers } from '../../../electron/menu.js';
import { isAllowedExternal } from '../../../electron/security.js';

// The application menu template (electron/menu.ts) is plain data: checked here in Node, with a spy for
// every handler. main.ts only hands it to Menu.buildFromTemplate.

type Item = MenuItemConstructorOptions;

function handlers() {
  return { openFolder: vi.fn(), openArchive: vi.fn(), openRecent: vi.fn(), clearRecent: vi.fn(), openDemo: vi.fn(), openExternal: vi.fn() } satisfies MenuHandlers;
}

const recent = (spec: string): RecentSource => ({ spec, label: path.basename(spec), kind: 'oci-layout', lastOpened: '2024-01-01T00:00:00.000Z' });
const sub = (i: Item | undefined): Item[] => (i?.submenu ?? []) as Item[];
const top = (t: Item[], label: string) => t.find((i) => i.label === label || i.role === label.toLowerCase());
const item = (items: Item[], label: string) => {
  const found = items.find((i) => i.label === label);
  if (!found) throw new Error(`no menu item ${label} in ${items.map((i) => i.label ?? i.role ?? i.type).join(', ')}`);
  return found;
};
const click = (i: Item) => (i.click as unknown as () => void)();
const shape = (items: Item[]) => items.map((i) => i.label ?? (i.role ? `role:${i.role}` : i.type));

describe('application menu', () => {
  const opts = { isMac: false, devTools: false };

  it('has File, Edit, View and Help, with the File items, their accelerators and Reload', () => {
    const t = menuTemplate([], handlers(), opts);
    expect(shape(t)).toEqual(['File', 'role:editMenu', 'View', 'role:help']);
    const file = sub(top(t, 'File'));
    expect(shape(file)).toEqual(['Open OCI Layout Folder…', 'Open Archive…', 'Open Recent', 'Open Demo Image', 'separator', 'role:quit']);
    expect(item(file, 'Open OCI Layout Folder…').accelerator).toBe('CmdOrCtrl+O');
    expect(item(file, 'Open Archive…').accelerator).toBe('CmdOrCtrl+Shift+O');
    // No two items share an accelerator.
    const accels = file.map((i) => i.accelerator).filter(Boolean);
    expect(new Set(accels).size).toBe(accels.length);
    const view = sub(top(t, 'View'));
    expect(view[0]).toEqual({ role: 'reload' });
    expect(view.some((i) => i.role === 'toggleDevTools')).toBe(false);
  });

  it('each item calls its own handler and no other', () => {
    const h = handlers();
    const t = menuTemplate([recent('/imgs/a'), recent('oci-archive:/imgs/b.tar')], h, opts);
    const file = sub(top(t, 'File'));
    const expectOnly = (name: keyof MenuHandlers, ...args: unknown[]) => {
      for (const [k, fn] of Object.entries(h)) {
        if (k === name) {
          expect(fn).toHaveBeenCalledTimes(1);
          expect(fn).toHaveBeenCalledWith(...args);
        } else expect(fn, `${k} should not be called`).not.toHaveBeenCalled();
        fn.mockClear();
      }
    };
    click(item(file, 'Open OCI Layout Folder…'));
    expectOnly('openFolder');
    click(item(file, 'Open Archive…'));
    expectOnly('openArchive');
    click(item(file, 'Open Demo Image'));
    expectOnly('openDemo');
    const rec = sub(item(file, 'Open Recent'));
    click(item(rec, 'oci-archive:/imgs/b.tar'));
    expectOnly('openRecent', 'oci-archive:/imgs/b.tar');
    click(item(rec, '/imgs/a'));
    expectOnly('openRecent', '/imgs/a');
    click(item(rec, 'Clear Recent'));
    expectOnly('clearRecent');
    const help = sub(top(t, 'Help'));
    expect(help).toHaveLength(MENU_LINKS.length);
    for (const [k, l] of MENU_LINKS.entries()) {
      expect(help[k]!.label).toBe(l.label);
      click(help[k]!);
      expectOnly('openExternal', l.url);
      expect(isAllowedExternal(l.url)).toBe(true);
    }
  });

  it('Open Recent lists the sources in order, then a separator and Clear Recent', () => {
    const t = menuTemplate([recent('/b'), recent('/a'), recent('docker-archive:/c.tar')], handlers(), opts);
    const rec = sub(item(sub(top(t, 'File')), 'Open Recent'));
    expect(shape(rec)).toEqual(['/b', '/a', 'docker-archive:/c.tar', 'separator', 'Clear Recent']);
    expect(rec.every((i) => i.enabled !== false)).toBe(true);
  });

  it('with nothing recent, Open Recent holds one disabled placeholder and no Clear', () => {
    const h = handlers();
    const t = menuTemplate([], h, opts);
    const rec = sub(item(sub(top(t, 'File')), 'Open Recent'));
    expect(rec).toEqual([{ label: 'No Recent Sources', enabled: false }]);
  });

  it('recent labels: long specs shortened in the middle, "&" escaped where it would be a mnemonic', () => {
    const long = '/home/someone/' + 'very-long-folder-name/'.repeat(10) + 'image.tar';
    const l = recentLabel(long, true);
    expect(l).toHaveLength(RECENT_LABEL_MAX);
    expect(l.startsWith('/home/someone/')).toBe(true);
    expect(l.endsWith('image.tar')).toBe(true);
    expect(l).toContain('…');
    expect(recentLabel('/imgs/a&b', false)).toBe('/imgs/a&&b');
    expect(recentLabel('/imgs/a&b', true)).toBe('/imgs/a&b');
    // The click still opens the full, unescaped spec.
    const h = handlers();
    const rec = sub(item(sub(top(menuTemplate([recent('/imgs/a&b')], h, opts), 'File')), 'Open Recent'));
    click(rec[0]!);
    expect(h.openRecent).toHaveBeenCalledWith('/imgs/a&b');
  });

  it('macOS: the app menu first and Close instead of Quit; devTools only when asked', () => {
    const t = menuTemplate([], handlers(), { isMac: true, devTools: true });
    expect(t[0]).toEqual({ role: 'appMenu' });
    const file = sub(top(t, 'File'));
    expect(file.at(-1)).toEqual({ role: 'close' });
    expect(sub(top(t, 'View')).some((i) => i.role === 'toggleDevTools')).toBe(true);
  });

  it('menu.ts has no runtime import of electron, and main.ts builds its menu from it', async () => {
    const src = await readFile(path.resolve(__dirname, '../../../electron/menu.ts'), 'utf8');
    expect(src).not.toMatch(/^import (?!type )[^;]*from 'electron'/m);
    const main = await readFile(path.resolve(__dirname, '../../../electron/main.ts'), 'utf8');
    expect(main).toMatch(/Menu\.buildFromTemplate\(template\)/);
    expect(main).toMatch(/menuTemplate\(/);
  });
});
