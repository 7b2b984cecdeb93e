// The contract between the UI and the core: the only seam. Electron IPC (electron/main + preload) and web
// mode (shared/web/server + shared/api/web-client) both carry exactly these calls and events, dispatched
// into one handler table (shared/api/handlers.ts).
//
// Each method is declared ONCE, in CONTRACT below: its argument schema (TypeBox, ./schemas.ts) and its
// result type. From that one table come the TypeScript types (ApiMethods, MethodArgs, MethodResult), the
// argument validation (./validate.ts compiles the schemas with Ajv, in the core and the transports only),
// the method list (METHODS, SHELL_METHODS) and web mode's routes (WEB_ROUTES). Events: ./events.ts.
//
// Rules for everything here:
// - Every value crossing the seam is plain data (structured-clone safe): objects, arrays, strings,
//   numbers, booleans, null, Uint8Array. No classes, Maps, Sets, Dates or functions.
// - Every method takes ONE argument object and returns a Promise. Adding an optional field is compatible;
//   renaming or removing one is not. Unknown fields are refused.
// - Failures reject with an ApiError ({code, message, details?}, ./errors.ts); `message` is for the user.
// - Long work (open, index, extract, later registry pulls and local Docker) takes an optional `opId` that
//   the CALLER makes with newOperationId() (./ids.ts), so it can cancel({opId}) before the call returns and
//   match progress events to the call. New long operations reuse this shape: a method + an OperationKind.
//
// Declarations only (runtime helpers live in errors.ts, ids.ts, names.ts, validate.ts), so the renderer
// can import it: it costs the renderer TypeBox's builders and the schema objects, never Ajv.

import * as T from '@sinclair/typebox';
import type { ImageEntry, ImageGraph } from '../graph/types.js';
import type { EventName, ExplorerEvents, OperationEvent } from './events.js';
import type {
  BlobContent, CacheClearResult, CacheUsage, ChangesPage, DiffSummary, DirPage, EfficiencyReport, ExtractResult, FileChunk, ImageSummary, RecentSource,
  SearchPage, SerializedError, SourceHandle, StatResult, VersionInfo,
} from './results.js';
import {
  BOTTOM, CHANGE_KINDS, DIGEST, FILE_VIEW, HOST_PATH, IMAGE_PATH, IMAGE_REF, LAYER, LAYER_RANGE, LIMIT, MAX_DIRS, MAX_READ, NONE, OFFSET,
  OP_ID, SEARCH_QUERY, SETTINGS_PATCH, SOURCE_ID, TREE_FILTER, TREE_SORT, TREE_VIEW, int, obj, oneOf, opt, typed,
  type Settings, type Static, type TSchema, type Typed, type TypeOf,
} from './schemas.js';

export type { ErrorCode, Problem } from '../errors.js';
export type { Digest } from '../oci/digest.js';
export type { Platform } from '../oci/platform.js';
export type { SourceKind } from '../sources/types.js';
export type { EdgeRole, GraphEdge, GraphNode, ImageEntry, ImageGraph, NodeKind, VerifyState } from '../graph/types.js';
export type * from './results.js';
export type * from './events.js';
export { EVENTS, EVENT_TABLE } from './events.js';
export type { ChangeKind, FileView, ImageRef, LayerRange, OperationId, SearchQuery, Settings, SourceId, TreeFilter, TreeSort, TreeView } from './schemas.js';
export { API_VERSION, DEFAULT_SETTINGS, MAX_DIRS, MAX_PAGE, MAX_READ, OPERATION_ID_PATTERN } from './schemas.js';

interface MethodDecl<A extends TSchema = TSchema, R = unknown> {
  /** The one argument object (validated on the Node side before any handler runs). */
  args: A;
  /** The result, typed only: it comes from our own core. */
  result: Typed<R>;
  /** Answered by the desktop shell (needs Electron), never by the handler table. */
  shell?: true;
}
const SHELL = { shell: true } as const;
function method<A extends TSchema, R>(args: A, result: Typed<R>): MethodDecl<A, R>;
function method<A extends TSchema, R>(args: A, result: Typed<R>, shell: typeof SHELL): MethodDecl<A, R> & typeof SHELL;
function method(args: TSchema, result: Typed<unknown>, shell?: typeof SHELL): MethodDecl {
  return { args, result, ...shell };
}
const IMAGE = { image: IMAGE_REF };

/** Every method: its argument schema and its result type. */
export const CONTRACT = {
  version: method(NONE, typed<VersionInfo>()),

  openSource: method(obj({ spec: HOST_PATH, opId: opt(OP_ID) }), typed<SourceHandle>()),
  /** Opens the demo image bundled with the app (what the app shows when started with nothing). */
  openDemo: method(NONE, typed<SourceHandle>()),
  listSources: method(NONE, typed<SourceHandle[]>()),
  closeSource: method(obj({ sourceId: SOURCE_ID }), typed<{ closed: boolean }>()),

  getGraph: method(obj({ sourceId: SOURCE_ID }), typed<ImageGraph>()),
  /** A descriptor's raw bytes (manifests, configs, indexes; layers up to maxBytes). Default maxBytes 1 MiB. */
  getBlob: method(obj({ sourceId: SOURCE_ID, digest: DIGEST, maxBytes: opt(int(0, 64 * 1024 * 1024)) }), typed<BlobContent>()),
  listImages: method(obj({ sourceId: SOURCE_ID }), typed<ImageEntry[]>()),
  /** Picks one image (by manifest digest, or platform "os/arch[/variant]", else the default) and indexes its layers. */
  selectImage: method(obj({ sourceId: SOURCE_ID, manifest: opt(DIGEST), platform: opt(T.String({ minLength: 3, maxLength: 64 })), opId: opt(OP_ID) }), typed<ImageSummary>()),

  /** One page (offset, limit ≤ MAX_PAGE, default 1000) of a directory's children in a view; sorted by name unless `sort`. */
  listDir: method(
    obj({ ...IMAGE, view: TREE_VIEW, path: IMAGE_PATH, offset: opt(OFFSET), limit: opt(LIMIT), sort: opt(TREE_SORT), filter: opt(TREE_FILTER) }),
    typed<DirPage>(),
  ),
  /**
   * The first page (limit ≤ MAX_PAGE each, default 1000) of several directories in one call, e.g. the root and
   * every expanded folder after a view change. `pages` follows `paths`, without the paths that are not a
   * directory in this view (listed in `missing`); ask listDir with an offset for a folder's further pages.
   */
  listDirs: method(
    obj({ ...IMAGE, view: TREE_VIEW, paths: T.Array(IMAGE_PATH, { maxItems: MAX_DIRS }), limit: opt(LIMIT), sort: opt(TREE_SORT), filter: opt(TREE_FILTER) }),
    typed<{ pages: DirPage[]; missing: string[] }>(),
  ),
  /**
   * Every entry of a view matching the query, paged (default limit 1000): in path order, or with `sort`
   * depth first with each folder's children in listDir's order for that sort.
   */
  search: method(obj({ ...IMAGE, view: TREE_VIEW, query: SEARCH_QUERY, offset: opt(OFFSET), limit: opt(LIMIT), sort: opt(TREE_SORT) }), typed<SearchPage>()),
  /** Counts and bytes of a diff (see TreeView for bottom/top); browse it with listDir on a 'diff' view or listChanges. */
  diff: method(obj({ ...IMAGE, bottom: BOTTOM, top: LAYER_RANGE }), typed<DiffSummary>()),
  listChanges: method(
    obj({ ...IMAGE, bottom: BOTTOM, top: LAYER_RANGE, changes: opt(CHANGE_KINDS), offset: opt(OFFSET), limit: opt(LIMIT), sort: opt(TREE_SORT) }),
    typed<ChangesPage>(),
  ),
  /** dive's efficiency figures plus reclaimable bytes; `top` (default 50) wasted paths. */
  efficiency: method(obj({ ...IMAGE, top: opt(int(0, 10_000)) }), typed<EfficiencyReport>()),
  stat: method(obj({ ...IMAGE, view: TREE_VIEW, path: IMAGE_PATH }), typed<StatResult>()),
  /** Reads [offset, offset+length) of a file; length defaults to and is capped at MAX_READ. */
  readFile: method(obj({ ...IMAGE, view: opt(FILE_VIEW), path: IMAGE_PATH, offset: opt(OFFSET), length: opt(int(0, MAX_READ)) }), typed<FileChunk>()),
  /**
   * Writes the merged tree (or the subtree at `path`) into the folder `target` (on the machine running the
   * core: the server in web mode). Only the final image for now: an `upTo` below the last layer is refused.
   */
  extract: method(obj({ ...IMAGE, upTo: opt(LAYER), path: opt(IMAGE_PATH), target: HOST_PATH, opId: opt(OP_ID) }), typed<ExtractResult>()),
  /** Writes one file's content to the file `target` ("Save as…"). */
  saveFile: method(obj({ ...IMAGE, view: opt(FILE_VIEW), path: IMAGE_PATH, target: HOST_PATH, opId: opt(OP_ID) }), typed<{ target: string; bytes: number }>()),

  cancel: method(obj({ opId: OP_ID }), typed<{ cancelled: boolean }>()),
  listOperations: method(NONE, typed<OperationEvent[]>()),

  recentSources: method(NONE, typed<RecentSource[]>()),
  clearRecent: method(NONE, typed<{ cleared: number }>()),
  getSettings: method(NONE, typed<Settings>()),
  setSettings: method(obj({ patch: SETTINGS_PATCH }), typed<Settings>()),
  /** Storage: what the cache holds and its cap. */
  cacheUsage: method(NONE, typed<CacheUsage>()),
  /** Storage: removes every cache entry no open image uses. */
  clearCache: method(NONE, typed<CacheClearResult>()),

  /** Desktop only (capabilities.nativeDialogs): a native open dialog. null when cancelled. */
  chooseSource: method(obj({ kind: oneOf('folder', 'archive') }), typed<{ path: string | null }>(), SHELL),
  /** Desktop only: a native save/choose-folder dialog. null when cancelled. */
  chooseTarget: method(obj({ kind: oneOf('folder', 'file'), defaultName: opt(T.String({ maxLength: 255 })) }), typed<{ path: string | null }>(), SHELL),
  /** Desktop only: opens an https link to a known spec/docs host in the system browser. */
  openExternal: method(obj({ url: T.String({ minLength: 1, maxLength: 2048 }) }), typed<{ opened: boolean }>(), SHELL),
} satisfies Record<string, MethodDecl>;

type Table = typeof CONTRACT;
/** Every method: its one argument object and its result (derived from CONTRACT). */
export type ApiMethods = { [M in keyof Table]: { args: Static<Table[M]['args']>; result: TypeOf<Table[M]['result']> } };
export type MethodName = keyof ApiMethods;
export type MethodArgs<M extends MethodName> = ApiMethods[M]['args'];
export type MethodResult<M extends MethodName> = ApiMethods[M]['result'];

/** The runtime allow-list: exactly the keys of CONTRACT. */
export const METHODS = Object.keys(CONTRACT) as readonly MethodName[];

type ShellMethodName = { [M in MethodName]: Table[M] extends { shell: true } ? M : never }[MethodName];
/** Methods the desktop shell answers itself (they need Electron); everything else goes to the handler table. */
export const SHELL_METHODS = METHODS.filter((m) => (CONTRACT[m] as MethodDecl).shell) as readonly ShellMethodName[];

export type Unsubscribe = () => void;

type NoArgs = Record<string, never>;
/** What the UI holds: `window.explorer` in the desktop app, the web client in a browser. */
export type ExplorerApi = {
  [M in MethodName]: MethodArgs<M> extends NoArgs ? (args?: MethodArgs<M>) => Promise<MethodResult<M>> : (args: MethodArgs<M>) => Promise<MethodResult<M>>;
} & {
  on<K extends EventName>(event: K, listener: (payload: ExplorerEvents[K]) => void): Unsubscribe;
};

// ---------------------------------------------------------------------------------------------------
// Transports

/** The one IPC channel: invoke (renderer → main) and events (main → renderer). */
export const IPC_CHANNEL = 'oci-explorer';

/** What an IPC invoke resolves to: Electron drops custom Error fields, so errors travel as data. */
export type Envelope<T = unknown> = { ok: true; value: T } | { ok: false; error: SerializedError };

/** Web mode: every method is `POST <its route>` with the argument object as JSON; events are one SSE stream. */
export const WEB_API_PREFIX = '/api/';
export const WEB_EVENTS_PATH = '/api/events';
export const WEB_ROUTES = Object.fromEntries(METHODS.map((m) => [m, WEB_API_PREFIX + m])) as Readonly<Record<MethodName, string>>;
