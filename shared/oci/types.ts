import type { Digest } from './digest.js';
import type { Platform } from './platform.js';

// Document shapes from image-spec (descriptor.md, image-index.md, manifest.md, config.md) and
// Docker v2 schema 2. They describe what a valid document looks like; what we actually read is
// `unknown` until schema validation (oci/schema) says otherwise.

export type Annotations = Record<string, string>;

export interface Descriptor {
  mediaType: string;
  digest: Digest;
  size: number;
  urls?: string[];
  annotations?: Annotations;
  data?: string;
  platform?: Platform;
  artifactType?: string;
}

export interface Index {
  schemaVersion: 2;
  mediaType?: string;
  artifactType?: string;
  manifests: Descriptor[] | null;
  subject?: Descriptor;
  annotations?: Annotations;
}

export interface Manifest {
  schemaVersion: 2;
  mediaType?: string;
  artifactType?: string;
  config: Descriptor;
  layers: Descriptor[];
  subject?: Descriptor;
  annotations?: Annotations;
}

export interface HistoryEntry {
  created?: string;
  created_by?: string;
  author?: string;
  comment?: string;
  empty_layer?: boolean;
}

export interface ContainerConfig {
  User?: string;
  ExposedPorts?: Record<string, object>;
  Env?: string[];
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  Volumes?: Record<string, object>;
  WorkingDir?: string;
  Labels?: Record<string, string>;
  StopSignal?: string;
  ArgsEscaped?: boolean;
  [k: string]: unknown;
}

export interface ImageConfig {
  created?: string;
  author?: string;
  architecture: string;
  os: string;
  'os.version'?: string;
  'os.features'?: string[];
  variant?: string;
  config?: ContainerConfig;
  rootfs: { type: 'layers'; diff_ids: Digest[] };
  history?: HistoryEntry[];
  [k: string]: unknown;
}

export interface OciLayoutHeader {
  imageLayoutVersion: string;
}

/** Well-known annotation keys used by the graph. */
export const ANN = {
  refName: 'org.opencontainers.image.ref.name',
  containerdName: 'io.containerd.image.name',
  dockerRefType: 'vnd.docker.reference.type',
  dockerRefDigest: 'vnd.docker.reference.digest',
  inTotoPredicate: 'in-toto.io/predicate-type',
  created: 'org.opencontainers.image.created',
} as const;
