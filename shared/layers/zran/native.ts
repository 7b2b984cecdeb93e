import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

// The optional Node-API addon (native/zran.c, built by `npm install` through native/build.mjs): zlib
// inflating on the thread pool with deflate block boundaries exposed. Absent (no compiler at install,
// a packaged app without a prebuild for its platform), the JavaScript inflater (pako.ts) does the same
// work, slower. OCI_EXPLORER_NO_ADDON=1 forces the fallback (tests, benchmarks); OCI_EXPLORER_ADDON
// names the .node file explicitly (a packaged app's unpacked resources).

/** A restart point as the inflater reports it; bits -1 marks the start of a gzip member (no window). */
export interface RawPoint {
  out: number;
  in: number;
  bits: number;
  /** crc32 and length of the window before deflating. */
  crc: number;
  windowSize: number;
  /** The window, raw-deflated; null at member starts. */
  window: Buffer | null;
}

export interface OpenOptions {
  /** Stop at block boundaries and report restart points (the index pass). */
  record?: boolean;
  /** Output bytes between restart points. */
  span?: number;
  /** Output bytes after which a member start becomes a (free) restart point. */
  memberSpan?: number;
  /** Deflate level of the stored windows. */
  level?: number;
  /** Resume a raw deflate stream inside a member (else start at a gzip header). */
  raw?: boolean;
  bits?: number;
  /** The byte holding the `bits` leftover bits (the one before inOffset). */
  byte?: number;
  window?: Buffer;
  inOffset?: number;
  outOffset?: number;
}

export type Handle = object;

export interface ZranAddon {
  open(o: OpenOptions): Handle;
  write(h: Handle, input: Buffer, output: Buffer, cb: (err: Error | null, consumed: number, produced: number, points: RawPoint[]) => void): void;
  /** The same on this thread: no round trip to the pool (reads decode little; the hop would dominate). */
  writeSync(h: Handle, input: Buffer, output: Buffer): [Error | null, number, number, RawPoint[]];
  state(h: Handle): number;
  close(h: Handle): void;
}

let loaded: ZranAddon | null | undefined;
let loadError: string | undefined;

function candidates(): string[] {
  const list: string[] = [];
  if (process.env.OCI_EXPLORER_ADDON) list.push(process.env.OCI_EXPLORER_ADDON);
  // From the source tree (shared/layers/zran/) and from a bundle two levels under the root (dist/x/).
  for (const rel of ['../../../native/build/Release/zran.node', '../../native/build/Release/zran.node']) {
    try {
      list.push(fileURLToPath(new URL(rel, import.meta.url)));
    } catch {
      /* not a file: URL (bundled differently) */
    }
  }
  return list;
}

/** The addon, or undefined when it is not built here or is turned off. */
export function addon(): ZranAddon | undefined {
  if (process.env.OCI_EXPLORER_NO_ADDON === '1') return undefined;
  if (loaded !== undefined) return loaded ?? undefined;
  const require = createRequire(import.meta.url);
  for (const file of candidates()) {
    if (!existsSync(file)) continue;
    try {
      loaded = require(file) as ZranAddon;
      return loaded;
    } catch (e) {
      loadError = e instanceof Error ? e.message : String(e);
    }
  }
  loaded = null;
  return undefined;
}

/** Why the addon is not in use (for diagnostics and benchmarks). */
export function addonStatus(): string {
  if (process.env.OCI_EXPLORER_NO_ADDON === '1') return 'off (OCI_EXPLORER_NO_ADDON=1)';
  if (addon()) return 'native';
  return loadError ? `not loadable: ${loadError}` : 'not built (npm install builds it; see native/build.mjs)';
}
