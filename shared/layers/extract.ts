import fs, { promises as fsp } from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { ExplorerError, toExplorerError } from '../errors.js';
import { encodeName, hasRawBytes } from '../tar/names.js';
import type { MergedEntry, MergedTree } from './merge.js';

// Safe extraction of a merged tree. Why it cannot escape: every name comes from the merged tree
// (normalised, no `..`, no absolute paths, symlinked parents already resolved inside the root);
// symlinks are created last, so nothing is ever written through one; each destination is checked
// to be inside the target. One entry the host cannot take (a name too long, a time out of range, a
// link it refuses…) is skipped and listed with the reason; only what stops everything (disk full,
// read-only target, cancel) removes what was written. Owners only as root (or as `asRoot` says);
// setuid/setgid bits and device nodes only when asked, even as root.

/** Layers whose content is written at the same time (layers write disjoint paths; one's decoding overlaps another's writes; a few bound the buffers held). */
const EXTRACT_LANES = 3;
/** Longest file name and path the host takes (bytes): Linux NAME_MAX / PATH_MAX; macOS PATH_MAX is 1024. */
const NAME_MAX = 255;
const PATH_MAX = process.platform === 'darwin' ? 1024 : 4096;
/** Errors that stop the whole extraction (the target cannot take anything more), not one entry. */
const FATAL_ERRNO = new Set(['ENOSPC', 'EDQUOT', 'EROFS', 'EIO', 'EMFILE', 'ENFILE', 'EACCES']);

export interface ExtractOptions {
  /** Subtree to extract (normalised path); default the whole rootfs. */
  path?: string;
  signal?: AbortSignal;
  /**
   * Create FIFOs and set file owners (uid/gid from the image). Default: only when the process runs as
   * root (`process.getuid() === 0`); `false` skips them even as root (each node is listed in `skipped`
   * with the reason), `true` does them whatever the uid (a process with CAP_CHOWN): a failed chown or
   * mknod is then listed in `skipped`.
   */
  asRoot?: boolean;
  /** Create character and block devices (needs root or CAP_MKNOD too). Default false: listed in `skipped`. */
  devices?: boolean;
  /** Keep setuid/setgid bits. Default false: files are written without them, each listed in `skipped`. */
  setuid?: boolean;
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

/** The reason a host call failed for one entry, or rethrows when the failure stops everything. */
function entryFailure(e: unknown, what: string): string {
  const code = (e as NodeJS.ErrnoException)?.code;
  if (!code || FATAL_ERRNO.has(code)) throw e;
  return `${what} failed (${code})`;
}

export async function extractTree(tree: MergedTree, target: string, locate: (p: string) => { layer: number; offset: number; size: number } | undefined, writeContent: ContentWriter, opts: ExtractOptions = {}): Promise<ExtractResult> {
  const root = path.resolve(target);
  const isRoot = opts.asRoot ?? process.getuid?.() === 0;
  let created = false;
  const st = await fsp.lstat(root).catch(() => undefined);
  if (st) {
    if (!st.isDirectory()) throw new ExplorerError('TARGET_EXISTS', `${root} exists and is not a folder; choose an empty or new folder to extract into.`, { path: root });
    if ((await fsp.readdir(root)).length) throw new ExplorerError('TARGET_EXISTS', `${root} is not empty; choose an empty or new folder so nothing of yours is overwritten.`, { path: root });
  } else {
    await fsp.mkdir(root, { recursive: true });
    created = true;
  }
  const sub = opts.path ?? '';
  if (sub && !tree.has(sub)) throw new ExplorerError('PATH_NOT_FOUND', `${sub} is not in the image; check the path (it is case-sensitive).`);
  const res: ExtractResult = { files: 0, dirs: 0, symlinks: 0, hardlinks: 0, skipped: [], bytes: 0 };
  const rootBytes = Buffer.byteLength(root);
  const dest = (p: string): string => {
    const d = path.resolve(root, ...p.split('/'));
    if (d !== root && !d.startsWith(root + path.sep)) throw new ExplorerError('PATH_ESCAPE', `Refusing to write ${p}: it would land outside ${root}.`);
    return d;
  };
  // Node takes Buffer paths: names that were not UTF-8 are written back as their original bytes.
  const fsPath = (p: string): string => {
    const d = dest(p);
    if (!hasRawBytes(p)) return d;
    return Buffer.concat([Buffer.from(root), Buffer.from(path.sep), encodeName(p.split('/').join(path.sep))]) as unknown as string;
  };
  /** Why the host cannot take this name, checked before any call (the calls would fail one by one). */
  const nameProblem = (p: string): string | undefined => {
    const bytes = encodeName(p);
    if (rootBytes + 1 + bytes.length >= PATH_MAX) return `its path is ${bytes.length} bytes long: with the target folder that is over this system's ${PATH_MAX}-byte limit`;
    for (const c of p.split('/')) if (Buffer.byteLength(encodeName(c)) > NAME_MAX) return `a name in its path is over this system's ${NAME_MAX}-byte limit`;
    return undefined;
  };
  const skippedPaths = new Set<string>();
  const skip = (p: string, reason: string) => {
    skippedPaths.add(p);
    res.skipped.push({ path: p, reason });
  };
  try {
    const paths: string[] = [];
    if (sub) for (let d = sub; d; d = d.includes('/') ? d.slice(0, d.lastIndexOf('/')) : '') paths.unshift(d);
    if (sub && tree.get(sub)?.type === 'dir') for (const p of tree.walk(sub)) paths.push(p);
    if (!sub) for (const p of tree.walk()) paths.push(p);
    const inSet = new Set(paths);
    // Folders that could not be made: nothing below them is attempted (each is listed once, its content with it).
    const lostDirs = new Set<string>();
    // Parents come before children (walk order, then depth by depth), and every folder under a lost one
    // is itself marked lost: looking at the parent alone is enough (linear however deep the tree).
    const underLost = (p: string): boolean => {
      const i = p.lastIndexOf('/');
      return i > 0 && lostDirs.size > 0 && lostDirs.has(p.slice(0, i));
    };
    const entries: MergedEntry[] = [];
    for (const p of paths) {
      const e = tree.get(p)!;
      if (underLost(p)) {
        if (e.type === 'dir') lostDirs.add(p);
        continue;
      }
      const why = nameProblem(p);
      if (why) {
        skip(p, why);
        if (e.type === 'dir') lostDirs.add(p);
        continue;
      }
      entries.push(e);
    }
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
        if (underLost(e.path)) return void lostDirs.add(e.path);
        try {
          await fsp.mkdir(fsPath(e.path), { recursive: true, mode: 0o700 });
        } catch (err) {
          lostDirs.add(e.path);
          return skip(e.path, entryFailure(err, 'creating the folder'));
        }
        made.add(e.path);
        res.dirs++;
      });
    }
    const live = entries.filter((e) => e.type === 'dir' || !underLost(e.path));
    const byLayer = new Map<number, { entry: MergedEntry; layer: number; offset: number; size: number; dest: string }[]>();
    const hard: MergedEntry[] = [];
    for (const e of live) {
      if (opts.signal?.aborted) throw cancelled();
      if (e.type === 'file' || (e.type === 'hardlink' && !e.problem)) {
        const target = e.type === 'hardlink' ? tree.linkTarget(e.path) : undefined;
        if (target !== undefined && inSet.has(target) && tree.get(target)?.type === 'file' && !underLost(target) && !skippedPaths.has(target)) {
          hard.push({ ...e, linkname: target });
          continue;
        }
        const loc = locate(e.path);
        if (!loc) {
          skip(e.path, 'content not found');
          continue;
        }
        const list = byLayer.get(loc.layer) ?? [];
        list.push({ layer: loc.layer, offset: loc.offset, size: loc.size, entry: e, dest: fsPath(e.path) });
        byLayer.set(loc.layer, list);
      } else if (e.type === 'fifo' || e.type === 'char' || e.type === 'block') {
        if (e.type !== 'fifo' && !opts.devices) {
          skip(e.path, `${NODE_KIND[e.type]} not created: device nodes are made only when asked (extract --devices, as root)`);
          continue;
        }
        if (!isRoot) {
          skip(e.path, `${NODE_KIND[e.type]} not created: that needs root (extract as root to get device nodes and owners)`);
          continue;
        }
        const args = [dest(e.path), e.type === 'fifo' ? 'p' : e.type === 'char' ? 'c' : 'b'];
        if (e.type !== 'fifo') args.push(String(e.devmajor ?? 0), String(e.devminor ?? 0));
        const r = spawnSync('mknod', args, { stdio: 'ignore' });
        if (r.status !== 0) skip(e.path, `mknod failed for the ${NODE_KIND[e.type]}`);
        else made.add(e.path);
      } else if (e.type === 'hardlink') {
        skip(e.path, e.problem?.message ?? 'hard link target missing');
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
      try {
        await fsp.link(fsPath(e.linkname!), fsPath(e.path));
      } catch (err) {
        return skip(e.path, entryFailure(err, 'creating the hard link'));
      }
      res.hardlinks++;
    });
    await inParallel(
      live.filter((e) => e.type === 'symlink'),
      opts.signal,
      async (e) => {
        try {
          await fsp.symlink((e.linkname ? encodeName(e.linkname) : '') as unknown as string, fsPath(e.path));
        } catch (err) {
          return skip(e.path, entryFailure(err, 'creating the symbolic link'));
        }
        made.add(e.path);
        res.symlinks++;
      },
    );
    // Modes, owners and times last (a read-only directory must be filled before it is locked).
    for (let k = live.length - 1; k >= 0; k--) {
      const e = live[k]!;
      // A hard link shares its target's inode: its own header must not re-chmod the target.
      if (!made.has(e.path)) continue;
      const d = fsPath(e.path);
      const attempt = (what: string, fn: () => void) => {
        try {
          fn();
        } catch (err) {
          skip(e.path, `written, but ${entryFailure(err, what)}`);
        }
      };
      if (isRoot) attempt('setting its owner', () => fs.lchownSync(d, e.uid, e.gid));
      if (e.type === 'symlink') continue;
      let mode = e.mode & 0o7777;
      if (mode & 0o6000 && !opts.setuid && e.type !== 'dir') {
        mode &= ~0o6000;
        skip(e.path, 'written without its setuid/setgid bits (extract --setuid keeps them)');
      }
      attempt('setting its mode', () => fs.chmodSync(d, mode));
      if (e.mtime) attempt(`setting its time (${e.mtime})`, () => fs.utimesSync(d, e.mtime, e.mtime));
      await tick();
    }
    return res;
  } catch (e) {
    await removeExtracted(root, created);
    const errno = (e as NodeJS.ErrnoException)?.code;
    if (errno && !(e instanceof ExplorerError)) {
      throw new ExplorerError('EXTRACT_FAILED', `Extraction into ${root} stopped: ${errno === 'ENOSPC' || errno === 'EDQUOT' ? 'the disk is full' : errno === 'EROFS' ? 'the target is read-only' : errno === 'EACCES' ? 'permission denied' : (e as Error).message} (${errno}); what was written has been removed.`, { errno }, { cause: e });
    }
    const err = toExplorerError(e, 'EXTRACT_FAILED');
    if (err.code === 'CANCELLED' || err.code === 'PATH_ESCAPE' || err.code === 'EXTRACT_FAILED' || err.code === 'TARGET_EXISTS') throw err;
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
