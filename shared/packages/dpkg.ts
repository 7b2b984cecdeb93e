import type { Problem } from '../errors.js';
import { LIMITS, problem, readText, type Cataloger } from './cataloger.js';
import { field, paragraphs } from './rfc822.js';
import type { ParseResult, RawPackage } from './types.js';

// dpkg: `var/lib/dpkg/status` (every package dpkg knows; only those whose status is "installed"
// count, as dpkg-query -W with ${db:Status-Status}), and distroless' `var/lib/dpkg/status.d/<name>`
// (one paragraph each, no Status field, files in `<name>.md5sums`). Files of a status package are in
// `var/lib/dpkg/info/<name>[:<arch>].list`; licences in the DEP-5 `usr/share/doc/<name>/copyright`.

export const DPKG_STATUS = 'var/lib/dpkg/status';
const STATUS_D = 'var/lib/dpkg/status.d/';
const INFO = 'var/lib/dpkg/info/';

/** Parses a status file (or a status.d file: `statusD` = missing Status means installed). */
export function parseDpkgStatus(text: string, location: string, statusD = false): ParseResult {
  const problems: Problem[] = [];
  const { paragraphs: paras, truncated } = paragraphs(text, { max: LIMITS.recordsPerDb });
  if (truncated) problems.push(problem('PACKAGES_TRUNCATED', `${location} lists more than ${LIMITS.recordsPerDb} packages; only the first ones are shown.`, location));
  const packages: RawPackage[] = [];
  for (const p of paras) {
    const name = field(p, 'Package');
    if (!name) {
      problems.push(problem('PACKAGE_DB_INVALID', `${location} has a paragraph without a Package field; it was skipped.`, location));
      continue;
    }
    const status = field(p, 'Status');
    // "want flag status": the package is on disk when its status word is "installed" (install ok / hold ok).
    if (status !== undefined ? status.split(/\s+/)[2] !== 'installed' : !statusD) continue;
    const version = field(p, 'Version') ?? '';
    const arch = field(p, 'Architecture');
    const pkg: RawPackage = { ecosystem: 'dpkg', name, version, location };
    const src = field(p, 'Source');
    // "Source: glibc (2.36-9)": the source package's name (its version follows in brackets when it differs).
    if (src) pkg.source = src.split(/\s+/)[0]!;
    if (arch) pkg.arch = arch;
    if (statusD) {
      pkg.fileList = { paths: [`${location}.md5sums`], base: '', format: 'md5sums' };
    } else {
      // Multi-Arch: same packages name their list file with the architecture.
      pkg.fileList = { paths: [...(arch ? [`${INFO}${name}:${arch}.list`] : []), `${INFO}${name}.list`], base: '', format: 'lines' };
    }
    pkg.copyright = `usr/share/doc/${name}/copyright`;
    packages.push(pkg);
  }
  return { packages, problems };
}

/** Licence short names declared by a machine-readable (DEP-5) copyright file, in order, without repeats. */
export function dep5Licenses(text: string): string[] | undefined {
  if (!/^Format:\s*\S*copyright-format/m.test(text.slice(0, 4096))) return undefined;
  const out: string[] = [];
  for (const m of text.matchAll(/^License:[ \t]*([^\n]*)$/gm)) {
    const name = m[1]!.trim();
    if (name && !out.includes(name)) out.push(name);
  }
  return out.length ? out : undefined;
}

export const dpkg: Cataloger = {
  ecosystem: 'dpkg',
  match(path) {
    if (path === DPKG_STATUS) return true;
    return path.startsWith(STATUS_D) && !path.endsWith('.md5sums') && path.indexOf('/', STATUS_D.length) < 0;
  },
  async parse(fs, path, signal) {
    const statusD = path !== DPKG_STATUS;
    const max = statusD ? LIMITS.recordBytes : LIMITS.textDbBytes;
    const { text, truncated } = await readText(fs, path, max, signal);
    const r = parseDpkgStatus(text, path, statusD);
    if (truncated) r.problems.push(problem('PACKAGES_TRUNCATED', `${path} is larger than the ${max} bytes read; packages after that point are missing.`, path));
    return r;
  },
};
