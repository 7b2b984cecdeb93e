import { digestOf, parseDigest, type Digest } from '../oci/digest.js';
import { MT } from '../oci/mediatypes.js';
import type { RegistryClient } from './client.js';
import { readBody } from './http.js';
import { fetchManifest, headManifest, type FetchedManifest } from './manifests.js';

// What refers to a manifest (OCI 1.1): `GET /v2/<name>/referrers/<digest>` answers an index of the
// referrers; registries without the API (distribution 2.8, many others) keep that index under the tag
// `sha256-<hex>` instead. cosign's older scheme tags signatures, attestations and SBOMs
// `sha256-<hex>.sig|.att|.sbom`. Tags are probed with HEAD (Docker Hub counts only GETs against its limit).

export interface FoundReferrers {
  /** The referrers index (from the API it is made up by the registry: not a stored blob). */
  manifest: FetchedManifest;
  /** The tag it was found under; for the API's list, the tag schema's name for it (`sha256-<hex>`). */
  tag: string;
  subject: Digest;
  fromApi: boolean;
}

export const referrersTag = (subject: Digest): string => {
  const { algorithm, hex } = parseDigest(subject);
  return `${algorithm}-${hex}`;
};

/** The referrers of `subject`: from the API, else the `sha256-<hex>` tag; undefined when there are none. */
export async function fetchReferrers(client: RegistryClient, subject: Digest, signal?: AbortSignal): Promise<FoundReferrers | undefined> {
  const res = await client.request(`/v2/${client.ref.repository}/referrers/${subject}`, { accept: MT.ociIndex, ...(signal ? { signal } : {}) });
  if (res.status === 200 && /application\/vnd\.oci\.image\.index\.v1\+json|application\/json/.test(String(res.headers['content-type']))) {
    const bytes = await readBody(res, 4 * 1024 * 1024, 'The referrers list');
    try {
      const doc = JSON.parse(bytes.toString('utf8')) as { manifests?: unknown };
      if (!Array.isArray(doc.manifests) || doc.manifests.length === 0) return undefined;
    } catch {
      return undefined;
    }
    return { manifest: { descriptor: { mediaType: MT.ociIndex, digest: digestOf(bytes), size: bytes.length }, bytes }, tag: referrersTag(subject), subject, fromApi: true };
  }
  res.discard();
  return fetchTagged(client, referrersTag(subject), subject, signal);
}

/** A manifest under `tag` if it exists (HEAD first). */
export async function fetchTagged(client: RegistryClient, tag: string, subject: Digest, signal?: AbortSignal): Promise<FoundReferrers | undefined> {
  const head = await headManifest(client, tag, signal);
  if (head === false) return undefined;
  return { manifest: await fetchManifest(client, head === true ? tag : head.digest, signal), tag, subject, fromApi: false };
}

/** cosign's tag scheme: signature, attestation and SBOM manifests tagged after the subject digest. */
export async function fetchCosignTags(client: RegistryClient, subject: Digest, signal?: AbortSignal): Promise<FoundReferrers[]> {
  const base = referrersTag(subject);
  const found = await Promise.all(['sig', 'att', 'sbom'].map((s) => fetchTagged(client, `${base}.${s}`, subject, signal)));
  return found.filter((f): f is FoundReferrers => !!f);
}
