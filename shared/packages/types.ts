import type { Problem } from '../errors.js';
import type { EntryType } from '../layers/types.js';

// Plain data of the package scan (structured-clone safe, for the API later) and the small reader
// interface the parsers see, so they work on any view of an image (merged tree at a layer, a folder).

export type Ecosystem = 'dpkg' | 'apk' | 'rpm' | 'python' | 'npm' | 'go';
export const ECOSYSTEMS: readonly Ecosystem[] = ['dpkg', 'apk', 'rpm', 'python', 'npm', 'go'];

export interface Package {
  ecosystem: Ecosystem;
  name: string;
  version: string;
  /** dpkg Source, apk origin, rpm SOURCERPM, a Go module's main module path. */
  source?: string;
  license?: string;
  arch?: string;
  /** The database record it was read from: a status file, a dist-info folder, a package.json, a Go binary (no leading slash). */
  location: string;
  /** Identity across layers and images: same key = the same package slot (its version may differ). */
  key: string;
  /** The layer that added it or last changed its version (in the stack that was scanned). */
  layer?: number;
  /** Files the package owns that exist in the merged tree (directories not counted) and their bytes. */
  files: number;
  bytes: number;
}

export interface PackageChange {
  before: Package;
  after: Package;
  /** By the ecosystem's own version order (dpkg, rpm, apk, semver-ish for the rest). */
  direction: 'upgrade' | 'downgrade' | 'same';
}

export interface PackageDelta {
  added: Package[];
  removed: Package[];
  changed: PackageChange[];
}

export interface LayerPackages extends PackageDelta {
  layer: number;
}

export interface PackagesResult {
  packages: Package[];
  problems: Problem[];
  /** One entry per layer scanned (0..layer): what its package databases added, removed and changed. */
  perLayer: LayerPackages[];
}

/** An entry as a parser sees it (no symlink followed). */
export interface FsEntry {
  type: EntryType;
  size: number;
  mode: number;
}

/** What the parsers read through; paths are normalised (no leading slash). */
export interface PackageFs {
  get(path: string): FsEntry | undefined;
  /** Child names of a folder (sorted), [] when none. */
  children(dir: string): string[];
  /** Every path, depth first. */
  walk(dir?: string): Iterable<string>;
  /** The path with symlinks followed inside the root (parents and the last part), or undefined. */
  resolve(path: string): string | undefined;
  /** Identity of a regular file's content (hard links to it share it); undefined for anything else. */
  contentId(path: string): string | undefined;
  /** Up to `max` bytes of a file (from `start`); many calls made at once are served together. */
  read(path: string, opts: { start?: number; max: number; signal?: AbortSignal }): Promise<Buffer>;
}

/** A record before its files are counted: the parser's part of a Package. */
export type RawPackage = Omit<Package, 'key' | 'layer' | 'files' | 'bytes'> & {
  /** Files named by the database itself (apk, rpm, RECORD): paths in the tree. */
  files?: string[];
  /** A file listing its files (the first of `paths` that exists): one path a line (dpkg info/*.list, egg-info installed-files.txt), md5sums lines, or a wheel RECORD (CSV); relative paths are taken from `base`. */
  fileList?: { paths: string[]; base: string; format: 'lines' | 'md5sums' | 'record' };
  /** dpkg: the DEP-5 copyright file that may declare the licence (read with the file lists). */
  copyright?: string;
  /** A folder whose files are the package's (npm: the package folder without nested node_modules). */
  folder?: string;
  /** The Go binary itself: its size is the package's bytes. */
  binary?: string;
  /** Key scope beside ecosystem and name (npm/python: the install location; go: the binary). */
  scope?: string;
};

export interface ParseResult {
  packages: RawPackage[];
  problems: Problem[];
}
