// image-layout.md: the oci-layout file at the root of a layout.
export const OCI_LAYOUT_ID = 'https://oci-explorer.local/schema/oci-layout.json';

export const ociLayoutSchema = {
  $id: OCI_LAYOUT_ID,
  type: 'object',
  errorText: { type: 'must be a JSON object' },
  properties: {
    imageLayoutVersion: {
      type: 'string',
      enum: ['1.0.0'],
      errorText: { enum: 'must be "1.0.0", the only layout version defined so far' },
    },
  },
  required: ['imageLayoutVersion'],
} as const;
