import type { Problem } from '../errors.js';
import type { Ecosystem, FsEntry, PackageFs, ParseResult } from './types.js';

// One cataloger per ecosystem: which files of a tree are its databases, and how one is parsed. The
// scan (scan.ts) finds the files, reads them through a PackageFs and caches parses by content identity.

export interface Cataloger {
  ecosystem: Ecosystem;
  /** Is `path` (a file of the tree) one of this cataloger's database files? Cheap: called for every file. */
  match(path: string, e: FsEntry): boolean;
  /** Reads and parses one database file. Bad input gives problems, never a throw (except CANCELLED). */
  parse(fs: PackageFs, path: string, signal: AbortSignal): Promise<ParseResult>;
}

/** Bounds of one scan (each reached bound is a PACKAGES_TRUNCATED problem). */
export const LIMITS = {
  /** A text database (dpkg status, apk installed). */
  textDbBytes: 64 * 1024 * 1024,
  /** rpmdb.sqlite (read whole into memory by sql.js). */
  sqliteBytes: 256 * 1024 * 1024,
  /** One small record (METADATA, package.json, status.d file, a file list). */
  recordBytes: 4 * 1024 * 1024,
  /** Packages in one database. */
  recordsPerDb: 200_000,
  /** Database files matched in one tree (dist-info, package.json, executables…). */
  dbFiles: 50_000,
  /** Executables probed for Go build info. */
  executables: 20_000,
  /** Bytes read from one executable in all (headers, section names, the build info). */
  perBinaryBytes: 2 * 1024 * 1024,
} as const;

export function problem(code: Problem['code'], message: string, path?: string): Problem {
  return path === undefined ? { code, message } : { code, message, path };
}

export function basename(p: string): string {
  return p.slice(p.lastIndexOf('/') + 1);
}

export function dirname(p: string): string {
  const i = p.lastIndexOf('/');
  return i < 0 ? '' : p.slice(0, i);
}

/** Joins a relative path onto a folder of the tree, clamping `..` at the root; absolute paths start at the root. */
export function joinPath(base: string, rel: string): string {
  const parts = rel.startsWith('/') ? [] : base.split('/').filter(Boolean);
  for (const seg of rel.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') parts.pop();
    else parts.push(seg);
  }
  return parts.join('/');
}

export function utf8(b: Buffer): string {
  return b.toString('utf8');
}

/** A text file read up to `max` bytes, and whether it was longer. */
export async function readText(fs: PackageFs, path: string, max: number, signal: AbortSignal): Promise<{ text: string; truncated: boolean }> {
  const size = fs.get(path)?.size ?? 0;
  const b = await fs.read(path, { max, signal });
  return { text: utf8(b), truncated: size > max };
}
