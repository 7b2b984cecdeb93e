import fs, { promises as fsp } from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { ExplorerError, toExplorerError } from '../errors.js';
import type { MergedEntry, MergedTree } from './merge.js';

// Safe extraction of a merged tree. Why it cannot escape: every name comes from the merged tree
// (normalised, no `..`, no absolute paths, symlinked parents already resolved inside the root);
// symlinks are created last, so nothing is ever written through one; each destination is checked
// to be inside the target. Devices and ownership only as root (or as `asRoot` says). On failure,
// what we wrote is removed.

/** Layers whose content is written at the same time (layers write disjoint paths; one's decoding overlaps another's writes; a few bound the buffers held). */
const EXTRACT_LANES = 3;

export interface ExtractOptions {
  /** Subtree to extract (normalised path); default the whole rootfs. */
  path?: string;
  signal?: AbortSignal;
  /**
   * Create device nodes and FIFOs and set file owners (uid/gid from the image). Default: only when
   * the process runs as root (`process.getuid() === 0`); `false` skips them even as root (each
   * node is listed in `skipped` with the reason), `true` does them whatever the uid (a process with
   * CAP_MKNOD/CAP_CHOWN): a failed mknod is then listed in `skipped`, a failed chown fails the extraction.
   */
  asRoot?: boolean;
  /** Called as files are written (at least every 32 files and after each layer). */
  onProgress?: (p: { files: number; bytes: number; filesTotal: number; bytesTotal: number }) => void;
}

const NODE_KIND = { fifo: 'FIFO', char: 'character device', block: 'block device' } as const;

export interface ExtractResult {
  files: number;
  dirs: number;
  symlinks: number;
  hardlinks: number;
  skipped: { path: string; reason: string }[];
  bytes: number;
}

/** Streams the content of files; called with files of one layer sorted by offset. */
export type ContentWriter = (files: { entry: MergedEntry; layer: number; offset: number; size: number; dest: string }[], signal?: AbortSignal, onFile?: (bytes: number) => void) => Promise<void>;

export async function extractTree(tree: MergedTree, target: string, locate: (p: string) => { layer: number; offset: number; size: number } | undefined, writeContent: ContentWriter, opts: ExtractOptions = {}): Promise<ExtractResult> {
  const root = path.resolve(target);
  const isRoot = opts.asRoot ?? process.getuid?.() === 0;
  let created = false;
  const st = await fsp.lstat(root).catch(() => undefined);
  if (st) {
    if (!st.isDirectory()) throw new ExplorerError('EXTRACT_FAILED', `${root} exists and is not a folder; choose an empty or new folder to extract into.`);
    if ((await fsp.readdir(root)).length) throw new ExplorerError('EXTRACT_FAILED', `${root} is not empty; choose an empty or new folder so nothing of yours is overwritten.`);
  } else {
    await fsp.mkdir(root, { recursive: true });
    created = true;
  }
  const sub = opts.path ?? '';
  if (sub && !tree.has(sub)) throw new ExplorerError('PATH_NOT_FOUND', `${sub} is not in the image; check the path (it is case-sensitive).`);
  const res: ExtractResult = { files: 0, dirs: 0, symlinks: 0, hardlinks: 0, skipped: [], bytes: 0 };
  const latin1 = new Set<string>();
  const dest = (p: string): string => {
    const d = path.resolve(root, ...p.split('/'));
    if (d !== root && !d.startsWith(root + path.sep)) throw new ExplorerError('PATH_ESCAPE', `Refusing to write ${p}: it would land outside ${root}.`);
    return d;
  };
  // Node takes Buffer paths: names that were not UTF-8 are written back as their original bytes.
  const fsPath = (p: string): string => {
    const d = dest(p);
    if (!latin1.size) return d;
    const parts = p.split('/');
    let prefix = '';
    let raw = false;
    const bufs: Buffer[] = [Buffer.from(root)];
    for (const c of parts) {
      prefix = prefix ? `${prefix}/${c}` : c;
      const isRaw = latin1.has(prefix);
      raw ||= isRaw;
      bufs.push(Buffer.from(path.sep), Buffer.from(c, isRaw ? 'latin1' : 'utf8'));
    }
    return raw ? (Buffer.concat(bufs) as unknown as string) : d;
  };
  try {
    const paths: string[] = [];
    if (sub) for (let d = sub; d; d = d.includes('/') ? d.slice(0, d.lastIndexOf('/')) : '') paths.unshift(d);
    if (sub && tree.get(sub)?.type === 'dir') for (const p of tree.walk(sub)) paths.push(p);
    if (!sub) for (const p of tree.walk()) paths.push(p);
    const entries = paths.map((p) => tree.get(p)!);
    const inSet = new Set(paths);
    for (const e of entries) if (e.nonUtf8) latin1.add(e.path);
    // Sync file-system calls (no thread-pool round trip per call: several times faster for many small
    // entries), with a yield to the event loop every few hundred so the app stays responsive.
    let ops = 0;
    const tick = async () => {
      if (++ops % 256 === 0) {
        await new Promise<void>((r) => setImmediate(r));
        if (opts.signal?.aborted) throw cancelled();
      }
    };
    const made = new Set<string>();
    // Creating an inode costs far more kernel time than the call (~1 ms per mkdir on our VMs): folders
    // are made a depth at a time, several at once on the thread pool (parents always exist first).
    const byDepth: MergedEntry[][] = [];
    for (const e of entries) {
      if (e.type !== 'dir') continue;
      const depth = e.path.split('/').length;
      (byDepth[depth] ??= []).push(e);
    }
    for (const level of byDepth) {
      if (!level) continue;
      await inParallel(level, opts.signal, async (e) => {
        await fsp.mkdir(fsPath(e.path), { recursive: true, mode: 0o700 });
        made.add(e.path);
        res.dirs++;
      });
    }
    const byLayer = new Map<number, { entry: MergedEntry; layer: number; offset: number; size: number; dest: string }[]>();
    const hard: MergedEntry[] = [];
    for (const e of entries) {
      if (opts.signal?.aborted) throw cancelled();
      if (e.type === 'file' || (e.type === 'hardlink' && !e.problem)) {
        const target = e.type === 'hardlink' ? tree.linkTarget(e.path) : undefined;
        if (target !== undefined && inSet.has(target) && tree.get(target)?.type === 'file') {
          hard.push({ ...e, linkname: target });
          continue;
        }
        const loc = locate(e.path);
        if (!loc) {
          res.skipped.push({ path: e.path, reason: 'content not found' });
          continue;
        }
        const list = byLayer.get(loc.layer) ?? [];
        list.push({ layer: loc.layer, offset: loc.offset, size: loc.size, entry: e, dest: fsPath(e.path) });
        byLayer.set(loc.layer, list);
      } else if (e.type === 'fifo' || e.type === 'char' || e.type === 'block') {
        if (!isRoot) {
          res.skipped.push({ path: e.path, reason: `${NODE_KIND[e.type]} not created: that needs root (extract as root to get device nodes and owners)` });
          continue;
        }
        const args = [dest(e.path), e.type === 'fifo' ? 'p' : e.type === 'char' ? 'c' : 'b'];
        if (e.type !== 'fifo') args.push(String(e.devmajor ?? 0), String(e.devminor ?? 0));
        const r = spawnSync('mknod', args, { stdio: 'ignore' });
        if (r.status !== 0) res.skipped.push({ path: e.path, reason: `mknod failed for the ${NODE_KIND[e.type]}` });
        else made.add(e.path);
      } else if (e.type === 'hardlink') {
        res.skipped.push({ path: e.path, reason: e.problem?.message ?? 'hard link target missing' });
      }
    }
    let filesTotal = 0;
    let bytesTotal = 0;
    for (const [, list] of byLayer) {
      filesTotal += list.length;
      for (const f of list) bytesTotal += f.size;
    }
    let reported = -1;
    const report = () => {
      if (res.files === reported) return; // nothing new since the last report
      reported = res.files;
      opts.onProgress?.({ files: res.files, bytes: res.bytes, filesTotal, bytesTotal });
    };
    const lists = [...byLayer.values()];
    for (const list of lists) {
      list.sort((a, b) => a.offset - b.offset);
      for (const f of list) made.add(f.entry.path);
    }
    await inParallel(
      lists,
      opts.signal,
      async (list, signal) => {
        await writeContent(list, signal, (bytes) => {
          res.files++;
          res.bytes += bytes;
          if (res.files % 32 === 0) report();
        });
        report();
      },
      EXTRACT_LANES,
    );
    await inParallel(hard, opts.signal, async (e) => {
      await fsp.link(fsPath(e.linkname!), fsPath(e.path));
      res.hardlinks++;
    });
    await inParallel(
      entries.filter((e) => e.type === 'symlink'),
      opts.signal,
      async (e) => {
        await fsp.symlink(e.linkname ?? '', fsPath(e.path));
        made.add(e.path);
        res.symlinks++;
      },
    );
    // Modes, owners and times last (a read-only directory must be filled before it is locked).
    for (let k = entries.length - 1; k >= 0; k--) {
      const e = entries[k]!;
      // A hard link shares its target's inode: its own header must not re-chmod the target.
      if (!made.has(e.path)) continue;
      const d = fsPath(e.path);
      if (e.type === 'symlink') {
        if (isRoot) fs.lchownSync(d, e.uid, e.gid);
        continue;
      }
      if (isRoot) fs.lchownSync(d, e.uid, e.gid);
      fs.chmodSync(d, e.mode & 0o7777);
      if (e.mtime) fs.utimesSync(d, e.mtime, e.mtime);
      await tick();
    }
    return res;
  } catch (e) {
    await removeExtracted(root, created);
    const err = toExplorerError(e, 'EXTRACT_FAILED');
    if (err.code === 'CANCELLED' || err.code === 'PATH_ESCAPE' || err.code === 'EXTRACT_FAILED') throw err;
    throw new ExplorerError('EXTRACT_FAILED', `Extraction into ${root} failed (${err.message}); what was written has been removed.`, undefined, { cause: e });
  }
}

/**
 * Runs fn over items, `width` at a time. The first failure stops the rest: items not started are not,
 * and running ones see `signal` (the caller's, or this stop) abort; it throws once none is running —
 * CANCELLED when the caller cancelled.
 */
async function inParallel<T>(items: T[], outer: AbortSignal | undefined, fn: (item: T, signal: AbortSignal) => Promise<void>, width = 16): Promise<void> {
  const stop = new AbortController();
  const signal = outer ? AbortSignal.any([outer, stop.signal]) : stop.signal;
  let next = 0;
  let failure: { e: unknown } | undefined;
  const lane = async () => {
    while (next < items.length && !failure) {
      if (outer?.aborted) failure = { e: cancelled() };
      else
        await fn(items[next++]!, signal).catch((e: unknown) => {
          failure ??= { e };
          stop.abort();
        });
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, lane));
  if (failure) throw outer?.aborted ? cancelled() : failure.e;
}

const cancelled = () => new ExplorerError('CANCELLED', 'Extraction was cancelled.');

/** Removes what an extraction wrote into `root` (read-only folders unlocked first); `root` itself too when it was made for it. */
export async function removeExtracted(root: string, created: boolean): Promise<void> {
  // Read-only directories would block removal: make them writable first.
  const unlock = async (d: string): Promise<void> => {
    await fsp.chmod(d, 0o700).catch(() => {});
    for (const e of await fsp.readdir(d, { withFileTypes: true }).catch(() => [])) if (e.isDirectory()) await unlock(path.join(d, e.name));
  };
  await unlock(root);
  if (created) await fsp.rm(root, { recursive: true, force: true });
  else for (const n of await fsp.readdir(root).catch(() => [])) await fsp.rm(path.join(root, n), { recursive: true, force: true });
}
