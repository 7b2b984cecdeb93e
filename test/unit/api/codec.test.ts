import { describe, expect, it } from 'vitest';
import { base64ToBytes, bytesToBase64, decodeWire, encodeWire } from '../../../shared/api/codec.js';
import { METHODS, type ExplorerApi } from '../../../shared/api/contract.js';
import { ApiError, encodeErrorMessage, errorFromUnknown, withDecodedErrors } from '../../../shared/api/errors.js';

describe('wire codec', () => {
  it('round-trips bytes of every length against Node base64', () => {
    for (let n = 0; n < 70; n++) {
      const b = new Uint8Array(n).map((_, i) => (i * 37 + n) & 0xff);
      expect(bytesToBase64(b)).toBe(Buffer.from(b).toString('base64'));
      expect(Buffer.from(base64ToBytes(Buffer.from(b).toString('base64'))).equals(Buffer.from(b))).toBe(true);
    }
  });

  it('carries Uint8Array (and Buffer) inside results through JSON', () => {
    const value = { ok: true, value: { data: Buffer.from([0, 1, 255]), nested: [{ data: new Uint8Array([7]) }], s: 'x', n: 1, z: null } };
    const back = decodeWire(encodeWire(value)) as { value: { data: Uint8Array; nested: { data: Uint8Array }[]; z: null } };
    expect(back.value.data).toBeInstanceOf(Uint8Array);
    expect([...back.value.data]).toEqual([0, 1, 255]);
    expect([...back.value.nested[0]!.data]).toEqual([7]);
    expect(back.value.z).toBeNull();
  });

  it('refuses invalid base64', () => {
    expect(() => base64ToBytes('a*b=')).toThrow();
  });
});

describe('errors across contextBridge', () => {
  it('recovers code and details from the marker message (also with Electron\'s "Uncaught Error:" prefix)', () => {
    const msg = encodeErrorMessage({ code: 'DIGEST_MISMATCH', message: 'The blob is damaged.', details: { digest: 'sha256:ab' } });
    const e = errorFromUnknown(new Error(`Uncaught Error: ${msg}`));
    expect(e).toBeInstanceOf(ApiError);
    expect(e.toJSON()).toEqual({ code: 'DIGEST_MISMATCH', message: 'The blob is damaged.', details: { digest: 'sha256:ab' } });
    expect(errorFromUnknown(new Error('plain')).code).toBe('INTERNAL');
  });

  it('withDecodedErrors wraps every method', async () => {
    const raw: Record<string, unknown> = { on: () => () => undefined };
    for (const m of METHODS) raw[m] = async () => Promise.reject(new Error(encodeErrorMessage({ code: 'FORBIDDEN', message: m })));
    const api = withDecodedErrors(raw as ExplorerApi);
    await expect(api.version()).rejects.toMatchObject({ code: 'FORBIDDEN', message: 'version' });
    await expect(api.getGraph({ sourceId: 's1' })).rejects.toBeInstanceOf(ApiError);
  });
});
