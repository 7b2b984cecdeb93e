import { describe, expect, it } from 'vitest';
import { progressFraction, progressLine } from '../../../shared/ui/progress.js';

describe('extract progress as shown', () => {
  it('is the share of bytes written, clamped, and whole when there is nothing to write', () => {
    expect(progressFraction({ files: 3, bytes: 250, totalBytes: 1000 })).toBe(0.25);
    expect(progressFraction({ files: 3, bytes: 1200, totalBytes: 1000 })).toBe(1);
    expect(progressFraction({ files: 0, bytes: 0, totalBytes: 0 })).toBe(1);
    expect(progressFraction({ files: 0, bytes: 10 })).toBeUndefined();
  });
  it('names files and bytes of the total; rounds the percentage down (100 % only when done)', () => {
    expect(progressLine({ files: 1234, bytes: 12_300_000, totalBytes: 45_600_000 })).toBe('1,234 files · 12.3 MB of 45.6 MB (26 %)');
    expect(progressLine({ files: 1, bytes: 999, totalBytes: 1000 })).toBe('1 file · 999 B of 1.00 KB (99 %)');
    expect(progressLine({ files: 2, bytes: 1000, totalBytes: 1000 })).toBe('2 files · 1.00 KB of 1.00 KB (100 %)');
    expect(progressLine({ files: 0, bytes: 0 })).toBe('0 files · 0 B');
  });
});
