// The contract between the UI and the core: the only seam. Electron IPC (electron/main + preload) and web
// mode (shared/web/server + shared/api/web-client) both carry exactly these calls and events, dispatched
// into one handler table (shared/api/handlers.ts).
//
// Rules for everything in this file:
// - Every value crossing the seam is plain data (structured-clone safe): objects, arrays, strings,
//   numbers, booleans, null, Uint8Array. No classes, Maps, Sets, Dates or functions.
// - Every method takes ONE argument object and returns a Promise. Adding an optional field is compatible;
//   renaming or removing one is not.
// - Failures reject with an ApiError ({code, message, details?}); `message` is a sentence for the user.
// - Long work (open, index, extract, later registry pulls and local Docker) takes an optional `opId` that
//   the CALLER makes with newOperationId(), so it can cancel({opId}) before the call returns and match
//   progress events to the call. New long operations reuse this shape: a method + an OperationKind.
//
// This module has no runtime imports, so the renderer can import it (lint: renderer → shared/api only).

import type { ErrorCode, Problem } from '../errors.js';
import type { Digest } from '../oci/digest.js';
import type { Platform } from '../oci/platform.js';
import type { SourceKind } from '../sources/types.js';
import type { EdgeRole, GraphEdge, GraphNode, ImageEntry, ImageGraph, NodeKind, VerifyState } from '../graph/types.js';

export type { ErrorCode, Problem, Digest, Platform, SourceKind, EdgeRole, GraphEdge, GraphNode, ImageEntry, ImageGraph, NodeKind, VerifyState };

/** Bumped when a method or event changes incompatibly. */
export const API_VERSION = 1;

// ---------------------------------------------------------------------------------------------------
// Identifiers

/** Opaque id of an open source, e.g. "s1". Valid until closeSource. */
export type SourceId = string;
/** Caller-chosen id of a long operation: 1–64 of [A-Za-z0-9_-]. See newOperationId(). */
export type OperationId = string;

export const OPERATION_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/** A fresh operation id (random, so ids from several windows or tabs never collide). */
export function newOperationId(): OperationId {
  const c = (globalThis as { crypto?: { randomUUID?: () => string } }).crypto;
  if (c?.randomUUID) return `op-${c.randomUUID()}`;
  return `op-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 12)}`;
}

// ---------------------------------------------------------------------------------------------------
// Errors

/** How an error crosses the seam. `code` is stable (shared/errors.ts); `message` tells the user what to do. */
export interface SerializedError {
  code: ErrorCode;
  message: string;
  details?: Record<string, unknown>;
}

/** What every API method rejects with, on both transports (after client-side decoding). */
export class ApiError extends Error {
  readonly code: ErrorCode;
  readonly details?: Record<string, unknown>;
  constructor(e: SerializedError) {
    super(e.message);
    this.name = 'ApiError';
    this.code = e.code;
    if (e.details) this.details = e.details;
  }
  toJSON(): SerializedError {
    return this.details ? { code: this.code, message: this.message, details: this.details } : { code: this.code, message: this.message };
  }
}

// ---------------------------------------------------------------------------------------------------
// Sources

export interface SourceHandle {
  id: SourceId;
  /** Short name for tabs/switchers: folder or file name, or "Demo image". */
  label: string;
  kind: SourceKind;
  /** What was opened (path or reference), as given; what Recent stores. */
  location: string;
  /** A tag/name asked for in the spec (`oci:PATH:TAG`, docker-archive `REPO:TAG`). */
  selectedTag?: string;
  /** ISO-8601 time it was opened. */
  openedAt: string;
  /** Non-fatal problems with the container (e.g. a missing `repositories` file). */
  warnings: string[];
  /** True for the demo image bundled with the app. */
  demo?: boolean;
}

export interface RecentSource {
  /** The spec to pass back to openSource. */
  spec: string;
  label: string;
  kind: SourceKind;
  /** ISO-8601. */
  lastOpened: string;
}

// ---------------------------------------------------------------------------------------------------
// Blobs

export interface BlobContent {
  digest: Digest;
  mediaType: string;
  /** Size of the whole blob in bytes. */
  size: number;
  /** utf8 for JSON/text documents, base64 otherwise. */
  encoding: 'utf8' | 'base64';
  data: string;
  /** True when only the first maxBytes were returned. */
  truncated: boolean;
  verify: VerifyState;
}

// ---------------------------------------------------------------------------------------------------
// Images and layers

/** Names one image (manifest) of one open source; what every layer/tree call takes. */
export interface ImageRef {
  sourceId: SourceId;
  manifest: Digest;
}

export interface LayerSummary {
  /** Position in manifest.layers. */
  index: number;
  digest: Digest;
  /** From the config's rootfs.diff_ids, when present. */
  diffId?: Digest;
  mediaType: string;
  compressedSize: number;
  /** Undefined until the layer has been indexed. */
  uncompressedSize?: number;
  fileCount?: number;
  added?: number;
  modified?: number;
  removed?: number;
  /** history[].created_by of the step that made this layer. */
  command?: string;
  created?: string;
  comment?: string;
  verify: VerifyState;
  problems: Problem[];
}

/** One config history step, with the layer it made (undefined for empty_layer steps). */
export interface HistoryStep {
  createdBy?: string;
  created?: string;
  author?: string;
  comment?: string;
  emptyLayer: boolean;
  layerIndex?: number;
}

export interface ImageSummary {
  ref: ImageRef;
  config: Digest;
  platform?: Platform;
  names: string[];
  layers: LayerSummary[];
  history: HistoryStep[];
  compressedSize: number;
  /** Sum over layers; undefined while some layer is not indexed. */
  uncompressedSize?: number;
  /** Entries in the merged tree; undefined until indexed. */
  fileCount?: number;
  problems: Problem[];
}

// ---------------------------------------------------------------------------------------------------
// Trees (merged rootfs, one layer, a diff)

export type EntryType = 'file' | 'dir' | 'symlink' | 'hardlink' | 'char' | 'block' | 'fifo';
export type ChangeKind = 'added' | 'modified' | 'removed' | 'unchanged';
export type ChangeAspect = 'content' | 'size' | 'mode' | 'uid' | 'gid' | 'type' | 'link' | 'mtime' | 'xattrs';

/** Inclusive range of layer indexes. */
export interface LayerRange {
  start: number;
  end: number;
}

/**
 * Which tree to look at:
 * - merged: the rootfs after layers 0..upTo (default: all), changesets applied as layer.md says.
 * - layer: one layer's own changeset (whiteouts shown as removed entries).
 * - diff: merged(bottom) vs merged(bottom + top). dive's "this layer" for layer n is
 *   bottom {0,n-1} (null for n=0), top {n,n}; "aggregated" is bottom {0,0}, top {1,n};
 *   comparing layers a<b is bottom {0,a}, top {a+1,b}.
 */
export type TreeView =
  | { kind: 'merged'; upTo?: number }
  | { kind: 'layer'; layer: number }
  | { kind: 'diff'; bottom: LayerRange | null; top: LayerRange };

/** Views a single file can be read from. */
export type FileView = { kind: 'merged'; upTo?: number } | { kind: 'layer'; layer: number };

export interface TreeEntry {
  /** Absolute, normalised: "/", "/etc", "/etc/passwd". */
  path: string;
  name: string;
  type: EntryType;
  /** Content bytes (hard links: the target's). Directories: 0. */
  size: number;
  /** Permission and special bits (setuid/setgid/sticky), i.e. mode & 0o7777. */
  mode: number;
  uid: number;
  gid: number;
  /** Seconds since the epoch. */
  mtime?: number;
  /** Symlink or hard link target as stored. */
  linkname?: string;
  /** Index of the layer this entry comes from; for removed entries, the layer that removed it. */
  layer: number;
  /** Diff views only. */
  change?: ChangeKind;
  /** Diff views, modified entries: what changed. */
  changed?: ChangeAspect[];
  /** Diff views: size after minus size before. */
  sizeDelta?: number;
  /** Directories: direct children in this view (after filters). */
  childCount?: number;
  /** Directories: bytes of all files below in this view (the folder's weight; change filters and search narrow the rows, not this figure). */
  totalSize?: number;
  /** With a search: this entry itself matches (ancestors of hits are listed too, with match false). */
  match?: boolean;
}

export interface SearchQuery {
  /** glob: `*` within a segment, `**` across, `?`; matched against the full path, or the name when it has no "/". */
  pattern: string;
  mode: 'glob' | 'regex' | 'substring';
  caseSensitive?: boolean;
}

export interface TreeFilter {
  /** Keep only entries with these change kinds (diff views) and the directories leading to them. */
  changes?: ChangeKind[];
  search?: SearchQuery;
}

export interface TreeSort {
  by: 'name' | 'size';
  order: 'asc' | 'desc';
}

/** Largest page listDir/search/listChanges return; ask again with offset for more. */
export const MAX_PAGE = 5000;
/** Most directories one listDirs call lists. */
export const MAX_DIRS = 1000;

export interface DirPage {
  path: string;
  /** Children of `path` in this view after filters (all pages). */
  total: number;
  offset: number;
  entries: TreeEntry[];
  /** With filter.search: hits in the whole view, not only under `path`. */
  searchHits?: number;
}

export interface SearchPage {
  /** All hits in the view (the hit count). */
  total: number;
  offset: number;
  /** Hits in path order (for next/previous). */
  hits: TreeEntry[];
}

export interface DiffSummary {
  added: number;
  modified: number;
  removed: number;
  unchanged: number;
  addedBytes: number;
  removedBytes: number;
  /** Sum of sizeDelta over modified entries. */
  modifiedBytesDelta: number;
}

export interface ChangesPage {
  total: number;
  offset: number;
  /** Changed entries (flat, path order unless sorted otherwise). */
  entries: TreeEntry[];
}

export interface WastedPath {
  path: string;
  /** How many layers hold a copy (or a removal) of this path. */
  count: number;
  /** dive's figure: bytes of every copy. */
  wastedBytes: number;
  /** Bytes you could save: what the layers store at (or under) this path less what the final image keeps there. */
  reclaimableBytes: number;
  layers: number[];
}

export interface EfficiencyReport {
  /** dive's efficiency score, 0..1. */
  score: number;
  /** dive's wasted bytes. */
  wastedBytes: number;
  /** Corrected figure: file bytes stored in the layers that the final image does not show (overwritten, deleted, hidden) — what squashing saves. It does not count the copy you keep. */
  reclaimableBytes: number;
  /** dive's userWastedPercent, as dive computes it: wasted bytes / bytes of the layers above the base, as a fraction (1 = 100 %; can exceed 1). */
  userWastedPercent: number;
  totalBytes: number;
  top: WastedPath[];
}

/** Largest range readFile returns per call. */
export const MAX_READ = 4 * 1024 * 1024;

export interface FileChunk {
  /** The path asked for. */
  path: string;
  /** After following hard links and symlinks (inside the image root). */
  resolvedPath: string;
  /** Size of the whole file. */
  size: number;
  offset: number;
  data: Uint8Array;
  /** True when offset + data.length === size. */
  eof: boolean;
}

export interface StatResult extends TreeEntry {
  /** For symlinks: the target resolved inside the image root, when it exists. */
  resolvedPath?: string;
}

export interface ExtractResult {
  target: string;
  files: number;
  dirs: number;
  bytes: number;
  /** Entries not written, with why (devices when not root, unsafe names…). */
  skipped: { path: string; reason: string }[];
}

// ---------------------------------------------------------------------------------------------------
// Operations and events

export type OperationKind = 'open' | 'index' | 'extract' | 'save' | 'pull' | 'docker-load';
export type OperationState = 'running' | 'done' | 'failed' | 'cancelled';

export interface OperationProgress {
  done: number;
  total?: number;
  unit: 'bytes' | 'entries' | 'layers' | 'files';
}

/** The life of every long operation; specific *-progress events add detail. */
export interface OperationEvent {
  opId: OperationId;
  kind: OperationKind;
  state: OperationState;
  /** For an activity list, e.g. "Indexing layer 3/7". */
  label: string;
  sourceId?: SourceId;
  progress?: OperationProgress;
  error?: SerializedError;
}

export interface IndexProgressEvent {
  opId: OperationId;
  sourceId: SourceId;
  manifest: Digest;
  layer: number;
  digest: Digest;
  /** Compressed bytes read of this layer. */
  bytesDone: number;
  bytesTotal: number;
  entries: number;
  /** True when this layer is finished (from the on-disk cache or a fresh scan). */
  done: boolean;
  cached?: boolean;
}

/**
 * Progress of extract (and saveFile) under the caller's opId: at most one every 100 ms while files are
 * written, then a final one whose counts equal the result's (extract: `bytes === totalBytes`).
 */
export interface ExtractProgressEvent {
  opId: OperationId;
  /** Regular files written so far (links and folders are not counted here). */
  files: number;
  /** File content bytes written so far; rises from event to event. */
  bytes: number;
  /** All the content bytes this extraction writes (the same in every event of one operation). */
  totalBytes?: number;
  /** Not sent by the layer engine today. */
  currentPath?: string;
}

/** Reserved for registry pulls (later issue); the shape may gain optional fields. */
export interface PullProgressEvent {
  opId: OperationId;
  reference: string;
  digest?: Digest;
  bytesDone: number;
  bytesTotal?: number;
}

/**
 * Requests from the shell for the UI to act on. The desktop shell opens menu, argv and second-launch
 * sources itself (the UI learns of them from 'sources-changed'); a drop on the window is sent as
 * `open-spec` (see Capabilities.dropFiles), so the UI opens it and shows why when it cannot. This event
 * is produced in the desktop preload, not by the handler table: web mode never sends it.
 */
export type ShellCommand =
  | { command: 'open-folder' }
  | { command: 'open-archive' }
  | { command: 'open-spec'; spec: string }
  | { command: 'show-sources' };

export interface ExplorerEvents {
  operation: OperationEvent;
  'index-progress': IndexProgressEvent;
  'extract-progress': ExtractProgressEvent;
  'pull-progress': PullProgressEvent;
  /** Nodes of a source's graph changed (layers verified when selectImage read them): call getGraph again. */
  'graph-changed': { sourceId: SourceId; digests: Digest[] };
  /** The set of open sources changed; `active` is the one to show (newly opened). */
  'sources-changed': { sources: SourceHandle[]; active?: SourceId };
  command: ShellCommand;
}

export type EventName = keyof ExplorerEvents;
export const EVENTS = ['operation', 'index-progress', 'extract-progress', 'pull-progress', 'graph-changed', 'sources-changed', 'command'] as const satisfies readonly EventName[];

// Compile-time check that EVENTS lists every event.
type _AllEvents = Exclude<EventName, (typeof EVENTS)[number]> extends never ? true : never;
const _allEvents: _AllEvents = true;
void _allEvents;

/** One event as it crosses a transport. */
export interface EventEnvelope<K extends EventName = EventName> {
  event: K;
  payload: ExplorerEvents[K];
}

// ---------------------------------------------------------------------------------------------------
// Settings and capabilities

export interface Settings {
  theme: 'system' | 'light' | 'dark';
  /** How many sources Recent keeps. */
  recentLimit: number;
  hexBytesPerRow: 8 | 16 | 32;
  /** Files up to this size are shown as text (with highlighting); bigger ones are paged. */
  textPreviewBytes: number;
  /** os/arch[/variant] to select by default in multi-platform images; '' = the host's. */
  defaultPlatform: string;
  treeSort: TreeSort;
  /** Storage (issue 10): the most the cache may hold, in bytes; 0 = automatic (the smaller of 5 GiB and 10 % of the disk). OCI_EXPLORER_CACHE_MAX overrides it. */
  cacheMaxBytes: number;
}

export const DEFAULT_SETTINGS: Settings = {
  theme: 'system',
  recentLimit: 12,
  hexBytesPerRow: 16,
  textPreviewBytes: 1024 * 1024,
  defaultPlatform: '',
  treeSort: { by: 'name', order: 'asc' },
  cacheMaxBytes: 0,
};

// --- Storage (issue 10 item 4): the cache in Settings. Added by the cache helper in the old style. ---

/** What the cache holds (cacheUsage): for the Storage section of Settings. */
export interface CacheUsage {
  /** The cache folder (on the machine running the core). */
  dir: string;
  /** Bytes the cache holds now (entries and bookkeeping). */
  usedBytes: number;
  /** The cap in force and where it comes from ('env': OCI_EXPLORER_CACHE_MAX; 'setting': cacheMaxBytes). */
  maxBytes: number;
  maxSource: 'env' | 'setting' | 'default';
  entries: number;
  /** Bytes per kind of entry: layer indexes (with restart points), and pulled images with loose registry blobs. */
  layerIndexBytes: number;
  imageBytes: number;
  /** Bytes of entries in use by an open image (any process); Clear keeps them. */
  pinnedBytes: number;
  /** Set when the cache is off (e.g. its folder belongs to another user): a sentence for the user. */
  disabled?: string;
}

export interface CacheClearResult {
  removedEntries: number;
  removedBytes: number;
  /** What the cache still holds: entries of open images and bookkeeping. */
  usedBytes: number;
}
// --- end Storage ---

export interface Capabilities {
  /** Which transport the UI talks through. */
  mode: 'electron' | 'web';
  /** Layer engine present: selectImage, trees, diff, efficiency, readFile, extract. */
  layers: boolean;
  /** chooseSource/chooseTarget show native dialogs (desktop only); in web mode type a server path. */
  nativeDialogs: boolean;
  /**
   * Desktop only: a folder or archive dropped anywhere on the window arrives as a `command: open-spec`
   * event with its path (the preload reads it; the page cannot), for the UI to open with openSource.
   */
  dropFiles: boolean;
  /** openExternal works (desktop: allow-listed https hosts; web: the browser opens links itself). */
  openExternal: boolean;
  /** Paths given to extract/saveFile are on the machine running the core (web mode: the server). */
  extract: boolean;
  registryPull: boolean;
  dockerEngine: boolean;
}

export interface VersionInfo {
  app: string;
  api: number;
  /** process.versions of the core: node, and electron in the desktop app. */
  runtime: Record<string, string>;
  capabilities: Capabilities;
}

// ---------------------------------------------------------------------------------------------------
// Methods

type NoArgs = Record<string, never>;

/** Every method: its one argument object and its result. */
export interface ApiMethods {
  version: { args: NoArgs; result: VersionInfo };

  openSource: { args: { spec: string; opId?: OperationId }; result: SourceHandle };
  /** Opens the demo image bundled with the app (what the app shows when started with nothing). */
  openDemo: { args: NoArgs; result: SourceHandle };
  listSources: { args: NoArgs; result: SourceHandle[] };
  closeSource: { args: { sourceId: SourceId }; result: { closed: boolean } };

  getGraph: { args: { sourceId: SourceId }; result: ImageGraph };
  /** A descriptor's raw bytes (manifests, configs, indexes; layers up to maxBytes). Default maxBytes 1 MiB. */
  getBlob: { args: { sourceId: SourceId; digest: Digest; maxBytes?: number }; result: BlobContent };
  listImages: { args: { sourceId: SourceId }; result: ImageEntry[] };
  /** Picks one image (by manifest digest, or platform "os/arch[/variant]", else the default) and indexes its layers. */
  selectImage: { args: { sourceId: SourceId; manifest?: Digest; platform?: string; opId?: OperationId }; result: ImageSummary };

  /** One page (offset, limit ≤ MAX_PAGE, default 1000) of a directory's children in a view; sorted by name unless `sort`. */
  listDir: {
    args: { image: ImageRef; view: TreeView; path: string; offset?: number; limit?: number; sort?: TreeSort; filter?: TreeFilter };
    result: DirPage;
  };
  /**
   * The first page (limit ≤ MAX_PAGE each, default 1000) of several directories in one call, e.g. the root and
   * every expanded folder after a view change. `pages` follows `paths`, without the paths that are not a
   * directory in this view (listed in `missing`); ask listDir with an offset for a folder's further pages.
   */
  listDirs: {
    args: { image: ImageRef; view: TreeView; paths: string[]; limit?: number; sort?: TreeSort; filter?: TreeFilter };
    result: { pages: DirPage[]; missing: string[] };
  };
  /** Every entry of a view matching the query, in path order, paged (default limit 1000). */
  search: { args: { image: ImageRef; view: TreeView; query: SearchQuery; offset?: number; limit?: number }; result: SearchPage };
  /** Counts and bytes of a diff (see TreeView for bottom/top); browse it with listDir on a 'diff' view or listChanges. */
  diff: { args: { image: ImageRef; bottom: LayerRange | null; top: LayerRange }; result: DiffSummary };
  listChanges: {
    args: { image: ImageRef; bottom: LayerRange | null; top: LayerRange; changes?: ChangeKind[]; offset?: number; limit?: number; sort?: TreeSort };
    result: ChangesPage;
  };
  /** dive's efficiency figures plus reclaimable bytes; `top` (default 50) wasted paths. */
  efficiency: { args: { image: ImageRef; top?: number }; result: EfficiencyReport };
  stat: { args: { image: ImageRef; view: TreeView; path: string }; result: StatResult };
  /** Reads [offset, offset+length) of a file; length defaults to and is capped at MAX_READ. */
  readFile: { args: { image: ImageRef; view?: FileView; path: string; offset?: number; length?: number }; result: FileChunk };
  /**
   * Writes the merged tree (or the subtree at `path`) into the folder `target` (on the machine running the
   * core: the server in web mode). Only the final image for now: an `upTo` below the last layer is refused.
   */
  extract: { args: { image: ImageRef; upTo?: number; path?: string; target: string; opId?: OperationId }; result: ExtractResult };
  /** Writes one file's content to the file `target` ("Save as…"). */
  saveFile: { args: { image: ImageRef; view?: FileView; path: string; target: string; opId?: OperationId }; result: { target: string; bytes: number } };

  cancel: { args: { opId: OperationId }; result: { cancelled: boolean } };
  listOperations: { args: NoArgs; result: OperationEvent[] };

  recentSources: { args: NoArgs; result: RecentSource[] };
  clearRecent: { args: NoArgs; result: { cleared: number } };
  getSettings: { args: NoArgs; result: Settings };
  setSettings: { args: { patch: Partial<Settings> }; result: Settings };
  /** Storage: what the cache holds and its cap. */
  cacheUsage: { args: NoArgs; result: CacheUsage };
  /** Storage: removes every cache entry no open image uses. */
  clearCache: { args: NoArgs; result: CacheClearResult };

  /** Desktop only (capabilities.nativeDialogs): a native open dialog. null when cancelled. */
  chooseSource: { args: { kind: 'folder' | 'archive' }; result: { path: string | null } };
  /** Desktop only: a native save/choose-folder dialog. null when cancelled. */
  chooseTarget: { args: { kind: 'folder' | 'file'; defaultName?: string }; result: { path: string | null } };
  /** Desktop only: opens an https link to a known spec/docs host in the system browser. */
  openExternal: { args: { url: string }; result: { opened: boolean } };
}

export type MethodName = keyof ApiMethods;
export type MethodArgs<M extends MethodName> = ApiMethods[M]['args'];
export type MethodResult<M extends MethodName> = ApiMethods[M]['result'];

/** The runtime allow-list: exactly the keys of ApiMethods (checked by the type below). */
export const METHODS = [
  'version',
  'openSource',
  'openDemo',
  'listSources',
  'closeSource',
  'getGraph',
  'getBlob',
  'listImages',
  'selectImage',
  'listDir',
  'listDirs',
  'search',
  'diff',
  'listChanges',
  'efficiency',
  'stat',
  'readFile',
  'extract',
  'saveFile',
  'cancel',
  'listOperations',
  'recentSources',
  'clearRecent',
  'getSettings',
  'setSettings',
  'cacheUsage',
  'clearCache',
  'chooseSource',
  'chooseTarget',
  'openExternal',
] as const satisfies readonly MethodName[];

// Compile-time check that METHODS lists every method (and nothing else).
type _AllListed = Exclude<MethodName, (typeof METHODS)[number]> extends never ? true : never;
const _allListed: _AllListed = true;
void _allListed;

/** Methods the desktop shell answers itself (they need Electron); everything else goes to the handler table. */
export const SHELL_METHODS = ['chooseSource', 'chooseTarget', 'openExternal'] as const satisfies readonly MethodName[];

export function isMethodName(x: unknown): x is MethodName {
  return typeof x === 'string' && (METHODS as readonly string[]).includes(x);
}

export type Unsubscribe = () => void;

/** What the UI holds: `window.explorer` in the desktop app, the web client in a browser. */
export type ExplorerApi = {
  [M in MethodName]: MethodArgs<M> extends NoArgs ? (args?: MethodArgs<M>) => Promise<MethodResult<M>> : (args: MethodArgs<M>) => Promise<MethodResult<M>>;
} & {
  on<K extends EventName>(event: K, listener: (payload: ExplorerEvents[K]) => void): Unsubscribe;
};

// ---------------------------------------------------------------------------------------------------
// Transport helpers (shared by preload, main, web server and web client)

/** The one IPC channel: invoke (renderer → main) and events (main → renderer). */
export const IPC_CHANNEL = 'oci-explorer';

/** What an IPC invoke resolves to: Electron drops custom Error fields, so errors travel as data. */
export type Envelope<T = unknown> = { ok: true; value: T } | { ok: false; error: SerializedError };

// contextBridge keeps only `message` of a rejected Error. The preload rejects with this marker + JSON,
// and errorFromUnknown() turns it back into an ApiError with its code.
const ERROR_MARKER = 'OCI_EXPLORER_ERROR:';

export function encodeErrorMessage(e: SerializedError): string {
  return ERROR_MARKER + JSON.stringify(e);
}

function isSerializedError(x: unknown): x is SerializedError {
  return !!x && typeof x === 'object' && typeof (x as SerializedError).code === 'string' && typeof (x as SerializedError).message === 'string';
}

/** Any rejection (ApiError, marker message, serialized shape, plain Error) → ApiError. */
export function errorFromUnknown(e: unknown): ApiError {
  if (e instanceof ApiError) return e;
  if (isSerializedError(e)) return new ApiError(e);
  const msg = e instanceof Error ? e.message : String(e);
  const i = msg.indexOf(ERROR_MARKER);
  if (i >= 0) {
    try {
      const parsed: unknown = JSON.parse(msg.slice(i + ERROR_MARKER.length));
      if (isSerializedError(parsed)) return new ApiError(parsed);
    } catch {
      // fall through: not our marker after all
    }
  }
  return new ApiError({ code: 'INTERNAL', message: msg });
}

/** Wraps a raw api (window.explorer) so rejections are ApiError with their code. */
export function withDecodedErrors(raw: ExplorerApi): ExplorerApi {
  const api: Record<string, unknown> = { on: raw.on.bind(raw) };
  for (const m of METHODS) {
    const fn = raw[m] as (a?: unknown) => Promise<unknown>;
    api[m] = (args?: unknown) => fn(args ?? {}).catch((e: unknown) => Promise.reject(errorFromUnknown(e)));
  }
  return api as ExplorerApi;
}
