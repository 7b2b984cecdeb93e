import { mkdtemp } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { defaultCore } from '../../../shared/api/core.js';
import { createHandlerTable } from '../../../shared/api/handlers.js';
import { runServe } from '../../../shared/cli/commands/serve.js';
import { io, renderer } from './serve-helpers.js';
import { startWebServer } from '../../../shared/web/server.js';

// serve's failures before it serves: a missing UI build and a port someone else holds, each with its
// own stable code and a sentence that says what to do.


const held: net.Server[] = [];
/** Listens on a free port of 127.0.0.1 (as another program would) and returns it. */
async function holdPort(): Promise<number> {
  const s = net.createServer();
  held.push(s);
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.listen({ host: '127.0.0.1', port: 0 }, () => resolve());
  });
  return (s.address() as net.AddressInfo).port;
}
afterEach(async () => {
  await Promise.all(held.splice(0).map((s) => new Promise<void>((r) => s.close(() => r()))));
});

describe('oci-explorer serve errors', () => {
  it('a missing UI build is UI_NOT_BUILT, telling to run npm run build', async () => {
    const dir = path.join(os.tmpdir(), `oe-no-ui-${process.pid}`);
    const e = await runServe(['--no-open'], io(), { rendererDir: dir }).catch((x: unknown) => x);
    expect(e).toMatchObject({ name: 'ExplorerError', code: 'UI_NOT_BUILT' });
    expect((e as Error).message).toMatch(/run `npm run build`/);
    expect((e as Error).message).toContain(dir);
  });

  it('a port already in use on 127.0.0.1 is PORT_IN_USE, naming the port and --port', async () => {
    const port = await holdPort();
    const cli = io();
    let listened = false;
    const e = await runServe(['--no-open', '--port', String(port)], cli, {
      rendererDir: await renderer(),
      stateDir: await mkdtemp(path.join(os.tmpdir(), 'oe-serve-state-')),
      signal: new AbortController().signal,
      onListening: () => (listened = true),
    }).catch((x: unknown) => x);
    expect(e).toMatchObject({ name: 'ExplorerError', code: 'PORT_IN_USE', details: { port } });
    expect((e as Error).message).toContain(`Port ${port} on 127.0.0.1 is already in use`);
    expect((e as Error).message).toMatch(/--port/);
    expect(listened).toBe(false);
    expect(cli.out.join('')).not.toMatch(/http:\/\//);
  });

  it('startWebServer itself reports PORT_IN_USE, and the table is left usable for another try', async () => {
    const port = await holdPort();
    const table = createHandlerTable({ core: defaultCore(), mode: 'web', appVersion: 'test' });
    try {
      await expect(startWebServer({ table, rendererDir: await renderer(), port })).rejects.toMatchObject({ code: 'PORT_IN_USE', details: { port } });
      const server = await startWebServer({ table, rendererDir: await renderer(), port: 0 });
      expect(server.port).not.toBe(port);
      await server.close();
    } finally {
      await table.close();
    }
  });
});
