import { ExplorerError } from '../../errors.js';
import { openCache, type CacheReport } from '../../store/cache.js';
import { defaultCacheDir } from '../../store/paths.js';
import type { CacheEntry } from '../../store/scan.js';
import { formatSize, parseSize } from '../../store/size.js';
import { parseArgs, usageError } from '../args.js';
import type { CliIO } from '../io.js';

export const CACHE_USAGE = `Usage: oci-explorer cache ls [--json]
       oci-explorer cache prune [--max SIZE]
       oci-explorer cache clear

The cache holds layer indexes (with their restart points) and pulled images, in OCI_EXPLORER_CACHE
or the platform's cache folder. It keeps at most its cap: --cache-max SIZE (any command), else
OCI_EXPLORER_CACHE_MAX, else the app's Storage setting, else the smaller of 5 GiB and 10 % of the
disk; the least recently used entries go first. Entries of images open in a running oci-explorer
(or the app) are kept. SIZE: bytes, or K, M, G, T (powers of 1024; KB, MB… are powers of 1000).

ls     every entry: kind, size, last use, digest or path; "pinned" = in use by a running process
       (--json: one JSON object with the totals and the entries)
prune  remove stale files, then least recently used entries until the cache holds at most SIZE
       (default: its cap)
clear  remove every entry no running process uses`;

/** Control characters (ESC, CR, LF…) in names are shown escaped, never sent to the terminal raw. */
function safe(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

function when(ms: number): string {
  if (!ms) return 'unknown';
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`;
}

function what(e: CacheEntry): string {
  const name = e.kind === 'stale' ? e.files[0]! : e.key.slice(e.key.indexOf(':') + 1);
  const refs = e.refs?.length ? `  ${e.refs.join(', ')}` : '';
  return safe(name + refs) + (e.pinned ? '  (pinned)' : '');
}

function capText(r: CacheReport): string {
  const src = { env: 'OCI_EXPLORER_CACHE_MAX or --cache-max', setting: 'the app setting', default: 'default: the smaller of 5 GiB and 10 % of the disk' }[r.limit.source];
  return `${formatSize(r.limit.bytes)} (${src})`;
}

function jsonEntry(e: CacheEntry): Record<string, unknown> {
  const o: Record<string, unknown> = { key: e.key, kind: e.kind, bytes: e.bytes, lastUsed: e.lastUsed ? new Date(e.lastUsed).toISOString() : null, pinned: e.pinned, files: e.files };
  if (e.refs) o.refs = e.refs;
  return o;
}

export async function runCache(argv: string[], io: CliIO): Promise<number> {
  const args = parseArgs(argv, { json: { type: 'boolean' }, max: { type: 'string' }, help: { type: 'boolean', short: 'h' } });
  if (args.options.help) {
    io.stdout(CACHE_USAGE + '\n');
    return 0;
  }
  const [sub, ...extra] = args.positionals;
  if (!sub || !['ls', 'prune', 'clear'].includes(sub)) throw usageError(sub ? `Unknown cache command "${safe(sub)}": use ls, prune or clear.` : 'cache needs ls, prune or clear.');
  if (extra.length) throw usageError(`cache ${sub} takes no other arguments.`);
  if (args.options.json && sub !== 'ls') throw usageError('--json goes with cache ls.');
  if (args.options.max !== undefined && sub !== 'prune') throw usageError('--max goes with cache prune.');
  let max: number | undefined;
  if (typeof args.options.max === 'string') {
    max = parseSize(args.options.max);
    if (max === undefined) throw usageError(`--max ${safe(args.options.max)} is not a size (e.g. 2G, 500MiB, 1048576).`);
  }

  const cache = openCache(defaultCacheDir(io.env), { env: io.env });
  const report = await cache.report();
  if (report.limit.problem) io.stderr(`oci-explorer cache: ${safe(report.limit.problem)}\n`);
  if (report.disabled) throw new ExplorerError('FORBIDDEN', `The cache ${safe(report.dir)} is off: ${safe(report.disabled)}.`);

  if (sub === 'ls') {
    if (args.options.json) {
      io.stdout(JSON.stringify({ dir: report.dir, usedBytes: report.usedBytes, reservedBytes: report.reservedBytes, maxBytes: report.limit.bytes, maxSource: report.limit.source, entries: report.entries.map(jsonEntry), foreign: report.foreign }) + '\n');
      return 0;
    }
    const rows = [...report.entries].sort((a, b) => b.lastUsed - a.lastUsed);
    if (rows.length) {
      io.stdout(`${'KIND'.padEnd(13)}${'SIZE'.padStart(11)}  ${'LAST USE'.padEnd(16)}  ENTRY\n`);
      io.stdout(rows.map((e) => `${e.kind.padEnd(13)}${formatSize(e.bytes).padStart(11)}  ${when(e.lastUsed).padEnd(16)}  ${what(e)}\n`).join(''));
    }
    const entryBytes = report.entries.reduce((s, e) => s + e.bytes, 0);
    io.stdout(`${rows.length} entr${rows.length === 1 ? 'y' : 'ies'}, ${formatSize(entryBytes)}; ${formatSize(report.usedBytes)} in all of ${capText(report)} in ${safe(report.dir)}\n`);
    if (report.foreign.length) io.stdout(`Not managed (left alone): ${report.foreign.map(safe).join(', ')}\n`);
    return 0;
  }

  const r = sub === 'prune' ? await cache.prune(max) : await cache.clear();
  for (const e of r.removed) io.stdout(`removed ${e.kind} ${formatSize(e.bytes)}  ${what(e)}\n`);
  const kept = r.keptPinned ? `; ${r.keptPinned} pinned entr${r.keptPinned === 1 ? 'y' : 'ies'} kept (in use)` : '';
  io.stdout(`Removed ${r.removed.length} entr${r.removed.length === 1 ? 'y' : 'ies'} (${formatSize(r.removedBytes)}); the cache holds ${formatSize(r.usedBytes)}${kept}.\n`);
  return 0;
}
