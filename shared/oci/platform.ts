import { ExplorerError } from '../errors.js';

// image-spec image-index.md platform object, normalised the way containerd's platforms package does.
export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
  'os.version'?: string;
  'os.features'?: string[];
  features?: string[];
}

const ARCH_ALIASES: Record<string, [string, string | undefined]> = {
  x86_64: ['amd64', undefined],
  'x86-64': ['amd64', undefined],
  amd64: ['amd64', undefined],
  aarch64: ['arm64', undefined],
  armhf: ['arm', 'v7'],
  armel: ['arm', 'v6'],
  i386: ['386', undefined],
  i686: ['386', undefined],
};

const OS_ALIASES: Record<string, string> = { macos: 'darwin' };

// Platforms arrive from untrusted JSON: a number where a string belongs must not crash the reader.
const text = (v: unknown): string => (typeof v === 'string' ? v : v === undefined || v === null ? '' : String(v));

/** Normalise aliases (x86_64→amd64, aarch64/arm64/v8→arm64, armhf→arm/v7, armel→arm/v6, macos→darwin). */
export function normalizePlatform(p: Platform): Platform {
  const rawOs = text(p.os).toLowerCase();
  const os = OS_ALIASES[rawOs] ?? rawOs;
  let architecture = text(p.architecture).toLowerCase();
  let variant = text(p.variant).toLowerCase() || undefined;
  const alias = ARCH_ALIASES[architecture];
  if (alias) {
    architecture = alias[0];
    variant = variant ?? alias[1];
  }
  if (architecture === 'arm64' && (variant === 'v8' || variant === '8')) variant = undefined;
  if (architecture === 'arm' && variant && /^\d$/.test(variant)) variant = `v${variant}`;
  if (architecture === 'arm' && !variant) variant = 'v7';
  const out: Platform = { os, architecture };
  if (variant) out.variant = variant;
  if (p['os.version']) out['os.version'] = p['os.version'];
  if (p['os.features']) out['os.features'] = p['os.features'];
  if (p.features) out.features = p.features;
  return out;
}

export function formatPlatform(p: Platform | undefined): string {
  if (!p) return '';
  return [p.os, p.architecture, p.variant].filter(Boolean).join('/');
}

/** Parses `os/arch[/variant]` as given on the command line. */
export function parsePlatform(s: string): Platform {
  const parts = s.trim().split('/');
  if (parts.length < 2 || parts.length > 3 || parts.some((x) => !x)) {
    throw new ExplorerError('PLATFORM_INVALID', `"${s}" is not a platform: write it as os/arch or os/arch/variant, e.g. linux/amd64 or linux/arm/v7.`);
  }
  const p: Platform = { os: parts[0]!, architecture: parts[1]! };
  if (parts[2]) p.variant = parts[2];
  return normalizePlatform(p);
}

/** `unknown/unknown` entries (BuildKit attestations) are not platforms. */
export function isRealPlatform(p: Platform | undefined): p is Platform {
  return !!p && p.os !== 'unknown' && p.architecture !== 'unknown';
}

/** True when `candidate` satisfies `want` (variant only compared when `want` has one). */
export function platformMatches(want: Platform, candidate: Platform | undefined): boolean {
  if (!candidate) return false;
  const a = normalizePlatform(want);
  const b = normalizePlatform(candidate);
  if (a.os !== b.os || a.architecture !== b.architecture) return false;
  if (a.variant && a.variant !== b.variant) return false;
  return true;
}

/** The platform of the machine we run on, in OCI terms. */
export function hostPlatform(): Platform {
  const archMap: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' };
  const osMap: Record<string, string> = { win32: 'windows', darwin: 'darwin', linux: 'linux' };
  return normalizePlatform({ os: osMap[process.platform] ?? process.platform, architecture: archMap[process.arch] ?? process.arch });
}
