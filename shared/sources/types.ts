import type { Readable } from 'node:stream';
import type { Descriptor } from '../oci/types.js';
import type { Digest } from '../oci/digest.js';

// The one seam between "where an image lives" and everything else (after ggcr's pkg/v1 + partial):
// a backend lists its root descriptors and serves blobs as raw streams. Shared code verifies the
// bytes (sources/verify.ts) and derives the graph, configs and layers. A new backend is one file.

export type SourceKind =
  | 'oci-layout'
  | 'oci-archive'
  | 'docker-archive'
  | 'dir'
  | 'docker-engine'
  | 'docker-store'
  | 'registry';

export interface RootEntry {
  /** Descriptor of the top document: a layout's index.json, or an image manifest. */
  descriptor: Descriptor;
  /** Names the source gives it: RepoTags, ref names. */
  names: string[];
  /** True when the document was made up by the source (index.json is not a blob; docker-save has no manifests). */
  synthetic?: boolean;
  /** Short label for the UI, e.g. "index.json" or "manifest.json[0]". */
  label?: string;
}

export interface BlobReadOptions {
  /** First byte to read (inclusive). */
  start?: number;
  /** Last byte to read (exclusive). */
  end?: number;
  signal?: AbortSignal;
}

export interface ImageSource {
  readonly kind: SourceKind;
  /** What the user gave, for display and "recent" lists. */
  readonly location: string;
  /** The entry points of the graph. Problems with the container itself (bad oci-layout file) throw. */
  roots(signal?: AbortSignal): Promise<RootEntry[]>;
  /**
   * Raw, unverified bytes of a blob (or a range of it). Throws ExplorerError BLOB_MISSING when the
   * source does not have it. Use sources/verify.ts to read verified content.
   */
  openBlob(desc: Descriptor, opts?: BlobReadOptions): Promise<Readable>;
  /** Size of the stored blob, or undefined when missing. Never reads the content. */
  statBlob(digest: Digest): Promise<number | undefined>;
  /** Blobs are fetched by digest and verified on arrival (registries): a cached layer index may stand for a layer unread. */
  readonly contentAddressed?: boolean;
  /** Problems with the container that are not fatal (e.g. a missing `repositories` file), shown on the root. */
  warnings?(): string[];
  close(): Promise<void>;
}
