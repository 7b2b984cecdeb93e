import { constants as C, promises as fsp } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { Readable } from 'node:stream';
import zlib from 'node:zlib';
import { ExplorerError } from '../errors.js';
import { Crc64 } from './crc64.js';
import type { DiffFolder } from './diff-folder.js';

// tar-split (vbatts/tar-split), as Docker keeps it per layer in `tar-split.json.gz`: gzip'd JSON lines,
// `{"type":2,"payload":"<base64>"}` for raw tar bytes (headers, padding, the end blocks) and
// `{"type":1,"name":…,"size":N,"payload":"<crc64 base64>"}` for an entry whose N data bytes are the file
// `name` in the layer's diff folder. Concatenated in order they give back the exact layer tar, so its
// sha256 is the diff_id. We stream it: the raw bytes are never all held, file contents are read in place.

export type TarSplitRecord =
  | { type: 'segment'; bytes: Buffer }
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

/** Maps a failed open/read of a store file to a sentence that names the path and says what to do. */
export function storeFsError(e: unknown, file: string, what: string): ExplorerError {
  if (e instanceof ExplorerError) return e;
  const code = (e as NodeJS.ErrnoException)?.code;
  if (code === 'EACCES' || code === 'EPERM') {
    return new ExplorerError(
      'PERMISSION_DENIED',
      `Permission denied reading ${file} (${what}). Docker's store is readable by root only: run as root (e.g. with sudo), or open the image through the engine with docker-daemon: instead.`,
      { path: file },
      { cause: e },
    );
  }
  if (code === 'ENOENT' || code === 'ENOTDIR') {
    return new ExplorerError('STORE_INVALID', `${file} (${what}) does not exist: the Docker store is incomplete or the image was removed meanwhile. Check the data root, or open the image with docker-daemon: instead.`, { path: file }, { cause: e });
  }
  if ((e as { name?: string })?.name === 'AbortError') return new ExplorerError('CANCELLED', 'Reading the layer was cancelled.', undefined, { cause: e });
  const msg = e instanceof Error ? e.message : String(e);
  return new ExplorerError('STORE_INVALID', `Cannot read ${file} (${what}): ${msg}.`, { path: file }, { cause: e });
}

function parseRecord(line: string, file: string, n: number): TarSplitRecord | undefined {
  let o: { type?: unknown; name?: unknown; name_raw?: unknown; size?: unknown; payload?: unknown };
  try {
    o = JSON.parse(line) as typeof o;
  } catch {
    throw invalid(file, 'a line is not JSON', n);
  }
  if (!o || typeof o !== 'object') throw invalid(file, 'a record is not an object', n);
  if (o.type === 2) {
    if (o.payload === null || o.payload === undefined) return { type: 'segment', bytes: Buffer.alloc(0) };
    if (typeof o.payload !== 'string') throw invalid(file, 'a segment has no payload', n);
    return { type: 'segment', bytes: Buffer.from(o.payload, 'base64') };
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
  const gunzip = zlib.createGunzip();
  raw.on('error', (e) => gunzip.destroy(e));
  raw.pipe(gunzip);
  const dec = new StringDecoder('utf8');
  let rest = '';
  let n = 0;
  try {
    for await (const chunk of gunzip as AsyncIterable<Buffer>) {
      if (signal?.aborted) throw new ExplorerError('CANCELLED', 'Reading the layer was cancelled.');
      let text = rest + dec.write(chunk);
      let at = 0;
      for (let nl = text.indexOf('\n', at); nl >= 0; nl = text.indexOf('\n', at)) {
        if (nl > at) {
          const r = parseRecord(text.slice(at, nl), file, n++);
          if (r) yield r;
        }
        at = nl + 1;
      }
      text = text.slice(at);
      if (text.length > MAX_LINE) throw invalid(file, `a line is longer than ${MAX_LINE} bytes`, n);
      rest = text;
    }
    rest += dec.end();
    if (rest.trim()) {
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
      out.size += r.bytes.length;
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
  /** Check each whole file read against its crc64 (default true). */
  crc?: boolean;
  /**
   * Called at the end of a read that covered files which changed: the default (for whole-tar reads)
   * errors the stream with DIFFID_MISMATCH naming them, since the tar can no longer hash to its diff_id.
   */
  onChanged?: (files: ChangedFile[]) => Error | undefined;
}

const CHUNK = 1024 * 1024;

/**
 * The layer tar rebuilt from tar-split and the diff folder (or bytes [start, end) of it). A file
 * shorter than recorded is padded with zeros, a longer one cut, a missing one zeros: the tar keeps
 * its shape (the digest check then fails), and the files are reported through onChanged.
 */
export function rebuildTar(tarSplit: string, diff: DiffFolder, opts: RebuildOptions = {}): Readable {
  return Readable.from(assemble(tarSplit, diff, opts), { objectMode: false, highWaterMark: 4 * CHUNK });
}

async function* assemble(tarSplit: string, diff: DiffFolder, opts: RebuildOptions): AsyncGenerator<Buffer> {
  const start = Math.max(0, opts.start ?? 0);
  const end = opts.end ?? Infinity;
  if (end <= start) return;
  const checkCrc = opts.crc !== false;
  const changed: ChangedFile[] = [];
  let buf = Buffer.allocUnsafe(CHUNK);
  let used = 0;
  let pos = 0;
  // Rebuilt data goes into one 1 MiB buffer at a time: few chunks downstream, file reads straight into it.
  const take = function* (): Generator<Buffer> {
    if (used === 0) return;
    yield buf.subarray(0, used);
    buf = Buffer.allocUnsafe(CHUNK);
    used = 0;
  };
  for await (const r of readTarSplit(tarSplit, opts.signal)) {
    if (r.type === 'segment') {
      const a = Math.max(start - pos, 0);
      const b = Math.min(end - pos, r.bytes.length);
      pos += r.bytes.length;
      for (let i = a; i < b; ) {
        const n = Math.min(b - i, CHUNK - used);
        r.bytes.copy(buf, used, i, i + n);
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
      const whole = a === 0 && b === r.size;
      const crc = whole && checkCrc && r.crc ? new Crc64() : undefined;
      const f = await diff.open(r.nameRaw ?? r.name);
      try {
        if (f.problem) changed.push({ name: r.name, why: f.problem, expectedSize: r.size });
        else if (f.size !== r.size) changed.push({ name: r.name, why: 'size', expectedSize: r.size, actualSize: f.size });
        for (let off = a; off < b; ) {
          if (opts.signal?.aborted) throw new ExplorerError('CANCELLED', 'Reading the layer was cancelled.');
          const want = Math.min(b - off, CHUNK - used);
          const got = await f.read(buf, used, want, off);
          if (got < want) buf.fill(0, used + got, used + want); // shorter than recorded: keep the tar's shape
          crc?.update(buf.subarray(used, used + want));
          used += want;
          off += want;
          if (used === CHUNK) yield* take();
        }
      } finally {
        await f.close();
      }
      if (crc && !f.problem && f.size === r.size && !crc.digest().equals(r.crc!)) changed.push({ name: r.name, why: 'content', expectedSize: r.size });
    }
    if (pos >= end) break;
  }
  yield* take();
  if (end !== Infinity && pos < end) throw invalid(tarSplit, `it describes ${pos} bytes but bytes up to ${end} were asked for`);
  if (changed.length) {
    const err = opts.onChanged ? opts.onChanged(changed) : undefined;
    if (err) {
      // Raise it a turn later: Readable.from reads ahead, and a consumer that peeks at the first chunk
      // before listening for errors (layers/decode.ts) would otherwise meet an unhandled 'error' on a
      // one-chunk layer.
      await new Promise<void>((r) => setImmediate(r));
      throw err;
    }
  }
}

/** "srv/a (content changed), etc/b (missing), …" for messages. */
export function describeChanged(files: ChangedFile[], max = 5): string {
  const what = (f: ChangedFile) =>
    f.why === 'size' ? `${f.actualSize} bytes instead of ${f.expectedSize}` : f.why === 'content' ? 'content changed' : f.why;
  const shown = files.slice(0, max).map((f) => `${f.name.replace(/^(\.?\/)+/, '')} (${what(f)})`);
  return shown.join(', ') + (files.length > max ? `, and ${files.length - max} more` : '');
}
