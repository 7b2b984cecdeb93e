import { describe, expect, it } from 'vitest';
import {
  explainMediaType, isConfigType, isDockerType, isIndexType, isLayerType, isManifestType,
  KNOWN_MEDIA_TYPES, layerCompression, mediaTypeKind, MT,
} from '../../../shared/oci/mediatypes.js';

describe('mediaTypeKind', () => {
  it.each([
    ['application/vnd.oci.image.index.v1+json', 'index'],
    ['application/vnd.docker.distribution.manifest.list.v2+json', 'index'],
    ['application/vnd.oci.image.manifest.v1+json', 'manifest'],
    ['application/vnd.docker.distribution.manifest.v2+json', 'manifest'],
    ['application/vnd.docker.distribution.manifest.v1+json', 'manifest-v1'],
    ['application/vnd.docker.distribution.manifest.v1+prettyjws', 'manifest-v1'],
    ['application/vnd.oci.image.config.v1+json', 'config'],
    ['application/vnd.docker.container.image.v1+json', 'config'],
    ['application/vnd.oci.image.layer.v1.tar', 'layer'],
    ['application/vnd.oci.image.layer.v1.tar+gzip', 'layer'],
    ['application/vnd.oci.image.layer.v1.tar+zstd', 'layer'],
    ['application/vnd.oci.image.layer.nondistributable.v1.tar+gzip', 'layer'],
    ['application/vnd.docker.image.rootfs.diff.tar.gzip', 'layer'],
    ['application/vnd.docker.image.rootfs.foreign.diff.tar.gzip', 'layer'],
    ['application/vnd.oci.empty.v1+json', 'other'],
    ['application/vnd.in-toto+json', 'other'],
    ['application/vnd.cncf.helm.config.v1+json', 'other'],
    ['', 'other'],
    [undefined, 'other'],
  ])('%s → %s', (mt, kind) => {
    expect(mediaTypeKind(mt)).toBe(kind);
  });

  it('the is* helpers agree with the kind', () => {
    expect(isIndexType(MT.dockerList) && isManifestType(MT.ociManifest) && isConfigType(MT.dockerConfig) && isLayerType(MT.ociLayerZstd)).toBe(true);
    expect(isIndexType(MT.ociManifest) || isLayerType(MT.ociConfig) || isManifestType(undefined)).toBe(false);
    expect(isDockerType(MT.dockerLayerGzip)).toBe(true);
    expect(isDockerType(MT.ociLayerGzip)).toBe(false);
  });
});

describe('layerCompression', () => {
  it.each([
    ['application/vnd.oci.image.layer.v1.tar', 'none'],
    ['application/vnd.oci.image.layer.v1.tar+gzip', 'gzip'],
    ['application/vnd.oci.image.layer.v1.tar+zstd', 'zstd'],
    ['application/vnd.oci.image.layer.nondistributable.v1.tar', 'none'],
    ['application/vnd.oci.image.layer.nondistributable.v1.tar+zstd', 'zstd'],
    ['application/vnd.docker.image.rootfs.diff.tar', 'none'],
    ['application/vnd.docker.image.rootfs.diff.tar.gzip', 'gzip'],
    ['application/vnd.docker.image.rootfs.foreign.diff.tar.gzip', 'gzip'],
    ['application/tar+gzip', 'gzip'], // Helm charts (ggcr test_index_media_type)
    ['application/vnd.oci.image.layer.v1.tar+gzip+encrypted', 'unknown'],
    ['application/octet-stream', 'unknown'],
    [undefined, 'unknown'],
  ])('%s → %s', (mt, c) => {
    expect(layerCompression(mt)).toBe(c);
  });
});

describe('known types and explanations', () => {
  it('every MT value is known and every known type with an explanation links to a spec', () => {
    for (const mt of Object.values(MT)) expect(KNOWN_MEDIA_TYPES.has(mt)).toBe(true);
    expect(KNOWN_MEDIA_TYPES.has('application/vnd.example+json')).toBe(false);
    const e = explainMediaType(MT.ociManifest);
    expect(e.text).toMatch(/manifest/i);
    expect(e.url).toMatch(/^https:\/\/github\.com\/opencontainers\/image-spec\/.*manifest\.md$/);
  });

  it('unknown and missing media types get a sentence, no link', () => {
    expect(explainMediaType('application/vnd.example+json')).toEqual({ text: 'Media type "application/vnd.example+json" is not one this app knows; its bytes are shown as they are.' });
    expect(explainMediaType(undefined)).toEqual({ text: 'No media type given.' });
  });
});
