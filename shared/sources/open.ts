import type { ImageSource } from './types.js';

// Placeholder signature; detection and the archive backends land with the sources work.

/** What the user asked for beyond the container: a tag in `oci:PATH:TAG`, a `REPO:TAG` in docker-archive. */
export interface SourceSelector {
  tag?: string;
}

export interface OpenedSource {
  source: ImageSource;
  selector: SourceSelector;
}

/**
 * Opens what the user gave: an existing path is auto-detected (folder → OCI layout; tar/tar.gz →
 * OCI archive or docker-save); `oci:`, `oci-archive:`, `docker-archive:` prefixes override;
 * anything else is a registry reference.
 */
export async function openSource(spec: string, _opts: { signal?: AbortSignal } = {}): Promise<OpenedSource> {
  throw new Error(`not implemented: ${spec}`);
}
