// Docker image manifest v2 schema 2 and manifest list (distribution's manifest-v2-2.md). The same
// descriptor rules as OCI; their own small differences: mediaType is required, a manifest may have
// no layers (FROM scratch), every manifest-list entry names its platform.
import { ref } from './defs-descriptor.js';
import { CONTENT_DESCRIPTOR_ID } from './content-descriptor.js';
import { PLATFORM_ID } from './platform.js';
import { schemaVersion2 } from './image-index.js';

export const DOCKER_MANIFEST_ID = 'https://oci-explorer.local/schema/docker-manifest.json';
export const DOCKER_LIST_ID = 'https://oci-explorer.local/schema/docker-manifest-list.json';

export const dockerManifestSchema = {
  $id: DOCKER_MANIFEST_ID,
  type: 'object',
  errorText: { type: 'must be a JSON object' },
  properties: {
    schemaVersion: schemaVersion2,
    mediaType: ref('mediaType'),
    config: { $ref: CONTENT_DESCRIPTOR_ID },
    layers: { type: 'array', items: { $ref: CONTENT_DESCRIPTOR_ID }, errorText: { type: 'must be an array of descriptors' } },
    annotations: ref('annotations'),
  },
  required: ['schemaVersion', 'mediaType', 'config', 'layers'],
} as const;

export const dockerListSchema = {
  $id: DOCKER_LIST_ID,
  type: 'object',
  errorText: { type: 'must be a JSON object' },
  properties: {
    schemaVersion: schemaVersion2,
    mediaType: ref('mediaType'),
    manifests: {
      type: 'array',
      items: { type: 'object', allOf: [{ $ref: CONTENT_DESCRIPTOR_ID }], properties: { platform: { $ref: PLATFORM_ID } }, required: ['platform'] },
      errorText: { type: 'must be an array of descriptors' },
    },
  },
  required: ['schemaVersion', 'mediaType', 'manifests'],
} as const;
