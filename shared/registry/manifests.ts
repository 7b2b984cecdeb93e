import { ExplorerError } from '../errors.js';
import { createDigester, isDigest, parseDigest, shortDigest, type Digest } from '../oci/digest.js';
import { MT } from '../oci/mediatypes.js';
import type { Descriptor } from '../oci/types.js';
import { MAX_DOCUMENT_BYTES } from '../sources/verify.js';
import type { RegistryClient } from './client.js';
import { bodyError, header, isTransient, readBody } from './http.js';
import { backoffMs, sleep } from './retry.js';

// Manifests by tag or digest. The Accept list names OCI index + manifest and Docker list + v2 (without
// the list types a registry silently answers one platform), and schema 1 (shown read-only). The raw
// bytes are hashed: against the digest asked for, or the registry's Docker-Content-Digest for a tag.

export const MANIFEST_ACCEPT = [MT.ociIndex, MT.ociManifest, MT.dockerList, MT.dockerManifest, MT.dockerManifestV1Signed, MT.dockerManifestV1].join(', ');

export interface FetchedManifest {
  descriptor: Descriptor;
  bytes: Buffer;
}

const GENERIC = /^(application\/json|text\/plain|application\/octet-stream)?$/;

/** The media type of a manifest: the registry's Content-Type unless generic, then the document's own field or its shape. */
export function manifestMediaType(contentType: string | undefined, bytes: Buffer): string {
  const ct = (contentType ?? '').split(';')[0]!.trim();
  if (!GENERIC.test(ct)) return ct;
  try {
    const doc = JSON.parse(bytes.toString('utf8')) as { mediaType?: unknown; schemaVersion?: unknown; manifests?: unknown; signatures?: unknown };
    if (typeof doc.mediaType === 'string' && doc.mediaType) return doc.mediaType;
    if (doc.schemaVersion === 1) return doc.signatures ? MT.dockerManifestV1Signed : MT.dockerManifestV1;
    if (Array.isArray(doc.manifests)) return MT.ociIndex;
  } catch {
    // Not JSON: the graph reports it on the node.
  }
  return MT.ociManifest;
}

function hashOf(bytes: Buffer, digest: Digest): Digest {
  const alg = parseDigest(digest).algorithm;
  return `${alg}:${createDigester(alg).update(bytes).digest('hex')}`;
}

/**
 * HEAD of a manifest (Docker Hub does not count HEADs against pull limits): false on 404, its
 * descriptor when the registry names the digest, else true (it exists; GET it to know more).
 */
export async function headManifest(client: RegistryClient, reference: string, signal?: AbortSignal): Promise<Descriptor | boolean> {
  const res = await client.request(`/v2/${client.ref.repository}/manifests/${reference}`, { method: 'HEAD', accept: MANIFEST_ACCEPT, ...(signal ? { signal } : {}) });
  res.discard();
  if (res.status === 404) return false;
  if (res.status !== 200) throw await client.failure(res, `The manifest ${client.ref.repository}:${reference}`);
  const dcd = header(res.headers, 'docker-content-digest');
  const size = Number(res.headers['content-length']);
  if (typeof dcd !== 'string' || !isDigest(dcd) || !Number.isFinite(size)) return true;
  return { mediaType: (header(res.headers, 'content-type') ?? MT.ociManifest).split(';')[0]!.trim(), digest: dcd, size };
}

/**
 * GETs a manifest by tag or digest, verified: by digest against that digest, by tag against
 * Docker-Content-Digest (when sent). Throws MANIFEST_UNKNOWN on 404, DIGEST_MISMATCH, TOO_LARGE.
 */
export async function fetchManifest(client: RegistryClient, reference: string, signal?: AbortSignal): Promise<FetchedManifest> {
  const what = `${client.ref.repository}${reference.includes(':') ? '@' : ':'}${reference}`;
  for (let failure = 1; ; failure++) {
    const res = await client.request(`/v2/${client.ref.repository}/manifests/${reference}`, { accept: MANIFEST_ACCEPT, ...(signal ? { signal } : {}) });
    if (res.status !== 200) throw await client.failure(res, `The manifest ${what}`);
    let bytes: Buffer;
    try {
      bytes = await readBody(res, MAX_DOCUMENT_BYTES, `The manifest ${what}`);
    } catch (e) {
      const err = bodyError(e, res.url);
      if (!isTransient(err) || failure >= client.retry.attempts) throw err;
      await sleep(backoffMs(client.retry, failure), signal);
      continue;
    }
    const mediaType = manifestMediaType(header(res.headers, 'content-type'), bytes);
    const legacy = mediaType === MT.dockerManifestV1Signed || mediaType === MT.dockerManifestV1;
    const asked = isDigest(reference) ? reference : undefined;
    const dcd = header(res.headers, 'docker-content-digest');
    const claimed = asked ?? (dcd && isDigest(dcd) ? dcd : undefined);
    let digest = claimed ?? hashOf(bytes, 'sha256:' + '0'.repeat(64));
    if (claimed) {
      const actual = hashOf(bytes, claimed);
      if (actual !== claimed) {
        // Signed schema 1: the registry's digest covers the payload without its signatures; keep the bytes' own.
        if (legacy && !asked) digest = hashOf(bytes, 'sha256:' + '0'.repeat(64));
        else {
          throw new ExplorerError(
            'DIGEST_MISMATCH',
            `The manifest ${what} from ${client.ref.registry} hashes to ${shortDigest(actual)}, not ${shortDigest(claimed)}${asked ? ' as asked' : ' as the registry said'}: it was altered on the way or the registry is broken. Try again later.`,
            { digest: claimed, actual },
          );
        }
      }
    }
    return { descriptor: { mediaType, digest, size: bytes.length }, bytes };
  }
}
