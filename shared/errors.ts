// One error type for the whole core: a stable machine code plus a sentence for the user that says
// what to do. The UI and CLI show `message`; tests and callers branch on `code`.
export type ErrorCode =
  | 'SOURCE_NOT_FOUND'
  | 'SOURCE_UNRECOGNISED'
  | 'SOURCE_UNSUPPORTED'
  | 'LAYOUT_INVALID'
  | 'ARCHIVE_INVALID'
  | 'ARCHIVE_TRUNCATED'
  | 'MANIFEST_JSON_INVALID'
  | 'BLOB_MISSING'
  | 'DIGEST_MISMATCH'
  | 'SIZE_MISMATCH'
  | 'DIGEST_INVALID'
  | 'DIGEST_UNSUPPORTED'
  | 'JSON_INVALID'
  | 'SCHEMA_INVALID'
  | 'MEDIATYPE_UNKNOWN'
  | 'SUBJECT_LOOP'
  | 'HISTORY_MISMATCH'
  | 'LEGACY_SCHEMA1'
  | 'TOO_LARGE'
  | 'IMAGE_NOT_FOUND'
  | 'IMAGE_AMBIGUOUS'
  | 'PLATFORM_INVALID'
  | 'REFERENCE_INVALID'
  | 'LAYER_DECODE_FAILED'
  | 'LAYER_TAR_INVALID'
  | 'DIFFID_MISMATCH'
  | 'DECOMPRESSION_BOMB'
  | 'PATH_ESCAPE'
  | 'PATH_NOT_FOUND'
  | 'EXTRACT_FAILED'
  /** A save or extraction target already exists: nothing is overwritten (the app asks or picks a new name). */
  | 'TARGET_EXISTS'
  | 'CANCELLED'
  | 'INVALID_ARGUMENT'
  | 'FORBIDDEN'
  | 'REGISTRY_ERROR'
  | 'REGISTRY_AUTH'
  | 'NETWORK_ERROR'
  // Registries (issue 11): a 429 not worth waiting for; a manifest/tag/repository the registry does not have.
  | 'RATE_LIMITED'
  | 'MANIFEST_UNKNOWN'
  | 'UI_NOT_BUILT'
  | 'PORT_IN_USE'
  // Docker sources (issue 13): the engine's socket, its error replies, the on-disk store.
  | 'DOCKER_UNAVAILABLE'
  | 'DOCKER_ERROR'
  | 'PERMISSION_DENIED'
  | 'STORE_INVALID'
  /** The shared cache's lock is held by another process for too long (shared/store/lock.ts). */
  | 'CACHE_BUSY'
  | 'LAYER_INDEX_CORRUPT'
  | 'PACKAGE_DB_INVALID' // a package database that could not be parsed (shared/packages)
  | 'PACKAGE_DB_UNSUPPORTED' // a package database in a format not read (rpm BerkeleyDB / ndb)
  | 'PACKAGES_TRUNCATED' // a package scan stopped at one of its bounds
  | 'INTERNAL';

export class ExplorerError extends Error {
  readonly code: ErrorCode;
  /** Extra structured facts (digest, path, expected/actual) for the UI to place the error. */
  readonly details?: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, details?: Record<string, unknown>, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ExplorerError';
    this.code = code;
    if (details) this.details = details;
  }
}

export function isExplorerError(e: unknown): e is ExplorerError {
  return e instanceof ExplorerError;
}

/** Wraps anything thrown into an ExplorerError, keeping the original as the cause. */
export function toExplorerError(e: unknown, fallback: ErrorCode = 'INTERNAL'): ExplorerError {
  if (e instanceof ExplorerError) return e;
  if (e && typeof e === 'object' && (e as { name?: string }).name === 'AbortError') {
    return new ExplorerError('CANCELLED', 'The operation was cancelled.', undefined, { cause: e });
  }
  const msg = e instanceof Error ? e.message : String(e);
  return new ExplorerError(fallback, `Unexpected error: ${msg}. Please report it with the steps that led here.`, undefined, { cause: e });
}

/** A problem attached to a graph node or a row: found, shown, never thrown. */
export interface Problem {
  code: ErrorCode;
  message: string;
  /** JSON path (e.g. `/layers/0/digest`) for schema problems. */
  path?: string;
}
