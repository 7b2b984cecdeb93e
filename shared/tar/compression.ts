// The one compression sniffer, by magic bytes (media types lie: docker save says "tar" for gzip).
// gzip: 1f 8b. zstd: a frame (28 b5 2f fd) or a skippable frame (5? 2a 4d 18, RFC 8878 §3.1.2), which
// may come before the first frame (zstd:chunked and seekable-zstd put metadata there).

export type Compression = 'gzip' | 'zstd' | 'none';

/** Bytes sniff() needs to decide. */
export const SNIFF_BYTES = 4;

const ZSTD_MAGIC = 0xfd2fb528;
const SKIPPABLE_MASK = 0xfffffff0;
const SKIPPABLE_MAGIC = 0x184d2a50;

export function isZstdSkippable(magicLE: number): boolean {
  return (magicLE & SKIPPABLE_MASK) >>> 0 === SKIPPABLE_MAGIC;
}

export function sniffCompression(head: Uint8Array): Compression {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.length < 4) return 'none';
  const magic = (head[0]! | (head[1]! << 8) | (head[2]! << 16) | (head[3]! << 24)) >>> 0;
  if (magic === ZSTD_MAGIC || isZstdSkippable(magic)) return 'zstd';
  return 'none';
}
