// manifest.md: one image (or artifact) = a config descriptor plus ordered layer descriptors.
import { ref } from './defs-descriptor.js';
import { CONTENT_DESCRIPTOR_ID } from './content-descriptor.js';
import { schemaVersion2 } from './image-index.js';

export const IMAGE_MANIFEST_ID = 'https://oci-explorer.local/schema/image-manifest.json';

export const imageManifestSchema = {
  $id: IMAGE_MANIFEST_ID,
  type: 'object',
  errorText: { type: 'must be a JSON object' },
  properties: {
    schemaVersion: schemaVersion2,
    mediaType: ref('mediaType'),
    artifactType: ref('mediaType'),
    config: { $ref: CONTENT_DESCRIPTOR_ID },
    subject: { $ref: CONTENT_DESCRIPTOR_ID },
    layers: {
      type: 'array',
      // image-spec's schema: at least one layer (artifacts without content use the empty descriptor).
      minItems: 1,
      items: { $ref: CONTENT_DESCRIPTOR_ID },
      errorText: {
        type: 'must be an array of descriptors',
        minItems: 'must list at least one layer (an artifact without content uses the empty descriptor application/vnd.oci.empty.v1+json)',
      },
    },
    annotations: ref('annotations'),
  },
  required: ['schemaVersion', 'config', 'layers'],
} as const;
