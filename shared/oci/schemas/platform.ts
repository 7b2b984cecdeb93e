// image-index.md "platform": the system an image runs on. Required os and architecture.
export const PLATFORM_ID = 'https://oci-explorer.local/schema/platform.json';

const stringArray = { type: 'array', items: { type: 'string' } } as const;

export const platformSchema = {
  $id: PLATFORM_ID,
  type: 'object',
  errorText: { type: 'must be an object with os and architecture' },
  properties: {
    architecture: { type: 'string' },
    os: { type: 'string' },
    'os.version': { type: 'string' },
    'os.features': stringArray,
    variant: { type: 'string' },
    features: stringArray,
  },
  required: ['architecture', 'os'],
} as const;
