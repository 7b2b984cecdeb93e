import { groupDigits, humanBytes } from './format.js';

// Progress of an extraction or a save as the UI shows it (from extract-progress events): files and bytes
// written so far, against the total bytes when the core knows it.

export interface TransferProgress {
  /** Regular files written so far. */
  files: number;
  /** Content bytes written so far. */
  bytes: number;
  /** All the content bytes the operation writes, when known. */
  totalBytes?: number | undefined;
}

/** 0..1 of the bytes written; undefined while the total is unknown (an indeterminate bar). */
export function progressFraction(p: TransferProgress): number | undefined {
  if (p.totalBytes === undefined || !Number.isFinite(p.totalBytes) || p.totalBytes < 0) return undefined;
  if (p.totalBytes === 0) return 1;
  return Math.min(1, Math.max(0, p.bytes / p.totalBytes));
}

/** "1,234 files · 12.3 MB of 45.6 MB (27 %)", or without the total while it is unknown. */
export function progressLine(p: TransferProgress): string {
  const files = `${groupDigits(p.files)} ${p.files === 1 ? 'file' : 'files'}`;
  const f = progressFraction(p);
  if (f === undefined || p.totalBytes === undefined) return `${files} · ${humanBytes(p.bytes)}`;
  return `${files} · ${humanBytes(p.bytes)} of ${humanBytes(p.totalBytes)} (${Math.floor(f * 100)} %)`;
}
