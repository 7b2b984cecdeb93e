import { constants as fsConstants, createWriteStream, promises as fsp } from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { ExplorerError } from '../errors.js';
import type { ExtractResult, FileChunk, StatResult } from '../api/results.js';
import type { FileView, TreeView } from '../api/schemas.js';
import { removeExtracted } from './extract.js';
import type { ImageView } from './image-view.js';
import { toApiPath, toEnginePath } from './views.js';

// Files of an open image: stat, a chunk of content, save one file, extract the tree. Paths are the
// API's (absolute); writes never replace what is already there.

export interface FileProgress {
  files: number;
  bytes: number;
  totalBytes?: number;
}

export function stat(img: ImageView, view: TreeView, p: string): StatResult {
  const t = img.view(view);
  const rel = toEnginePath(p);
  const e = t.entry(rel);
  if (!e) throw new ExplorerError('PATH_NOT_FOUND', `${p} is not in this view of the image.`, { path: p });
  const out: StatResult = e.type === 'dir' ? { ...e, totalSize: t.totals().get(rel) ?? 0 } : { ...e };
  if (e.type === 'symlink' && view.kind === 'merged') {
    const r = img.layers.mergedTree(view.upTo ?? img.layers.count - 1).resolve(rel);
    if (r !== undefined) out.resolvedPath = toApiPath(r);
  }
  return out;
}

/** Bytes [offset, offset + length) of a file (hard links and in-image symlinks followed). */
export async function readChunk(img: ImageView, a: { view?: FileView; path: string; offset?: number; length: number }, signal: AbortSignal): Promise<FileChunk> {
  const layer = img.fileLayer(a.view);
  const p = toEnginePath(a.path);
  const loc = img.layers.locate(p, layer);
  if (!loc) {
    const e = img.treeAt(a.view).get(p);
    throw new ExplorerError('PATH_NOT_FOUND', `Cannot read ${a.path}: ${e ? `it is a ${e.type}, not a file` : 'it is not in this view of the image'}.`, { path: a.path });
  }
  const start = Math.min(a.offset ?? 0, loc.size);
  const end = Math.min(start + a.length, loc.size);
  const data = end > start ? await img.layers.readFileBuffer(p, { ...(layer !== undefined ? { layer } : {}), start, end, signal }) : Buffer.alloc(0);
  const resolved = img.treeAt(a.view).resolve(p) ?? p;
  // A plain Uint8Array of exactly these bytes: a view into a pooled Buffer would make structured clone
  // copy the whole pool, and both transports should see the same type.
  return { path: a.path, resolvedPath: toApiPath(resolved), size: loc.size, offset: start, data: new Uint8Array(data), eof: start + data.length >= loc.size };
}

/** Fails when `target` exists: the app asks before replacing, the core never does it silently. */
async function refuseExisting(target: string): Promise<void> {
  if (await fsp.lstat(target).catch(() => undefined)) throw new ExplorerError('TARGET_EXISTS', `${target} already exists; choose another file name, or remove it first.`, { target });
}

/** Writes one file's content to `target` (a new file): into a temp file beside it, then linked into place. */
export async function saveFile(img: ImageView, a: { view?: FileView; path: string; target: string }, signal: AbortSignal): Promise<{ target: string; bytes: number }> {
  await refuseExisting(a.target);
  const layer = img.fileLayer(a.view);
  const stream = await img.layers.readFile(toEnginePath(a.path), { ...(layer !== undefined ? { layer } : {}), signal });
  const tmp = path.join(path.dirname(a.target), `.${path.basename(a.target)}.${process.pid}.${Math.random().toString(36).slice(2)}.part`);
  let bytes = 0;
  stream.on('data', (c: Buffer) => void (bytes += c.length));
  try {
    await pipeline(stream, createWriteStream(tmp, { flags: 'wx', mode: 0o644 }), { signal });
    // link() fails when the name was taken meanwhile, where rename() would replace it.
    await fsp
      .link(tmp, a.target)
      // A file system without hard links (FAT, some network mounts): an exclusive copy instead.
      .catch((e: NodeJS.ErrnoException) => (e.code === 'EPERM' || e.code === 'ENOTSUP' || e.code === 'EOPNOTSUPP' ? fsp.copyFile(tmp, a.target, fsConstants.COPYFILE_EXCL) : Promise.reject(e)))
      .catch((e: NodeJS.ErrnoException) => {
        if (e.code === 'EEXIST') throw new ExplorerError('TARGET_EXISTS', `${a.target} already exists; choose another file name (nothing was overwritten).`, { target: a.target });
        throw e;
      });
  } finally {
    await fsp.rm(tmp, { force: true });
  }
  return { target: a.target, bytes };
}

/** Writes the final merged tree (or the subtree at `path`) into `target`, a new or empty folder (extractTree refuses others). */
/** `report.push` while files are written, `report.final` once with the totals (regular files, content bytes). */
export async function extract(img: ImageView, a: { upTo?: number; path?: string; target: string }, signal: AbortSignal, report?: { push(p: FileProgress): void; final(p: FileProgress): void }): Promise<ExtractResult> {
  const { layers } = img;
  if (a.upTo !== undefined && a.upTo !== layers.count - 1) {
    throw new ExplorerError('INVALID_ARGUMENT', 'Extracting the tree at an earlier layer is not supported yet; extract the final image (leave upTo out).');
  }
  let totalBytes: number | undefined;
  // extractTree makes the folder (and removes it again on failure or cancel if it made it).
  const r = await layers.extract(a.target, {
    ...(a.path ? { path: toEnginePath(a.path) } : {}),
    signal,
    onProgress: (p) => {
      totalBytes = p.bytesTotal;
      report?.push({ files: p.files, bytes: p.bytes, totalBytes: p.bytesTotal });
    },
  });
  if (signal.aborted) {
    // Cancelled after the last check inside the extraction: the caller is told "cancelled", so the
    // folder must not be left full either.
    await removeExtracted(a.target, false);
    throw new ExplorerError('CANCELLED', 'Extraction was cancelled.');
  }
  report?.final({ files: r.files, bytes: r.bytes, totalBytes: totalBytes ?? r.bytes });
  return { target: a.target, files: r.files + r.symlinks + r.hardlinks, dirs: r.dirs, bytes: r.bytes, skipped: r.skipped };
}

