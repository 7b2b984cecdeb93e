import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { ExplorerError } from '../errors.js';

// A small Docker Engine API client (also Podman's Docker-compatible API) over the local socket with
// node:http's socketPath: `/_ping`, `/images/json`, `/images/{name}/json`, `/images/{name}/get`.
// Unversioned paths: the engine answers with its own API version, so old and new engines both work.
// Only local engines: a unix socket, or tcp:// to a loopback address (never a remote host).

export interface EngineEndpoint {
  /** unix socket path, or undefined for tcp. */
  socketPath?: string;
  host?: string;
  port?: number;
  /** What to show the user: unix:///var/run/docker.sock, tcp://127.0.0.1:2375. */
  label: string;
  /** Podman answers here (the `podman:` transport). */
  podman: boolean;
}

const DEFAULT_SOCKET = '/var/run/docker.sock';
const MAX_JSON = 64 * 1024 * 1024;

function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '');
  if (h === 'localhost' || h === '::1') return true;
  return net.isIPv4(h) && h.startsWith('127.');
}

/** Where the engine listens: DOCKER_HOST (unix:// or loopback tcp://), else the default socket; Podman's user socket for `podman`. */
export function engineEndpoint(env: Record<string, string | undefined>, opts: { podman?: boolean } = {}): EngineEndpoint {
  if (opts.podman) {
    const socket = env.XDG_RUNTIME_DIR ? path.join(env.XDG_RUNTIME_DIR, 'podman', 'podman.sock') : '/run/podman/podman.sock';
    return { socketPath: socket, label: `unix://${socket}`, podman: true };
  }
  const host = env.DOCKER_HOST?.trim();
  if (!host) return { socketPath: DEFAULT_SOCKET, label: `unix://${DEFAULT_SOCKET}`, podman: false };
  if (host.startsWith('unix://')) {
    const socket = host.slice('unix://'.length);
    if (!socket) throw new ExplorerError('INVALID_ARGUMENT', `DOCKER_HOST=${host} names no socket. Set it to unix:///path/to/docker.sock, or unset it to use ${DEFAULT_SOCKET}.`);
    return { socketPath: socket, label: host, podman: false };
  }
  if (host.startsWith('tcp://') || host.startsWith('http://')) {
    let u: URL;
    try {
      u = new URL(host.replace(/^tcp:/, 'http:'));
    } catch {
      throw new ExplorerError('INVALID_ARGUMENT', `DOCKER_HOST=${host} is not a valid address. Use unix:///path/to/docker.sock or tcp://127.0.0.1:PORT.`);
    }
    if (!isLoopback(u.hostname)) {
      throw new ExplorerError(
        'SOURCE_UNSUPPORTED',
        `DOCKER_HOST=${host} is a remote engine; docker-daemon: reads local engines only (a unix socket or tcp:// on 127.0.0.1). Reach a remote engine through an SSH tunnel to a local port, or save the image (docker save -o image.tar NAME) and open the file.`,
        { host },
      );
    }
    if (env.DOCKER_TLS_VERIFY) {
      throw new ExplorerError('SOURCE_UNSUPPORTED', `DOCKER_HOST=${host} with DOCKER_TLS_VERIFY set needs TLS client certificates, which docker-daemon: does not use. Use the engine's unix socket instead.`, { host });
    }
    return { host: u.hostname.replace(/^\[|\]$/g, ''), port: Number(u.port || 2375), label: host, podman: false };
  }
  const scheme = host.split('://')[0];
  throw new ExplorerError('SOURCE_UNSUPPORTED', `DOCKER_HOST=${host} uses ${scheme}://, which docker-daemon: cannot reach; it talks to unix:// sockets and loopback tcp:// only. Save the image (docker save -o image.tar NAME) and open the file instead.`, { host });
}

/** The engine's JSON error reply `{"message": …}`, or the raw text. */
function engineMessage(body: string): string {
  try {
    const m = (JSON.parse(body) as { message?: unknown })?.message;
    if (typeof m === 'string' && m) return m;
  } catch {
    // not JSON
  }
  return body.trim().slice(0, 500) || '(no message)';
}

export class EngineClient {
  constructor(readonly endpoint: EngineEndpoint) {}

  private get who(): string {
    return this.endpoint.podman ? 'Podman' : 'Docker';
  }

  /** A sentence for a failed connection: no socket, nobody listening, no permission. */
  private connectError(e: NodeJS.ErrnoException): ExplorerError {
    const where = this.endpoint.label;
    const start = this.endpoint.podman
      ? 'Start Podman\'s API socket (systemctl --user start podman.socket)'
      : 'Start Docker (e.g. sudo systemctl start docker), or point DOCKER_HOST at the socket of the engine you use';
    if (e.code === 'ENOENT') return new ExplorerError('DOCKER_UNAVAILABLE', `No ${this.who} engine at ${where}: the socket does not exist. ${start}.`, { endpoint: where }, { cause: e });
    if (e.code === 'ECONNREFUSED') return new ExplorerError('DOCKER_UNAVAILABLE', `No ${this.who} engine answers at ${where} (connection refused): it is not running. ${start}.`, { endpoint: where }, { cause: e });
    if (e.code === 'EACCES' || e.code === 'EPERM') {
      return new ExplorerError(
        'PERMISSION_DENIED',
        this.endpoint.podman
          ? `Permission denied connecting to ${where}. Run as the user who owns that Podman socket.`
          : `Permission denied connecting to ${where}: this user may not talk to Docker. Add yourself to the docker group (sudo usermod -aG docker $USER, then log in again) or run as root.`,
        { endpoint: where },
        { cause: e },
      );
    }
    if ((e as { name?: string }).name === 'AbortError') return new ExplorerError('CANCELLED', `The request to the ${this.who} engine was cancelled.`, undefined, { cause: e });
    return new ExplorerError('DOCKER_UNAVAILABLE', `Cannot reach the ${this.who} engine at ${where} (${e.message}). ${start}.`, { endpoint: where }, { cause: e });
  }

  /** One request; resolves with the response once its status is known (2xx), else throws the engine's sentence. */
  async request(method: string, urlPath: string, signal?: AbortSignal, what?: string): Promise<http.IncomingMessage> {
    if (signal?.aborted) throw new ExplorerError('CANCELLED', `The request to the ${this.who} engine was cancelled.`);
    const ep = this.endpoint;
    const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
      const req = http.request(
        { ...(ep.socketPath ? { socketPath: ep.socketPath } : { host: ep.host, port: ep.port }), path: urlPath, method, headers: { host: 'docker', 'user-agent': 'oci-explorer' }, ...(signal ? { signal } : {}) },
        resolve,
      );
      req.on('error', (e: NodeJS.ErrnoException) => reject(signal?.aborted ? new ExplorerError('CANCELLED', `The request to the ${this.who} engine was cancelled.`, undefined, { cause: e }) : this.connectError(e)));
      req.end();
    });
    if (res.statusCode !== undefined && res.statusCode >= 200 && res.statusCode < 300) return res;
    const body = (await readBody(res, 64 * 1024, signal).catch(() => Buffer.alloc(0))).toString('utf8');
    const msg = engineMessage(body);
    const status = res.statusCode ?? 0;
    if (status === 404 && what) {
      throw new ExplorerError('IMAGE_NOT_FOUND', `The ${this.who} engine at ${ep.label} has no image ${what}. List what it has with \`${ep.podman ? 'podman' : 'docker'} images\`, or pull the image first.`, { status, reference: what });
    }
    throw new ExplorerError('DOCKER_ERROR', `The ${this.who} engine at ${ep.label} answered ${status} to ${method} ${urlPath.split('?')[0]}: ${msg}. Check the engine (${ep.podman ? 'podman' : 'docker'} info) and try again.`, { status, endpoint: ep.label });
  }

  async json<T>(urlPath: string, signal?: AbortSignal, what?: string): Promise<T> {
    const res = await this.request('GET', urlPath, signal, what);
    const body = await readBody(res, MAX_JSON, signal);
    try {
      return JSON.parse(body.toString('utf8')) as T;
    } catch {
      throw new ExplorerError('DOCKER_ERROR', `The ${this.who} engine at ${this.endpoint.label} sent something that is not JSON for ${urlPath.split('?')[0]}: is this really a ${this.who} socket?`, { endpoint: this.endpoint.label });
    }
  }

  /** `GET /_ping`: the engine is there; returns its API version header. */
  async ping(signal?: AbortSignal): Promise<{ apiVersion?: string }> {
    const res = await this.request('GET', '/_ping', signal);
    res.resume();
    const v = res.headers['api-version'];
    return typeof v === 'string' ? { apiVersion: v } : {};
  }

  listImages(signal?: AbortSignal): Promise<EngineImageSummary[]> {
    return this.json<EngineImageSummary[]>('/images/json', signal);
  }

  inspectImage(name: string, signal?: AbortSignal): Promise<EngineImageInspect> {
    return this.json<EngineImageInspect>(`/images/${imagePath(name)}/json`, signal, name);
  }

  /** `GET /images/{name}/get`: the `docker save` tar as a stream. */
  exportImage(name: string, signal?: AbortSignal): Promise<http.IncomingMessage> {
    return this.request('GET', `/images/${imagePath(name)}/get`, signal, name);
  }
}

/** `/images/json` entries (the fields we use). */
export interface EngineImageSummary {
  Id: string;
  RepoTags?: string[] | null;
  RepoDigests?: string[] | null;
  Created?: number;
  Size?: number;
}

export interface EngineImageInspect {
  Id: string;
  RepoTags?: string[] | null;
  Size?: number;
  Created?: string;
}

/** Image names and IDs as the engine routes them (`/images/{name:.*}/…`); anything else is refused before asking. */
export function imagePath(name: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._/:@-]*$/.test(name) || name.includes('..') || name.length > 512) {
    throw new ExplorerError('REFERENCE_INVALID', `"${name}" is not an image name or ID. Give NAME[:TAG], NAME@sha256:… or an image ID (see docker images).`, { reference: name });
  }
  return name;
}

async function readBody(res: http.IncomingMessage, max: number, signal?: AbortSignal): Promise<Buffer> {
  const parts: Buffer[] = [];
  let n = 0;
  for await (const c of res as AsyncIterable<Buffer>) {
    if (signal?.aborted) {
      res.destroy();
      throw new ExplorerError('CANCELLED', 'The request to the engine was cancelled.');
    }
    n += c.length;
    if (n > max) {
      res.destroy();
      throw new ExplorerError('TOO_LARGE', `The engine's answer is over ${max} bytes, far more than expected.`);
    }
    parts.push(c);
  }
  return Buffer.concat(parts);
}
