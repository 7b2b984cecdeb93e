import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

// Hostile inputs built by the tests: tar headers with any field value (base-256, non-numbers, huge
// PAX records), zstd frames by hand (RLE blocks, big windows, skippable frames) and OCI layouts that
// hold such blobs as layers. Independent of the code under test (shared/tar/*).

export interface Hdr {
  name: string | Buffer;
  type?: string;
  size?: number;
  mode?: number;
  /** A number (octal), or raw field bytes (base-256 or garbage). */
  uid?: number | Buffer;
  gid?: number | Buffer;
  mtime?: number | Buffer;
  linkname?: string;
  devmajor?: number;
  devminor?: number;
}

const oct = (n: number, len: number) => Buffer.from(n.toString(8).padStart(len - 1, '0') + '\0', 'latin1');

/** GNU base-256: high bit set, big-endian value. */
export function base256(n: bigint, len: number): Buffer {
  const b = Buffer.alloc(len);
  let v = n;
  for (let i = len - 1; i > 0; i--) {
    b[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  b[0] = 0x80 | Number(v & 0x3fn);
  return b;
}

export function hdr(h: Hdr): Buffer {
  const b = Buffer.alloc(512);
  const name = typeof h.name === 'string' ? Buffer.from(h.name) : h.name;
  name.copy(b, 0, 0, Math.min(100, name.length));
  const field = (v: number | Buffer | undefined, off: number, len: number, dflt: number) => (Buffer.isBuffer(v) ? v : oct(v ?? dflt, len)).copy(b, off, 0, len);
  field(h.mode, 100, 8, 0o644);
  field(h.uid, 108, 8, 0);
  field(h.gid, 116, 8, 0);
  field(h.size, 124, 12, 0);
  field(h.mtime, 136, 12, 1_600_000_000);
  b.write(h.type ?? '0', 156, 'latin1');
  if (h.linkname) b.write(h.linkname, 157, 100, 'utf8');
  b.write('ustar\0', 257, 'latin1');
  b.write('00', 263, 'latin1');
  if (h.devmajor !== undefined) oct(h.devmajor, 8).copy(b, 329);
  if (h.devminor !== undefined) oct(h.devminor, 8).copy(b, 337);
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (const x of b) sum += x;
  b.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'latin1');
  return b;
}

export const pad = (d: Buffer) => Buffer.concat([d, Buffer.alloc((512 - (d.length % 512)) % 512)]);

/** A file entry (header + padded data). */
export function file(name: string | Buffer, data: string | Buffer = '', extra: Partial<Hdr> = {}): Buffer {
  const d = Buffer.isBuffer(data) ? data : Buffer.from(data);
  return Buffer.concat([hdr({ name, size: d.length, ...extra }), pad(d)]);
}

/** One PAX record with a correct length prefix; values may be any bytes. */
export function paxRecord(key: string, value: string | Buffer): Buffer {
  const rest = Buffer.concat([Buffer.from(` ${key}=`), Buffer.isBuffer(value) ? value : Buffer.from(value), Buffer.from('\n')]);
  let len = rest.length + 1;
  while (String(len).length + rest.length !== len) len = String(len).length + rest.length;
  return Buffer.concat([Buffer.from(String(len)), rest]);
}

/** A PAX extended header ('x', or 'g' for global) from records (raw bodies allowed). */
export function pax(records: Record<string, string | Buffer> | Buffer, type = 'x'): Buffer {
  const body = Buffer.isBuffer(records) ? records : Buffer.concat(Object.entries(records).map(([k, v]) => paxRecord(k, v)));
  return Buffer.concat([hdr({ name: 'PaxHeader', type, size: body.length }), pad(body)]);
}

export const EOF = Buffer.alloc(1024);
export const tar = (...parts: Buffer[]) => Buffer.concat([...parts, EOF]);

// ---- zstd by hand (RFC 8878) ----

const le32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
};

/** A skippable frame (magic 0x184D2A5?). */
export function zstdSkippable(payload: Buffer, nibble = 0xe): Buffer {
  return Buffer.concat([le32(0x184d2a50 | nibble), le32(payload.length), payload]);
}

/** A frame header with a window descriptor (no content size, no checksum, not single-segment): 2^log × (1 + mantissa/8). */
export function zstdFrameHeader(windowLog: number, mantissa = 0): Buffer {
  return Buffer.concat([le32(0xfd2fb528), Buffer.from([0x00, ((windowLog - 10) << 3) | mantissa])]);
}

/** A block header: type 0 raw, 1 RLE; size = regenerated size. */
function blockHeader(last: boolean, type: number, size: number): Buffer {
  const v = (last ? 1 : 0) | (type << 1) | (size << 3);
  return Buffer.from([v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff]);
}

/** A frame of `blocks` RLE blocks of 128 KiB each (4 bytes per block: a run-length bomb). */
export function zstdRleFrame(blocks: number, byte = 0, windowLog = 17): Buffer {
  const parts: Buffer[] = [zstdFrameHeader(windowLog)];
  for (let i = 0; i < blocks; i++) parts.push(blockHeader(i === blocks - 1, 1, 128 * 1024), Buffer.from([byte]));
  return Buffer.concat(parts);
}

/** A frame holding `data` as raw blocks. */
export function zstdRawFrame(data: Buffer, windowLog = 17): Buffer {
  const parts: Buffer[] = [zstdFrameHeader(windowLog)];
  const max = 128 * 1024;
  for (let off = 0; off < data.length || off === 0; off += max) {
    const chunk = data.subarray(off, off + max);
    parts.push(blockHeader(off + max >= data.length, 0, chunk.length), chunk);
    if (!data.length) break;
  }
  return Buffer.concat(parts);
}

// ---- OCI layouts holding any blobs as layers ----

const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** An OCI layout whose layers are the given blobs (compressed or not); diff_ids from `tars` when given. */
export function layoutOf(layers: { blob: Buffer; tar?: Buffer; mediaType?: string }[], config: Record<string, unknown> = {}): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'oci-hostile-layout-'));
  mkdirSync(path.join(dir, 'blobs/sha256'), { recursive: true });
  writeFileSync(path.join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  const put = (b: Buffer, mediaType: string) => {
    writeFileSync(path.join(dir, 'blobs/sha256', sha(b).slice(7)), b);
    return { mediaType, digest: sha(b), size: b.length };
  };
  const descs = layers.map((l) => put(l.blob, l.mediaType ?? 'application/vnd.oci.image.layer.v1.tar'));
  const cfg = put(
    Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: layers.map((l) => sha(l.tar ?? l.blob)) }, ...config })),
    'application/vnd.oci.image.config.v1+json',
  );
  const mt = 'application/vnd.oci.image.manifest.v1+json';
  const m = put(Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: mt, config: cfg, layers: descs })), mt);
  writeFileSync(path.join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [{ ...m, annotations: { 'org.opencontainers.image.ref.name': 'latest' } }] }));
  return dir;
}
