import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { openCache, SLACK_BYTES, type Cache } from '../../../shared/store/cache.js';

// Shared by the cache tests: a fresh cache (root and key in separate temp folders), what is on disk,
// other processes that pin or lock, and a hand-made store layout of several images.

export { SLACK_BYTES };

export interface Kit {
  root: string;
  keyFile: string;
  cache: Cache;
}

export function tmp(prefix: string): string {
  return mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** A cache with its own key; `max` = the cap's usable bytes (the slack for bookkeeping is added). */
export function kit(max?: number): Kit {
  const base = tmp('oci-cache-kit-');
  const root = path.join(base, 'cache');
  const keyFile = path.join(base, 'config', 'cache.key');
  const cache = openCache(root, { keyFile, env: {}, settingMaxBytes: max === undefined ? 0 : max + SLACK_BYTES });
  return { root, keyFile, cache };
}

/** Bytes of every regular file under `dir` (what `du --apparent-size` counts for files). */
export function diskBytes(dir: string): number {
  let n = 0;
  for (const name of readdirSync(dir)) {
    const p = path.join(dir, name);
    const st = lstatSync(p);
    if (st.isDirectory()) n += diskBytes(p);
    else if (st.isFile()) n += st.size;
  }
  return n;
}

/** Every file under `dir`, relative, sorted. */
export function listFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true })
    .map(String)
    .filter((f) => !lstatSync(path.join(dir, f)).isDirectory())
    .sort();
}

export const hexOf = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
export const randomDigest = () => `sha256:${randomBytes(32).toString('hex')}`;
export const indexRel = (digest: string) => `layer-index/v2/sha256/${digest.slice(7)}.idx`;

const child = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'helpers', 'cache-child.ts');

export interface Child {
  pid: number;
  /** Closes its stdin: it releases what it holds and exits. */
  stop(): Promise<void>;
  /** SIGKILL: it dies holding what it holds (no exit handlers run). */
  kill(): Promise<void>;
}

/** Starts test/helpers/cache-child.ts and waits for its "ready". */
export function startChild(args: string[]): Promise<Child> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--import', 'tsx', child, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let err = '';
    const exited = new Promise<void>((r) => p.on('exit', () => r()));
    p.stderr.on('data', (b: Buffer) => (err += b.toString()));
    p.on('exit', (code) => reject(new Error(`cache child exited with ${code}: ${err}`)));
    p.stdout.on('data', (b: Buffer) => {
      if (b.toString().includes('ready')) {
        resolve({
          pid: p.pid!,
          stop: async () => {
            p.stdin.end();
            await exited;
          },
          kill: async () => {
            p.kill('SIGKILL');
            await exited;
          },
        });
      }
    });
  });
}

/** The pid of a process that has exited. */
export async function deadPid(): Promise<number> {
  const p = spawn(process.execPath, ['-e', '0']);
  await new Promise((r) => p.on('exit', r));
  return p.pid!;
}

const MT = { index: 'application/vnd.oci.image.index.v1+json', manifest: 'application/vnd.oci.image.manifest.v1+json', config: 'application/vnd.oci.image.config.v1+json', layer: 'application/vnd.oci.image.layer.v1.tar' };

export interface StoreImageSpec {
  tag: string;
  /** Layer contents (any bytes: the graph does not read layers). */
  layers: Buffer[];
}

/**
 * Writes `<root>/store` as an OCI layout with each image tagged in index.json; with `multi`, the
 * images are also gathered under one image index tagged `multi`. Returns each tag's top digest.
 */
export function writeStore(root: string, images: StoreImageSpec[], multi?: { tag: string; of: string[] }): Record<string, string> {
  const dir = path.join(root, 'store');
  mkdirSync(path.join(dir, 'blobs', 'sha256'), { recursive: true });
  writeFileSync(path.join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  const put = (b: Buffer | string, mediaType: string) => {
    const buf = Buffer.from(b);
    writeFileSync(path.join(dir, 'blobs', 'sha256', hexOf(buf)), buf);
    return { mediaType, digest: `sha256:${hexOf(buf)}`, size: buf.length };
  };
  const tops: Record<string, { mediaType: string; digest: string; size: number }> = {};
  for (const img of images) {
    const layers = img.layers.map((l) => put(l, MT.layer));
    const config = put(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: layers.map((l) => l.digest) } }), MT.config);
    tops[img.tag] = put(JSON.stringify({ schemaVersion: 2, mediaType: MT.manifest, config, layers }), MT.manifest);
  }
  const entries = Object.entries(tops).map(([tag, d]) => ({ ...d, annotations: { 'org.opencontainers.image.ref.name': tag } }));
  if (multi) {
    const idx = put(JSON.stringify({ schemaVersion: 2, mediaType: MT.index, manifests: multi.of.map((t) => ({ ...tops[t]!, platform: { os: 'linux', architecture: 'amd64' } })) }), MT.index);
    tops[multi.tag] = idx;
    entries.push({ ...idx, annotations: { 'org.opencontainers.image.ref.name': multi.tag } });
  }
  writeFileSync(path.join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, mediaType: MT.index, manifests: entries }));
  return Object.fromEntries(Object.entries(tops).map(([t, d]) => [t, d.digest]));
}
