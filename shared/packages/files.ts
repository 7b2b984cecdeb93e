import type { Problem } from '../errors.js';
import { LIMITS, basename, dirname, joinPath, problem } from './cataloger.js';
import { dep5Licenses } from './dpkg.js';
import { recordPaths } from './python.js';
import type { PackageFs, RawPackage } from './types.js';

// Files and bytes of the packages of the final tree: from the paths the database names (apk, rpm),
// from a list file (dpkg .list / .md5sums, wheel RECORD, installed-files.txt), from a folder (npm) or
// the binary itself (Go). Paths are taken through symlinked folders (usr-merge: bin -> usr/bin), each
// content is counted once per package (hard links), folders are not files. dpkg licences come from
// DEP-5 copyright files, read in the same batch.

export interface Measured {
  files: number;
  bytes: number;
  license?: string;
}

export async function measurePackages(fs: PackageFs, raws: RawPackage[], signal: AbortSignal): Promise<{ measured: Measured[]; problems: Problem[] }> {
  const problems: Problem[] = [];
  const dirCache = new Map<string, string | undefined>();
  const realDir = (d: string): string | undefined => {
    if (d === '') return '';
    if (!dirCache.has(d)) dirCache.set(d, fs.resolve(d));
    return dirCache.get(d);
  };
  const exists = (p: string) => !!fs.get(p);
  // Read every list file and copyright file at once (one pass per layer).
  const lists = await Promise.all(
    raws.map(async (r) => {
      const path = r.fileList?.paths.find(exists);
      if (!path) return undefined;
      return fs.read(path, { max: LIMITS.recordBytes, signal }).then(
        (b) => b.toString('utf8'),
        (e: unknown) =>
          rethrowCancel(e, () => {
            problems.push(problem('PACKAGE_DB_INVALID', `${path} could not be read; the files of ${r.name} are not counted.`, path));
            return undefined;
          }),
      );
    }),
  );
  const copyrights = await Promise.all(
    raws.map(async (r) => {
      const real = r.copyright && !r.license ? fs.resolve(r.copyright) : undefined;
      if (!real || fs.get(real)?.type !== 'file') return undefined;
      return fs.read(real, { max: 256 * 1024, signal }).then(
        (b) => b.toString('utf8'),
        (e: unknown) => rethrowCancel(e, () => undefined),
      );
    }),
  );
  const measured = raws.map((r, k): Measured => {
    let paths: string[] = r.files ?? [];
    const text = lists[k];
    if (text !== undefined && r.fileList) paths = listPaths(text, r.fileList.format, r.fileList.base);
    const m: Measured = r.folder !== undefined ? measureFolder(fs, r.folder) : r.binary !== undefined ? measurePaths(fs, [r.binary], realDir) : measurePaths(fs, paths, realDir);
    const c = copyrights[k];
    const lic = c !== undefined ? dep5Licenses(c) : undefined;
    if (lic) m.license = lic.join(', ');
    return m;
  });
  return { measured, problems };
}

function rethrowCancel(e: unknown, otherwise: () => undefined): undefined {
  if ((e as { code?: string }).code === 'CANCELLED') throw e;
  return otherwise();
}

/** Paths of a list file, relative ones taken from `base`. */
export function listPaths(text: string, format: 'lines' | 'md5sums' | 'record', base: string): string[] {
  if (format === 'record') return recordPaths(text).map((p) => joinPath(base, p));
  const out: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (!line) continue;
    // md5sums: "<32 hex>  <path>" (the path is relative to the root).
    const p = format === 'md5sums' ? line.replace(/^[0-9a-f]{32}\s+/, '') : line;
    out.push(joinPath(base, p));
  }
  return out;
}

function measurePaths(fs: PackageFs, paths: string[], realDir: (d: string) => string | undefined): Measured {
  const seen = new Set<string>();
  const contents = new Set<string>();
  let files = 0;
  let bytes = 0;
  for (const p of paths) {
    if (!p) continue;
    const d = realDir(dirname(p));
    if (d === undefined) continue;
    const real = d ? `${d}/${basename(p)}` : basename(p);
    if (seen.has(real)) continue;
    seen.add(real);
    const e = fs.get(real);
    if (!e || e.type === 'dir') continue;
    files++;
    const id = fs.contentId(real);
    if (id !== undefined && !contents.has(id)) {
      contents.add(id);
      bytes += e.size;
    }
  }
  return { files, bytes };
}

/** Every non-folder below `folder`, not descending into node_modules (nested packages count for themselves). */
function measureFolder(fs: PackageFs, folder: string): Measured {
  const paths: string[] = [];
  const stack = [folder];
  while (stack.length) {
    const dir = stack.pop()!;
    for (const name of fs.children(dir)) {
      const p = `${dir}/${name}`;
      const e = fs.get(p);
      if (e?.type === 'dir') {
        if (name !== 'node_modules') stack.push(p);
      } else paths.push(p);
    }
  }
  return measurePaths(fs, paths, (d) => d);
}
