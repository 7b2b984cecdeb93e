import { constants, promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readNoFollow, writeAtomic } from './fsafe.js';
import { isAlive } from './proc.js';

// The pulled-image store (`<root>/store/`, an OCI image layout written by the registry helper's
// layout writer) as the cache sees it: which images index.json lists, which blobs each one reaches
// (index → manifests → config, layers), and the blob files on disk. Everything is read as untrusted:
// bounded sizes, no symlinks, JSON that is not what it claims is skipped. An image is evicted whole:
// its index.json entries go first (atomic rewrite), then the blobs no other kept image reaches.

const MAX_INDEX_JSON = 16 * 1024 * 1024;
const MAX_DOC = 4 * 1024 * 1024;
const REF_NAME = 'org.opencontainers.image.ref.name';
const DIGEST_RE = /^([a-z0-9]+(?:[+._-][a-z0-9]+)*):([a-zA-Z0-9=_-]{32,256})$/;
const DOC_TYPE_RE = /manifest|index|list/i;

export interface StoreImage {
  /** The digest index.json lists (a manifest or an index). */
  digest: string;
  /** Its ref names (tags) in index.json. */
  refs: string[];
  /** Every digest it reaches, itself included. */
  reach: Set<string>;
}

export interface BlobFile {
  rel: string;
  bytes: number;
  mtimeMs: number;
}

/** The store-relative blob path of a digest, or undefined for one that is not a plain digest. */
export function blobRel(digest: string): string | undefined {
  const m = DIGEST_RE.exec(digest);
  return m ? `store/blobs/${m[1]}/${m[2]}` : undefined;
}

interface Desc {
  digest: string;
  mediaType?: string;
  size?: number;
}

function descs(x: unknown): Desc[] {
  if (!Array.isArray(x)) return x && typeof x === 'object' ? descs([x]) : [];
  return x.filter((d): d is Desc => !!d && typeof d === 'object' && typeof (d as Desc).digest === 'string' && DIGEST_RE.test((d as Desc).digest));
}

// Children of a manifest/index blob, by digest. Blobs are content-addressed, so what a digest's file
// held once it holds always (a swapped file is a wrong blob, which readers reject by digest anyway).
const childrenMemo = new Map<string, Desc[]>();

async function childrenOf(root: string, d: Desc, blobs: Map<string, BlobFile>): Promise<Desc[]> {
  const memo = childrenMemo.get(d.digest);
  if (memo) return memo;
  const file = blobs.get(d.digest);
  if (!file || file.bytes > MAX_DOC || (d.mediaType !== undefined && !DOC_TYPE_RE.test(d.mediaType))) return [];
  const got = await readNoFollow(path.join(root, file.rel), MAX_DOC);
  if (!got) return [];
  await got.fh.close();
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(got.bytes.toString('utf8')) as Record<string, unknown>;
  } catch {
    return [];
  }
  if (!doc || typeof doc !== 'object') return [];
  // subject is what a referrer points at, not a part of it: not followed.
  const kids = [...descs(doc.manifests), ...descs(doc.config), ...descs(doc.layers), ...descs(doc.blobs)];
  if (childrenMemo.size > 50_000) childrenMemo.clear();
  childrenMemo.set(d.digest, kids);
  return kids;
}

/** The images index.json lists, each with what it reaches among `blobs` (files missing are skipped). */
export async function storeImages(root: string, blobs: Map<string, BlobFile>): Promise<StoreImage[]> {
  const idx = await readIndexJson(root);
  if (!idx) return [];
  const byDigest = new Map<string, StoreImage>();
  for (const d of descs(idx.manifests)) {
    let img = byDigest.get(d.digest);
    if (!img) {
      const reach = new Set<string>();
      const stack: Desc[] = [d];
      while (stack.length) {
        const cur = stack.pop()!;
        if (reach.has(cur.digest) || reach.size > 100_000) continue;
        reach.add(cur.digest);
        stack.push(...(await childrenOf(root, cur, blobs)));
      }
      byDigest.set(d.digest, (img = { digest: d.digest, refs: [], reach }));
    }
    const ref = (d as { annotations?: Record<string, unknown> }).annotations?.[REF_NAME];
    if (typeof ref === 'string') img.refs.push(ref);
  }
  return [...byDigest.values()];
}

async function readIndexJson(root: string): Promise<Record<string, unknown> | undefined> {
  const got = await readNoFollow(path.join(root, 'store', 'index.json'), MAX_INDEX_JSON);
  if (!got) return undefined;
  await got.fh.close();
  try {
    const doc = JSON.parse(got.bytes.toString('utf8')) as unknown;
    return doc && typeof doc === 'object' && !Array.isArray(doc) ? (doc as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** A lock of the store's layout writer (`<pid>\n<host>\n…`) is held while that process runs; undefined: no holder written (yet). */
export async function lockHolderAlive(file: string): Promise<boolean | undefined> {
  const got = await readNoFollow(file, 4096);
  if (!got) return false;
  await got.fh.close();
  const [pid, host] = got.bytes.toString('utf8').split('\n');
  if (!pid) return undefined;
  return host !== os.hostname() || isAlive({ pid: Number(pid), start: '' });
}

/**
 * Runs `fn` holding the layout writer's own index.json lock (store/layout.ts takes `store/index.json.lock`,
 * an O_EXCL file naming `<pid>\n<host>`), taken the way it takes it. False when it stays held by a live
 * process for a minute (the image is then not evicted this time).
 */
async function withIndexJsonLock(root: string, fn: () => Promise<void>): Promise<boolean> {
  const file = path.join(root, 'store', 'index.json.lock');
  const t0 = Date.now();
  for (let wait = 5; ; wait = Math.min(wait * 2, 100)) {
    try {
      const fh = await fsp.open(file, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | (constants.O_NOFOLLOW ?? 0), 0o600);
      try {
        await fh.writeFile(`${process.pid}\n${os.hostname()}\n${Date.now()}\n`);
      } finally {
        await fh.close();
      }
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const held = await lockHolderAlive(file);
    const st = await fsp.lstat(file).catch(() => undefined);
    if (held === false || (held === undefined && st && Date.now() - st.mtimeMs > 60_000)) {
      await fsp.rm(file, { force: true });
      continue;
    }
    if (Date.now() - t0 > 60_000) return false;
    await new Promise((r) => setTimeout(r, wait));
  }
  try {
    await fn();
    return true;
  } finally {
    await fsp.rm(file, { force: true });
  }
}

/** Rewrites store/index.json without the entries for `digest` (atomically; the caller holds the cache lock). False when it could not. */
export async function dropFromIndexJson(root: string, digest: string): Promise<boolean> {
  return withIndexJsonLock(root, async () => {
    const idx = await readIndexJson(root);
    if (!idx || !Array.isArray(idx.manifests)) return;
    const kept = idx.manifests.filter((d: unknown) => !(d && typeof d === 'object' && (d as Desc).digest === digest));
    if (kept.length === idx.manifests.length) return;
    await writeAtomic(path.join(root, 'store', 'index.json'), [Buffer.from(JSON.stringify({ ...idx, manifests: kept }))]);
  });
}

/** Blob files under store/blobs/<alg>/<encoded> (regular files with digest-like names only). */
export function storeBlobs(files: readonly BlobFile[]): Map<string, BlobFile> {
  const out = new Map<string, BlobFile>();
  for (const f of files) {
    const m = /^store\/blobs\/([a-z0-9]+(?:[+._-][a-z0-9]+)*)\/([a-zA-Z0-9=_-]{32,256})$/.exec(f.rel);
    if (m) out.set(`${m[1]}:${m[2]}`, f);
  }
  return out;
}
