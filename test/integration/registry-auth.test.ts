import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildGraph } from '../../shared/graph/build.js';
import { openImage } from '../../shared/layers/open-image.js';
import { closeIdleConnections } from '../../shared/registry/http.js';
import type { Credential } from '../../shared/sources/backend.js';
import { openSource } from '../../shared/sources/open.js';
import { push, verifiedBlobs, writeCredentialHelper } from '../helpers/registry.js';
import { hasCommand, startRegistry, type TestRegistry } from '../helpers/tools.js';
import type { RealisticFacts } from '../fixtures/types.js';

// Auth against real registries: htpasswd (Basic), silly (a real Bearer challenge) with a token server
// of the tests that wants Basic credentials or an identity token, credentials from Docker's
// config.json, a credential helper script on PATH, Podman's auth.json, the app's prompt; and the
// redirect middleware sending blobs to 127.0.0.2, which must never see Authorization.

const fixtures = inject('fixtures');
const rf = JSON.parse(readFileSync(fixtures.realistic.facts, 'utf8')) as RealisticFacts;
const tmp = mkdtempSync(path.join(os.tmpdir(), 'oci-registry-auth-'));
const need = !hasCommand('docker-registry') || !hasCommand('skopeo');
if (need && process.env.CI === 'true') throw new Error('docker-registry and skopeo are required under CI=true');
let n = 0;

/** An environment with only the credential files this test writes. */
function envWith(files: { docker?: unknown; podman?: unknown; runtime?: unknown }, extraPath?: string): Record<string, string | undefined> {
  const dir = path.join(tmp, `env-${++n}`);
  const env: Record<string, string | undefined> = { PATH: `${extraPath ? extraPath + ':' : ''}${process.env.PATH}`, HOME: dir, DOCKER_CONFIG: path.join(dir, 'docker'), XDG_CONFIG_HOME: path.join(dir, 'config') };
  const write = (file: string, doc: unknown) => {
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, JSON.stringify(doc));
  };
  if (files.docker) write(path.join(env.DOCKER_CONFIG!, 'config.json'), files.docker);
  if (files.podman) {
    env.REGISTRY_AUTH_FILE = path.join(dir, 'podman-auth.json');
    write(env.REGISTRY_AUTH_FILE, files.podman);
  }
  if (files.runtime) {
    env.XDG_RUNTIME_DIR = path.join(dir, 'run');
    write(path.join(env.XDG_RUNTIME_DIR, 'containers', 'auth.json'), files.runtime);
  }
  return env;
}
const b64 = (s: string) => Buffer.from(s).toString('base64');

async function graphOf(spec: string, env: Record<string, string | undefined>, prompt?: (why: string) => Credential | undefined) {
  const { source } = await openSource(spec, { env, cacheDir: path.join(tmp, `cache-${++n}`), ...(prompt ? { credentials: { ask: async (_r: string, why: string) => prompt(why) } } : {}) });
  try {
    return await buildGraph(source);
  } finally {
    await source.close();
  }
}

let basic: TestRegistry;
let bearer: TestRegistry;

beforeAll(async () => {
  basic = await startRegistry({ auth: 'htpasswd' });
  bearer = await startRegistry({ auth: 'silly', redirect: true, tokenCredentials: { username: 'alice', password: 'wonder land' }, identityToken: 'refresh-me' });
  await push(basic, `oci:${fixtures.realistic.layout}:${rf.tag}`, 'private/realistic:latest');
  await push(bearer, `oci:${fixtures.realistic.layout}:${rf.tag}`, 'team/realistic:latest');
}, 600_000);

afterAll(async () => {
  await basic?.stop();
  await bearer?.stop();
  closeIdleConnections();
  rmSync(tmp, { recursive: true, force: true });
});

describe.skipIf(need)('registry auth', () => {
  it('htpasswd: anonymous is refused with a sentence naming the registry and docker login', async () => {
    const e = await graphOf(`${basic.host}/private/realistic`, envWith({})).catch((x: unknown) => x);
    expect(e).toMatchObject({ code: 'REGISTRY_AUTH' });
    expect((e as Error).message).toMatch(new RegExp(`${basic.host.replace(/\./g, '\\.')}.*no credentials.*docker login`));
  });

  it('htpasswd: Docker config.json auths (base64 user:password), keyed with scheme and path as Docker writes them', async () => {
    const env = envWith({ docker: { auths: { [`http://${basic.host}/v2/`]: { auth: b64(`${basic.username}:${basic.password}`) } } } });
    const g = await graphOf(`${basic.host}/private/realistic`, env);
    expect(g.roots).toEqual([rf.manifestDigest]);
  });

  it('htpasswd: a wrong password in the file, then the prompt is asked once and its answer works', async () => {
    const env = envWith({ docker: { auths: { [basic.host]: { auth: b64(`${basic.username}:wrong`) } } } });
    const asked: string[] = [];
    const g = await graphOf(`${basic.host}/private/realistic`, env, (why) => {
      asked.push(why);
      return { username: basic.username!, password: basic.password! };
    });
    expect(g.roots).toEqual([rf.manifestDigest]);
    expect(asked).toHaveLength(1);
    expect(asked[0]).toMatch(/refused/);
  });

  it('htpasswd: a prompt that answers wrong ends in one clear error (no loop)', async () => {
    let asks = 0;
    const e = await graphOf(`${basic.host}/private/realistic`, envWith({}), () => (asks++, { username: 'x', password: 'y' })).catch((x: unknown) => x);
    expect(e).toMatchObject({ code: 'REGISTRY_AUTH' });
    expect(asks).toBe(1);
    expect((e as Error).message).not.toMatch(/\by\b.*\by\b/); // never the secret
    expect((e as Error).message).toMatch(/credentials prompt/);
  });

  it('Bearer (silly): a credential helper script on PATH gives the token server its Basic credentials; the registry sees only the token', async () => {
    const bin = path.join(tmp, 'bin');
    const log = path.join(tmp, 'helper.log');
    await writeCredentialHelper(bin, 'testhelper', bearer.host, 'alice', 'wonder land', log);
    const env = envWith({ docker: { credHelpers: { [bearer.host]: 'testhelper' } } }, bin);
    const before = bearer.tokenRequests.length;
    const g = await graphOf(`${bearer.host}/team/realistic:latest`, env);
    expect(g.roots).toEqual([rf.manifestDigest]);
    expect(readFileSync(log, 'utf8').trim()).toBe(bearer.host);
    const reqs = bearer.tokenRequests.slice(before);
    expect(reqs.length).toBeGreaterThanOrEqual(1);
    // One token per scope, cached: not one per request.
    expect(reqs.length).toBeLessThanOrEqual(2);
    for (const r of reqs) {
      expect(r.headers.authorization).toBe(`Basic ${b64('alice:wonder land')}`);
      const q = new URL(r.url, 'http://x').searchParams;
      expect(q.get('service')).toBe('test-registry');
      expect(q.get('scope')).toBe('repository:team/realistic:pull');
    }
  });

  it('Bearer: credsStore (a default helper for every registry) works the same', async () => {
    const bin = path.join(tmp, 'bin2');
    await writeCredentialHelper(bin, 'store2', bearer.host, 'alice', 'wonder land');
    const g = await graphOf(`${bearer.host}/team/realistic`, envWith({ docker: { credsStore: 'store2', auths: { [bearer.host]: {} } } }, bin));
    expect(g.roots).toEqual([rf.manifestDigest]);
  });

  it("Bearer: Docker's identitytoken is exchanged by an OAuth2 refresh-token POST", async () => {
    const before = bearer.tokenRequests.length;
    const g = await graphOf(`${bearer.host}/team/realistic`, envWith({ docker: { auths: { [bearer.host]: { identitytoken: 'refresh-me' } } } }));
    expect(g.roots).toEqual([rf.manifestDigest]);
    expect(bearer.tokenRequests.slice(before).map((r) => r.method)).toContain('POST');
  });

  it("Podman's auth.json: REGISTRY_AUTH_FILE, and $XDG_RUNTIME_DIR/containers/auth.json (repository-scoped key)", async () => {
    const entry = { auth: b64('alice:wonder land') };
    expect((await graphOf(`${bearer.host}/team/realistic`, envWith({ podman: { auths: { [bearer.host]: entry } } }))).roots).toEqual([rf.manifestDigest]);
    expect((await graphOf(`${bearer.host}/team/realistic`, envWith({ runtime: { auths: { [`${bearer.host}/team`]: entry } } }))).roots).toEqual([rf.manifestDigest]);
  });

  it('Bearer without credentials: the token server refuses, one clear error', async () => {
    const e = await graphOf(`${bearer.host}/team/realistic`, envWith({})).catch((x: unknown) => x);
    expect(e).toMatchObject({ code: 'REGISTRY_AUTH' });
    expect((e as Error).message).toMatch(/token server/);
  });

  it('redirect middleware: layers come from 127.0.0.2, which never sees Authorization; the layers verify', async () => {
    const env = envWith({ docker: { auths: { [bearer.host]: { auth: b64('alice:wonder land') } } } });
    const cache = path.join(tmp, 'redirect-cache');
    const before = bearer.redirectRequests.length;
    const { source } = await openSource(`${bearer.host}/team/realistic`, { env, cacheDir: cache });
    const r = await openImage(source, {}, { cacheDir: cache });
    try {
      expect(r.image.layers.layers.map((l) => [l.state, l.problems])).toEqual(rf.layers.map(() => ['ready', []]));
    } finally {
      await r.close();
    }
    const seen = bearer.redirectRequests.slice(before);
    expect(seen.length).toBeGreaterThanOrEqual(rf.layers.length);
    for (const q of seen) expect(q.headers.authorization).toBeUndefined();
    const stored = await verifiedBlobs(path.join(cache, 'store'));
    for (const l of rf.layers) expect(stored).toContain(l.digest);
  });
});
