// descriptor.md: a pointer to content by media type, digest and size. Unknown fields are allowed.
import { ref } from './defs-descriptor.js';
import { PLATFORM_ID } from './platform.js';

export const CONTENT_DESCRIPTOR_ID = 'https://oci-explorer.local/schema/content-descriptor.json';

export const contentDescriptorSchema = {
  $id: CONTENT_DESCRIPTOR_ID,
  type: 'object',
  errorText: { type: 'must be an object (a content descriptor with mediaType, digest and size)' },
  properties: {
    mediaType: ref('mediaType'),
    size: ref('size'),
    digest: ref('digest'),
    urls: ref('urls'),
    data: ref('base64'),
    artifactType: ref('mediaType'),
    annotations: ref('annotations'),
    // Only meaningful in an index, but Go's Descriptor type carries it everywhere.
    platform: { $ref: PLATFORM_ID },
  },
  required: ['mediaType', 'size', 'digest'],
} as const;
