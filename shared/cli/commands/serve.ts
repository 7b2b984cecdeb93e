import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultCore } from '../../api/core.js';
import { createHandlerTable, serializeError } from '../../api/handlers.js';
import { ExplorerError, toExplorerError } from '../../errors.js';
import { openCache } from '../../store/cache.js';
import { defaultCacheDir } from '../../store/paths.js';
import { startWebServer, type WebServer } from '../../web/server.js';
import { parseArgs, usageError } from '../args.js';
import type { CliIO } from '../io.js';

export const SERVE_USAGE = `Usage: oci-explorer serve [--port N] [--no-open] [SOURCE]

Web mode: serves the explorer UI and its API on http://127.0.0.1 only, with a random token in the URL,
and opens it in your browser (when there is one). From another machine, forward the port over SSH
(ssh -L PORT:127.0.0.1:PORT host) and open the printed URL there.

SOURCE      opened at start (an OCI layout folder or archive, as for inspect); without it, the demo image.
--port N    listen on port N (default: a free port).
--no-open   print the URL but do not start a browser.
Stop with Ctrl+C.`;

/** The checkout (or installed package) root: the nearest folder above this module with our package.json (sources or dist/cli). */
export const PACKAGE_ROOT = packageRoot(path.dirname(fileURLToPath(import.meta.url)));

function packageRoot(from: string): string {
  for (let d = from; ; d = path.dirname(d)) {
    try {
      if ((JSON.parse(readFileSync(path.join(d, 'package.json'), 'utf8')) as { name?: string }).name === 'oci-explorer') return d;
    } catch {
      // not here: go up
    }
    if (path.dirname(d) === d) return path.resolve(from, '..', '..', '..');
  }
}

/** Where recent sources and settings live, by platform convention. */
export function configDir(env: Record<string, string | undefined> = process.env): string {
  if (process.platform === 'win32') return path.join(env.APPDATA ?? path.join(os.homedir(), 'AppData', 'Roaming'), 'OCI Explorer');
  if (process.platform === 'darwin') return path.join(os.homedir(), 'Library', 'Application Support', 'OCI Explorer');
  return path.join(env.XDG_CONFIG_HOME || path.join(os.homedir(), '.config'), 'oci-explorer');
}

function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version?: string }).version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

export interface ServeOptions {
  rendererDir?: string;
  demoPath?: string;
  stateDir?: string;
  /** Stops the server when aborted (tests); otherwise SIGINT/SIGTERM. */
  signal?: AbortSignal;
  /** Called once listening (tests read the URL from here). */
  onListening?: (s: WebServer) => void;
}

function openBrowser(url: string, env: Record<string, string | undefined>): boolean {
  let cmd: string;
  let args: string[];
  if (process.platform === 'darwin') [cmd, args] = ['open', [url]];
  else if (process.platform === 'win32') [cmd, args] = ['cmd', ['/c', 'start', '""', url]];
  else if (env.DISPLAY || env.WAYLAND_DISPLAY) [cmd, args] = ['xdg-open', [url]];
  else return false;
  try {
    const child = spawn(cmd, args, { detached: true, stdio: 'ignore' });
    child.on('error', () => undefined);
    child.unref();
    return true;
  } catch {
    return false;
  }
}

export async function runServe(argv: string[], io: CliIO, opts: ServeOptions = {}): Promise<number> {
  const args = parseArgs(argv, { port: { type: 'string' }, 'no-open': { type: 'boolean' }, help: { type: 'boolean', short: 'h' } });
  if (args.options.help) {
    io.stdout(SERVE_USAGE + '\n');
    return 0;
  }
  if (args.positionals.length > 1) throw usageError('serve takes at most one SOURCE.');
  let port = 0;
  if (args.options.port !== undefined) {
    const p = String(args.options.port);
    if (!/^\d{1,5}$/.test(p) || Number(p) > 65535) throw usageError(`--port must be a number from 0 to 65535, not "${p}".`);
    port = Number(p);
  }
  const rendererDir = opts.rendererDir ?? path.join(PACKAGE_ROOT, 'dist', 'renderer');
  if (!existsSync(path.join(rendererDir, 'index.html'))) {
    throw new ExplorerError('UI_NOT_BUILT', `The UI is not built (${rendererDir} has no index.html): run \`npm run build\` first, or use \`npm run web\`, which builds and then serves.`, { rendererDir });
  }
  const demoPath = opts.demoPath ?? path.join(PACKAGE_ROOT, 'resources', 'demo');
  const cacheDir = defaultCacheDir(io.env);
  openCache(cacheDir, { env: io.env }); // --cache-max / OCI_EXPLORER_CACHE_MAX of this command line
  const table = createHandlerTable({
    cacheDir,
    core: defaultCore(),
    mode: 'web',
    appVersion: packageVersion(),
    stateDir: opts.stateDir ?? configDir(io.env),
    ...(existsSync(demoPath) ? { demoPath } : {}),
  });

  // Open what was asked for (or the demo) before printing the URL, so the first screen is never empty.
  const spec = args.positionals[0];
  // A relative path is made absolute (Recent must work from anywhere); prefixed specs pass as given.
  const given = spec && existsSync(path.resolve(io.cwd, spec)) ? path.resolve(io.cwd, spec) : spec;
  const first = given ? await table.dispatch('openSource', { spec: given }) : await table.dispatch('openDemo', {});
  if (!first.ok) {
    if (spec) {
      await table.close();
      throw new ExplorerError(first.error.code, first.error.message, first.error.details);
    }
    io.stderr(`oci-explorer serve: the demo image could not be opened (${serializeError(first.error).message}); starting empty.\n`);
  }

  let server: WebServer;
  try {
    server = await startWebServer({ table, rendererDir, port });
  } catch (e) {
    await table.close();
    // The same codes as startWebServer's, with the advice in this command's terms.
    const err = toExplorerError(e);
    if (err.code === 'PORT_IN_USE') throw new ExplorerError('PORT_IN_USE', `Port ${port} on 127.0.0.1 is already in use (by another program, or another oci-explorer serve); pick another with --port N, or leave --port out to get a free one.`, { port }, { cause: e });
    if (err.code === 'FORBIDDEN') throw new ExplorerError('FORBIDDEN', `Listening on port ${port} needs privileges this user does not have; pick a port above 1023 with --port N, or leave --port out to get a free one.`, { port }, { cause: e });
    throw err;
  }
  io.stdout(`OCI Explorer web mode: ${server.url}\n`);
  io.stdout('Serving on 127.0.0.1 only. Keep the URL private: it carries the access token. Stop with Ctrl+C.\n');
  if (!args.options['no-open'] && !opts.signal) {
    if (!openBrowser(server.url, io.env)) io.stdout('No browser found here: open the URL above (over an SSH tunnel if this machine is remote).\n');
  }
  opts.onListening?.(server);

  await new Promise<void>((resolve) => {
    if (opts.signal) {
      if (opts.signal.aborted) return resolve();
      opts.signal.addEventListener('abort', () => resolve(), { once: true });
      return;
    }
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  await server.close();
  await table.close();
  return 0;
}
