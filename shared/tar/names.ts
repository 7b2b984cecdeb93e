// Names are bytes. A tar (or a file system) name is a byte string that is usually, not always, UTF-8.
// Decoding maps each byte that is not part of a valid UTF-8 sequence to the lone surrogate
// U+DC80..U+DCFF (Python's "surrogateescape"): valid UTF-8 never encodes a surrogate, so the mapping is
// reversible, two names that differ only in invalid bytes stay two names, and a Latin-1 "é" (e9) never
// collides with a UTF-8 "é" (c3 a9). encodeName gives the original bytes back (extraction, the cache).

import { isUtf8 } from 'node:buffer';

const ESC_BASE = 0xdc00;

function isHigh(c: number): boolean {
  return c >= 0xd800 && c <= 0xdbff;
}

function isEscape(c: number): boolean {
  return c >= 0xdc80 && c <= 0xdcff;
}

/** Length of the valid UTF-8 sequence starting at b[i] (1-4), or 0 when the byte there starts none. */
function utf8SeqLen(b: Uint8Array, i: number): number {
  const c = b[i]!;
  if (c < 0x80) return 1;
  const cont = (k: number) => i + k < b.length && (b[i + k]! & 0xc0) === 0x80;
  if (c >= 0xc2 && c <= 0xdf) return cont(1) ? 2 : 0;
  if (c >= 0xe0 && c <= 0xef) {
    if (!cont(1) || !cont(2)) return 0;
    const c1 = b[i + 1]!;
    if (c === 0xe0 && c1 < 0xa0) return 0; // overlong
    if (c === 0xed && c1 >= 0xa0) return 0; // a UTF-16 surrogate: never valid UTF-8
    return 3;
  }
  if (c >= 0xf0 && c <= 0xf4) {
    if (!cont(1) || !cont(2) || !cont(3)) return 0;
    const c1 = b[i + 1]!;
    if (c === 0xf0 && c1 < 0x90) return 0; // overlong
    if (c === 0xf4 && c1 >= 0x90) return 0; // above U+10FFFF
    return 4;
  }
  return 0;
}

/** Decodes name bytes: UTF-8 where valid, each other byte as U+DC80+byte. */
export function decodeName(b: Uint8Array): string {
  const buf = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  // The common case (ASCII or valid UTF-8) costs one native check.
  if (isUtf8(buf)) return buf.toString('utf8');
  let out = '';
  let start = 0;
  let i = 0;
  while (i < buf.length) {
    const n = utf8SeqLen(buf, i);
    if (n) {
      i += n;
      continue;
    }
    out += buf.toString('utf8', start, i) + String.fromCharCode(ESC_BASE + buf[i]!);
    i++;
    start = i;
  }
  return out + buf.toString('utf8', start, i);
}

/** True when `s` holds escaped (non-UTF-8) bytes. */
export function hasRawBytes(s: string): boolean {
  return RAW_BYTE.test(s);
}
// With the u flag a surrogate pair is one code point: only a lone low surrogate (an escaped byte) matches.
const RAW_BYTE = /[\udc80-\udcff]/u;

/** The original bytes of a decoded name (the inverse of decodeName). */
export function encodeName(s: string): Buffer {
  if (!hasRawBytes(s)) return Buffer.from(s, 'utf8');
  const parts: Buffer[] = [];
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    // The low half of a real pair (U+10080..) is a character, not an escaped byte.
    if (!isEscape(c) || (i > 0 && isHigh(s.charCodeAt(i - 1)))) continue;
    // A lone low surrogate only: a high surrogate before it would make a real pair (never produced by decodeName).
    if (i > start) parts.push(Buffer.from(s.slice(start, i), 'utf8'));
    parts.push(Buffer.of(c - ESC_BASE));
    start = i + 1;
  }
  if (start < s.length) parts.push(Buffer.from(s.slice(start), 'utf8'));
  return Buffer.concat(parts);
}

/**
 * A name (or any untrusted text) made safe for a terminal: control characters (C0, DEL, C1: ESC, OSC,
 * CR, LF…), escaped raw bytes, line separators and bidi overrides become visible escapes (`\n`, `\x1b`,
 * `\xe9`, `\u202e`); everything else is kept. With `backslashes` (names), `\` is doubled so an escape
 * cannot be forged by a name that spells one.
 */
export function escapeForDisplay(s: string, backslashes = true): string {
  // eslint-disable-next-line no-control-regex
  if (!/[\u0000-\u001f\u007f-\u009f\\\udc80-\udcff\u2028\u2029\u202a-\u202e\u2066-\u2069]/.test(s)) return s;
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x5c) out += backslashes ? '\\\\' : '\\';
    else if (c === 0x0a) out += '\\n';
    else if (c === 0x0d) out += '\\r';
    else if (c === 0x09) out += '\\t';
    else if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) out += `\\x${c.toString(16).padStart(2, '0')}`;
    else if (isHigh(c) && i + 1 < s.length) out += s[i]! + s[++i]!; // a pair: one character, kept
    else if (isEscape(c)) out += `\\x${(c - ESC_BASE).toString(16).padStart(2, '0')}`;
    // Line separators and bidi overrides (Trojan Source) reorder or break what a terminal shows.
    else if (c === 0x2028 || c === 0x2029 || (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069)) out += `\\u${c.toString(16)}`;
    else out += s[i];
  }
  return out;
}

/** Free text for a terminal (messages that embed names): controls escaped, backslashes kept as they are. */
export function escapeText(s: string): string {
  return escapeForDisplay(s, false);
}
