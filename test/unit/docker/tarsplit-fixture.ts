import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import zlib from 'node:zlib';

// A test-side tar-split writer, independent of shared/docker: splits a tar the way vbatts/tar-split's
// disassembler does (raw header blocks as a segment, a file record per entry with its crc64, the
// padding as a segment, the end blocks last) so unit tests can rebuild tars we built ourselves.

/** Go's crc64.ISO, bit by bit with BigInt: slow and obviously right, to check the fast one against. */
export function crc64Slow(data: Uint8Array): Buffer {
  const POLY = 0xd800000000000000n;
  const MASK = 0xffffffffffffffffn;
  let crc = MASK;
  for (const byte of data) {
    crc ^= BigInt(byte);
    for (let j = 0; j < 8; j++) crc = crc & 1n ? (crc >> 1n) ^ POLY : crc >> 1n;
  }
  crc ^= MASK;
  const out = Buffer.alloc(8);
  out.writeBigUInt64BE(crc);
  return out;
}

export interface SplitRecord {
  type: 1 | 2;
  name?: string;
  name_raw?: string;
  size?: number;
  payload: string | null;
  position: number;
}

function cstr(b: Buffer): Buffer {
  const i = b.indexOf(0);
  return i < 0 ? b : b.subarray(0, i);
}

function paxPath(data: Buffer): Buffer | undefined {
  let i = 0;
  let found: Buffer | undefined;
  while (i < data.length && data[i] !== 0) {
    const sp = data.indexOf(0x20, i);
    const len = Number(data.toString('latin1', i, sp));
    const rec = data.subarray(sp + 1, i + len - 1);
    const eq = rec.indexOf(0x3d);
    if (rec.subarray(0, eq).toString() === 'path') found = rec.subarray(eq + 1);
    i += len;
  }
  return found;
}

/** tar → tar-split records (and the data of each file entry, by name). */
export function disassemble(tar: Buffer): SplitRecord[] {
  const out: SplitRecord[] = [];
  const add = (r: Omit<SplitRecord, 'position'>) => out.push({ ...r, position: out.length });
  let off = 0;
  let segStart = 0;
  let longName: Buffer | undefined;
  let pax: Buffer | undefined;
  for (;;) {
    const h = tar.subarray(off, off + 512);
    if (h.length < 512 || h.every((x) => x === 0)) break;
    const type = String.fromCharCode(h[156]!);
    const size = parseInt(h.toString('latin1', 124, 136).replace(/\0.*$/s, '').trim() || '0', 8);
    const dataEnd = off + 512 + Math.ceil(size / 512) * 512;
    if (type === 'x' || type === 'L' || type === 'g') {
      const data = tar.subarray(off + 512, off + 512 + size);
      if (type === 'x') pax = paxPath(data);
      if (type === 'L') longName = cstr(data);
      off = dataEnd;
      continue;
    }
    let name = cstr(h.subarray(0, 100));
    const prefix = cstr(h.subarray(345, 500));
    if (h.toString('latin1', 257, 263) === 'ustar\0' && prefix.length) name = Buffer.concat([prefix, Buffer.from('/'), name]);
    name = pax ?? longName ?? name;
    pax = longName = undefined;
    const hasData = !'123456'.includes(type);
    const dsize = hasData ? size : 0;
    add({ type: 2, payload: tar.subarray(segStart, off + 512).toString('base64') });
    const utf8 = Buffer.from(name.toString('utf8')).equals(name);
    const data = tar.subarray(off + 512, off + 512 + dsize);
    add({ type: 1, ...(utf8 ? { name: name.toString('utf8') } : { name_raw: name.toString('base64') }), ...(dsize ? { size: dsize } : {}), payload: dsize ? crc64Slow(data).toString('base64') : null });
    const padEnd = off + 512 + Math.ceil(dsize / 512) * 512;
    if (padEnd > off + 512 + dsize) add({ type: 2, payload: tar.subarray(off + 512 + dsize, padEnd).toString('base64') });
    off = padEnd;
    segStart = off;
  }
  add({ type: 2, payload: tar.subarray(segStart).toString('base64') });
  return out;
}

/** Writes records as Docker does: JSON lines, gzip'd. */
export function writeTarSplit(file: string, records: SplitRecord[]): void {
  writeFileSync(file, zlib.gzipSync(Buffer.from(records.map((r) => JSON.stringify(r) + '\n').join(''))));
}

export const sha256 = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;
