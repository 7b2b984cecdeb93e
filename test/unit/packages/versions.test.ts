import { describe, expect, it } from 'vitest';
import { compareVersions } from '../../../shared/packages/versions.js';

// Orders each ecosystem's tools define; checked against dpkg --compare-versions and rpm's own vercmp
// in test/integration/packages-versions.test.ts.
const sign = (n: number) => Math.sign(n);

describe('version order', () => {
  it('dpkg: epochs, ~ before anything, letters before other characters, revisions', () => {
    const asc = ['1.0~rc1', '1.0', '1.0-1', '1.0-1ubuntu1', '1.0a', '1.0+dfsg', '1.0.1', '1.2', '1.10', '1:0.1'];
    for (let i = 0; i + 1 < asc.length; i++) expect(sign(compareVersions('dpkg', asc[i]!, asc[i + 1]!)), `${asc[i]} < ${asc[i + 1]}`).toBe(-1);
    expect(compareVersions('dpkg', '2.36-9+deb12u4', '2.36-9+deb12u4')).toBe(0);
    expect(sign(compareVersions('dpkg', '1.0-10', '1.0-9'))).toBe(1);
  });

  it('rpm: epoch first, numeric segments numerically, ~ before and ^ after the release', () => {
    const asc = ['1.0~rc1-1', '1.0-1', '1.0^git1-1', '1.0a-1', '1.0.1-1', '1.10-1', '1:0.1-1'];
    for (let i = 0; i + 1 < asc.length; i++) expect(sign(compareVersions('rpm', asc[i]!, asc[i + 1]!)), `${asc[i]} < ${asc[i + 1]}`).toBe(-1);
    expect(sign(compareVersions('rpm', '5.2.26-1.fc40', '5.2.26-2.fc40'))).toBe(-1);
  });

  it('others: numbers numerically, pre-releases before the release', () => {
    expect(sign(compareVersions('npm', '1.2.10', '1.2.9'))).toBe(1);
    expect(sign(compareVersions('python', '2.0rc1', '2.0'))).toBe(-1);
    expect(sign(compareVersions('go', 'v0.14.0', 'v0.9.1'))).toBe(1);
    expect(sign(compareVersions('apk', '1.36.1-r5', '1.36.1-r15'))).toBe(-1);
    expect(sign(compareVersions('npm', '1.0.0-beta.2', '1.0.0'))).toBe(-1);
  });
});
