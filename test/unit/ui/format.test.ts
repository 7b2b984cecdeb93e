import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, chmodSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ancestors, groupDigits, humanBytes, modeString, parentPath, percent, platformString, shortDigest } from '../../../shared/ui/format.js';

describe('modeString', () => {
  it('matches what ls -ld prints, including setuid, setgid and sticky bits', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ui-mode-'));
    try {
      const modes = [0o755, 0o644, 0o4755, 0o2755, 0o4644, 0o1777, 0o1776, 0o6711, 0o000];
      for (const m of modes) {
        const f = path.join(dir, `f${m.toString(8)}`);
        writeFileSync(f, '');
        chmodSync(f, m);
        const ls = execFileSync('ls', ['-ld', f]).toString().split(/\s+/)[0]!;
        expect(modeString('file', m), `mode ${m.toString(8)}`).toBe(ls.replace(/[.+@]$/, ''));
      }
      const d = path.join(dir, 'd');
      mkdirSync(d);
      chmodSync(d, 0o1777);
      expect(modeString('dir', 0o1777)).toBe(execFileSync('ls', ['-ld', d]).toString().split(/\s+/)[0]!.replace(/[.+@]$/, ''));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  it('marks links and devices by their type letter', () => {
    expect(modeString('symlink', 0o777)).toBe('lrwxrwxrwx');
    expect(modeString('char', 0o666)[0]).toBe('c');
    expect(modeString('block', 0o660)[0]).toBe('b');
    expect(modeString('fifo', 0o644)[0]).toBe('p');
  });
});

describe('numbers', () => {
  it('groups digits without the browser locale', () => {
    expect(groupDigits(32025)).toBe('32,025');
    expect(groupDigits(1234567)).toBe('1,234,567');
    expect(groupDigits(999)).toBe('999');
    expect(groupDigits(-1000)).toBe('-1,000');
  });
  it('prints dive-style percentages and decimal sizes', () => {
    expect(percent(0.98442)).toBe('98.44 %');
    expect(humanBytes(0)).toBe('0 B');
    expect(humanBytes(999)).toBe('999 B');
    expect(humanBytes(1000)).toBe('1.00 KB');
    expect(humanBytes(32025)).toBe('32.0 KB');
    expect(humanBytes(1_369_600)).toBe('1.37 MB');
    expect(humanBytes(-2048)).toBe('-2.05 KB');
    expect(humanBytes(undefined)).toBe('—');
  });
});

describe('paths and names', () => {
  it('parent and ancestors of absolute paths', () => {
    expect(parentPath('/a/b/c')).toBe('/a/b');
    expect(parentPath('/a')).toBe('/');
    expect(parentPath('/')).toBe('/');
    expect(ancestors('/a/b/c')).toEqual(['/', '/a', '/a/b']);
    expect(ancestors('/a')).toEqual(['/']);
  });
  it('short digests and platforms', () => {
    expect(shortDigest('sha256:' + 'ab'.repeat(32))).toBe('sha256:abababababab');
    expect(shortDigest(undefined)).toBe('');
    expect(platformString({ os: 'linux', architecture: 'arm64', variant: 'v8' })).toBe('linux/arm64/v8');
    expect(platformString(undefined)).toBe('');
  });
});
