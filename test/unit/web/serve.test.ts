import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runServe } from '../../../shared/cli/commands/serve.js';
import { io, renderer } from './serve-helpers.js';
import type { WebServer } from '../../../shared/web/server.js';


describe('oci-explorer serve', () => {
  it('opens the demo, prints a loopback URL with a token, serves the API, and stops when asked', async () => {
    const ac = new AbortController();
    const cli = io();
    const rendererDir = await renderer();
    let server!: WebServer;
    let listening!: () => void;
    const ready = new Promise<void>((r) => (listening = r));
    const exit = runServe(['--no-open'], cli, {
      rendererDir,
      stateDir: await mkdtemp(path.join(os.tmpdir(), 'oe-serve-state-')),
      signal: ac.signal,
      onListening: (s) => {
        server = s;
        listening();
      },
    });
    await ready;
    expect(cli.out.join('')).toMatch(/http:\/\/127\.0\.0\.1:\d+\/\?token=[A-Za-z0-9_-]{43}/);
    const r = await fetch(`${server.origin}/api/listSources`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-explorer-token': server.token }, body: '{}' });
    const env = (await r.json()) as { ok: boolean; value: { demo?: boolean }[] };
    expect(env.value).toEqual([expect.objectContaining({ demo: true })]);
    ac.abort();
    expect(await exit).toBe(0);
  });

  it('refuses a bad port, two sources, and a missing UI build with clear errors', async () => {
    await expect(runServe(['--port', 'abc'], io(), { rendererDir: await renderer() })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(runServe(['a', 'b'], io(), { rendererDir: await renderer() })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(runServe([], io(), { rendererDir: path.join(os.tmpdir(), 'oe-no-such-dir') })).rejects.toThrow(/npm run build/);
  });

  it('fails clearly when the SOURCE cannot be opened', async () => {
    await expect(runServe(['--no-open', '/no/such/path'], io(), { rendererDir: await renderer(), signal: AbortSignal.abort() })).rejects.toMatchObject({ code: 'SOURCE_NOT_FOUND' });
  });

  it('opens a relative SOURCE against the working directory and keeps prefixed specs as given', async () => {
    const ac = new AbortController();
    const cli = { ...io(), cwd: path.resolve(__dirname, '../../../resources') };
    let server!: WebServer;
    let listening!: () => void;
    const ready = new Promise<void>((r) => (listening = r));
    const exit = runServe(['--no-open', 'demo'], cli, { rendererDir: await renderer(), stateDir: await mkdtemp(path.join(os.tmpdir(), 'oe-serve-state-')), signal: ac.signal, onListening: (s) => ((server = s), listening()) });
    await ready;
    const r = await fetch(`${server.origin}/api/listSources`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-explorer-token': server.token }, body: '{}' });
    const env = (await r.json()) as { value: { location: string; demo?: boolean }[] };
    expect(env.value).toEqual([expect.objectContaining({ location: path.resolve(__dirname, '../../../resources/demo') })]);
    expect(env.value[0]!.demo).toBeUndefined();
    ac.abort();
    await exit;
    await expect(runServe(['--no-open', 'oci:/no/such/layout:tag'], io(), { rendererDir: await renderer(), signal: AbortSignal.abort() })).rejects.toMatchObject({ message: expect.stringContaining('/no/such/layout') });
  });
});
