import { ExplorerError } from '../errors.js';
import type { Credential, CredentialPrompt } from '../sources/backend.js';
import { lookupCredential, type FoundCredential } from './credentials.js';
import { checkScheme, readBody, redact, send } from './http.js';

// Registry auth (distribution's token spec): a 401 names the scheme in WWW-Authenticate. Bearer: get a
// token from the challenge's realm for (service, scope) — anonymously, with Basic credentials, or with
// an OAuth2 refresh token (Docker's identitytoken) — cache it per scope until expires_in, and send it.
// Basic: send the credentials. Credentials are looked up on the first challenge (config files and
// helpers), then asked for once through the app's prompt. A realm that downgrades https to http is
// refused. Secrets never appear in errors.

export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/** Parses WWW-Authenticate (RFC 7235): several challenges, quoted strings with escapes. */
export function parseChallenges(header: string | string[] | undefined): Challenge[] {
  const text = Array.isArray(header) ? header.join(', ') : header ?? '';
  const out: Challenge[] = [];
  let i = 0;
  const ws = () => {
    while (i < text.length && /[\s,]/.test(text[i]!)) i++;
  };
  const token = (): string => {
    const m = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+/.exec(text.slice(i));
    if (!m) return '';
    i += m[0].length;
    return m[0];
  };
  while (i < text.length) {
    ws();
    const scheme = token();
    if (!scheme) {
      i++;
      continue;
    }
    const ch: Challenge = { scheme: scheme.toLowerCase(), params: {} };
    out.push(ch);
    for (;;) {
      const save = i;
      ws();
      const name = token();
      let j = i;
      while (j < text.length && text[j] === ' ') j++;
      if (!name || text[j] !== '=') {
        i = save; // the next challenge's scheme: the outer loop takes it
        break;
      }
      i = j + 1;
      while (i < text.length && text[i] === ' ') i++;
      let value = '';
      if (text[i] === '"') {
        i++;
        while (i < text.length && text[i] !== '"') {
          if (text[i] === '\\' && i + 1 < text.length) i++;
          value += text[i];
          i++;
        }
        i++;
      } else {
        const m = /^[^,\s]*/.exec(text.slice(i))!;
        value = m[0];
        i += value.length;
      }
      ch.params[name.toLowerCase()] = value;
    }
  }
  return out;
}

export interface AuthOptions {
  /** The registry as named in references (credential keys): `docker.io`, `localhost:5000`. */
  registry: string;
  /** The URL the registry is reached at (to refuse realm downgrades and misdirected tokens). */
  base: URL;
  repository: string;
  env: Record<string, string | undefined>;
  prompt?: CredentialPrompt;
  insecure: boolean;
  stallMs?: number;
}

interface Token {
  value: string;
  expires: number;
}

const basic = (c: Credential) => `Basic ${Buffer.from(`${c.username ?? ''}:${c.password ?? ''}`, 'utf8').toString('base64')}`;

/** One registry's auth state, shared by every request a client makes. */
export class Authenticator {
  private scheme: 'none' | 'bearer' | 'basic' = 'none';
  private bearer?: { realm: URL; service?: string };
  private readonly tokens = new Map<string, Token>();
  private readonly pending = new Map<string, Promise<string>>();
  private cred?: FoundCredential;
  private looked = false;
  private prompted = false;
  private readonly notes: string[] = [];
  /** Bumped when the credentials change; a scope's token is retried fresh once per generation. */
  private generation = 0;
  /** Bumped at every change of what requests send (a token dropped, new credentials). */
  private changes = 0;
  private readonly retried = new Map<string, number>();
  private escalation?: Promise<void>;

  constructor(private readonly o: AuthOptions) {}

  /** The Authorization header for a request in `scope`, fetching a token when needed. */
  async header(scope: string, signal?: AbortSignal): Promise<string | undefined> {
    if (this.scheme === 'basic') return this.cred ? basic(this.cred.credential) : undefined;
    if (this.scheme !== 'bearer') return undefined;
    if (this.cred?.credential.registryToken) return `Bearer ${this.cred.credential.registryToken}`;
    return `Bearer ${await this.token(scope, signal)}`;
  }

  /** A stamp to pass back to challenged(): tells a refusal of stale state from a refusal of the current one. */
  stamp(): number {
    return this.changes;
  }

  /**
   * Learns from a 401 to a request that carried `sentAuth` (or none) and was sent at `sentStamp`: the
   * scheme and realm, and what the next try sends. A refused token is first replaced by a fresh one
   * (tokens expire); refused again, or refused Basic credentials, lead to other credentials (the files
   * if not read yet, then one prompt). A refusal of what was already replaced only retries; concurrent
   * escalations are one. Throws REGISTRY_AUTH when nothing is left.
   */
  async challenged(wwwAuthenticate: string | string[] | undefined, scope: string, sentAuth: string | undefined, sentStamp = this.changes, signal?: AbortSignal): Promise<void> {
    const chs = parseChallenges(wwwAuthenticate);
    const ch = chs.find((c) => c.scheme === 'bearer') ?? chs.find((c) => c.scheme === 'basic');
    if (!ch) throw this.refused(`it answered 401 without a usable WWW-Authenticate challenge (${chs.map((c) => c.scheme).join(', ') || 'none'})`);
    if (ch.scheme === 'bearer') {
      const realm = this.realmOf(ch.params.realm);
      this.scheme = 'bearer';
      this.bearer = { realm, ...(ch.params.service ? { service: ch.params.service } : {}) };
      if (!sentAuth) return this.loadCredentials(signal);
      if (sentStamp < this.changes) return;
      if (this.retried.get(scope) !== this.generation) {
        this.retried.set(scope, this.generation);
        this.tokens.delete(scope);
        this.changes++;
        return;
      }
      return this.escalate(signal, 'the registry refused access with the credentials it was given');
    }
    this.scheme = 'basic';
    if (!sentAuth) {
      await this.loadCredentials(signal);
      if (!this.cred) await this.escalate(signal, 'the registry requires a user name and password');
      return;
    }
    if (sentStamp < this.changes) return;
    return this.escalate(signal, 'the registry refused the user name and password');
  }

  private escalate(signal: AbortSignal | undefined, why: string): Promise<void> {
    const gen = this.generation;
    this.escalation ??= this.moreCredentials(signal, why).finally(() => (this.escalation = undefined));
    // A caller whose refusal predates new credentials only needs to try again with them.
    return this.escalation.catch((e: unknown) => {
      if (this.generation !== gen) return;
      throw e;
    });
  }

  /** Notes gathered on the way (credential helper failures), for error messages. */
  get why(): string {
    return this.notes.length ? ` (${this.notes.join('; ')})` : '';
  }

  private realmOf(realm: string | undefined): URL {
    let url: URL;
    try {
      url = new URL(realm ?? '');
    } catch {
      throw this.refused(`its token realm "${realm ?? ''}" is not a URL`);
    }
    if (this.o.base.protocol === 'https:' && url.protocol !== 'https:') {
      throw new ExplorerError(
        'REGISTRY_AUTH',
        `${this.o.registry} asks for credentials at ${redact(url)} over plain HTTP although the registry itself uses HTTPS; refusing to send credentials there. The registry is misconfigured or the connection is being tampered with.`,
        { registry: this.o.registry, realm: redact(url) },
      );
    }
    checkScheme(url, this.o.insecure);
    return url;
  }

  private refused(why: string): ExplorerError {
    return new ExplorerError(
      'REGISTRY_AUTH',
      `${this.o.registry} refused access to ${this.o.repository}: ${why}${this.why}. Log in (docker login ${this.o.registry}, or podman login) and check the repository name, then try again.`,
      { registry: this.o.registry, repository: this.o.repository },
    );
  }

  private async loadCredentials(signal?: AbortSignal): Promise<void> {
    if (this.looked) return;
    this.looked = true;
    const r = await lookupCredential(this.o.registry, this.o.repository, this.o.env, signal);
    this.notes.push(...r.notes);
    if (r.found) this.cred = r.found;
  }

  /** After a refusal: credentials from the files if not tried yet, else one prompt; else REGISTRY_AUTH. */
  private async moreCredentials(signal: AbortSignal | undefined, why: string): Promise<void> {
    if (!this.looked) {
      await this.loadCredentials(signal);
      if (this.cred) {
        this.generation++;
        this.changes++;
        this.tokens.clear();
        return;
      }
    }
    if (this.o.prompt && !this.prompted) {
      this.prompted = true;
      const c = await this.o.prompt.ask(this.o.registry, why, signal ?? new AbortController().signal);
      if (c) {
        this.cred = { credential: c, from: 'the credentials prompt' };
        this.generation++;
        this.changes++;
        this.tokens.clear();
        return;
      }
    }
    throw this.refused(this.cred ? `${why} (credentials from ${this.cred.from})` : `${why}, and no credentials for it were found`);
  }

  private token(scope: string, signal?: AbortSignal): Promise<string> {
    const t = this.tokens.get(scope);
    if (t && t.expires > Date.now()) return Promise.resolve(t.value);
    let p = this.pending.get(scope);
    if (!p) {
      p = this.fetchToken(scope, signal).finally(() => this.pending.delete(scope));
      this.pending.set(scope, p);
    }
    return p;
  }

  private async fetchToken(scope: string, signal?: AbortSignal): Promise<string> {
    const b = this.bearer!;
    const c = this.cred?.credential;
    const url = new URL(b.realm);
    const headers: Record<string, string> = { accept: 'application/json' };
    let res;
    if (c?.identityToken) {
      // OAuth2 refresh-token grant, as Docker does with an identitytoken.
      const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: c.identityToken, client_id: 'oci-explorer', scope });
      if (b.service) form.set('service', b.service);
      headers['content-type'] = 'application/x-www-form-urlencoded';
      res = await send({ method: 'POST', url, headers, body: Buffer.from(form.toString()), insecureTls: this.o.insecure, ...(signal ? { signal } : {}), ...(this.o.stallMs ? { stallMs: this.o.stallMs } : {}) });
    } else {
      if (b.service) url.searchParams.set('service', b.service);
      url.searchParams.set('scope', scope);
      if (c?.password !== undefined) headers.authorization = basic(c);
      res = await send({ method: 'GET', url, headers, insecureTls: this.o.insecure, ...(signal ? { signal } : {}), ...(this.o.stallMs ? { stallMs: this.o.stallMs } : {}) });
    }
    if (res.status === 401 || res.status === 403) {
      res.discard();
      await this.escalate(signal, `its token server ${url.host} refused ${c ? `the credentials from ${this.cred!.from}` : 'an anonymous token'} (HTTP ${res.status})`);
      return this.fetchToken(scope, signal);
    }
    if (res.status !== 200) {
      res.discard();
      throw new ExplorerError('REGISTRY_AUTH', `The token server of ${this.o.registry} (${url.host}) answered HTTP ${res.status}; try again later.`, { registry: this.o.registry, status: res.status });
    }
    const body = await readBody(res, 1024 * 1024, 'The token answer');
    let doc: { token?: unknown; access_token?: unknown; expires_in?: unknown };
    try {
      doc = JSON.parse(body.toString('utf8')) as typeof doc;
    } catch {
      throw new ExplorerError('REGISTRY_AUTH', `The token server of ${this.o.registry} (${url.host}) did not answer JSON.`, { registry: this.o.registry });
    }
    const value = typeof doc.token === 'string' && doc.token ? doc.token : typeof doc.access_token === 'string' ? doc.access_token : '';
    if (!value) throw new ExplorerError('REGISTRY_AUTH', `The token server of ${this.o.registry} (${url.host}) answered without a token.`, { registry: this.o.registry });
    // The spec's default lifetime is 60 s; renew 10 s early (and keep at least 5 s).
    const ttl = typeof doc.expires_in === 'number' && doc.expires_in > 0 ? doc.expires_in : 60;
    this.tokens.set(scope, { value, expires: Date.now() + Math.max(5, ttl - 10) * 1000 });
    return value;
  }
}
