import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EngineClient, engineEndpoint, imagePath } from '../../../shared/docker/engine.js';
import { engineReference, listDockerImages } from '../../../shared/sources/docker-daemon.js';
import { openSource } from '../../../shared/sources/open.js';

// The Engine API client's choices and error sentences that need no engine; the answers of a real
// dockerd (images, exports, error replies, a socket we may not use) are in
// test/integration/docker-sources.test.ts.

const tmp = mkdtempSync(path.join(os.tmpdir(), 'docker-engine-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const never = new AbortController().signal;

describe('engine endpoint', () => {
  it('DOCKER_HOST unix:// and loopback tcp:// are used; the default socket otherwise; Podman at $XDG_RUNTIME_DIR', () => {
    expect(engineEndpoint({})).toMatchObject({ socketPath: '/var/run/docker.sock', podman: false });
    expect(engineEndpoint({ DOCKER_HOST: 'unix:///tmp/x.sock' })).toMatchObject({ socketPath: '/tmp/x.sock', label: 'unix:///tmp/x.sock' });
    expect(engineEndpoint({ DOCKER_HOST: 'tcp://127.0.0.1:2375' })).toMatchObject({ host: '127.0.0.1', port: 2375 });
    expect(engineEndpoint({ DOCKER_HOST: 'tcp://[::1]:2376' })).toMatchObject({ host: '::1', port: 2376 });
    expect(engineEndpoint({ XDG_RUNTIME_DIR: '/run/user/1000' }, { podman: true })).toMatchObject({ socketPath: '/run/user/1000/podman/podman.sock', podman: true });
  });

  it('refuses remote engines, TLS and other schemes with a sentence that says what to do', () => {
    expect(() => engineEndpoint({ DOCKER_HOST: 'tcp://10.0.0.5:2375' })).toThrow(/remote engine.*SSH tunnel/);
    expect(() => engineEndpoint({ DOCKER_HOST: 'tcp://127.0.0.1:2376', DOCKER_TLS_VERIFY: '1' })).toThrow(/TLS/);
    expect(() => engineEndpoint({ DOCKER_HOST: 'ssh://me@host' })).toThrow(/ssh:\/\/.*docker save/);
    expect(() => engineEndpoint({ DOCKER_HOST: 'unix://' })).toThrow(/names no socket/);
  });

  it('references: NAME gets :latest, IDs and digests stay, odd characters are refused before asking', () => {
    expect(engineReference('busybox', false)).toBe('busybox:latest');
    expect(engineReference('localhost:5000/app', false)).toBe('localhost:5000/app:latest');
    expect(engineReference('app:1.2', false)).toBe('app:1.2');
    expect(engineReference('sha256:' + 'a'.repeat(64), false)).toBe('sha256:' + 'a'.repeat(64));
    expect(engineReference('0123456789ab', false)).toBe('0123456789ab');
    expect(() => engineReference(' ', false)).toThrow(/names no image/);
    expect(() => imagePath('a b')).toThrow(/not an image name/);
    expect(() => imagePath('../../containers/json')).toThrow(/not an image name/);
  });
});

describe('engine errors without an engine', () => {
  it('a missing socket says to start Docker or set DOCKER_HOST', async () => {
    const sock = path.join(tmp, 'none.sock');
    await expect(listDockerImages({ env: { DOCKER_HOST: `unix://${sock}` }, signal: never })).rejects.toMatchObject({ code: 'DOCKER_UNAVAILABLE', message: expect.stringContaining(`No Docker engine at unix://${sock}: the socket does not exist`) });
    await expect(openSource(`docker-daemon:busybox`, { env: { DOCKER_HOST: `unix://${sock}` } })).rejects.toMatchObject({ code: 'DOCKER_UNAVAILABLE' });
    await expect(openSource(`podman:busybox`, { env: { XDG_RUNTIME_DIR: tmp } })).rejects.toMatchObject({ code: 'DOCKER_UNAVAILABLE', message: expect.stringContaining('podman.socket') });
  });

  it('a socket nobody listens on says the engine is not running', async () => {
    const sock = path.join(tmp, 'dead.sock');
    writeFileSync(sock, '');
    await expect(new EngineClient(engineEndpoint({ DOCKER_HOST: `unix://${sock}` })).ping()).rejects.toMatchObject({ code: 'DOCKER_UNAVAILABLE', message: expect.stringContaining('connection refused') });
  });
});
