import type { Backend } from './backend.js';
import { dirBackend } from './dir.js';
import { dockerArchiveBackend } from './docker-archive.js';
import { dockerDaemonBackend, podmanBackend } from './docker-daemon.js';
import { dockerStoreBackend } from './docker-store.js';
import { ociArchiveBackend, ociLayoutBackend } from './oci-layout.js';
import { registryBackend } from './registry.js';

// Every image source the core can open, in detection order: a path without a transport goes to the
// first backend whose detect() says yes; anything else to the first whose claims() does. Add a backend
// here (one line) and it is in openSource, the CLI's help and the app's capabilities.
export const BACKENDS: readonly Backend[] = [
  ociLayoutBackend,
  ociArchiveBackend,
  dirBackend,
  dockerArchiveBackend,
  dockerDaemonBackend,
  podmanBackend,
  dockerStoreBackend,
  registryBackend,
];
