import { constants as fsc, promises as fsp } from 'node:fs';
import path from 'node:path';
import { isExplorerError } from '../../errors.js';
import { guessDocType, validateDocument, type DocType } from '../../oci/schema.js';
import { parseArgs, usageError } from '../args.js';
import type { CliIO } from '../io.js';
import { escapeText } from '../../tar/names.js';

export const VALIDATE_USAGE = `Usage: oci-explorer validate <file.json> [--type index|manifest|config|descriptor|layout]

Checks one document against the OCI image spec (and Docker's v2 schema 2 for Docker media types).
Prints each violation as "<JSON pointer>: <reason>" ("/" is the whole document), or "valid <type>".
Exit 0 when valid, 1 when not, 2 when the file cannot be read or is not JSON.

--type  the kind of document; by default guessed from its mediaType, else from its fields.`;

const TYPES: readonly DocType[] = ['index', 'manifest', 'config', 'descriptor', 'layout'];
/** Far above any real manifest (registries cap them at 4 MiB) or config; refuses to slurp a layer. */
const MAX_BYTES = 64 * 1024 * 1024;

export async function runValidate(argv: string[], io: CliIO): Promise<number> {
  const fail = (message: string): number => {
    io.stderr(`oci-explorer validate: ${escapeText(message)}\n`);
    return 2;
  };
  let args;
  try {
    args = parseArgs(argv, { type: { type: 'string' }, help: { type: 'boolean', short: 'h' } });
    if (!args.options.help && args.positionals.length !== 1) {
      throw usageError(args.positionals.length ? 'validate takes one <file.json>.' : 'validate needs a <file.json>.');
    }
  } catch (e) {
    if (isExplorerError(e)) return fail(e.message);
    throw e;
  }
  if (args.options.help) {
    io.stdout(VALIDATE_USAGE + '\n');
    return 0;
  }
  const given = args.options.type;
  if (typeof given === 'string' && !(TYPES as string[]).includes(given)) {
    return fail(`--type must be one of ${TYPES.join(', ')} (not "${given}").`);
  }

  const file = args.positionals[0]!;
  const abs = path.resolve(io.cwd, file);
  let text: string;
  try {
    const st = await fsp.stat(abs);
    if (st.isDirectory()) return fail(`${file} is a folder; give the path of one JSON document (e.g. ${path.join(file, 'index.json')}).`);
    // A FIFO would block the open, a device (/dev/zero) would never end: only regular files are read.
    if (!st.isFile()) return fail(`${file} is not a regular file (a FIFO, a socket or a device); give the path of one JSON document.`);
    if (st.size > MAX_BYTES) return fail(`${file} is ${st.size} bytes, too large for a manifest, index or config (limit ${MAX_BYTES}).`);
    const bytes = await readRegular(abs, MAX_BYTES);
    if (!bytes) return fail(`${file} is not a regular file, or it changed while being read; give the path of one JSON document.`);
    text = bytes.toString('utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return fail(`${file} does not exist; check the path.`);
    if (code === 'EACCES' || code === 'EPERM') return fail(`${file} cannot be read: permission denied.`);
    return fail(`${file} cannot be read: ${(e as Error).message}.`);
  }

  let doc: unknown;
  try {
    doc = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (e) {
    return fail(`${file} is not valid JSON (${jsonErrorWhere(text, e)}); fix the syntax, then validate again.`);
  }

  const type = typeof given === 'string' ? (given as DocType) : guessDocType(doc);
  if (!type) {
    return fail(`cannot tell what kind of document ${file} is (no known mediaType or fields); give --type ${TYPES.join('|')}.`);
  }
  const violations = validateDocument(doc, type);
  if (violations.length === 0) {
    io.stdout(`valid ${type}\n`);
    return 0;
  }
  for (const v of violations) io.stdout(escapeText(`${v.path || '/'}: ${v.message}`) + '\n');
  io.stderr(`${file}: ${violations.length} violation${violations.length === 1 ? '' : 's'} of the ${type} rules.\n`);
  return 1;
}

/** The file's bytes when it is (still, on the open handle) a regular file of at most `max` bytes; else undefined. */
async function readRegular(file: string, max: number): Promise<Buffer | undefined> {
  const fh = await fsp.open(file, fsc.O_RDONLY | (fsc.O_NONBLOCK ?? 0));
  try {
    const st = await fh.stat();
    if (!st.isFile() || st.size > max) return undefined;
    const buf = Buffer.alloc(st.size + 1);
    let got = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buf, got, buf.length - got, got);
      if (bytesRead === 0) break;
      got += bytesRead;
      if (got > st.size) return undefined; // it grew while being read
    }
    return buf.subarray(0, got);
  } finally {
    await fh.close();
  }
}

/** "line 3, column 5: Unexpected token …" from JSON.parse's error, in one line. */
function jsonErrorWhere(text: string, e: unknown): string {
  const msg = (e instanceof Error ? e.message : String(e)).replace(/\s+/g, ' ').trim();
  const m = /position (\d+)/.exec(msg);
  if (!m) return msg;
  const pos = Number(m[1]);
  const before = text.slice(0, pos);
  const line = before.split('\n').length;
  const column = pos - before.lastIndexOf('\n');
  return `line ${line}, column ${column}: ${msg.replace(/ in JSON at position \d+.*$/, '').replace(/ \(line \d+ column \d+\)$/, '')}`;
}
