import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { credentialFiles, lookupCredential, normalizeKey } from '../../../shared/registry/credentials.js';
import { writeCredentialHelper } from '../../helpers/registry.js';

// Credential lookup as Docker, skopeo and Podman do it: the files (REGISTRY_AUTH_FILE, the Podman
// runtime file, $XDG_CONFIG_HOME/containers/auth.json, $DOCKER_CONFIG/config.json), their keys as
// tools write them, credential helpers (a script on PATH), and what happens when something is wrong.

const tmp = mkdtempSync(path.join(os.tmpdir(), 'oci-creds-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let n = 0;
const b64 = (s: string) => Buffer.from(s).toString('base64');

function setup(files: { docker?: unknown; podman?: unknown; runtime?: unknown; xdg?: unknown }, bin?: string): Record<string, string | undefined> {
  const dir = path.join(tmp, `h${++n}`);
  const env: Record<string, string | undefined> = { HOME: dir, PATH: `${bin ? bin + ':' : ''}/usr/bin:/bin`, DOCKER_CONFIG: path.join(dir, 'docker'), XDG_CONFIG_HOME: path.join(dir, 'cfg') };
  const put = (f: string, doc: unknown) => {
    mkdirSync(path.dirname(f), { recursive: true });
    writeFileSync(f, typeof doc === 'string' ? doc : JSON.stringify(doc));
  };
  if (files.docker) put(path.join(env.DOCKER_CONFIG!, 'config.json'), files.docker);
  if (files.xdg) put(path.join(env.XDG_CONFIG_HOME!, 'containers', 'auth.json'), files.xdg);
  if (files.podman) put((env.REGISTRY_AUTH_FILE = path.join(dir, 'auth.json')), files.podman);
  if (files.runtime) put(path.join((env.XDG_RUNTIME_DIR = path.join(dir, 'run')), 'containers', 'auth.json'), files.runtime);
  return env;
}

describe('credential files', () => {
  it('keys as Docker writes them: Docker Hub under https://index.docker.io/v1/, others with or without scheme and /v2/', () => {
    expect(normalizeKey('https://index.docker.io/v1/')).toBe('docker.io');
    expect(normalizeKey('registry-1.docker.io')).toBe('docker.io');
    expect(normalizeKey('http://localhost:5000/v2/')).toBe('localhost:5000');
    expect(normalizeKey('quay.io/org/repo')).toBe('quay.io/org/repo');
  });

  it('Docker config.json auths (base64 user:password) for Docker Hub', async () => {
    const env = setup({ docker: { auths: { 'https://index.docker.io/v1/': { auth: b64('me:pa:ss') } } } });
    const r = await lookupCredential('docker.io', 'library/ruby', env);
    expect(r.found?.credential).toEqual({ username: 'me', password: 'pa:ss' });
    expect(r.found?.from).toBe(path.join(env.DOCKER_CONFIG!, 'config.json'));
  });

  it('identitytoken is kept as an OAuth2 refresh token', async () => {
    const env = setup({ docker: { auths: { 'ghcr.io': { auth: b64('me:'), identitytoken: 'refresh' } } } });
    expect((await lookupCredential('ghcr.io', 'o/r', env)).found?.credential).toMatchObject({ identityToken: 'refresh' });
  });

  it('order: REGISTRY_AUTH_FILE, else $XDG_RUNTIME_DIR/containers/auth.json; then $XDG_CONFIG_HOME/containers/auth.json; then Docker', async () => {
    const e = (u: string) => ({ auths: { 'r.test': { auth: b64(`${u}:x`) } } });
    expect((await lookupCredential('r.test', 'a', setup({ podman: e('podman'), runtime: e('runtime'), docker: e('docker') }))).found?.credential.username).toBe('podman');
    expect((await lookupCredential('r.test', 'a', setup({ runtime: e('runtime'), xdg: e('xdg'), docker: e('docker') }))).found?.credential.username).toBe('runtime');
    expect((await lookupCredential('r.test', 'a', setup({ xdg: e('xdg'), docker: e('docker') }))).found?.credential.username).toBe('xdg');
    expect((await lookupCredential('r.test', 'a', setup({ docker: e('docker') }))).found?.credential.username).toBe('docker');
    const env = setup({});
    expect(credentialFiles(env)).toEqual([path.join(env.XDG_CONFIG_HOME!, 'containers', 'auth.json'), path.join(env.DOCKER_CONFIG!, 'config.json')]);
  });

  it("Podman's repository-scoped keys: the most specific one wins", async () => {
    const env = setup({ podman: { auths: { 'r.test': { auth: b64('host:x') }, 'r.test/team': { auth: b64('team:x') }, 'r.test/team/app': { auth: b64('app:x') } } } });
    expect((await lookupCredential('r.test', 'team/app', env)).found?.credential.username).toBe('app');
    expect((await lookupCredential('r.test', 'team/other', env)).found?.credential.username).toBe('team');
    expect((await lookupCredential('r.test', 'teammate/x', env)).found?.credential.username).toBe('host');
  });

  it('nothing for the registry → anonymous (no note); an unreadable file → a note, not an error', async () => {
    expect(await lookupCredential('r.test', 'a', setup({ docker: { auths: { other: { auth: b64('u:p') } } } }))).toEqual({ notes: [] });
    const bad = await lookupCredential('r.test', 'a', setup({ docker: '{not json' }));
    expect(bad.found).toBeUndefined();
    expect(bad.notes.join()).toMatch(/not valid JSON and was ignored/);
  });
});

describe('credential helpers (docker-credential-<name> get)', () => {
  it('credHelpers: the helper gets the server on stdin (Docker Hub: https://index.docker.io/v1/) and its JSON answer is used', async () => {
    const bin = path.join(tmp, 'bin-a');
    const log = path.join(tmp, 'a.log');
    await writeCredentialHelper(bin, 'a', 'https://index.docker.io/v1/', 'hubuser', 's3cret', log);
    const env = setup({ docker: { credHelpers: { 'docker.io': 'a' } } }, bin);
    const r = await lookupCredential('docker.io', 'library/ruby', env);
    expect(r.found).toEqual({ credential: { username: 'hubuser', password: 's3cret' }, from: `docker-credential-a (named in ${path.join(env.DOCKER_CONFIG!, 'config.json')})` });
    expect(readFileSync(log, 'utf8')).toBe('https://index.docker.io/v1/\n');
  });

  it('Username "<token>" means the secret is an identity token', async () => {
    const bin = path.join(tmp, 'bin-b');
    await writeCredentialHelper(bin, 'b', 'r.test', '<token>', 'refresh-xyz');
    expect((await lookupCredential('r.test', 'x', setup({ docker: { credsStore: 'b' } }, bin))).found?.credential).toEqual({ identityToken: 'refresh-xyz' });
  });

  it('"credentials not found" from the helper → the auths entry of the same file, else anonymous', async () => {
    const bin = path.join(tmp, 'bin-c');
    await writeCredentialHelper(bin, 'c', 'elsewhere', 'u', 'p');
    const env = setup({ docker: { credsStore: 'c', auths: { 'r.test': { auth: b64('file:pw') } } } }, bin);
    expect((await lookupCredential('r.test', 'x', env)).found?.credential.username).toBe('file');
    expect((await lookupCredential('other.test', 'x', env)).found).toBeUndefined();
  });

  it('a helper that is missing or fails is a note (never its output: it may hold a secret)', async () => {
    const missing = await lookupCredential('r.test', 'x', setup({ docker: { credHelpers: { 'r.test': 'nope' } } }));
    expect(missing.found).toBeUndefined();
    expect(missing.notes.join()).toMatch(/docker-credential-nope is not on PATH/);
    const bin = path.join(tmp, 'bin-d');
    mkdirSync(bin, { recursive: true });
    writeFileSync(path.join(bin, 'docker-credential-leaky'), '#!/bin/sh\necho "password=hunter2"\nexit 3\n');
    chmodSync(path.join(bin, 'docker-credential-leaky'), 0o755);
    const failed = await lookupCredential('r.test', 'x', setup({ docker: { credsStore: 'leaky' } }, bin));
    expect(failed.notes.join()).toMatch(/docker-credential-leaky get exited with status 3/);
    expect(failed.notes.join()).not.toMatch(/hunter2/);
  });

  it('a helper name that is not a plain name is not run', async () => {
    const r = await lookupCredential('r.test', 'x', setup({ docker: { credsStore: '../../bin/sh' } }));
    expect(r.found).toBeUndefined();
    expect(r.notes.join()).toMatch(/not a credential helper name/);
  });
});
