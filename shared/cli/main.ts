import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ExplorerError, toExplorerError, type ErrorCode } from '../errors.js';
import { BACKENDS } from '../sources/backends.js';
import { escapeText } from '../tar/names.js';
import { takeCacheMax } from './cache-max.js';
import { processIO, type CliIO } from './io.js';

export { processIO };
import { COMMANDS } from './registry.js';

// `oci-explorer <command> …`: dispatch to cli/commands/<name>.ts through the registry. Errors become
// one stderr line (the ExplorerError sentence) and a non-zero exit: 2 for usage, 1 otherwise.

export function usage(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    'Usage: oci-explorer <command> [options]',
    '',
    'Look inside container images: OCI layout folders, OCI archives and docker save archives.',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Sources (<source> in every command; an existing path is detected without a prefix):',
    ...sourceLines(),
    '',
    'Global option: --cache-max SIZE  the most the cache may hold (e.g. 2G; also OCI_EXPLORER_CACHE_MAX).',
    '',
    'Run `oci-explorer <command> --help` for the options of a command.',
    '',
  ].join('\n');
}

/** One line per backend of the list (sources/backends.ts): its syntax and what it opens. */
function sourceLines(): string[] {
  const width = Math.max(...BACKENDS.map((b) => b.syntax.length));
  return BACKENDS.map((b) => `  ${b.syntax.padEnd(width)}  ${b.summary}`);
}

export async function main(argv: string[], io: CliIO): Promise<number> {
  try {
    const g = takeCacheMax(argv);
    argv = g.argv;
    if (g.max !== undefined) io = { ...io, env: { ...io.env, OCI_EXPLORER_CACHE_MAX: g.max } };
  } catch (e) {
    io.stderr(`oci-explorer: ${oneLine(toExplorerError(e))}\n`);
    return 2;
  }
  const [name, ...rest] = argv;
  if (name === undefined) {
    io.stderr(usage());
    return 2;
  }
  if (name === '--help' || name === '-h' || name === 'help') {
    const sub = name === 'help' ? rest[0] : undefined;
    const cmd = sub ? COMMANDS.find((c) => c.name === sub) : undefined;
    if (cmd) return main([cmd.name, '--help'], io);
    io.stdout(usage());
    return 0;
  }
  const cmd = COMMANDS.find((c) => c.name === name);
  if (!cmd) {
    io.stderr(`oci-explorer: unknown command "${name}".\n\n${usage()}`);
    return 2;
  }
  try {
    return await cmd.run(rest, io);
  } catch (e) {
    const err = cliError(e);
    io.stderr(`oci-explorer ${cmd.name}: ${oneLine(err)}\n`);
    return err.code === 'INVALID_ARGUMENT' || err.code === 'PLATFORM_INVALID' ? 2 : 1;
  }
}

/** One line, whatever the message embeds (names from the image are escaped, never printed raw). */
function oneLine(err: ExplorerError): string {
  return escapeText(err.message.replace(/\s*\n\s*/g, ' '));
}

/** System errors (errno) a command let through, as a code and a sentence that says what to do. */
const ERRNO: Record<string, [ErrorCode, string]> = {
  ENOENT: ['SOURCE_NOT_FOUND', 'does not exist; check the path'],
  EACCES: ['FORBIDDEN', 'cannot be read or written: permission denied'],
  EPERM: ['FORBIDDEN', 'cannot be read or written: operation not permitted'],
  EISDIR: ['INVALID_ARGUMENT', 'is a folder where a file was expected'],
  ENOTDIR: ['INVALID_ARGUMENT', 'is not a folder (a part of the path is a file)'],
  ENAMETOOLONG: ['INVALID_ARGUMENT', 'is a name too long for this system'],
  ELOOP: ['INVALID_ARGUMENT', 'has too many levels of symbolic links'],
  ENOSPC: ['TOO_LARGE', 'cannot be written: the disk is full; free some space and try again'],
  EDQUOT: ['TOO_LARGE', 'cannot be written: your disk quota is used up'],
  EROFS: ['FORBIDDEN', 'cannot be written: the file system is read-only'],
  EMFILE: ['INTERNAL', 'cannot be opened: too many open files; raise the limit (ulimit -n) and try again'],
  EIO: ['INTERNAL', 'cannot be read: an input/output error (a failing disk or a network mount); try again'],
};

export function cliError(e: unknown): ExplorerError {
  const errno = e as NodeJS.ErrnoException;
  const known = errno && typeof errno === 'object' && typeof errno.code === 'string' ? ERRNO[errno.code] : undefined;
  if (!(e instanceof ExplorerError) && known) {
    return new ExplorerError(known[0], `${errno.path ?? 'A file'} ${known[1]} (${errno.code}).`, { errno: errno.code }, { cause: e });
  }
  return toExplorerError(e);
}

/** True when this file is the program being run (`tsx shared/cli/main.ts …`, i.e. `npm run cli`). */
function isEntry(): boolean {
  const entry = process.argv[1];
  if (!entry) return false;
  const self = fileURLToPath(import.meta.url);
  const a = path.resolve(entry);
  return a === self || a === self.replace(/\.ts$/, '') || a.replace(/\.[cm]?[jt]s$/, '') === self.replace(/\.ts$/, '');
}

if (isEntry()) {
  process.exitCode = await main(process.argv.slice(2), processIO());
}
