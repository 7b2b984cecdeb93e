import {
  EVENTS,
  MAX_DIRS,
  MAX_PAGE,
  MAX_READ,
  METHODS,
  OPERATION_ID_PATTERN,
  type MethodArgs,
  type MethodName,
} from './contract.js';

// Argument validation for every method, used by BOTH transports (Electron IPC in main, web mode in the
// server) before anything reaches the handler table. A tiny schema language rather than ajv so the
// rules sit next to the contract, unknown keys are refused, and messages name the field.
// Pure (no imports beyond the contract): safe anywhere.

export type Schema =
  | { t: 'string'; max?: number; min?: number; pattern?: RegExp; enum?: readonly string[] }
  | { t: 'int'; min?: number; max?: number }
  | { t: 'bool' }
  | { t: 'null' }
  | { t: 'array'; of: Schema; max: number }
  | { t: 'object'; props: Record<string, Schema>; optional?: readonly string[] }
  | { t: 'union'; of: Schema[] };

const str = (max = 4096, extra: { min?: number; pattern?: RegExp } = {}): Schema => ({ t: 'string', max, min: extra.min ?? 0, ...(extra.pattern ? { pattern: extra.pattern } : {}) });
const oneOf = (...values: string[]): Schema => ({ t: 'string', enum: values });
const int = (min = 0, max = Number.MAX_SAFE_INTEGER): Schema => ({ t: 'int', min, max });
const obj = (props: Record<string, Schema>, optional: string[] = []): Schema => ({ t: 'object', props, optional });
const arr = (of: Schema, max: number): Schema => ({ t: 'array', of, max });
const union = (...of: Schema[]): Schema => ({ t: 'union', of });
const NULL: Schema = { t: 'null' };
const BOOL: Schema = { t: 'bool' };

// Digest syntax only (algorithm:encoded); whether it is a supported algorithm is the core's call.
const DIGEST = str(200, { min: 3, pattern: /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/ });
const SOURCE_ID = str(64, { min: 1, pattern: /^[A-Za-z0-9_-]+$/ });
const OP_ID = str(64, { min: 1, pattern: OPERATION_ID_PATTERN });
const LAYER = int(0, 100_000);
// Image paths are absolute POSIX paths inside the image; NUL never belongs in one.
const IMAGE_PATH = str(4096, { min: 1, pattern: /^\/[^\0]*$/ });
// Host paths (spec, extract target) are any non-empty string without NUL; the core checks them.
const HOST_PATH = str(4096, { min: 1, pattern: /^[^\0]+$/ });
const RANGE = obj({ start: LAYER, end: LAYER });
const IMAGE_REF = obj({ sourceId: SOURCE_ID, manifest: DIGEST });
const TREE_VIEW = union(
  obj({ kind: oneOf('merged'), upTo: LAYER }, ['upTo']),
  obj({ kind: oneOf('layer'), layer: LAYER }),
  obj({ kind: oneOf('diff'), bottom: union(RANGE, NULL), top: RANGE }),
);
const FILE_VIEW = union(obj({ kind: oneOf('merged'), upTo: LAYER }, ['upTo']), obj({ kind: oneOf('layer'), layer: LAYER }));
const CHANGE_KINDS = arr(oneOf('added', 'modified', 'removed', 'unchanged'), 4);
const SORT = obj({ by: oneOf('name', 'size'), order: oneOf('asc', 'desc') });
const SEARCH = obj({ pattern: str(1024, { min: 1 }), mode: oneOf('glob', 'regex', 'substring'), caseSensitive: BOOL }, ['caseSensitive']);
const FILTER = obj({ changes: CHANGE_KINDS, search: SEARCH }, ['changes', 'search']);
const OFFSET = int(0);
const LIMIT = int(1, MAX_PAGE);
const NONE = obj({});

const SETTINGS_PATCH = obj(
  {
    theme: oneOf('system', 'light', 'dark'),
    recentLimit: int(0, 100),
    hexBytesPerRow: union({ t: 'int', min: 8, max: 8 }, { t: 'int', min: 16, max: 16 }, { t: 'int', min: 32, max: 32 }),
    textPreviewBytes: int(0, 64 * 1024 * 1024),
    defaultPlatform: str(64, { pattern: /^$|^[a-z0-9._-]+\/[a-z0-9._-]+(\/[a-z0-9._-]+)?$/ }),
    treeSort: SORT,
    cacheMaxBytes: int(0),
  },
  ['theme', 'recentLimit', 'hexBytesPerRow', 'textPreviewBytes', 'defaultPlatform', 'treeSort', 'cacheMaxBytes'],
);

export const ARG_SCHEMAS: { readonly [M in MethodName]: Schema } = {
  version: NONE,
  openSource: obj({ spec: HOST_PATH, opId: OP_ID }, ['opId']),
  openDemo: NONE,
  listSources: NONE,
  closeSource: obj({ sourceId: SOURCE_ID }),
  getGraph: obj({ sourceId: SOURCE_ID }),
  getBlob: obj({ sourceId: SOURCE_ID, digest: DIGEST, maxBytes: int(0, 64 * 1024 * 1024) }, ['maxBytes']),
  listImages: obj({ sourceId: SOURCE_ID }),
  selectImage: obj({ sourceId: SOURCE_ID, manifest: DIGEST, platform: str(64, { min: 3 }), opId: OP_ID }, ['manifest', 'platform', 'opId']),
  listDir: obj({ image: IMAGE_REF, view: TREE_VIEW, path: IMAGE_PATH, offset: OFFSET, limit: LIMIT, sort: SORT, filter: FILTER }, ['offset', 'limit', 'sort', 'filter']),
  listDirs: obj({ image: IMAGE_REF, view: TREE_VIEW, paths: arr(IMAGE_PATH, MAX_DIRS), limit: LIMIT, sort: SORT, filter: FILTER }, ['limit', 'sort', 'filter']),
  search: obj({ image: IMAGE_REF, view: TREE_VIEW, query: SEARCH, offset: OFFSET, limit: LIMIT }, ['offset', 'limit']),
  diff: obj({ image: IMAGE_REF, bottom: union(RANGE, NULL), top: RANGE }),
  listChanges: obj(
    { image: IMAGE_REF, bottom: union(RANGE, NULL), top: RANGE, changes: CHANGE_KINDS, offset: OFFSET, limit: LIMIT, sort: SORT },
    ['changes', 'offset', 'limit', 'sort'],
  ),
  efficiency: obj({ image: IMAGE_REF, top: int(0, 10_000) }, ['top']),
  stat: obj({ image: IMAGE_REF, view: TREE_VIEW, path: IMAGE_PATH }),
  readFile: obj({ image: IMAGE_REF, view: FILE_VIEW, path: IMAGE_PATH, offset: OFFSET, length: int(0, MAX_READ) }, ['view', 'offset', 'length']),
  extract: obj({ image: IMAGE_REF, upTo: LAYER, path: IMAGE_PATH, target: HOST_PATH, opId: OP_ID }, ['upTo', 'path', 'opId']),
  saveFile: obj({ image: IMAGE_REF, view: FILE_VIEW, path: IMAGE_PATH, target: HOST_PATH, opId: OP_ID }, ['view', 'opId']),
  cancel: obj({ opId: OP_ID }),
  listOperations: NONE,
  recentSources: NONE,
  clearRecent: NONE,
  getSettings: NONE,
  setSettings: obj({ patch: SETTINGS_PATCH }),
  cacheUsage: NONE,
  clearCache: NONE,
  chooseSource: obj({ kind: oneOf('folder', 'archive') }),
  chooseTarget: obj({ kind: oneOf('folder', 'file'), defaultName: str(255) }, ['defaultName']),
  openExternal: obj({ url: str(2048, { min: 1 }) }),
};

/** Returns a sentence saying what is wrong with `value` at `at`, or undefined when it fits. */
export function checkSchema(schema: Schema, value: unknown, at = 'args'): string | undefined {
  switch (schema.t) {
    case 'string': {
      if (typeof value !== 'string') return `${at} must be a string`;
      if (schema.enum) return schema.enum.includes(value) ? undefined : `${at} must be one of ${schema.enum.join(', ')}`;
      if (schema.min !== undefined && value.length < schema.min) return `${at} must not be empty`;
      if (schema.max !== undefined && value.length > schema.max) return `${at} is longer than ${schema.max} characters`;
      if (schema.pattern && !schema.pattern.test(value)) return `${at} has an invalid format`;
      return undefined;
    }
    case 'int':
      if (typeof value !== 'number' || !Number.isSafeInteger(value)) return `${at} must be an integer`;
      if (schema.min !== undefined && value < schema.min) return `${at} must be at least ${schema.min}`;
      if (schema.max !== undefined && value > schema.max) return `${at} must be at most ${schema.max}`;
      return undefined;
    case 'bool':
      return typeof value === 'boolean' ? undefined : `${at} must be true or false`;
    case 'null':
      return value === null ? undefined : `${at} must be null`;
    case 'array': {
      if (!Array.isArray(value)) return `${at} must be a list`;
      if (value.length > schema.max) return `${at} has more than ${schema.max} items`;
      for (let i = 0; i < value.length; i++) {
        const p = checkSchema(schema.of, value[i], `${at}[${i}]`);
        if (p) return p;
      }
      return undefined;
    }
    case 'object': {
      if (!isPlainObject(value)) return `${at} must be an object`;
      for (const k of Object.keys(value)) {
        if (!Object.hasOwn(schema.props, k)) return `${at}.${k} is not a known field`;
      }
      for (const [k, s] of Object.entries(schema.props)) {
        const v = value[k];
        if (v === undefined) {
          if (schema.optional?.includes(k)) continue;
          return `${at}.${k} is required`;
        }
        const p = checkSchema(s, v, `${at}.${k}`);
        if (p) return p;
      }
      return undefined;
    }
    case 'union': {
      const problems = schema.of.map((s) => checkSchema(s, value, at));
      if (problems.some((p) => p === undefined)) return undefined;
      // The most specific complaint: the one from the branch whose discriminant matched, if any.
      return problems.find((p) => p && !/\.kind must be one of/.test(p)) ?? problems[0];
    }
  }
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** undefined when `args` fits `method`, else a sentence naming the field. Unknown methods are refused. */
export function argsProblem(method: string, args: unknown): string | undefined {
  if (!(METHODS as readonly string[]).includes(method)) return `"${method}" is not an API method`;
  return checkSchema(ARG_SCHEMAS[method as MethodName], args ?? {});
}

/** Narrowing helper for callers that have already checked. */
export function asArgs<M extends MethodName>(_m: M, args: unknown): MethodArgs<M> {
  return (args ?? {}) as MethodArgs<M>;
}

export function isEventName(x: unknown): boolean {
  return typeof x === 'string' && (EVENTS as readonly string[]).includes(x);
}
