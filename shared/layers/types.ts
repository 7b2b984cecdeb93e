import type { Problem } from '../errors.js';
import type { Digest } from '../oci/digest.js';

// Plain data shapes of the layer engine (structured-clone safe: they cross IPC and worker boundaries).

export type EntryType = 'file' | 'dir' | 'symlink' | 'hardlink' | 'char' | 'block' | 'fifo';
export const ENTRY_TYPES: readonly EntryType[] = ['file', 'dir', 'symlink', 'hardlink', 'char', 'block', 'fifo'];

/** Per-entry flags in a layer index. */
export const FLAG = {
  /** `.wh.<name>`: deletes <name> from lower layers; the entry's path is the deleted path. */
  whiteout: 1,
  /** `.wh..wh..opq`: hides lower contents of the directory; the entry's path is the directory. */
  opaque: 2,
  /** The name holds bytes that are not UTF-8, kept as U+DC80..U+DCFF (tar/names.ts: encodeName gives the bytes back). */
  nonUtf8: 4,
  /** Other `.wh..wh.` metadata (aufs): never shown, never applied. */
  whMeta: 8,
} as const;

/** One entry of a layer, as objects (the index stores them as columns). */
export interface LayerEntry {
  path: string;
  type: EntryType;
  /** Permission bits including setuid (0o4000), setgid (0o2000) and sticky (0o1000). */
  mode: number;
  uid: number;
  gid: number;
  size: number;
  /** Seconds since the epoch. */
  mtime: number;
  linkname?: string;
  xattrs?: Record<string, string>;
  devmajor?: number;
  devminor?: number;
  /** Offset of the entry's data in the uncompressed layer stream. */
  offset: number;
  /** crc32 of the content (files only), for "modified". */
  hash: number;
  flags: number;
}

export interface LayerProgress {
  layerDigest: Digest;
  /** Index of the layer in the image (bottom = 0). */
  layer: number;
  bytesDone: number;
  bytesTotal: number;
  entries: number;
  done?: boolean;
}

export type { Problem };
