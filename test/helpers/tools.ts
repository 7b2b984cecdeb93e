// Helpers to run the real tools of the test bench (DESIGN.md §4): external commands, a CNCF
// docker-registry and a Debian dockerd, each on loopback with its own temp config, stopped by pid.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export interface RunOptions {
  cwd?: string;
  /** Extra environment, merged over process.env. */
  env?: NodeJS.ProcessEnv;
  /** Written to the child's stdin, then stdin is closed. */
  input?: string | Buffer;
  /** Resolve even when the exit code is not 0 (the caller reads `code`). */
  allowFail?: boolean;
  /** Forward the child's stderr to ours as it comes (long builds). */
  echo?: boolean;
}

export interface RunResult {
  code: number;
  stdout: string;
  stdoutBytes: Buffer;
  stderr: string;
}

export class CommandError extends Error {
  constructor(
    readonly cmd: string,
    readonly args: readonly string[],
    readonly result: RunResult,
  ) {
    const tail = (result.stderr.trim() || result.stdout.trim()).split('\n').slice(-15).join('\n');
    super(`${cmd} ${args.join(' ')} exited with ${result.code}:\n${tail}`);
    this.name = 'CommandError';
  }
}

/** Runs a command without a shell, captures its output, throws CommandError (with stderr) on failure. */
export function run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      env: { ...process.env, ...opts.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => {
      err.push(b);
      if (opts.echo) process.stderr.write(b);
    });
    child.on('error', (e) => reject(new Error(`cannot run ${cmd}: ${e.message}`)));
    child.on('close', (code, signal) => {
      const stdoutBytes = Buffer.concat(out);
      const result: RunResult = {
        code: code ?? (signal ? 128 : 1),
        stdout: stdoutBytes.toString('utf8'),
        stdoutBytes,
        stderr: Buffer.concat(err).toString('utf8'),
      };
      if (result.code !== 0 && !opts.allowFail) reject(new CommandError(cmd, args, result));
      else resolve(result);
    });
    child.stdin.on('error', () => {}); // the child may exit before reading its input
    child.stdin.end(opts.input);
  });
}

/** True when `cmd` is on PATH (or is an executable path). */
export function hasCommand(cmd: string): boolean {
  return spawnSync('sh', ['-c', 'command -v "$1"', 'sh', cmd], { stdio: 'ignore' }).status === 0;
}

/** A free TCP port on `host` (the kernel picks it; a tiny race remains, acceptable for tests). */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, host, () => {
      const addr = srv.address();
      srv.close(() => (addr && typeof addr === 'object' ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `probe` until it returns true; `isDead` lets a crashed server fail fast with its log. */
async function waitUntil(what: string, probe: () => Promise<boolean>, isDead: () => string | undefined, limitMs: number) {
  const end = Date.now() + limitMs;
  for (;;) {
    const dead = isDead();
    if (dead !== undefined) throw new Error(`${what} exited before it was ready:\n${dead}`);
    if (await probe().catch(() => false)) return;
    if (Date.now() > end) throw new Error(`${what} was not ready after ${limitMs / 1000} s`);
    await sleep(150);
  }
}

/** A spawned server process whose output is kept (for error messages) and that is stopped by its pid. */
interface Daemon {
  pid: number;
  log: () => string;
  exited: () => boolean;
  stop: (graceMs?: number) => Promise<void>;
}

/** Daemons still running: killed when this process exits, so a failed run leaves none behind. */
const live = new Set<number>();
process.on('exit', () => {
  for (const pid of live) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      /* already gone */
    }
  }
});

function startDaemon(cmd: string, args: string[], env?: NodeJS.ProcessEnv): Daemon {
  const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  if (child.pid === undefined) throw new Error(`cannot start ${cmd}`);
  const pid = child.pid;
  live.add(pid);
  let log = '';
  const keep = (b: Buffer) => {
    log = (log + b.toString('utf8')).slice(-20_000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  let done = false;
  const exit = new Promise<void>((r) =>
    child.on('exit', () => {
      done = true;
      live.delete(pid);
      r();
    }),
  );
  child.on('error', (e) => keep(Buffer.from(`spawn error: ${e.message}\n`)));
  return {
    pid,
    log: () => log,
    exited: () => done,
    async stop(graceMs = 20_000) {
      if (done) return;
      process.kill(pid, 'SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), graceMs)));
      const first = await Promise.race([exit, timeout]);
      clearTimeout(timer);
      if (first === 'timeout' && !done) {
        process.kill(pid, 'SIGKILL');
        await exit;
      }
    },
  };
}

// ---------------------------------------------------------------------------------------------
// docker-registry

export interface RegistryOptions {
  /** none (default); htpasswd (Basic, user/password below); silly (Bearer challenge, any token). */
  auth?: 'none' | 'htpasswd' | 'silly';
  /** Blob GETs answered with a 307 to a static file server on 127.0.0.2 (another loopback host). */
  redirect?: boolean;
  /** Credentials for htpasswd (defaults: tester / a random password). */
  username?: string;
  password?: string;
  /**
   * silly: the token server hands out tokens only for these Basic credentials (401 otherwise), so a
   * client's credential lookup (config files, helpers) is exercised behind a Bearer challenge.
   */
  tokenCredentials?: { username: string; password: string };
  /** silly: also accept this OAuth2 refresh token (POST grant_type=refresh_token), as Docker's identitytoken is used. */
  identityToken?: string;
}

export interface SeenRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
}

export interface TestRegistry {
  /** http://127.0.0.1:PORT */
  url: string;
  /** 127.0.0.1:PORT, as used in image references (skopeo docker://HOST/name:tag). */
  host: string;
  port: number;
  /** The registry's filesystem storage root. */
  storageDir: string;
  username?: string;
  password?: string;
  /** silly auth: the token endpoint (realm) and the requests it received. */
  tokenUrl?: string;
  tokenRequests: SeenRequest[];
  /** redirect: base URL of the blob server (answers HEAD and Range) and the requests it received (check Authorization is absent). */
  redirectUrl?: string;
  redirectRequests: SeenRequest[];
  stop(): Promise<void>;
}

function listen(server: http.Server, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => {
      const a = server.address();
      if (a && typeof a === 'object') resolve(a.port);
      else reject(new Error('no address'));
    });
  });
}

const closeServer = (s: http.Server) =>
  new Promise<void>((r) => {
    s.closeAllConnections();
    s.close(() => r());
  });

async function bcryptHash(password: string): Promise<string> {
  // The registry accepts only bcrypt. Debian's python3 crypt (libxcrypt) makes one without an npm
  // dependency; apache2-utils' htpasswd is the fallback (Python ≥ 3.13 has no crypt module).
  const py = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
  const code =
    'import crypt,sys,warnings\nwarnings.simplefilter("ignore")\n' +
    'print(crypt.crypt(sys.stdin.read(), crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16)))';
  const viaPython = await run(py, ['-c', code], { input: password, allowFail: true }).catch(() => undefined);
  let hash = viaPython?.code === 0 ? viaPython.stdout.trim() : '';
  if (!hash.startsWith('$2') && hasCommand('htpasswd')) {
    hash = (await run('htpasswd', ['-niBC', '4', 'x'], { input: password })).stdout.trim().replace(/^x:/, '');
  }
  if (!hash.startsWith('$2')) throw new Error('cannot make a bcrypt hash for htpasswd auth: install python3 (with crypt) or apache2-utils');
  return hash;
}

/** Starts docker-registry on 127.0.0.1:<free port> with filesystem storage in a temp dir. */
export async function startRegistry(opts: RegistryOptions = {}): Promise<TestRegistry> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'oci-registry-'));
  const storageDir = path.join(dir, 'storage');
  const servers: http.Server[] = [];
  const tokenRequests: SeenRequest[] = [];
  const redirectRequests: SeenRequest[] = [];
  const result: Partial<TestRegistry> = {};
  const port = await freePort();

  const lines = [
    'version: 0.1',
    'log: {level: warn, accesslog: {disabled: true}}',
    `storage: {filesystem: {rootdirectory: ${JSON.stringify(storageDir)}}, delete: {enabled: true}, maintenance: {uploadpurging: {enabled: false}}}`,
    `http: {addr: "127.0.0.1:${port}", secret: ${randomBytes(16).toString('hex')}}`,
  ];
  if (opts.auth === 'htpasswd') {
    result.username = opts.username ?? 'tester';
    result.password = opts.password ?? randomBytes(9).toString('base64url');
    const file = path.join(dir, 'htpasswd');
    await writeFile(file, `${result.username}:${await bcryptHash(result.password)}\n`);
    lines.push(`auth: {htpasswd: {realm: test-registry, path: ${JSON.stringify(file)}}}`);
  } else if (opts.auth === 'silly') {
    // A token endpoint of the tests: silly auth accepts any Bearer token, so any answer will do.
    const want = opts.tokenCredentials ? `Basic ${Buffer.from(`${opts.tokenCredentials.username}:${opts.tokenCredentials.password}`).toString('base64')}` : undefined;
    const srv = http.createServer(async (req, res) => {
      tokenRequests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
      if (req.method === 'POST') {
        let body = '';
        for await (const c of req) body += String(c);
        const form = new URLSearchParams(body);
        const ok = !!opts.identityToken && form.get('grant_type') === 'refresh_token' && form.get('refresh_token') === opts.identityToken;
        res.writeHead(ok ? 200 : 401, { 'content-type': 'application/json' });
        return void res.end(JSON.stringify(ok ? { access_token: 'silly-token', expires_in: 300 } : { error: 'invalid_grant' }));
      }
      if (want && req.headers.authorization !== want) {
        res.writeHead(401, { 'content-type': 'application/json', 'www-authenticate': 'Basic realm="token"' });
        return void res.end(JSON.stringify({ details: 'wrong credentials' }));
      }
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ token: 'silly-token', access_token: 'silly-token', expires_in: 300 }));
    });
    servers.push(srv);
    result.tokenUrl = `http://127.0.0.1:${await listen(srv, '127.0.0.1')}/token`;
    lines.push(`auth: {silly: {realm: ${JSON.stringify(result.tokenUrl)}, service: test-registry}}`);
  }
  if (opts.redirect) {
    // Static files rooted at the storage folder, on another loopback host, as a storage backend would be.
    const srv = http.createServer((req, res) => {
      redirectRequests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
      const rel = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
      const file = path.resolve(storageDir, '.' + rel);
      if (!file.startsWith(storageDir + path.sep)) return void res.writeHead(403).end();
      stat(file).then(
        (st) => {
          if (!st.isFile()) return void res.writeHead(404).end();
          // Range (one range, as storage services answer resumed downloads).
          const m = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
          if (m) {
            const start = Number(m[1]);
            const end = m[2] ? Math.min(Number(m[2]), st.size - 1) : st.size - 1;
            if (start >= st.size || end < start) return void res.writeHead(416, { 'content-range': `bytes */${st.size}` }).end();
            res.writeHead(206, { 'content-length': end - start + 1, 'content-range': `bytes ${start}-${end}/${st.size}`, 'accept-ranges': 'bytes', 'content-type': 'application/octet-stream' });
            if (req.method === 'HEAD') return void res.end();
            return void createReadStream(file, { start, end }).pipe(res);
          }
          res.writeHead(200, { 'content-length': st.size, 'content-type': 'application/octet-stream', 'accept-ranges': 'bytes' });
          if (req.method === 'HEAD') return void res.end();
          createReadStream(file).pipe(res);
        },
        () => void res.writeHead(404).end(),
      );
    });
    servers.push(srv);
    result.redirectUrl = `http://127.0.0.2:${await listen(srv, '127.0.0.2')}/`;
    lines.push(`middleware: {storage: [{name: redirect, options: {baseurl: ${JSON.stringify(result.redirectUrl)}}}]}`);
  }
  const config = path.join(dir, 'config.yml');
  await writeFile(config, lines.join('\n') + '\n');

  const daemon = startDaemon('docker-registry', ['serve', config]);
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    await daemon.stop(5_000);
    await Promise.all(servers.map(closeServer));
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await waitUntil(
      'docker-registry',
      async () => {
        const res = await fetch(`${url}/v2/`);
        return res.status === 200 || res.status === 401;
      },
      () => (daemon.exited() ? daemon.log() : undefined),
      30_000,
    );
  } catch (e) {
    await stop();
    throw e;
  }
  return { ...result, url, host: `127.0.0.1:${port}`, port, storageDir, tokenRequests, redirectRequests, stop };
}

// ---------------------------------------------------------------------------------------------
// dockerd

export interface TestDockerd {
  /** Path of the unix socket; DOCKER_HOST is unix://<socket>. */
  socket: string;
  dataRoot: string;
  /** Environment for the docker CLI: DOCKER_HOST and a private DOCKER_CONFIG. */
  env: NodeJS.ProcessEnv;
  pid: number;
  /** Runs the docker CLI (the one that matches the daemon) against this daemon. */
  docker(args: readonly string[], opts?: RunOptions): Promise<RunResult>;
  stop(): Promise<void>;
}

/** Unmounts whatever is mounted below `dir` (deepest first), so the folder can be removed. */
async function unmountUnder(dir: string) {
  const mounts = (await readFile('/proc/self/mounts', 'utf8').catch(() => ''))
    .split('\n')
    .map((l) => (l.split(' ')[1] ?? '').replace(/\\040/g, ' '))
    .filter((m) => m.startsWith(dir + path.sep))
    .sort((a, b) => b.length - a.length);
  for (const m of mounts) await run('umount', [m], { allowFail: true });
}

/** The docker CLI from Debian's docker.io when present (same version as dockerd), else the one on PATH. */
export const DOCKER_CLI = existsSync('/usr/bin/docker') ? '/usr/bin/docker' : 'docker';

/** True when dockerd can be started here (binary present, running as root). */
export function canRunDockerd(): boolean {
  return hasCommand('dockerd') && process.getuid?.() === 0;
}

/**
 * Starts a private dockerd (DESIGN.md §4): own data-root, exec-root and socket in a short /tmp dir
 * (unix socket paths are limited to ~108 bytes), no iptables, no bridge. Stopped by pid.
 */
export async function startDockerd(): Promise<TestDockerd> {
  const dir = await mkdtemp('/tmp/dkd-');
  const socket = path.join(dir, 'docker.sock');
  const dataRoot = path.join(dir, 'data');
  const env: NodeJS.ProcessEnv = { DOCKER_HOST: `unix://${socket}`, DOCKER_CONFIG: path.join(dir, 'cli') };
  const daemon = startDaemon('dockerd', [
    '--data-root', dataRoot,
    '--exec-root', path.join(dir, 'exec'),
    '-H', `unix://${socket}`,
    '--pidfile', path.join(dir, 'docker.pid'),
    '--iptables=false',
    '--ip6tables=false',
    '--bridge=none',
  ]);
  const docker = (args: readonly string[], opts: RunOptions = {}) =>
    run(DOCKER_CLI, args, { ...opts, env: { ...env, ...opts.env } });
  const stop = async () => {
    await daemon.stop(30_000);
    await unmountUnder(dir); // dockerd leaves exec/netns/default bind-mounted after it exits
    await rm(dir, { recursive: true, force: true }).catch(() => {});
  };
  try {
    await waitUntil(
      'dockerd',
      async () => existsSync(socket) && (await docker(['version'], { allowFail: true })).code === 0,
      () => (daemon.exited() ? daemon.log() : undefined),
      60_000,
    );
  } catch (e) {
    await stop();
    throw e;
  }
  return { socket, dataRoot, env, pid: daemon.pid, docker, stop };
}
