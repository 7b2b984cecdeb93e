import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { isExplorerError } from '../../../shared/errors.js';
import { createDigester, digestOf, digestProblem, isDigest, isRegisteredAlgorithm, parseDigest, shortDigest } from '../../../shared/oci/digest.js';

// Well-known hashes of the empty string (FIPS 180-4 test vectors), and of "{}" (image-spec's empty descriptor).
const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const EMPTY_SHA512 = 'cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e';
const EMPTY_JSON_SHA256 = '44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a';

describe('digestProblem', () => {
  it('accepts sha256 and sha512 with their exact lowercase hex', () => {
    expect(digestProblem(`sha256:${EMPTY_SHA256}`)).toBeUndefined();
    expect(digestProblem(`sha512:${EMPTY_SHA512}`)).toBeUndefined();
  });

  it.each([
    [undefined, 'digest must be a string'],
    [42, 'digest must be a string'],
    ['', /form algorithm:encoded/],
    [EMPTY_SHA256, /form algorithm:encoded/], // no algorithm
    ['sha256', /form algorithm:encoded/], // no encoded part
    [`SHA256:${EMPTY_SHA256}`, /form algorithm:encoded/], // algorithm must be lowercase
    [`sha256+foo+-b:${EMPTY_SHA256}`, /form algorithm:encoded/], // repeated separators
    [`sha256:${EMPTY_SHA256}:x`, /form algorithm:encoded/],
    [`md5:${'a'.repeat(32)}`, 'digest algorithm "md5" is not supported (only sha256 and sha512 can be verified)'],
    [`sha256+b64:${EMPTY_SHA256}`, /"sha256\+b64" is not supported/],
    [`sha256:${EMPTY_SHA256.toUpperCase()}`, 'digest must be sha256: followed by 64 lowercase hex characters'],
    [`sha256:${EMPTY_SHA256.slice(1)}`, 'digest must be sha256: followed by 64 lowercase hex characters'],
    [`sha256:${EMPTY_SHA256}0`, 'digest must be sha256: followed by 64 lowercase hex characters'],
    [`sha256:${EMPTY_SHA512}`, 'digest must be sha256: followed by 64 lowercase hex characters'],
    [`sha512:${EMPTY_SHA256}`, 'digest must be sha512: followed by 128 lowercase hex characters'],
    [`sha256:${'g'.repeat(64)}`, 'digest must be sha256: followed by 64 lowercase hex characters'],
  ])('%s → %s', (d, want) => {
    const p = digestProblem(d);
    if (typeof want === 'string') expect(p).toBe(want);
    else expect(p).toMatch(want);
    expect(isDigest(d)).toBe(false);
  });

  it('registered algorithms are exactly sha256 and sha512', () => {
    expect(['sha256', 'sha512', 'sha384', 'blake3', 'SHA256'].filter(isRegisteredAlgorithm)).toEqual(['sha256', 'sha512']);
  });
});

describe('parseDigest', () => {
  it('splits algorithm and hex', () => {
    expect(parseDigest(`sha256:${EMPTY_SHA256}`)).toEqual({ algorithm: 'sha256', hex: EMPTY_SHA256 });
    expect(parseDigest(`sha512:${EMPTY_SHA512}`)).toEqual({ algorithm: 'sha512', hex: EMPTY_SHA512 });
  });

  it('throws DIGEST_INVALID with the reason and the digest', () => {
    const bad = `sha256:${EMPTY_SHA256.slice(2)}`;
    let err: unknown;
    try {
      parseDigest(bad);
    } catch (e) {
      err = e;
    }
    expect(isExplorerError(err)).toBe(true);
    if (!isExplorerError(err)) return;
    expect(err.code).toBe('DIGEST_INVALID');
    expect(err.message).toBe('Invalid digest: digest must be sha256: followed by 64 lowercase hex characters.');
    expect(err.details).toEqual({ digest: bad });
  });
});

describe('digestOf, createDigester, shortDigest', () => {
  it('hashes with sha256 by default and sha512 on request', () => {
    expect(digestOf('')).toBe(`sha256:${EMPTY_SHA256}`);
    expect(digestOf('', 'sha512')).toBe(`sha512:${EMPTY_SHA512}`);
    expect(digestOf('{}')).toBe(`sha256:${EMPTY_JSON_SHA256}`);
    expect(digestOf(new Uint8Array([0x7b, 0x7d]))).toBe(`sha256:${EMPTY_JSON_SHA256}`);
  });

  it('a streaming digester gives the same sha512 as one call', () => {
    const data = Buffer.alloc(100_000, 7);
    const h = createDigester('sha512');
    for (let i = 0; i < data.length; i += 4096) h.update(data.subarray(i, i + 4096));
    expect(`sha512:${h.digest('hex')}`).toBe(digestOf(data, 'sha512'));
    expect(digestOf(data, 'sha512')).toBe(`sha512:${createHash('sha512').update(data).digest('hex')}`);
    expect(isDigest(digestOf(data, 'sha512'))).toBe(true);
  });

  it('shortDigest shows the start of the hex', () => {
    expect(shortDigest(`sha256:${EMPTY_SHA256}`)).toBe('e3b0c44298fc');
    expect(shortDigest(`sha512:${EMPTY_SHA512}`, 7)).toBe('cf83e13');
    expect(shortDigest('abcdefghijklmnop')).toBe('abcdefghijkl');
  });
});
