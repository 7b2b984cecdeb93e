import { createHash, type Hash } from 'node:crypto';
import { ExplorerError } from '../errors.js';

// image-spec descriptor.md: digest = algorithm ":" encoded; registered algorithms sha256/sha512
// must be lowercase hex of fixed length.
export type Digest = string;
export type DigestAlgorithm = 'sha256' | 'sha512';

const GRAMMAR = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;
const HEX_LEN: Record<DigestAlgorithm, number> = { sha256: 64, sha512: 128 };

export interface ParsedDigest {
  algorithm: DigestAlgorithm;
  hex: string;
}

/** The digest grammar of descriptor.md (any algorithm, registered or not). */
export const DIGEST_GRAMMAR = GRAMMAR;

/**
 * Returns a reason when `d` is not a digest we can verify, else undefined. Reasons are sentences
 * starting with "digest", so callers can name the field instead (e.g. "diff_ids[0] must be…").
 */
export function digestProblem(d: unknown): string | undefined {
  if (typeof d !== 'string') return 'digest must be a string';
  if (!GRAMMAR.test(d)) return `digest must have the form algorithm:encoded, e.g. sha256: followed by 64 lowercase hex characters ("${d}" does not)`;
  const [alg, enc] = d.split(':', 2) as [string, string];
  if (alg !== 'sha256' && alg !== 'sha512') return `digest algorithm "${alg}" is not supported (only sha256 and sha512 can be verified)`;
  if (!/^[a-f0-9]+$/.test(enc) || enc.length !== HEX_LEN[alg]) {
    return `digest must be ${alg}: followed by ${HEX_LEN[alg]} lowercase hex characters`;
  }
  return undefined;
}

/** Algorithms whose encoding image-spec fixes (descriptor.md "Registered algorithms"). */
export function isRegisteredAlgorithm(alg: string): alg is DigestAlgorithm {
  return alg === 'sha256' || alg === 'sha512';
}

export function isDigest(d: unknown): d is Digest {
  return digestProblem(d) === undefined;
}

export function parseDigest(d: string): ParsedDigest {
  const p = digestProblem(d);
  if (p) throw new ExplorerError('DIGEST_INVALID', `Invalid digest: ${p}.`, { digest: d });
  const [algorithm, hex] = d.split(':', 2) as [DigestAlgorithm, string];
  return { algorithm, hex };
}

export function createDigester(algorithm: DigestAlgorithm = 'sha256'): Hash {
  return createHash(algorithm);
}

export function digestOf(data: Uint8Array | string, algorithm: DigestAlgorithm = 'sha256'): Digest {
  return `${algorithm}:${createHash(algorithm).update(data).digest('hex')}`;
}

export function shortDigest(d: string, n = 12): string {
  const i = d.indexOf(':');
  return i < 0 ? d.slice(0, n) : d.slice(i + 1, i + 1 + n);
}
