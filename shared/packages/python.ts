import { LIMITS, basename, dirname, problem, readText, type Cataloger } from './cataloger.js';
import { field, paragraphs } from './rfc822.js';
import type { ParseResult, RawPackage } from './types.js';

// Python distributions: `<name>.dist-info/METADATA` (wheels; files in RECORD, CSV relative to the
// folder holding the dist-info), `<name>.egg-info/PKG-INFO` (setuptools; files in installed-files.txt,
// relative to the egg-info folder) and a lone `<name>.egg-info` file (distutils: PKG-INFO itself).
// Both are email-style headers (core metadata); the body after the first blank line is not read.

/** PEP 503 normalised name: how pip compares names. */
export function normalizePyName(name: string): string {
  return name.toLowerCase().replace(/[-_.]+/g, '-');
}

export function parsePythonMetadata(text: string, location: string): ParseResult {
  const p = paragraphs(text, { headersOnly: true, max: 1 }).paragraphs[0];
  const name = p && field(p, 'Name');
  if (!p || !name) return { packages: [], problems: [problem('PACKAGE_DB_INVALID', `${location} has no Name field; it is not Python core metadata.`, location)] };
  const pkg: RawPackage = { ecosystem: 'python', name, version: field(p, 'Version') ?? '', location };
  const lic = pythonLicense(field(p, 'License-Expression'), field(p, 'License'), field(p, 'Classifier'));
  if (lic) pkg.license = lic;
  return { packages: [pkg], problems: [] };
}

/** PEP 639's License-Expression, else a one-line License field, else the "License ::" classifiers. */
function pythonLicense(expr: string | undefined, license: string | undefined, classifiers: string | undefined): string | undefined {
  if (expr) return expr.trim();
  const first = license?.split('\n')[0]?.trim();
  if (first && first.toUpperCase() !== 'UNKNOWN' && (license?.split('\n').length ?? 0) <= 2 && first.length <= 120) return first;
  const fromClassifiers = (classifiers ?? '')
    .split('\n')
    .filter((c) => c.startsWith('License ::'))
    .map((c) => c.split('::').pop()!.trim())
    .filter(Boolean);
  return fromClassifiers.length ? fromClassifiers.join(' AND ') : undefined;
}

/** The paths of a wheel RECORD (CSV: path,hash,size; quoted paths may hold commas). */
export function recordPaths(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    if (line.startsWith('"')) {
      let p = '';
      let i = 1;
      for (; i < line.length; i++) {
        if (line[i] === '"') {
          if (line[i + 1] === '"') {
            p += '"';
            i++;
          } else break;
        } else p += line[i];
      }
      out.push(p);
    } else out.push(line.slice(0, line.indexOf(',') < 0 ? undefined : line.indexOf(',')));
  }
  return out;
}

export const python: Cataloger = {
  ecosystem: 'python',
  match(path, e) {
    if (e.type !== 'file' && e.type !== 'hardlink') return false;
    const name = basename(path);
    if (name === 'METADATA') return dirname(path).endsWith('.dist-info');
    if (name === 'PKG-INFO') return dirname(path).endsWith('.egg-info');
    return name.endsWith('.egg-info');
  },
  async parse(fs, path, signal) {
    const { text } = await readText(fs, path, LIMITS.recordBytes, signal);
    const name = basename(path);
    // The record is the dist-info/egg-info folder (or the lone egg-info file); its parent is the install folder.
    const record = name === 'METADATA' || name === 'PKG-INFO' ? dirname(path) : path;
    const site = dirname(record);
    const r = parsePythonMetadata(text, record);
    for (const p of r.packages) {
      p.scope = site;
      if (name === 'METADATA') p.fileList = { paths: [`${record}/RECORD`], base: site, format: 'record' };
      else if (name === 'PKG-INFO') p.fileList = { paths: [`${record}/installed-files.txt`], base: record, format: 'lines' };
      else p.files = [path];
    }
    return r;
  },
};
