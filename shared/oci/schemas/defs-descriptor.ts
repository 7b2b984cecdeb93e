// Shared definitions, after image-spec schema/defs-descriptor.json and defs.json. Written here as
// TS objects (our own schemas) and compiled by Ajv in ../schema.ts. `errorText` is our annotation
// keyword: the human predicate shown for a failing keyword ("must be …"); the field name is prefixed.
import { DIGEST_GRAMMAR } from '../digest.js';

export const DEFS_DESCRIPTOR_ID = 'https://oci-explorer.local/schema/defs-descriptor.json';

/** RFC 6838 §4.2: type "/" subtype, each a restricted-name of 1–127 characters starting alphanumeric. */
export const MEDIA_TYPE_PATTERN = '^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$';

/** descriptor.md digest grammar: algorithm-component (separated by + . _ -) ":" encoded. */
export const DIGEST_PATTERN = DIGEST_GRAMMAR.source;

export const defsDescriptorSchema = {
  $id: DEFS_DESCRIPTOR_ID,
  definitions: {
    mediaType: {
      type: 'string',
      pattern: MEDIA_TYPE_PATTERN,
      errorText: {
        pattern: 'must be a media type of the form type/subtype (RFC 6838), e.g. application/vnd.oci.image.manifest.v1+json',
      },
    },
    digest: {
      type: 'string',
      pattern: DIGEST_PATTERN,
      errorText: {
        pattern: 'must have the form algorithm:encoded with a lowercase algorithm, e.g. sha256: followed by 64 lowercase hex characters',
      },
    },
    size: {
      type: 'integer',
      minimum: 0,
      // int64 in the spec; JSON numbers above 2^53 cannot be told apart in JavaScript anyway.
      maximum: 2 ** 63,
      errorText: { type: 'must be an integer number of bytes' },
    },
    urls: {
      type: 'array',
      items: {
        type: 'string',
        format: 'uri',
        errorText: { format: 'must be an absolute URL (RFC 3986), e.g. https://example.com/blob' },
      },
    },
    annotations: {
      type: 'object',
      additionalProperties: {
        type: 'string',
        errorText: { type: 'must be a string (annotation values are always strings)' },
      },
      errorText: { type: 'must be an object mapping string keys to string values' },
    },
    base64: {
      // Padding is checked beside the schema (descriptor-30 in image-spec's tests).
      type: 'string',
    },
  },
} as const;

export const ref = (name: keyof typeof defsDescriptorSchema.definitions): { $ref: string } => ({
  $ref: `${DEFS_DESCRIPTOR_ID}#/definitions/${name}`,
});
