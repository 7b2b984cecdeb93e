import { describe, expect, it } from 'vitest';
import { isExplorerError } from '../../../shared/errors.js';
import { formatPlatform, hostPlatform, isRealPlatform, normalizePlatform, parsePlatform, platformMatches, type Platform } from '../../../shared/oci/platform.js';

describe('normalizePlatform (DESIGN.md table)', () => {
  it.each([
    ['linux', 'x86_64', undefined, 'linux/amd64'],
    ['linux', 'x86-64', undefined, 'linux/amd64'],
    ['linux', 'aarch64', undefined, 'linux/arm64'],
    ['linux', 'aarch64', 'v8', 'linux/arm64'],
    ['linux', 'arm64', 'v8', 'linux/arm64'],
    ['linux', 'arm64', '8', 'linux/arm64'],
    ['linux', 'armhf', undefined, 'linux/arm/v7'],
    ['linux', 'armel', undefined, 'linux/arm/v6'],
    ['linux', 'arm', undefined, 'linux/arm/v7'],
    ['linux', 'arm', '6', 'linux/arm/v6'],
    ['linux', 'i386', undefined, 'linux/386'],
    ['Linux', 'AMD64', undefined, 'linux/amd64'],
    ['macos', 'arm64', undefined, 'darwin/arm64'],
    ['windows', 'amd64', undefined, 'windows/amd64'],
    ['linux', 'arm64', 'v9', 'linux/arm64/v9'],
    ['linux', 'riscv64', undefined, 'linux/riscv64'],
  ])('%s/%s/%s → %s', (os, architecture, variant, want) => {
    const p: Platform = { os, architecture };
    if (variant) p.variant = variant;
    expect(formatPlatform(normalizePlatform(p))).toBe(want);
  });

  it('keeps os.version and os.features, drops an empty variant', () => {
    const n = normalizePlatform({ os: 'windows', architecture: 'amd64', variant: '', 'os.version': '10.0.17763.1040', 'os.features': ['win32k'] });
    expect(n).toEqual({ os: 'windows', architecture: 'amd64', 'os.version': '10.0.17763.1040', 'os.features': ['win32k'] });
  });

  it('does not crash on non-string fields from untrusted JSON', () => {
    const junk = { os: 7, architecture: null } as unknown as Platform;
    expect(normalizePlatform(junk)).toEqual({ os: '7', architecture: '' });
  });
});

describe('parsePlatform', () => {
  it('parses and normalises os/arch[/variant]', () => {
    expect(parsePlatform('linux/amd64')).toEqual({ os: 'linux', architecture: 'amd64' });
    expect(parsePlatform(' linux/arm64/v8 ')).toEqual({ os: 'linux', architecture: 'arm64' });
    expect(parsePlatform('linux/arm/v6')).toEqual({ os: 'linux', architecture: 'arm', variant: 'v6' });
    expect(parsePlatform('linux/x86_64')).toEqual({ os: 'linux', architecture: 'amd64' });
  });

  it.each(['', 'linux', 'linux/', '/amd64', 'linux//v7', 'linux/arm/v7/extra', 'linux/amd64/'])('rejects %j with PLATFORM_INVALID', (s) => {
    let err: unknown;
    try {
      parsePlatform(s);
    } catch (e) {
      err = e;
    }
    expect(isExplorerError(err) && err.code).toBe('PLATFORM_INVALID');
    expect((err as Error).message).toMatch(/os\/arch or os\/arch\/variant, e\.g\. linux\/amd64/);
  });
});

describe('isRealPlatform, platformMatches, formatPlatform, hostPlatform', () => {
  it('unknown/unknown (BuildKit attestation entries) and missing platforms are not real', () => {
    expect(isRealPlatform({ os: 'unknown', architecture: 'unknown' })).toBe(false);
    expect(isRealPlatform(undefined)).toBe(false);
    expect(isRealPlatform({ os: 'linux', architecture: 'amd64' })).toBe(true);
  });

  it('matches through aliases; a variant only counts when asked for', () => {
    expect(platformMatches(parsePlatform('linux/arm64'), { os: 'linux', architecture: 'aarch64' })).toBe(true);
    expect(platformMatches(parsePlatform('linux/arm64'), { os: 'linux', architecture: 'arm64', variant: 'v8' })).toBe(true);
    expect(platformMatches(parsePlatform('linux/arm/v6'), { os: 'linux', architecture: 'armel' })).toBe(true);
    expect(platformMatches(parsePlatform('linux/arm/v7'), { os: 'linux', architecture: 'arm', variant: 'v6' })).toBe(false);
    expect(platformMatches(parsePlatform('linux/amd64'), { os: 'windows', architecture: 'amd64' })).toBe(false);
    expect(platformMatches(parsePlatform('linux/amd64'), undefined)).toBe(false);
  });

  it('formats os/arch/variant and nothing for no platform', () => {
    expect(formatPlatform({ os: 'linux', architecture: 'arm', variant: 'v7' })).toBe('linux/arm/v7');
    expect(formatPlatform(undefined)).toBe('');
  });

  it('the host platform is normalised and in OCI terms', () => {
    const h = hostPlatform();
    expect(h).toEqual(normalizePlatform(h));
    const ociArch: Record<string, string> = { x64: 'amd64', arm64: 'arm64', ia32: '386' };
    if (ociArch[process.arch]) expect(h.architecture).toBe(ociArch[process.arch]);
    if (process.platform === 'linux') expect(h.os).toBe('linux');
  });
});
