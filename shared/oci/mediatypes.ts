// Media types from image-spec (media-types.md) and Docker's v2 schema 2, with what each means
// for the graph. `explain` and `specUrl` feed the inspector.
export const MT = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociDescriptor: 'application/vnd.oci.descriptor.v1+json',
  ociLayout: 'application/vnd.oci.layout.header.v1+json',
  ociEmpty: 'application/vnd.oci.empty.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  ociLayerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  ociLayerNd: 'application/vnd.oci.image.layer.nondistributable.v1.tar',
  ociLayerNdGzip: 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
  ociLayerNdZstd: 'application/vnd.oci.image.layer.nondistributable.v1.tar+zstd',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerManifestV1: 'application/vnd.docker.distribution.manifest.v1+json',
  dockerManifestV1Signed: 'application/vnd.docker.distribution.manifest.v1+prettyjws',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayer: 'application/vnd.docker.image.rootfs.diff.tar',
  dockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  dockerLayerForeign: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
  dockerPluginConfig: 'application/vnd.docker.plugin.v1+json',
  inToto: 'application/vnd.in-toto+json',
  cosignSimpleSigning: 'application/vnd.dev.cosign.simplesigning.v1+json',
  sigstoreBundle: 'application/vnd.dev.sigstore.bundle.v0.3+json',
  notarySignature: 'application/vnd.cncf.notary.signature',
  helmConfig: 'application/vnd.cncf.helm.config.v1+json',
} as const;

export type MediaTypeKind = 'index' | 'manifest' | 'config' | 'layer' | 'manifest-v1' | 'other';

const INDEXES = new Set<string>([MT.ociIndex, MT.dockerList]);
const MANIFESTS = new Set<string>([MT.ociManifest, MT.dockerManifest]);
const CONFIGS = new Set<string>([MT.ociConfig, MT.dockerConfig]);
const LAYERS = new Set<string>([
  MT.ociLayer, MT.ociLayerGzip, MT.ociLayerZstd, MT.ociLayerNd, MT.ociLayerNdGzip, MT.ociLayerNdZstd,
  MT.dockerLayer, MT.dockerLayerGzip, MT.dockerLayerForeign,
]);

export function mediaTypeKind(mt: string | undefined): MediaTypeKind {
  if (!mt) return 'other';
  if (INDEXES.has(mt)) return 'index';
  if (MANIFESTS.has(mt)) return 'manifest';
  if (CONFIGS.has(mt)) return 'config';
  if (LAYERS.has(mt)) return 'layer';
  if (mt === MT.dockerManifestV1 || mt === MT.dockerManifestV1Signed) return 'manifest-v1';
  return 'other';
}

export const isIndexType = (mt: string | undefined): boolean => mediaTypeKind(mt) === 'index';
export const isManifestType = (mt: string | undefined): boolean => mediaTypeKind(mt) === 'manifest';
export const isConfigType = (mt: string | undefined): boolean => mediaTypeKind(mt) === 'config';
export const isLayerType = (mt: string | undefined): boolean => mediaTypeKind(mt) === 'layer';
export const isDockerType = (mt: string | undefined): boolean => !!mt && mt.startsWith('application/vnd.docker.');

/** Every media type this app knows; anything else is shown with an "unknown media type" note. */
export const KNOWN_MEDIA_TYPES: ReadonlySet<string> = new Set<string>(Object.values(MT));

/** Compression implied by a layer media type (magic bytes decide in the end; see layers/decode). */
export function layerCompression(mt: string | undefined): 'gzip' | 'zstd' | 'none' | 'unknown' {
  if (!mt) return 'unknown';
  if (mt.endsWith('+gzip') || mt.endsWith('.tar.gzip') || mt === 'application/tar+gzip') return 'gzip';
  if (mt.endsWith('+zstd')) return 'zstd';
  if (mt.endsWith('.tar') || mt === MT.dockerLayer) return 'none';
  return 'unknown';
}

const OCI_SPEC = 'https://github.com/opencontainers/image-spec/blob/main/';
const DOCKER_SPEC = 'https://distribution.github.io/distribution/spec/manifest-v2-2/';

const EXPLAIN: Record<string, [string, string]> = {
  [MT.ociIndex]: ['OCI image index: a list of manifests, usually one per platform.', OCI_SPEC + 'image-index.md'],
  [MT.ociManifest]: ['OCI image manifest: one image for one platform — a config plus ordered layers.', OCI_SPEC + 'manifest.md'],
  [MT.ociConfig]: ['OCI image config: runtime defaults (Env, Cmd, User…), history and the layers\' diff_ids.', OCI_SPEC + 'config.md'],
  [MT.ociDescriptor]: ['OCI content descriptor: a pointer to content by media type, digest and size.', OCI_SPEC + 'descriptor.md'],
  [MT.ociEmpty]: ['The empty descriptor ({}): a placeholder config or layer for artifacts.', OCI_SPEC + 'manifest.md#guidance-for-an-empty-descriptor'],
  [MT.ociLayer]: ['OCI layer: an uncompressed tar changeset applied on the layers below.', OCI_SPEC + 'layer.md'],
  [MT.ociLayerGzip]: ['OCI layer: a gzip-compressed tar changeset.', OCI_SPEC + 'layer.md'],
  [MT.ociLayerZstd]: ['OCI layer: a zstd-compressed tar changeset.', OCI_SPEC + 'layer.md'],
  [MT.ociLayerNd]: ['OCI non-distributable layer (deprecated): may not be pushed to other registries.', OCI_SPEC + 'layer.md#non-distributable-layers'],
  [MT.ociLayerNdGzip]: ['OCI non-distributable gzip layer (deprecated).', OCI_SPEC + 'layer.md#non-distributable-layers'],
  [MT.ociLayerNdZstd]: ['OCI non-distributable zstd layer (deprecated).', OCI_SPEC + 'layer.md#non-distributable-layers'],
  [MT.dockerList]: ['Docker manifest list: the Docker predecessor of the OCI image index.', DOCKER_SPEC + '#manifest-list'],
  [MT.dockerManifest]: ['Docker image manifest v2 schema 2: a config plus ordered layers.', DOCKER_SPEC + '#image-manifest'],
  [MT.dockerManifestV1]: ['Docker manifest v2 schema 1 (legacy, deprecated): shown read-only.', 'https://distribution.github.io/distribution/spec/deprecated-schema-v1/'],
  [MT.dockerManifestV1Signed]: ['Signed Docker manifest v2 schema 1 (legacy, deprecated): shown read-only.', 'https://distribution.github.io/distribution/spec/deprecated-schema-v1/'],
  [MT.dockerConfig]: ['Docker image config: runtime defaults, history and the layers\' diff_ids.', DOCKER_SPEC + '#image-manifest-field-descriptions'],
  [MT.dockerLayer]: ['Docker layer: an uncompressed tar changeset.', DOCKER_SPEC],
  [MT.dockerLayerGzip]: ['Docker layer: a gzip-compressed tar changeset.', DOCKER_SPEC],
  [MT.dockerLayerForeign]: ['Docker foreign layer: fetched from the URLs in the descriptor (Windows base layers).', DOCKER_SPEC],
  [MT.inToto]: ['in-toto attestation (SLSA provenance, SBOM…) about an image.', 'https://github.com/in-toto/attestation/blob/main/spec/README.md'],
  [MT.notarySignature]: ['Notary Project signature of its subject manifest.', 'https://github.com/notaryproject/specifications'],
  [MT.cosignSimpleSigning]: ['Cosign simple-signing payload: a signature of its subject.', 'https://github.com/sigstore/cosign/blob/main/specs/SIGNATURE_SPEC.md'],
  [MT.sigstoreBundle]: ['Sigstore bundle: a signature or attestation with its verification material.', 'https://github.com/sigstore/protobuf-specs'],
  [MT.helmConfig]: ['Helm chart config: the chart metadata of a chart stored as an OCI artifact.', 'https://helm.sh/docs/topics/registries/'],
};

export function explainMediaType(mt: string | undefined): { text: string; url?: string } {
  const e = mt ? EXPLAIN[mt] : undefined;
  if (e) return { text: e[0], url: e[1] };
  return { text: mt ? `Media type "${mt}" is not one this app knows; its bytes are shown as they are.` : 'No media type given.' };
}
