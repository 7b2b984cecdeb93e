// config.md: the image configuration (runtime defaults, rootfs diff_ids, history). Also used for
// Docker's application/vnd.docker.container.image.v1+json, which is the same document.
export const CONFIG_ID = 'https://oci-explorer.local/schema/config.json';

const str = { type: 'string' } as const;
const stringArray = { type: 'array', items: str } as const;
const nullableStringArray = { type: ['array', 'null'], items: str } as const;
const dateTime = {
  type: 'string',
  format: 'date-time',
  errorText: { format: 'must be an RFC 3339 date-time, e.g. 2015-10-31T22:22:56.015925234Z' },
} as const;
const mapStringObject = {
  type: 'object',
  additionalProperties: { type: 'object', errorText: { type: 'must be an object (usually {})' } },
  errorText: { type: 'must be an object whose keys are the entries (e.g. {"/data": {}})' },
} as const;

export const configSchema = {
  $id: CONFIG_ID,
  type: 'object',
  errorText: { type: 'must be a JSON object' },
  properties: {
    created: dateTime,
    author: str,
    architecture: str,
    variant: str,
    os: str,
    'os.version': str,
    'os.features': stringArray,
    config: {
      type: 'object',
      properties: {
        User: str,
        ExposedPorts: mapStringObject,
        Env: stringArray,
        Entrypoint: nullableStringArray,
        Cmd: nullableStringArray,
        Volumes: { ...mapStringObject, type: ['object', 'null'] },
        WorkingDir: str,
        Labels: {
          type: ['object', 'null'],
          additionalProperties: { type: 'string', errorText: { type: 'must be a string (label values are always strings)' } },
        },
        StopSignal: str,
        ArgsEscaped: { type: 'boolean' },
      },
    },
    rootfs: {
      type: 'object',
      properties: {
        diff_ids: stringArray,
        type: { type: 'string', enum: ['layers'], errorText: { enum: 'must be "layers"' } },
      },
      required: ['diff_ids', 'type'],
    },
    history: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          created: dateTime,
          author: str,
          created_by: str,
          comment: str,
          empty_layer: { type: 'boolean' },
        },
      },
    },
  },
  required: ['architecture', 'os', 'rootfs'],
} as const;
