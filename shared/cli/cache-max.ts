import { parseSize } from '../store/size.js';
import { usageError } from './args.js';

// The global `--cache-max SIZE` option: accepted before or after the command name, taken out of the
// command line before the command parses it, and handed to every command as OCI_EXPLORER_CACHE_MAX
// (what the cache reads; see shared/store/cache.ts).

/**
 * Takes the global `--cache-max SIZE` (or `--cache-max=SIZE`) out of a command line, anywhere before
 * `--`, and returns it as the OCI_EXPLORER_CACHE_MAX the commands read.
 */
export function takeCacheMax(argv: string[]): { argv: string[]; max?: string } {
  const out: string[] = [];
  let max: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      out.push(...argv.slice(i));
      break;
    }
    if (a === '--cache-max' || a.startsWith('--cache-max=')) {
      const v = a === '--cache-max' ? argv[++i] : a.slice('--cache-max='.length);
      if (v === undefined || parseSize(v) === undefined) throw usageError(`--cache-max needs a size (e.g. 2G, 500MiB, 1048576)${v === undefined ? '' : `, not "${v.replace(/[^\x20-\x7e]/g, '?')}"`}.`);
      max = v;
      continue;
    }
    out.push(a);
  }
  return max === undefined ? { argv: out } : { argv: out, max };
}
