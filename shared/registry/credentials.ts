import { spawn } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Credential } from '../sources/backend.js';
import { DOCKER_HUB, DOCKER_HUB_CREDENTIAL_KEY } from './reference.js';

// Where a registry's credentials come from, in containers/image's order (what skopeo and Podman read):
// $REGISTRY_AUTH_FILE, else $XDG_RUNTIME_DIR/containers/auth.json; $XDG_CONFIG_HOME/containers/auth.json;
// $DOCKER_CONFIG/config.json (default ~/.docker/config.json). In each file a `credHelpers` entry for the
// registry, then `credsStore`, then `auths` (base64 user:password, or an `identitytoken`). Helpers run as
// `docker-credential-<name> get` with the server URL on stdin. Nothing found → anonymous. Secrets are
// never logged or put in an error; a failing helper is noted (not fatal) so a later 401 can say why.

export interface FoundCredential {
  credential: Credential;
  /** Where it came from, for messages: a file path or `docker-credential-<name>`. Never the secret. */
  from: string;
}

export interface LookupResult {
  found?: FoundCredential;
  /** Things that went wrong on the way (an unreadable file, a helper that failed), for error messages. */
  notes: string[];
}

interface AuthEntry {
  auth?: unknown;
  username?: unknown;
  password?: unknown;
  identitytoken?: unknown;
  registrytoken?: unknown;
}

interface ConfigFile {
  auths?: Record<string, AuthEntry>;
  credHelpers?: Record<string, string>;
  credsStore?: string;
}

/** The candidate files, most specific first. */
export function credentialFiles(env: Record<string, string | undefined>): string[] {
  const home = env.HOME || os.homedir();
  const files: string[] = [];
  if (env.REGISTRY_AUTH_FILE) files.push(env.REGISTRY_AUTH_FILE);
  else if (env.XDG_RUNTIME_DIR) files.push(path.join(env.XDG_RUNTIME_DIR, 'containers', 'auth.json'));
  files.push(path.join(env.XDG_CONFIG_HOME || path.join(home, '.config'), 'containers', 'auth.json'));
  files.push(path.join(env.DOCKER_CONFIG || path.join(home, '.docker'), 'config.json'));
  return [...new Set(files)];
}

/** A config key reduced to host[/path] as the registry is named: scheme and /v1/ /v2/ suffixes go. */
export function normalizeKey(key: string): string {
  let k = key.trim().replace(/^[a-z]+:\/\//i, '');
  k = k.replace(/\/+(v1|v2)\/*$/, '').replace(/\/+$/, '');
  if (k === 'index.docker.io' || k === 'registry-1.docker.io') k = DOCKER_HUB;
  if (k.startsWith('index.docker.io/') || k.startsWith('registry-1.docker.io/')) k = DOCKER_HUB + k.slice(k.indexOf('/'));
  return k;
}

/** The server URL Docker hands a credential helper for this registry. */
export function helperServerUrl(registry: string): string {
  return registry === DOCKER_HUB ? DOCKER_HUB_CREDENTIAL_KEY : registry;
}

/** The most specific `auths` / `credHelpers` key for registry/repository (Podman allows repo-scoped keys). */
function bestKey<T>(map: Record<string, T> | undefined, registry: string, repository: string): T | undefined {
  if (!map || typeof map !== 'object') return undefined;
  const full = `${registry}/${repository}`;
  let best: { len: number; v: T } | undefined;
  for (const [k, v] of Object.entries(map)) {
    const n = normalizeKey(k);
    if (n === registry || full === n || full.startsWith(n + '/')) {
      if (!best || n.length > best.len) best = { len: n.length, v };
    }
  }
  return best?.v;
}

function fromEntry(e: AuthEntry): Credential | undefined {
  if (!e || typeof e !== 'object') return undefined;
  const c: Credential = {};
  if (typeof e.auth === 'string' && e.auth) {
    const text = Buffer.from(e.auth, 'base64').toString('utf8');
    const i = text.indexOf(':');
    if (i > 0) {
      c.username = text.slice(0, i);
      c.password = text.slice(i + 1);
    }
  } else if (typeof e.username === 'string' && typeof e.password === 'string') {
    c.username = e.username;
    c.password = e.password;
  }
  if (typeof e.identitytoken === 'string' && e.identitytoken) c.identityToken = e.identitytoken;
  if (typeof e.registrytoken === 'string' && e.registrytoken) c.registryToken = e.registrytoken;
  return c.password || c.identityToken || c.registryToken ? c : undefined;
}

/** Runs `docker-credential-<name> get`; undefined when the helper has nothing for this server. */
export async function runHelper(name: string, serverUrl: string, env: Record<string, string | undefined>, signal?: AbortSignal): Promise<Credential | undefined> {
  if (!/^[A-Za-z0-9._-]+$/.test(name)) throw new Error(`"${name}" is not a credential helper name`);
  const cmd = `docker-credential-${name}`;
  const out = await new Promise<{ code: number; stdout: string }>((resolve, reject) => {
    const child = spawn(cmd, ['get'], { env: env as NodeJS.ProcessEnv, stdio: ['pipe', 'pipe', 'ignore'], ...(signal ? { signal } : {}) });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => chunks.push(b));
    child.on('error', (e: NodeJS.ErrnoException) => reject(new Error(e.code === 'ENOENT' ? `${cmd} is not on PATH` : `${cmd} could not run (${e.code ?? e.message})`)));
    child.on('close', (code) => resolve({ code: code ?? 1, stdout: Buffer.concat(chunks).toString('utf8') }));
    child.stdin.on('error', () => {});
    child.stdin.end(serverUrl);
  });
  if (out.code !== 0) {
    if (/credentials not found|not found in native keychain/i.test(out.stdout)) return undefined;
    // stdout may hold anything, even a secret: report the exit status only.
    throw new Error(`${cmd} get exited with status ${out.code}`);
  }
  let doc: { Username?: unknown; Secret?: unknown };
  try {
    doc = JSON.parse(out.stdout) as typeof doc;
  } catch {
    throw new Error(`${cmd} get did not print JSON`);
  }
  const user = typeof doc.Username === 'string' ? doc.Username : '';
  const secret = typeof doc.Secret === 'string' ? doc.Secret : '';
  if (!secret) return undefined;
  return user === '<token>' ? { identityToken: secret } : { username: user, password: secret };
}

async function readConfig(file: string, notes: string[]): Promise<ConfigFile | undefined> {
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') notes.push(`${file} could not be read (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
    return undefined;
  }
  try {
    const doc = JSON.parse(text) as unknown;
    return doc && typeof doc === 'object' ? (doc as ConfigFile) : undefined;
  } catch {
    notes.push(`${file} is not valid JSON and was ignored`);
    return undefined;
  }
}

/** Finds credentials for `registry` (as named in the reference) and `repository`. */
export async function lookupCredential(registry: string, repository: string, env: Record<string, string | undefined>, signal?: AbortSignal): Promise<LookupResult> {
  const notes: string[] = [];
  for (const file of credentialFiles(env)) {
    const cfg = await readConfig(file, notes);
    if (!cfg) continue;
    const helpers: string[] = [];
    const own = bestKey(cfg.credHelpers, registry, repository);
    if (typeof own === 'string' && own) helpers.push(own);
    else if (typeof cfg.credsStore === 'string' && cfg.credsStore) helpers.push(cfg.credsStore);
    for (const h of helpers) {
      try {
        const c = await runHelper(h, helperServerUrl(registry), env, signal);
        if (c) return { found: { credential: c, from: `docker-credential-${h} (named in ${file})` }, notes };
      } catch (e) {
        if (signal?.aborted) throw e;
        notes.push(`the credential helper named in ${file} failed: ${(e as Error).message}`);
      }
    }
    const entry = bestKey(cfg.auths, registry, repository);
    const c = entry ? fromEntry(entry) : undefined;
    if (c) return { found: { credential: c, from: file }, notes };
  }
  return { notes };
}
