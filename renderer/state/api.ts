import { getExplorerApi } from '../../shared/api/client.js';
import type { ExplorerApi } from '../../shared/api/contract.js';
import { errorFromUnknown } from '../../shared/api/errors.js';

// The one ExplorerApi (window.explorer in the desktop app, the web client in a browser).
export function api(): ExplorerApi {
  return getExplorerApi();
}

/** The core's sentence for any failure. */
export function errorText(e: unknown): string {
  return errorFromUnknown(e).message;
}
