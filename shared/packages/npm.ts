import { LIMITS, dirname, problem, readText, type Cataloger } from './cataloger.js';
import type { ParseResult, RawPackage } from './types.js';

// npm: every `node_modules/<name>/package.json` and `node_modules/@scope/<name>/package.json` is an
// installed package (npm, yarn and pnpm all leave one per package folder; pnpm's store is
// node_modules/.pnpm/<id>/node_modules/<name>, matched the same way). Its files are the folder's,
// without nested node_modules. A package.json outside node_modules is an application, not a dependency.

const PACKAGE_JSON = /(?:^|\/)node_modules\/(?:@[^/]+\/)?[^/@.][^/]*\/package\.json$/;

/** The licence as package.json declares it: `license` (SPDX string or legacy {type}) or legacy `licenses`. */
function npmLicense(j: Record<string, unknown>): string | undefined {
  const one = (v: unknown): string | undefined => (typeof v === 'string' ? v : v && typeof v === 'object' && typeof (v as { type?: unknown }).type === 'string' ? (v as { type: string }).type : undefined);
  const lic = one(j.license);
  if (lic) return lic;
  if (Array.isArray(j.licenses)) {
    const all = j.licenses.map(one).filter((x): x is string => !!x);
    if (all.length) return all.length === 1 ? all[0] : `(${all.join(' OR ')})`;
  }
  return undefined;
}

export function parsePackageJson(text: string, location: string): ParseResult {
  let j: unknown;
  try {
    j = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  } catch (e) {
    return { packages: [], problems: [problem('PACKAGE_DB_INVALID', `${location} is not valid JSON (${(e as Error).message}); the package is not listed.`, location)] };
  }
  if (!j || typeof j !== 'object' || Array.isArray(j)) return { packages: [], problems: [problem('PACKAGE_DB_INVALID', `${location} is not a JSON object; the package is not listed.`, location)] };
  const o = j as Record<string, unknown>;
  // Folders holding only a package.json without a name are not packages (e.g. "type": "module" markers).
  if (typeof o.name !== 'string' || !o.name) return { packages: [], problems: [] };
  const pkg: RawPackage = { ecosystem: 'npm', name: o.name, version: typeof o.version === 'string' ? o.version : '', location };
  const lic = npmLicense(o);
  if (lic) pkg.license = lic;
  return { packages: [pkg], problems: [] };
}

export const npm: Cataloger = {
  ecosystem: 'npm',
  match: (path, e) => (e.type === 'file' || e.type === 'hardlink') && path.endsWith('/package.json') && PACKAGE_JSON.test(path),
  async parse(fs, path, signal) {
    const { text, truncated } = await readText(fs, path, LIMITS.recordBytes, signal);
    if (truncated) return { packages: [], problems: [problem('PACKAGES_TRUNCATED', `${path} is larger than ${LIMITS.recordBytes} bytes; the package is not listed.`, path)] };
    const r = parsePackageJson(text, path);
    for (const p of r.packages) {
      p.scope = dirname(path);
      p.folder = dirname(path);
    }
    return r;
  },
};
