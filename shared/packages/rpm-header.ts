// rpm header blobs as rpmdb stores them (lib/header.c, headerImport of a blob without the 8-byte
// magic): int32 il (index entries), int32 dl (data bytes), il × {int32 tag, type, offset, count},
// then the data store. All big-endian. Region tags (61–63) only mark the signed region: skipped.

export const TAG = {
  NAME: 1000,
  VERSION: 1001,
  RELEASE: 1002,
  EPOCH: 1003,
  LICENSE: 1014,
  ARCH: 1022,
  FILESIZES: 1028,
  SOURCERPM: 1044,
  DIRINDEXES: 1116,
  BASENAMES: 1117,
  DIRNAMES: 1118,
  LONGFILESIZES: 5008,
} as const;

const TYPE = { CHAR: 1, INT8: 2, INT16: 3, INT32: 4, INT64: 5, STRING: 6, BIN: 7, STRING_ARRAY: 8, I18NSTRING: 9 } as const;
/** An rpm header has at most a few hundred tags; this bound only stops a corrupt blob from allocating. */
const MAX_INDEX_ENTRIES = 65_536;

export type TagValue = string | string[] | number[];

export class RpmHeaderError extends Error {}

/** Decodes the tags of a header blob into a map (strings, string arrays, integer arrays). */
export function parseRpmHeader(blob: Uint8Array): Map<number, TagValue> {
  const b = Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength);
  if (b.length < 8) throw new RpmHeaderError('header shorter than its 8-byte preamble');
  const il = b.readUInt32BE(0);
  const dl = b.readUInt32BE(4);
  if (il > MAX_INDEX_ENTRIES) throw new RpmHeaderError(`header claims ${il} index entries`);
  const dataStart = 8 + il * 16;
  if (dataStart + dl > b.length) throw new RpmHeaderError(`header needs ${dataStart + dl} bytes, the blob has ${b.length}`);
  const data = b.subarray(dataStart, dataStart + dl);
  const out = new Map<number, TagValue>();
  for (let i = 0; i < il; i++) {
    const e = 8 + i * 16;
    const tag = b.readUInt32BE(e);
    const type = b.readUInt32BE(e + 4);
    const off = b.readUInt32BE(e + 8);
    const count = b.readUInt32BE(e + 12);
    if (tag >= 61 && tag <= 63) continue;
    if (off > dl) throw new RpmHeaderError(`tag ${tag} points past the data store`);
    const v = readValue(data, type, off, count);
    if (v !== undefined) out.set(tag, v);
  }
  return out;
}

function readValue(data: Buffer, type: number, off: number, count: number): TagValue | undefined {
  const need = (n: number) => {
    if (off + n > data.length) throw new RpmHeaderError(`a value of ${n} bytes at ${off} runs past the data store`);
  };
  switch (type) {
    case TYPE.STRING:
      return cString(data, off).s;
    case TYPE.STRING_ARRAY:
    case TYPE.I18NSTRING: {
      const out: string[] = [];
      let p = off;
      for (let k = 0; k < count; k++) {
        const { s, next } = cString(data, p);
        out.push(s);
        p = next;
      }
      // An I18N string is read in its first (C locale) form, as rpm -q prints it.
      return type === TYPE.I18NSTRING ? (out[0] ?? '') : out;
    }
    case TYPE.INT8:
    case TYPE.CHAR:
      need(count);
      return Array.from(data.subarray(off, off + count));
    case TYPE.INT16:
      need(count * 2);
      return Array.from({ length: count }, (_, k) => data.readUInt16BE(off + k * 2));
    case TYPE.INT32:
      need(count * 4);
      return Array.from({ length: count }, (_, k) => data.readUInt32BE(off + k * 4));
    case TYPE.INT64:
      need(count * 8);
      return Array.from({ length: count }, (_, k) => Number(data.readBigUInt64BE(off + k * 8)));
    default:
      return undefined; // BIN and unknown types: nothing this scan uses
  }
}

function cString(data: Buffer, off: number): { s: string; next: number } {
  const end = data.indexOf(0, off);
  if (end < 0) throw new RpmHeaderError(`a string at ${off} has no terminating NUL`);
  return { s: data.toString('utf8', off, end), next: end + 1 };
}

export function str(h: Map<number, TagValue>, tag: number): string | undefined {
  const v = h.get(tag);
  return typeof v === 'string' ? v : undefined;
}

export function nums(h: Map<number, TagValue>, tag: number): number[] | undefined {
  const v = h.get(tag);
  return Array.isArray(v) && (v.length === 0 || typeof v[0] === 'number') ? (v as number[]) : undefined;
}

export function strs(h: Map<number, TagValue>, tag: number): string[] | undefined {
  const v = h.get(tag);
  return Array.isArray(v) && (v.length === 0 || typeof v[0] === 'string') ? (v as string[]) : undefined;
}

/** The files of a header: DIRNAMES[DIRINDEXES[i]] + BASENAMES[i], without the leading slash. */
export function headerFiles(h: Map<number, TagValue>): string[] {
  const base = strs(h, TAG.BASENAMES) ?? [];
  const dirs = strs(h, TAG.DIRNAMES) ?? [];
  const idx = nums(h, TAG.DIRINDEXES) ?? [];
  return base.map((b, i) => `${dirs[idx[i] ?? -1] ?? ''}${b}`.replace(/^\/+/, ''));
}
