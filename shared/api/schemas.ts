import * as T from '@sinclair/typebox';
import type { Static, TObject, TProperties, TSchema, TUnion } from '@sinclair/typebox';

// The building blocks of the methods' argument schemas (contract.ts), as TypeBox: plain JSON Schema at
// run time (compiled by Ajv in validate.ts, on the Node side only) and TypeScript types through Static.
// Declarations only. Imported as a namespace of named builders, so a bundle keeps just the builders it
// uses (~7 kB minified, measured; `Type.*` would keep all of TypeBox, ~63 kB).
//
// Every object refuses unknown keys (`obj`), so a misspelt field is an error, not silently ignored.

/** An object schema whose unknown keys are refused. */
export const obj = <P extends TProperties>(props: P) => T.Object(props, { additionalProperties: false });
/** A string that is one of `values` (JSON Schema `enum`; the type is their union). */
export const oneOf = <const V extends readonly string[]>(...values: V) => T.Unsafe<V[number]>({ type: 'string', enum: [...values] });
export const int = (minimum = 0, maximum = Number.MAX_SAFE_INTEGER) => T.Integer({ minimum, maximum });
const str = (maxLength = 4096, extra: { minLength?: number; pattern?: string } = {}) => T.String({ maxLength, minLength: 0, ...extra });
export const opt = T.Optional;
/**
 * A union told apart by its `kind` field (an OpenAPI discriminator, which Ajv supports): only the branch
 * that `kind` names is checked, so an error speaks of that branch rather than of every alternative.
 */
export const byKind = <B extends TObject[]>(...branches: B) =>
  T.Unsafe<Static<TUnion<B>>>({ type: 'object', properties: { kind: { type: 'string' } }, required: ['kind'], discriminator: { propertyName: 'kind' }, oneOf: branches });

/** Bumped when a method or event changes incompatibly. */
export const API_VERSION = 1;

/** Largest page listDir/search/listChanges return; ask again with offset for more. */
export const MAX_PAGE = 5000;
/** Most directories one listDirs call lists. */
export const MAX_DIRS = 1000;
/** Largest range readFile returns per call. */
export const MAX_READ = 4 * 1024 * 1024;

export const OPERATION_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

// ---------------------------------------------------------------------------------------------------
// Identifiers and paths

/** Digest syntax only (algorithm:encoded); whether the algorithm is supported is the core's call. */
export const DIGEST = str(200, { minLength: 3, pattern: '^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$' });
/** Opaque id of an open source, e.g. "s1". Valid until closeSource. */
export const SOURCE_ID = str(64, { minLength: 1, pattern: '^[A-Za-z0-9_-]+$' });
/** Caller-chosen id of a long operation: 1–64 of [A-Za-z0-9_-]. See newOperationId() (ids.ts). */
export const OP_ID = str(64, { minLength: 1, pattern: OPERATION_ID_PATTERN.source });
export const LAYER = int(0, 100_000);
/** Absolute POSIX paths inside the image; NUL never belongs in one. */
export const IMAGE_PATH = str(4096, { minLength: 1, pattern: '^/[^\\0]*$' });
/** Host paths (spec, extract target): any non-empty string without NUL; the core checks them. */
export const HOST_PATH = str(4096, { minLength: 1, pattern: '^[^\\0]+$' });
export const OFFSET = int(0);
export const LIMIT = int(1, MAX_PAGE);
/** Methods without arguments take an empty object (or nothing). */
export const NONE = T.Unsafe<Record<string, never>>({ type: 'object', properties: {}, additionalProperties: false });

export type SourceId = string;
export type OperationId = string;

// ---------------------------------------------------------------------------------------------------
// Images, views, queries

/** Names one image (manifest) of one open source; what every layer/tree call takes. */
export const IMAGE_REF = obj({ sourceId: SOURCE_ID, manifest: DIGEST });
export type ImageRef = Static<typeof IMAGE_REF>;

/** Inclusive range of layer indexes. */
export const LAYER_RANGE = obj({ start: LAYER, end: LAYER });
export type LayerRange = Static<typeof LAYER_RANGE>;
export const BOTTOM = T.Union([LAYER_RANGE, T.Null()]);

const MERGED_VIEW = obj({ kind: T.Literal('merged'), upTo: opt(LAYER) });
const LAYER_VIEW = obj({ kind: T.Literal('layer'), layer: LAYER });

/**
 * Which tree to look at:
 * - merged: the rootfs after layers 0..upTo (default: all), changesets applied as layer.md says.
 * - layer: one layer's own changeset (whiteouts shown as removed entries).
 * - diff: merged(bottom) vs merged(bottom + top). dive's "this layer" for layer n is
 *   bottom {0,n-1} (null for n=0), top {n,n}; "aggregated" is bottom {0,0}, top {1,n};
 *   comparing layers a<b is bottom {0,a}, top {a+1,b}.
 */
export const TREE_VIEW = byKind(MERGED_VIEW, LAYER_VIEW, obj({ kind: T.Literal('diff'), bottom: BOTTOM, top: LAYER_RANGE }));
export type TreeView = Static<typeof TREE_VIEW>;

/** Views a single file can be read from. */
export const FILE_VIEW = byKind(MERGED_VIEW, LAYER_VIEW);
export type FileView = Static<typeof FILE_VIEW>;

export const CHANGE_KIND = oneOf('added', 'modified', 'removed', 'unchanged');
export type ChangeKind = Static<typeof CHANGE_KIND>;
export const CHANGE_KINDS = T.Array(CHANGE_KIND, { maxItems: 4 });

export const TREE_SORT = obj({ by: oneOf('name', 'size'), order: oneOf('asc', 'desc') });
export type TreeSort = Static<typeof TREE_SORT>;

export const SEARCH_QUERY = obj({
  /** glob: `*` within a segment, `**` across, `?`; matched against the full path, or the name when it has no "/". */
  pattern: str(1024, { minLength: 1 }),
  mode: oneOf('glob', 'regex', 'substring'),
  caseSensitive: opt(T.Boolean()),
});
export type SearchQuery = Static<typeof SEARCH_QUERY>;

export const TREE_FILTER = obj({
  /** Keep only entries with these change kinds (diff views) and the directories leading to them. */
  changes: opt(CHANGE_KINDS),
  search: opt(SEARCH_QUERY),
});
export type TreeFilter = Static<typeof TREE_FILTER>;

// ---------------------------------------------------------------------------------------------------
// Settings

export const SETTINGS = obj({
  theme: oneOf('system', 'light', 'dark'),
  /** How many sources Recent keeps. */
  recentLimit: int(0, 100),
  hexBytesPerRow: T.Unsafe<8 | 16 | 32>({ type: 'integer', enum: [8, 16, 32] }),
  /** Files up to this size are shown as text (with highlighting); bigger ones are paged. */
  textPreviewBytes: int(0, 64 * 1024 * 1024),
  /** os/arch[/variant] to select by default in multi-platform images; '' = the host's. */
  defaultPlatform: str(64, { pattern: '^$|^[a-z0-9._-]+/[a-z0-9._-]+(/[a-z0-9._-]+)?$' }),
  treeSort: TREE_SORT,
  /** Storage: the most the cache may hold, in bytes; 0 = automatic (the smaller of 5 GiB and 10 % of the disk). OCI_EXPLORER_CACHE_MAX overrides it. */
  cacheMaxBytes: int(0),
});
export type Settings = Static<typeof SETTINGS>;
/** setSettings' patch: any subset of the settings, each field checked as in SETTINGS. */
export const SETTINGS_PATCH = T.Partial(SETTINGS);

export const DEFAULT_SETTINGS: Settings = {
  theme: 'system',
  recentLimit: 12,
  hexBytesPerRow: 16,
  textPreviewBytes: 1024 * 1024,
  defaultPlatform: '',
  treeSort: { by: 'name', order: 'asc' },
  cacheMaxBytes: 0,
};

export type { Static, TSchema };

/** Carries a type without a runtime schema: results and event payloads come from our own core. */
export interface Typed<T> {
  readonly __type?: T;
}
export const typed = <T>(): Typed<T> => ({});
export type TypeOf<X> = X extends Typed<infer T> ? T : never;
