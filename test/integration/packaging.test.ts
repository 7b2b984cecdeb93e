import { execFile } from 'node:child_process';
import { chmod, cp, mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';

// CI packaging smoke test: the real Electron binary cannot be downloaded here, so electron-builder packs
// the app around a stand-in "electron" (a script that carries a fuse wire, so the afterPack hook has
// something real to flip). Then we read app.asar and the fuse bytes ourselves.

const run = promisify(execFile);
const REPO = path.resolve(__dirname, '../..');
const require_ = createRequire(import.meta.url);
const SENTINEL = 'dL7pKGdnNz796PbbjQWNKmHXBZaB9tsX';
const FUSES = ['RunAsNode', 'EnableCookieEncryption', 'EnableNodeOptionsEnvironmentVariable', 'EnableNodeCliInspectArguments', 'EnableEmbeddedAsarIntegrityValidation', 'OnlyLoadAppFromAsar', 'LoadBrowserProcessSpecificV8Snapshot', 'GrantFileProtocolExtraPrivileges', 'WasmTrapHandlers'];

let out: string;
let asarFiles: string[];
let asarPath: string;

async function standInElectron(dir: string): Promise<void> {
  await mkdir(path.join(dir, 'resources'), { recursive: true });
  // Every fuse starts enabled ('1'), so each one the hook turns off is visible.
  const body = Buffer.concat([Buffer.from('#!/bin/sh\necho "stand-in for the electron binary"\n'), Buffer.alloc(16), Buffer.from(SENTINEL), Buffer.from([1, FUSES.length]), Buffer.from('1'.repeat(FUSES.length)), Buffer.alloc(16)]);
  await writeFile(path.join(dir, 'electron'), body);
  await chmod(path.join(dir, 'electron'), 0o755);
  await writeFile(path.join(dir, 'LICENSE'), 'stand-in');
  await writeFile(path.join(dir, 'LICENSES.chromium.html'), 'stand-in');
  const electronVersion = (JSON.parse(await readFile(require_.resolve('electron/package.json'), 'utf8')) as { version: string }).version;
  await writeFile(path.join(dir, 'version'), electronVersion);
}

beforeAll(async () => {
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'oe-pack-'));
  out = path.join(tmp, 'release');
  // A copy of what packaging reads, so the test never touches the checkout's dist/ or release/.
  await cp(path.join(REPO, 'electron-builder.yml'), path.join(tmp, 'electron-builder.yml'));
  await cp(path.join(REPO, 'scripts/after-pack.cjs'), path.join(tmp, 'scripts/after-pack.cjs'));
  await cp(path.join(REPO, 'resources/demo'), path.join(tmp, 'resources/demo'), { recursive: true });
  const pkg = JSON.parse(await readFile(path.join(REPO, 'package.json'), 'utf8')) as Record<string, unknown>;
  // The app ships no node_modules (vite bundles everything), so the packed package.json needs no dependencies.
  const { dependencies: _d, devDependencies: _dd, scripts: _s, bin: _b, ...packed } = pkg;
  await writeFile(path.join(tmp, 'package.json'), JSON.stringify(packed, null, 2));
  const env = { ...process.env, OCI_EXPLORER_DIST: path.join(tmp, 'dist') };
  const vite = path.join(REPO, 'node_modules/.bin/vite');
  await run(vite, ['build', '--config', 'vite.renderer.config.ts'], { cwd: REPO, env });
  await run(vite, ['build', '--config', 'vite.electron.config.ts'], { cwd: REPO, env });
  await standInElectron(path.join(tmp, 'electron-dist'));
  const electronVersion = (await readFile(path.join(tmp, 'electron-dist', 'version'), 'utf8')).trim();
  await run(
    path.join(REPO, 'node_modules/.bin/electron-builder'),
    ['--linux', 'dir', '--projectDir', tmp, `-c.electronDist=${path.join(tmp, 'electron-dist')}`, `-c.electronVersion=${electronVersion}`, `-c.directories.output=${out}`],
    { cwd: tmp, env: { ...process.env, NODE_PATH: path.join(REPO, 'node_modules'), CI: 'true' }, maxBuffer: 64 * 1024 * 1024 },
  );
  asarPath = path.join(out, 'linux-unpacked', 'resources', 'app.asar');
  const asar = require_('@electron/asar') as { listPackage(p: string, o?: object): string[] };
  asarFiles = asar.listPackage(asarPath, {}).map((f) => f.replace(/\\/g, '/'));
});

describe('electron-builder --linux dir', () => {
  it('packs main, preload, the core host and the renderer into app.asar, and no node_modules', () => {
    for (const f of ['/package.json', '/dist/electron/main.cjs', '/dist/electron/preload.cjs', '/dist/electron/core-host.cjs', '/dist/renderer/index.html']) expect(asarFiles, f).toContain(f);
    expect(asarFiles.some((f) => f.startsWith('/dist/renderer/') && f.endsWith('.js'))).toBe(true);
    expect(asarFiles.filter((f) => f.includes('node_modules'))).toEqual([]);
  });

  it('the packed package.json points at the packed main, and the preload is one file', async () => {
    const asar = require_('@electron/asar') as { extractFile(a: string, f: string): Buffer };
    const pkg = JSON.parse(asar.extractFile(asarPath, 'package.json').toString('utf8')) as { main: string };
    expect(asarFiles).toContain('/' + pkg.main);
    const preload = asar.extractFile(asarPath, 'dist/electron/preload.cjs').toString('utf8');
    expect(preload).not.toMatch(/require\(["']\.{1,2}\//);
    expect(preload).toMatch(/exposeInMainWorld\("explorer"/);
  });

  it('ships the demo image beside the asar', async () => {
    const index = JSON.parse(await readFile(path.join(out, 'linux-unpacked', 'resources', 'demo', 'index.json'), 'utf8')) as { manifests: unknown[] };
    expect(index.manifests.length).toBeGreaterThan(0);
  });

  it('flipped the fuses in the packed binary (read back byte by byte)', async () => {
    const bin = await readFile(path.join(out, 'linux-unpacked', 'oci-explorer'));
    const at = bin.indexOf(SENTINEL) + SENTINEL.length;
    expect(bin[at]).toBe(1);
    const wire = bin.subarray(at + 2, at + 2 + bin[at + 1]!).toString('latin1');
    const fuse = (name: string) => wire[FUSES.indexOf(name)];
    expect(fuse('RunAsNode')).toBe('0');
    expect(fuse('EnableNodeOptionsEnvironmentVariable')).toBe('0');
    expect(fuse('EnableNodeCliInspectArguments')).toBe('0');
    expect(fuse('GrantFileProtocolExtraPrivileges')).toBe('0');
    expect(fuse('OnlyLoadAppFromAsar')).toBe('1');
    expect(fuse('EnableEmbeddedAsarIntegrityValidation')).toBe('1');
    expect(fuse('EnableCookieEncryption')).toBe('1');
  });
});
