import type { ExplorerApi } from './contract.js';
import { withDecodedErrors } from './errors.js';
import { createWebClient } from './web-client.js';

// How the UI gets its API: the desktop preload's `window.explorer` when present (with errors decoded
// back to ApiError, since contextBridge keeps only messages), else the web-mode client.

let cached: ExplorerApi | undefined;

export function getExplorerApi(): ExplorerApi {
  if (cached) return cached;
  const bridged = (globalThis as { explorer?: ExplorerApi }).explorer;
  cached = bridged ? withDecodedErrors(bridged) : createWebClient();
  return cached;
}
