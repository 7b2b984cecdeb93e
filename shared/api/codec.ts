// JSON wire format for web mode. JSON has no bytes, so a Uint8Array travels as {"$bytes": base64};
// everything else in the contract is already plain JSON data. Pure: runs in Node and the browser.

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

type NodeBuffer = { from(b: Uint8Array): { toString(enc: 'base64'): string } };

export function bytesToBase64(b: Uint8Array): string {
  // The server side (Node) has a native encoder; the browser uses the loop below.
  const B = (globalThis as { Buffer?: NodeBuffer }).Buffer;
  if (B) return B.from(b).toString('base64');
  let out = '';
  let i = 0;
  for (; i + 2 < b.length; i += 3) {
    const n = (b[i]! << 16) | (b[i + 1]! << 8) | b[i + 2]!;
    out += B64[n >> 18]! + B64[(n >> 12) & 63]! + B64[(n >> 6) & 63]! + B64[n & 63]!;
  }
  const rest = b.length - i;
  if (rest === 1) {
    const n = b[i]! << 16;
    out += B64[n >> 18]! + B64[(n >> 12) & 63]! + '==';
  } else if (rest === 2) {
    const n = (b[i]! << 16) | (b[i + 1]! << 8);
    out += B64[n >> 18]! + B64[(n >> 12) & 63]! + B64[(n >> 6) & 63]! + '=';
  }
  return out;
}

const LOOKUP = new Int16Array(128).fill(-1);
for (let i = 0; i < B64.length; i++) LOOKUP[B64.charCodeAt(i)] = i;

export function base64ToBytes(s: string): Uint8Array {
  const clean = s.replace(/=+$/, '');
  const out = new Uint8Array(Math.floor((clean.length * 3) / 4));
  let bits = 0;
  let acc = 0;
  let j = 0;
  for (let i = 0; i < clean.length; i++) {
    const c = clean.charCodeAt(i);
    const v = c < 128 ? LOOKUP[c]! : -1;
    if (v < 0) throw new Error('invalid base64');
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[j++] = (acc >> bits) & 0xff;
    }
  }
  return out.subarray(0, j);
}

/** Plain data → JSON-safe data (Uint8Array → {$bytes}). */
export function toWire(v: unknown): unknown {
  if (v instanceof Uint8Array) return { $bytes: bytesToBase64(v) };
  if (Array.isArray(v)) return v.map(toWire);
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) if (x !== undefined) out[k] = toWire(x);
    return out;
  }
  return v;
}

/** Inverse of toWire. */
export function fromWire(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(fromWire);
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o);
    if (keys.length === 1 && keys[0] === '$bytes' && typeof o.$bytes === 'string') return base64ToBytes(o.$bytes);
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(o)) out[k] = fromWire(x);
    return out;
  }
  return v;
}

export const encodeWire = (v: unknown): string => JSON.stringify(toWire(v));
export const decodeWire = (s: string): unknown => fromWire(JSON.parse(s));
