import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { ExplorerError, isExplorerError } from '../errors.js';
import { shortDigest } from '../oci/digest.js';
import { mediaTypeKind, MT } from '../oci/mediatypes.js';
import { formatPlatform, hostPlatform, isRealPlatform, parsePlatform, platformMatches, type Platform } from '../oci/platform.js';
import { ANN, type Descriptor } from '../oci/types.js';
import type { CredentialPrompt } from '../sources/backend.js';
import { LayoutStore, PULLED_ANNOTATION } from '../store/layout.js';
import { RegistryClient } from './client.js';
import { Fetcher, type BlobProgress } from './fetcher.js';
import { SOCKETS_PER_HOST, stallFromEnv } from './http.js';
import type { FetchedManifest } from './manifests.js';
import { formatReference, parseReference, type Reference } from './reference.js';
import type { RetryPolicy } from './retry.js';

// `pull REF`: the image (one platform, or the whole index with --all-platforms) into an OCI image
// layout — the app's store (<cacheDir>/store) or any folder — as skopeo writes one: every blob under
// blobs/, index.json naming it with org.opencontainers.image.ref.name. Blobs already in the layout
// (or, for another folder, in the app's store) are not downloaded again; the rest download in
// parallel, each once, verified before it lands. The index.json entry is written last.

export interface PullOptions {
  env: Record<string, string | undefined>;
  /** The cache root; the store is <cacheDir>/store. */
  cacheDir: string;
  /** Another folder to write the layout to (created when absent). */
  to?: string;
  platform?: string | Platform;
  allPlatforms?: boolean;
  insecure?: boolean;
  credentials?: CredentialPrompt;
  signal?: AbortSignal;
  onProgress?: (p: BlobProgress) => void;
  stallMs?: number;
  retry?: RetryPolicy;
}

export interface PullResult {
  reference: Reference;
  layout: string;
  /** The ref name written to index.json. */
  name: string;
  descriptor: Descriptor;
  platforms: string[];
  blobs: { fetched: number; present: number; bytes: number };
  warnings: string[];
}

const json = (m: FetchedManifest): { manifests?: Descriptor[]; config?: Descriptor; layers?: Descriptor[]; schemaVersion?: number } => {
  try {
    return JSON.parse(m.bytes.toString('utf8')) as ReturnType<typeof json>;
  } catch {
    throw new ExplorerError('JSON_INVALID', `The manifest ${shortDigest(m.descriptor.digest)} is not valid JSON; it cannot be pulled.`, { digest: m.descriptor.digest });
  }
};

async function prepareTarget(dir: string): Promise<void> {
  const entries = await fsp.readdir(dir).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return [] as string[];
    throw new ExplorerError('INVALID_ARGUMENT', `Cannot use ${dir} as the destination: ${e.code === 'ENOTDIR' ? 'it is a file' : e.message}.`, { path: dir });
  });
  if (entries.length && !entries.includes('oci-layout')) {
    throw new ExplorerError('INVALID_ARGUMENT', `${dir} is not empty and not an OCI image layout; give an empty or new folder, or an existing layout to add the image to.`, { path: dir });
  }
}

function choosePlatform(index: FetchedManifest, want: Platform | undefined, ref: string): Descriptor {
  const entries = (json(index).manifests ?? []).filter((d) => d && typeof d.digest === 'string');
  const images = entries.filter((d) => isRealPlatform(d.platform) && d.annotations?.[ANN.dockerRefType] !== 'attestation-manifest');
  const target = want ?? hostPlatform();
  const hit = images.find((d) => platformMatches(target, d.platform));
  if (hit) return hit;
  if (!want && images.length === 0 && entries.length === 1) return entries[0]!;
  const list = images.map((d) => formatPlatform(d.platform)).join(', ') || 'none';
  throw new ExplorerError(
    'IMAGE_NOT_FOUND',
    `${ref} has no image for ${formatPlatform(target)}${want ? '' : ' (this machine)'}; it has: ${list}. Choose one with --platform os/arch[/variant], or --all-platforms.`,
    { choices: images.map((d) => ({ digest: d.digest, platform: formatPlatform(d.platform) })) },
  );
}

export async function pull(spec: string, o: PullOptions): Promise<PullResult> {
  const ref = parseReference(spec);
  const full = formatReference(ref);
  const storeRoot = path.join(o.cacheDir, 'store');
  const dir = o.to ? path.resolve(o.to) : storeRoot;
  if (o.to) await prepareTarget(dir);
  const target = new LayoutStore(dir);
  await target.init();
  const stallMs = o.stallMs ?? stallFromEnv(o.env);
  const client = new RegistryClient(ref, { env: o.env, ...(o.insecure ? { insecure: true } : {}), ...(o.credentials ? { prompt: o.credentials } : {}), ...(stallMs ? { stallMs } : {}), ...(o.retry ? { retry: o.retry } : {}) });
  const fetcher = new Fetcher(client, target, { ...(o.to && dir !== storeRoot ? { alsoFrom: [new LayoutStore(storeRoot)] } : {}), ...(o.onProgress ? { onProgress: o.onProgress } : {}) });
  const signal = o.signal;
  const want = o.platform === undefined ? undefined : typeof o.platform === 'string' ? parsePlatform(o.platform) : o.platform;

  const root = await fetcher.manifest(ref.digest ?? ref.tag ?? 'latest', signal);
  const rootKind = mediaTypeKind(root.descriptor.mediaType);
  if (rootKind === 'manifest-v1') {
    throw new ExplorerError('LEGACY_SCHEMA1', `${full} is a Docker schema 1 image, which this app shows read-only and does not pull. Convert it with skopeo copy (it writes schema 2).`);
  }
  let entry: Descriptor = root.descriptor;
  if (rootKind === 'index' && !o.allPlatforms) entry = choosePlatform(root, want, full);

  // Every manifest to copy, then every blob they name (deduplicated).
  const blobs = new Map<string, Descriptor>();
  const platforms: string[] = [];
  const walk = async (d: Descriptor, depth: number): Promise<void> => {
    if (depth > 8) throw new ExplorerError('TOO_LARGE', `The indexes of ${full} are nested more than 8 deep; it cannot be pulled.`);
    const m = await fetcher.manifest(d.digest, signal);
    const doc = json(m);
    if (Array.isArray(doc.manifests)) {
      await Promise.all(doc.manifests.filter((c) => c && typeof c.digest === 'string').map((c) => walk(c, depth + 1)));
      return;
    }
    if (isRealPlatform(d.platform) && d.annotations?.[ANN.dockerRefType] !== 'attestation-manifest') platforms.push(formatPlatform(d.platform));
    for (const b of [...(doc.config ? [doc.config] : []), ...(doc.layers ?? [])]) {
      if (!b || typeof b.digest !== 'string' || typeof b.size !== 'number') continue;
      blobs.set(b.digest, b);
    }
  };
  await walk(entry, 0);

  const warnings: string[] = [];
  const stats = { fetched: 0, present: 0, bytes: 0 };
  const queue = [...blobs.values()].sort((a, b) => b.size - a.size);
  const worker = async () => {
    for (let d = queue.shift(); d; d = queue.shift()) {
      try {
        const r = await fetcher.ensure(d, signal);
        stats[r === 'fetched' ? 'fetched' : 'present']++;
        if (r === 'fetched') stats.bytes += d.size;
      } catch (e) {
        // Foreign layers (Windows bases) live elsewhere; skopeo leaves them out too.
        const foreign = d.mediaType === MT.dockerLayerForeign || (d.urls?.length ?? 0) > 0;
        if (foreign && isExplorerError(e) && e.code === 'BLOB_MISSING') {
          warnings.push(`Foreign layer ${shortDigest(d.digest)} was not copied (it is served from ${d.urls?.[0] ?? 'elsewhere'}).`);
          continue;
        }
        queue.length = 0; // no new downloads after a failure
        throw e;
      }
    }
  };
  // After a failure the blobs in flight finish (they are verified and useful to the next pull); then
  // the first error is reported.
  const results = await Promise.allSettled(Array.from({ length: Math.min(SOCKETS_PER_HOST, queue.length || 1) }, worker));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;

  const name = o.to ? (ref.tag && !ref.digest ? ref.tag : full) : full;
  await target.addRef(name, entry, { [ANN.containerdName]: full, [PULLED_ANNOTATION]: new Date().toISOString() }, signal);
  if (o.to) await target.tidy();
  return { reference: ref, layout: dir, name, descriptor: entry, platforms: [...new Set(platforms)], blobs: stats, warnings };
}
