import type { Problem } from '../errors.js';
import { LIMITS, problem, readText, type Cataloger } from './cataloger.js';
import type { ParseResult, RawPackage } from './types.js';

// apk (Alpine, Wolfi, Chainguard): `lib/apk/db/installed`, apk-tools' v2 installed database. Records
// are separated by blank lines; each line is `<letter>:<value>` (apk-package(5) gives the letters):
// P name, V version, A arch, L licence, o origin (the source package), F a folder (relative to the
// root), R a file in the last F folder; M/a/Z/… describe the folder or file before them.

export const APK_INSTALLED = 'lib/apk/db/installed';

export function parseApkInstalled(text: string, location: string): ParseResult {
  const problems: Problem[] = [];
  const packages: RawPackage[] = [];
  let cur: (RawPackage & { files: string[] }) | undefined;
  let dir = '';
  let bad = 0;
  const flush = () => {
    if (!cur) return;
    if (!cur.name) bad++;
    else packages.push(cur);
    cur = undefined;
    dir = '';
  };
  for (const raw of text.split('\n')) {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line === '') {
      flush();
      if (packages.length >= LIMITS.recordsPerDb) {
        problems.push(problem('PACKAGES_TRUNCATED', `${location} lists more than ${LIMITS.recordsPerDb} packages; only the first ones are shown.`, location));
        break;
      }
      continue;
    }
    if (line[1] !== ':') {
      bad++;
      continue;
    }
    const value = line.slice(2);
    cur ??= { ecosystem: 'apk', name: '', version: '', location, files: [] };
    switch (line[0]) {
      case 'P':
        cur.name = value;
        break;
      case 'V':
        cur.version = value;
        break;
      case 'A':
        cur.arch = value;
        break;
      case 'L':
        cur.license = value;
        break;
      case 'o':
        cur.source = value;
        break;
      case 'F':
        dir = value.replace(/^\/+|\/+$/g, '');
        break;
      case 'R':
        cur.files.push(dir ? `${dir}/${value}` : value);
        break;
      default:
        break;
    }
  }
  flush();
  if (bad) problems.push(problem('PACKAGE_DB_INVALID', `${location} has ${bad} line(s) or record(s) that are not apk database records; they were skipped.`, location));
  return { packages, problems };
}

export const apk: Cataloger = {
  ecosystem: 'apk',
  match: (path) => path === APK_INSTALLED,
  async parse(fs, path, signal) {
    const { text, truncated } = await readText(fs, path, LIMITS.textDbBytes, signal);
    const r = parseApkInstalled(text, path);
    if (truncated) r.problems.push(problem('PACKAGES_TRUNCATED', `${path} is larger than the ${LIMITS.textDbBytes} bytes read; packages after that point are missing.`, path));
    return r;
  },
};
