import { describe, expect, it } from 'vitest';
import { compareVersions } from '../../shared/packages/versions.js';
import { hasCommand, run } from '../helpers/tools.js';

// Our dpkg and rpm version orders against the tools' own: dpkg --compare-versions and rpm's vercmp
// (its Lua binding), on pairs chosen to hit every rule (epochs, ~, ^, letters, leading zeros, revisions).

const CI = process.env.CI === 'true';
const have = (t: string) => {
  if (!hasCommand(t) && CI) throw new Error(`${t} is missing under CI`);
  return hasCommand(t);
};

const PAIRS = [
  ['1.0', '1.0'], ['1.0', '1.0-0'], ['1.0~rc1', '1.0'], ['1.0~~', '1.0~'], ['1.0a', '1.0+'], ['1.0.1', '1.0a'], ['001', '1'],
  ['1:0.1', '2.0'], ['2.36-9+deb12u4', '2.36-9+deb12u10'], ['1.2.3-1ubuntu1', '1.2.3-1'], ['9.1-1', '9.1-1+b1'], ['1.0^git', '1.0'],
  ['5.2.26-1.fc40', '5.2.26-1.fc39'], ['1.0_1', '1.0.1'], ['a', 'b'], ['1.0-1.el9', '1.0-1.el9_2'], ['0.0.0', '0'], ['1.10', '1.9'],
];

describe.skipIf(!have('dpkg'))('dpkg order = dpkg --compare-versions', () => {
  it('every pair', async () => {
    for (const [a, b] of PAIRS) {
      const lt = (await run('dpkg', ['--compare-versions', a!, 'lt', b!], { allowFail: true })).code === 0;
      const eq = (await run('dpkg', ['--compare-versions', a!, 'eq', b!], { allowFail: true })).code === 0;
      const want = lt ? -1 : eq ? 0 : 1;
      expect(Math.sign(compareVersions('dpkg', a!, b!)), `${a} vs ${b}`).toBe(want);
    }
  });
});

describe.skipIf(!have('rpm'))('rpm order = rpm.vercmp', () => {
  it('every pair (epoch:version-release as rpm compares EVRs)', async () => {
    for (const [a, b] of PAIRS) {
      const out = (await run('rpm', ['--eval', `%{lua: print(rpm.vercmp(${JSON.stringify(a)}, ${JSON.stringify(b)}))}`])).stdout.trim();
      expect(out, `${a} vs ${b}`).toMatch(/^-?\d+$/);
      expect(Math.sign(compareVersions('rpm', a!, b!)), `${a} vs ${b}`).toBe(Math.sign(Number(out)));
    }
  });
});
