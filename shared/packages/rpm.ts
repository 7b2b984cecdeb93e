import type { Problem } from '../errors.js';
import { LIMITS, basename, problem, type Cataloger } from './cataloger.js';
import { TAG, headerFiles, nums, parseRpmHeader, str } from './rpm-header.js';
import { openSqlite } from './sqlite.js';
import type { ParseResult, RawPackage } from './types.js';

// rpm: `rpmdb.sqlite` (rpm ≥ 4.16; table Packages(hnum, blob) of header blobs) in var/lib/rpm or
// usr/lib/sysimage/rpm. Older databases — BerkeleyDB `Packages`, ndb `Packages.db` — are reported as
// not read (their formats need rpm's own readers).

const DIRS = ['var/lib/rpm/', 'usr/lib/sysimage/rpm/'];
const SQLITE = 'rpmdb.sqlite';
const LEGACY: Record<string, string> = { Packages: 'BerkeleyDB', 'Packages.db': 'ndb' };

/** Packages of the header blobs of an rpmdb (rows of its Packages table). */
export function packagesFromHeaders(blobs: Iterable<Uint8Array>, location: string): ParseResult {
  const packages: RawPackage[] = [];
  const problems: Problem[] = [];
  let bad = 0;
  let firstError = '';
  for (const blob of blobs) {
    if (packages.length >= LIMITS.recordsPerDb) {
      problems.push(problem('PACKAGES_TRUNCATED', `${location} holds more than ${LIMITS.recordsPerDb} packages; only the first ones are shown.`, location));
      break;
    }
    try {
      const h = parseRpmHeader(blob);
      const name = str(h, TAG.NAME);
      if (!name) throw new Error('no NAME tag');
      const epoch = nums(h, TAG.EPOCH)?.[0];
      const version = `${epoch !== undefined ? `${epoch}:` : ''}${str(h, TAG.VERSION) ?? ''}-${str(h, TAG.RELEASE) ?? ''}`;
      const pkg: RawPackage = { ecosystem: 'rpm', name, version, location, files: headerFiles(h) };
      const arch = str(h, TAG.ARCH);
      if (arch) pkg.arch = arch;
      const lic = str(h, TAG.LICENSE);
      if (lic) pkg.license = lic;
      const src = str(h, TAG.SOURCERPM);
      if (src) pkg.source = src;
      packages.push(pkg);
    } catch (e) {
      bad++;
      firstError ||= (e as Error).message;
    }
  }
  if (bad) problems.push(problem('PACKAGE_DB_INVALID', `${location}: ${bad} package header(s) could not be decoded (${firstError}); they were skipped.`, location));
  return { packages, problems };
}

export const rpm: Cataloger = {
  ecosystem: 'rpm',
  match(path) {
    const name = basename(path);
    if (name !== SQLITE && !(name in LEGACY)) return false;
    const dir = path.slice(0, path.length - name.length);
    return DIRS.includes(dir);
  },
  async parse(fs, path, signal) {
    const name = basename(path);
    const legacy = LEGACY[name];
    if (legacy) {
      // An image that was moved to sqlite may keep the old file; only report it when it is the database.
      const beside = path.slice(0, path.length - name.length) + SQLITE;
      if (fs.get(beside)) return { packages: [], problems: [] };
      return {
        packages: [],
        problems: [problem('PACKAGE_DB_UNSUPPORTED', `${path} is an rpm ${legacy} database, which is not read: its rpm packages are not listed. Images with rpm 4.16 or newer (rpmdb.sqlite) are.`, path)],
      };
    }
    const size = fs.get(path)?.size ?? 0;
    if (size > LIMITS.sqliteBytes) {
      return { packages: [], problems: [problem('PACKAGES_TRUNCATED', `${path} is ${size} bytes, more than the ${LIMITS.sqliteBytes} read; its rpm packages are not listed.`, path)] };
    }
    const bytes = await fs.read(path, { max: LIMITS.sqliteBytes, signal });
    const walPath = `${path}-wal`;
    const walEntry = fs.get(walPath);
    const wal = walEntry?.type === 'file' && walEntry.size > 32 && walEntry.size <= LIMITS.sqliteBytes ? await fs.read(walPath, { max: LIMITS.sqliteBytes, signal }) : undefined;
    let opened;
    try {
      opened = await openSqlite(bytes, wal);
    } catch (e) {
      return { packages: [], problems: [problem('PACKAGE_DB_INVALID', `${path} could not be opened as SQLite (${(e as Error).message}); its rpm packages are not listed.`, path)] };
    }
    const { db } = opened;
    try {
      const blobs: Uint8Array[] = [];
      const stmt = db.prepare('SELECT blob FROM Packages ORDER BY hnum');
      try {
        while (stmt.step()) {
          const v = stmt.get()[0];
          if (v instanceof Uint8Array) blobs.push(v);
          if (blobs.length > LIMITS.recordsPerDb) break;
        }
      } finally {
        stmt.free();
      }
      return packagesFromHeaders(blobs, path);
    } catch (e) {
      return { packages: [], problems: [problem('PACKAGE_DB_INVALID', `${path} has no readable Packages table (${(e as Error).message}); its rpm packages are not listed.`, path)] };
    } finally {
      db.close();
    }
  },
};
