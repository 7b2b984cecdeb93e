import type { Problem } from '../errors.js';
import type { Digest } from '../oci/digest.js';
import type { Platform } from '../oci/platform.js';
import type { Annotations } from '../oci/types.js';

// The descriptor graph every view reads. Plain data (structured-clone safe) so it crosses IPC as is.

export type NodeKind = 'index' | 'manifest' | 'config' | 'layer' | 'attestation' | 'signature' | 'artifact' | 'unknown';
export type EdgeRole = 'manifest' | 'config' | 'layer' | 'subject' | 'attestation' | 'referrer';

/**
 * verified: digest and size checked. pending: not read yet (layers are verified when first read).
 * failed: read and did not match. missing: the source does not have the blob.
 */
export type VerifyState = 'verified' | 'pending' | 'failed' | 'missing';

export interface GraphNode {
  digest: Digest;
  mediaType: string;
  size: number;
  kind: NodeKind;
  platform?: Platform;
  annotations?: Annotations;
  artifactType?: string;
  /** Names from the source or annotations: RepoTags, ref.name, io.containerd.image.name. */
  names?: string[];
  /** Made up by the source (index.json, docker-save manifests); its bytes are still served. */
  synthetic?: boolean;
  label?: string;
  verify: VerifyState;
  problems: Problem[];
}

export interface GraphEdge {
  from: Digest;
  to: Digest;
  role: EdgeRole;
  /** Position in the parent's list (manifests[i], layers[i]). */
  index?: number;
}

export interface ImageGraph {
  nodes: GraphNode[];
  edges: GraphEdge[];
  roots: Digest[];
}

/** One runnable image (manifest + config) found in a graph; what layer commands operate on. */
export interface ImageEntry {
  manifest: Digest;
  config: Digest;
  layers: Digest[];
  platform?: Platform;
  names: string[];
}
