import { constants as C, promises as fsp } from 'node:fs';
import { Readable } from 'node:stream';
import zlib from 'node:zlib';
import { ExplorerError } from '../errors.js';
import { createDigester, type Digest } from '../oci/digest.js';
import { Crc64 } from './crc64.js';
import { storeFsError } from './fs-errors.js';
import type { DiffFolder } from './diff-folder.js';

// tar-split (vbatts/tar-split), as Docker keeps it per layer in `tar-split.json.gz`: gzip'd JSON lines,
// `{"type":2,"payload":"<base64>"}` for raw tar bytes (headers, padding, the end blocks) and
// `{"type":1,"name":…,"size":N,"payload":"<crc64 base64>"}` for an entry whose N data bytes are the file
// `name` in the layer's diff folder. Concatenated in order they give back the exact layer tar, so its
// sha256 is the diff_id. We stream it: the raw bytes are never all held, file contents are read in place.

export type TarSplitRecord =
  /** Raw tar bytes; `bytes()` decodes them (a size-only pass never does). */
  | { type: 'segment'; length: number; bytes(): Buffer }
  /** `name` is the entry name as text; `nameRaw` its bytes when they are not UTF-8 (tar-split's name_raw). */
  | { type: 'file'; name: string; nameRaw?: Buffer; size: number; crc?: Buffer };

/** Longest JSON line we accept: a segment holds a header (plus PAX records); real ones are a few KiB. */
const MAX_LINE = 16 * 1024 * 1024;

function invalid(file: string, why: string, line?: number): ExplorerError {
  return new ExplorerError(
    'STORE_INVALID',
    `${file} is not a valid tar-split file (${why}${line !== undefined ? ` at record ${line + 1}` : ''}), so this layer cannot be rebuilt from Docker's store. The store is damaged: remove the image and pull or load it again, or open it with docker-daemon: instead.`,
    { path: file, ...(line !== undefined ? { record: line } : {}) },
  );
}

function segment(b64: Buffer | string): TarSplitRecord {
  const text = typeof b64 === 'string' ? b64 : undefined;
  const len = b64.length;
  const pad = len === 0 ? 0 : (at(b64, len - 1) === 0x3d ? 1 : 0) + (len > 1 && at(b64, len - 2) === 0x3d ? 1 : 0);
  return { type: 'segment', length: Math.floor((len * 3) / 4) - pad, bytes: () => Buffer.from(text ?? (b64 as Buffer).toString('latin1'), 'base64') };
}

function at(b: Buffer | string, i: number): number {
  return typeof b === 'string' ? b.charCodeAt(i) : b[i]!;
}

/** `{"type":2,"payload":"` — how Go's encoder starts every segment record (field order of storage.Entry). */
const SEGMENT_PREFIX = Buffer.from('{"type":2,"payload":"');

function parseRecord(line: Buffer, file: string, n: number): TarSplitRecord | undefined {
  // Segments are most of the bytes: take their base64 without building a string or a JSON object.
  if (line.length > SEGMENT_PREFIX.length && SEGMENT_PREFIX.compare(line, 0, SEGMENT_PREFIX.length) === 0) {
    const q = line.indexOf(0x22, SEGMENT_PREFIX.length);
    // Bad base64 is caught when the bytes are decoded (their length then differs from `length`).
    if (q > 0 && line[q + 1] === 0x2c && (q - SEGMENT_PREFIX.length) % 4 === 0) return segment(line.subarray(SEGMENT_PREFIX.length, q));
  }
  let o: { type?: unknown; name?: unknown; name_raw?: unknown; size?: unknown; payload?: unknown };
  try {
    o = JSON.parse(line.toString('utf8')) as typeof o;
  } catch {
    throw invalid(file, 'a line is not JSON', n);
  }
  if (!o || typeof o !== 'object') throw invalid(file, 'a record is not an object', n);
  if (o.type === 2) {
    if (o.payload === null || o.payload === undefined) return segment('');
    if (typeof o.payload !== 'string') throw invalid(file, 'a segment has no payload', n);
    return segment(o.payload);
  }
  if (o.type === 1) {
    const size = o.size === undefined ? 0 : o.size;
    if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) throw invalid(file, 'a file record has a bad size', n);
    const rec: TarSplitRecord = { type: 'file', name: typeof o.name === 'string' ? o.name : '', size };
    if (typeof o.name_raw === 'string' && o.name_raw) {
      rec.nameRaw = Buffer.from(o.name_raw, 'base64');
      rec.name = rec.nameRaw.toString('utf8');
    }
    if (typeof o.payload === 'string' && o.payload) rec.crc = Buffer.from(o.payload, 'base64');
    if (size > 0 && !rec.name && !rec.nameRaw) throw invalid(file, 'a file record has no name', n);
    return rec;
  }
  return undefined; // unknown record types are skipped, as Go's assembler does
}

/** The records of a tar-split file, in order (gunzip → JSON lines), read as a stream. */
export async function* readTarSplit(file: string, signal?: AbortSignal): AsyncGenerator<TarSplitRecord> {
  let raw: Readable;
  try {
    const fh = await fsp.open(file, C.O_RDONLY | C.O_NOFOLLOW);
    raw = fh.createReadStream({ highWaterMark: 256 * 1024 }); // closes the handle when done or destroyed
  } catch (e) {
    throw storeFsError(e, file, "the layer's tar-split");
  }
  const gunzip = zlib.createGunzip({ chunkSize: 1024 * 1024 });
  raw.on('error', (e) => gunzip.destroy(e));
  raw.pipe(gunzip);
  let rest: Buffer | undefined;
  let n = 0;
  try {
    for await (const chunk of gunzip as AsyncIterable<Buffer>) {
      if (signal?.aborted) throw new ExplorerError('CANCELLED', 'Reading the layer was cancelled.');
      const data = rest ? Buffer.concat([rest, chunk]) : chunk;
      let from = 0;
      for (let nl = data.indexOf(0x0a, from); nl >= 0; nl = data.indexOf(0x0a, from)) {
        if (nl > from) {
          const r = parseRecord(data.subarray(from, nl), file, n++);
          if (r) yield r;
        }
        from = nl + 1;
      }
      rest = from < data.length ? data.subarray(from) : undefined;
      if (rest && rest.length > MAX_LINE) throw invalid(file, `a line is longer than ${MAX_LINE} bytes`, n);
    }
    if (rest && rest.toString('latin1').trim()) {
      const r = parseRecord(rest, file, n++);
      if (r) yield r;
    }
  } catch (e) {
    if (e instanceof ExplorerError) throw e;
    if (signal?.aborted) throw new ExplorerError('CANCELLED', 'Reading the layer was cancelled.', undefined, { cause: e });
    const code = (e as { code?: string })?.code;
    if (typeof code === 'string' && code.startsWith('Z_')) throw invalid(file, `its gzip stream is damaged: ${(e as Error).message}`);
    throw storeFsError(e, file, "the layer's tar-split");
  } finally {
    raw.destroy();
    gunzip.destroy();
  }
}

/** Where each data-bearing entry sits in the rebuilt tar; enough to serve byte ranges and to size it. */
export interface TarSplitLayout {
  /** Size of the rebuilt tar in bytes. */
  size: number;
  /** Tar entries (file records, whatever their size). */
  entries: number;
  /** Entries with data (size > 0), in tar order. */
  files: { offset: number; size: number; name: string; nameRaw?: Buffer; crc?: Buffer }[];
}

/** One pass over a tar-split file: the rebuilt tar's size and where every file's data lies in it. */
export async function scanTarSplit(file: string, signal?: AbortSignal): Promise<TarSplitLayout> {
  const out: TarSplitLayout = { size: 0, entries: 0, files: [] };
  for await (const r of readTarSplit(file, signal)) {
    if (r.type === 'segment') {
      out.size += r.length;
      continue;
    }
    out.entries++;
    if (r.size > 0) {
      const f: TarSplitLayout['files'][number] = { offset: out.size, size: r.size, name: r.name };
      if (r.nameRaw) f.nameRaw = r.nameRaw;
      if (r.crc) f.crc = r.crc;
      out.files.push(f);
      out.size += r.size;
    }
  }
  return out;
}

/** A file of the diff folder that no longer holds what Docker recorded. */
export interface ChangedFile {
  name: string;
  why: 'missing' | 'not a regular file' | 'size' | 'content';
  expectedSize: number;
  actualSize?: number;
}

export interface RebuildOptions {
  /** Bytes [start, end) of the tar (default all). */
  start?: number;
  end?: number;
  signal?: AbortSignal;
  /** For a whole-tar read: the sha256 digest it must hash to (the diff_id). */
  expect?: Digest;
  /** A whole read hashed to `expect` (e.g. to remember the layer's size). */
  onVerified?: (size: number) => void;
  /**
   * A whole read did not hash to `expect`: the error to raise, given the actual digest and the files
   * found changed (by a crc64 pass over every file, run only then). Default: DIGEST_MISMATCH-like error.
   */
  onMismatch?: (actual: Digest, changed: ChangedFile[]) => Error;
}

const CHUNK = 1024 * 1024;

/**
 * The layer tar rebuilt from tar-split and the diff folder (or bytes [start, end) of it). A file
 * shorter than recorded is padded with zeros, a longer one cut, a missing one zeros: the tar keeps
 * its shape, and a whole read with `expect` then fails with onMismatch's error naming the files.
 */
export function rebuildTar(tarSplit: string, diff: DiffFolder, opts: RebuildOptions = {}): Readable {
  // One chunk ahead at most: a consumer that reads with read() then gets whole chunks, never a concatenation.
  return Readable.from(assemble(tarSplit, diff, opts), { objectMode: false, highWaterMark: CHUNK });
}

async function* assemble(tarSplit: string, diff: DiffFolder, opts: RebuildOptions): AsyncGenerator<Buffer> {
  const start = Math.max(0, opts.start ?? 0);
  const end = opts.end ?? Infinity;
  if (end <= start) return;
  // One native sha256 over the whole tar (≈ 1.5 GB/s); per-file crc64s are read only when it fails.
  const hash = opts.expect && start === 0 && end === Infinity ? createDigester('sha256') : undefined;
  let buf = Buffer.allocUnsafe(CHUNK);
  let used = 0;
  let pos = 0;
  // Rebuilt data goes into one 1 MiB buffer at a time: few chunks downstream, file reads straight into it.
  const take = function* (): Generator<Buffer> {
    if (used === 0) return;
    const out = buf.subarray(0, used);
    hash?.update(out);
    yield out;
    buf = Buffer.allocUnsafe(CHUNK);
    used = 0;
  };
  for await (const r of readTarSplit(tarSplit, opts.signal)) {
    if (r.type === 'segment') {
      const a = Math.max(start - pos, 0);
      const b = Math.min(end - pos, r.length);
      pos += r.length;
      if (b <= a) continue;
      const bytes = r.bytes();
      if (bytes.length !== r.length) throw invalid(tarSplit, 'a segment is not valid base64');
      if (a === 0 && b - a <= CHUNK - used) {
        bytes.copy(buf, used, 0, b);
        used += b;
        if (used === CHUNK) yield* take();
        continue;
      }
      for (let i = a; i < b; ) {
        const n = Math.min(b - i, CHUNK - used);
        bytes.copy(buf, used, i, i + n);
        used += n;
        i += n;
        if (used === CHUNK) yield* take();
      }
    } else if (r.size > 0) {
      const a = Math.max(start - pos, 0);
      const b = Math.min(end - pos, r.size);
      pos += r.size;
      if (b <= a) {
        if (pos >= end) break;
        continue;
      }
      const f = await diff.open(r.nameRaw ?? r.name);
      try {
        for (let off = a; off < b; ) {
          if (opts.signal?.aborted) throw new ExplorerError('CANCELLED', 'Reading the layer was cancelled.');
          const want = Math.min(b - off, CHUNK - used);
          const got = await f.read(buf, used, want, off);
          if (got < want) buf.fill(0, used + got, used + want); // shorter than recorded: keep the tar's shape
          used += want;
          off += want;
          if (used === CHUNK) yield* take();
        }
      } finally {
        await f.close();
      }
    }
    if (pos >= end) break;
  }
  yield* take();
  if (end !== Infinity && pos < end) throw invalid(tarSplit, `it describes ${pos} bytes but bytes up to ${end} were asked for`);
  if (!hash || !opts.expect) return;
  const actual = `sha256:${hash.digest('hex')}`;
  if (actual === opts.expect) {
    opts.onVerified?.(pos);
    return;
  }
  const changed = await findChangedFiles(tarSplit, diff, opts.signal);
  const err = opts.onMismatch?.(actual, changed) ?? new ExplorerError('DIGEST_MISMATCH', `The tar rebuilt from ${tarSplit} hashes to ${actual}, not ${opts.expect}.`, { expected: opts.expect, actual });
  // Raise it a turn later: Readable.from reads ahead, and a consumer that peeks at the first chunk
  // before listening for errors (layers/decode.ts) would otherwise meet an unhandled 'error' on a
  // one-chunk layer.
  await new Promise<void>((r) => setImmediate(r));
  throw err;
}

/** Every file of the diff folder checked against tar-split: present, regular, same size, same crc64. */
export async function findChangedFiles(tarSplit: string, diff: DiffFolder, signal?: AbortSignal): Promise<ChangedFile[]> {
  const changed: ChangedFile[] = [];
  const buf = Buffer.allocUnsafe(CHUNK);
  for await (const r of readTarSplit(tarSplit, signal)) {
    if (r.type !== 'file' || r.size === 0) continue;
    const f = await diff.open(r.nameRaw ?? r.name);
    try {
      if (f.problem) {
        changed.push({ name: r.name, why: f.problem, expectedSize: r.size });
        continue;
      }
      if (f.size !== r.size) {
        changed.push({ name: r.name, why: 'size', expectedSize: r.size, actualSize: f.size });
        continue;
      }
      if (!r.crc) continue;
      const crc = new Crc64();
      for (let off = 0; off < r.size; ) {
        if (signal?.aborted) throw new ExplorerError('CANCELLED', 'Reading the layer was cancelled.');
        const got = await f.read(buf, 0, Math.min(CHUNK, r.size - off), off);
        if (got === 0) break;
        crc.update(buf.subarray(0, got));
        off += got;
      }
      if (!crc.digest().equals(r.crc)) changed.push({ name: r.name, why: 'content', expectedSize: r.size });
    } finally {
      await f.close();
    }
  }
  return changed;
}

/** "srv/a (content changed), etc/b (missing), …" for messages. */
export function describeChanged(files: ChangedFile[], max = 5): string {
  const what = (f: ChangedFile) =>
    f.why === 'size' ? `${f.actualSize} bytes instead of ${f.expectedSize}` : f.why === 'content' ? 'content changed' : f.why;
  const shown = files.slice(0, max).map((f) => `${f.name.replace(/^(\.?\/)+/, '')} (${what(f)})`);
  return shown.join(', ') + (files.length > max ? `, and ${files.length - max} more` : '');
}
