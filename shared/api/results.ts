import type { ErrorCode, Problem } from '../errors.js';
import type { Digest } from '../oci/digest.js';
import type { Platform } from '../oci/platform.js';
import type { SourceKind } from '../sources/types.js';
import type { VerifyState } from '../graph/types.js';
import type { DiffSummary } from '../layers/diff.js';
import type { EntryType } from '../layers/types.js';
import type { ChangeKind, ImageRef, SourceId } from './schemas.js';

// One declaration each, in the layer engine, whose results these are.
export type { DiffSummary, EntryType };

// What the methods return: plain data (structured-clone safe) made by our own core, so typed here
// without a runtime schema. Declarations only; contract.ts ties each method to one of these.

/** How an error crosses the seam. `code` is stable (shared/errors.ts); `message` tells the user what to do. */
export interface SerializedError {
  code: ErrorCode;
  message: string;
  details?: Record<string, unknown>;
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

export type ChangeAspect = 'content' | 'size' | 'mode' | 'uid' | 'gid' | 'type' | 'link' | 'mtime' | 'xattrs';

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
// Capabilities

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
  /** The image sources the core reads (from its backend list): transport, spec syntax, what it opens. */
  sources?: { transport: string; syntax: string; summary: string }[];
}

export interface VersionInfo {
  app: string;
  api: number;
  /** process.versions of the core: node, and electron in the desktop app. */
  runtime: Record<string, string>;
  capabilities: Capabilities;
}

// ---------------------------------------------------------------------------------------------------
// Storage (the cache, shared/store/cache.ts)

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
