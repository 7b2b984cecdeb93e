import { LIMITS, problem, type Cataloger } from './cataloger.js';
import { locateBuildInfo, type ReadAt } from './elf.js';
import type { ParseResult, RawPackage } from './types.js';

// Go binaries embed their build info (what `go version -m` prints): the Go version and the module
// list. The blob starts with "\xff Go buildinf:" in the ELF section .go.buildinfo (elf.ts finds and
// reads it with a few bounded reads, never the whole binary). From Go 1.18 the two strings follow
// the 32-byte header as varint-prefixed bytes; before, the header holds pointers to Go strings.

export interface GoBuildInfo {
  goVersion: string;
  /** The main package's import path (`path` line). */
  path?: string;
  main?: GoModule;
  deps: GoModule[];
  settings: [string, string][];
}

export interface GoModule {
  path: string;
  version: string;
  sum?: string;
  replace?: GoModule;
}

/** Decodes the module info text (runtime/debug.ParseBuildInfo's format: tab-separated lines). */
export function parseModInfo(goVersion: string, mod: string): GoBuildInfo {
  const info: GoBuildInfo = { goVersion, deps: [], settings: [] };
  let last: GoModule | undefined;
  const module = (f: string[]): GoModule => {
    const m: GoModule = { path: f[1] ?? '', version: f[2] ?? '' };
    if (f[3]) m.sum = f[3];
    return m;
  };
  for (const line of mod.split('\n')) {
    const f = line.split('\t');
    switch (f[0]) {
      case 'path':
        info.path = f[1];
        break;
      case 'mod':
        last = info.main = module(f);
        break;
      case 'dep':
        last = module(f);
        info.deps.push(last);
        break;
      case '=>':
        if (last) last.replace = module(f);
        break;
      case 'build': {
        const kv = f.slice(1).join('\t');
        const eq = kv.indexOf('=');
        if (eq > 0) info.settings.push([kv.slice(0, eq), kv.slice(eq + 1)]);
        break;
      }
      default:
        break;
    }
  }
  return info;
}

/** Packages of one binary: `stdlib` at the Go version, the main module, every dependency. */
export function goPackages(info: GoBuildInfo, binary: string): RawPackage[] {
  const source = info.main?.path ?? info.path;
  const base = { ecosystem: 'go' as const, location: binary, scope: binary, ...(source ? { source } : {}) };
  const out: RawPackage[] = [{ ...base, name: 'stdlib', version: info.goVersion }];
  // The main module owns the binary (its bytes); a binary built outside a module has only a path.
  const mainName = info.main?.path ?? info.path;
  if (mainName) out.push({ ...base, name: mainName, version: info.main?.version ?? '', binary });
  for (const d of info.deps) {
    // A replaced module is built from its replacement: its version is the one compiled in.
    out.push({ ...base, name: d.path, version: d.replace?.version || d.version });
  }
  return out;
}

export const go: Cataloger = {
  ecosystem: 'go',
  match: (_path, e) => e.type === 'file' && (e.mode & 0o111) !== 0 && e.size >= 1024,
  async parse(fs, path, signal) {
    let budget = LIMITS.perBinaryBytes;
    const readAt: ReadAt = async (start, length) => {
      const n = Math.max(0, Math.min(length, budget));
      budget -= n;
      return n ? fs.read(path, { start, max: n, signal }) : Buffer.alloc(0);
    };
    const found = await locateBuildInfo(readAt);
    if (!found) return { packages: [], problems: [] };
    if ('error' in found) return { packages: [], problems: [problem('PACKAGE_DB_INVALID', `${path} has Go build info that could not be decoded (${found.error}); its modules are not listed.`, path)] };
    const r: ParseResult = { packages: goPackages(parseModInfo(found.version, found.mod), path), problems: [] };
    if (r.packages.length > LIMITS.recordsPerDb) r.packages.length = LIMITS.recordsPerDb;
    return r;
  },
};
