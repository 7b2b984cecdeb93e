// image-index.md. `manifests: null` is accepted as an empty list: Docker 25+ writes it in the
// index.json of `docker save`, and image-spec's own Go types marshal an empty list that way.
import { ref } from './defs-descriptor.js';
import { CONTENT_DESCRIPTOR_ID } from './content-descriptor.js';

export const IMAGE_INDEX_ID = 'https://oci-explorer.local/schema/image-index.json';

export const schemaVersion2 = {
  type: 'integer',
  const: 2,
  errorText: { type: 'must be the integer 2', const: 'must be 2' },
} as const;

export const imageIndexSchema = {
  $id: IMAGE_INDEX_ID,
  type: 'object',
  errorText: { type: 'must be a JSON object' },
  properties: {
    schemaVersion: schemaVersion2,
    mediaType: ref('mediaType'),
    artifactType: ref('mediaType'),
    subject: { $ref: CONTENT_DESCRIPTOR_ID },
    manifests: {
      type: ['array', 'null'],
      items: { $ref: CONTENT_DESCRIPTOR_ID },
      errorText: { type: 'must be an array of descriptors' },
    },
    annotations: ref('annotations'),
  },
  required: ['schemaVersion', 'manifests'],
} as const;
