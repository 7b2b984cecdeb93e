import path from 'node:path';
import { IMAGE_OPTIONS, parseArgs, usageError } from '../args.js';
import type { CliIO } from '../io.js';
import { openLayersForCli } from './_layers.js';
import { escapeForDisplay, escapeText } from '../../tar/names.js';

export const EXTRACT_USAGE = `Usage: oci-explorer extract <source> --to DIR [--path P] [--setuid] [--devices]

Writes the merged root filesystem (or the subtree P, kept at its path) into DIR, which must be new
or empty. Nothing is ever written outside DIR. File owners and FIFOs only when run as root. An entry
this system cannot take (a name or path too long, a time out of range…) is skipped and listed on
stderr with the reason; the rest is written. If the extraction itself fails (disk full, cancelled),
what was written is removed.

--setuid   keep setuid/setgid bits (default: files are written without them, even as root, and
           each one is listed); only for images you trust.
--devices  create character and block devices (needs root; default: listed as skipped).`;

export async function runExtract(argv: string[], io: CliIO): Promise<number> {
  const args = parseArgs(argv, { ...IMAGE_OPTIONS, to: { type: 'string' }, path: { type: 'string' }, setuid: { type: 'boolean' }, devices: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } });
  if (args.options.help) {
    io.stdout(EXTRACT_USAGE + '\n');
    return 0;
  }
  if (args.positionals.length !== 1) throw usageError('extract needs one <source>.');
  if (typeof args.options.to !== 'string') throw usageError('extract needs --to DIR.');
  const r = await openLayersForCli(args, io);
  try {
    const res = await r.layers.extract(path.resolve(io.cwd, args.options.to), {
      ...(typeof args.options.path === 'string' ? { path: args.options.path } : {}),
      setuid: args.options.setuid === true,
      devices: args.options.devices === true,
    });
    for (const s of res.skipped.slice(0, 20)) io.stderr(`skipped ${escapeForDisplay(s.path)}: ${escapeText(s.reason)}\n`);
    if (res.skipped.length > 20) io.stderr(`… and ${res.skipped.length - 20} more skipped.\n`);
    io.stdout(`${res.files} files (${res.bytes} B), ${res.dirs} folders, ${res.symlinks} symbolic links, ${res.hardlinks} hard links written; ${res.skipped.length} skipped.\n`);
  } finally {
    await r.close();
  }
  return 0;
}
