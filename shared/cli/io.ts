import { escapeText } from '../tar/names.js';

// What a CLI command may touch of the outside world, passed in so tests can capture output.
export interface CliIO {
  /** Writes one chunk to standard output (the caller adds newlines). */
  stdout: (s: string) => void;
  /** Writes one chunk to standard error (the caller adds newlines). */
  stderr: (s: string) => void;
  /** Directory relative paths are resolved against. */
  cwd: string;
  /** Optional binary standard output (file contents for `cat`); falls back to `stdout` as UTF-8. */
  stdoutBytes?: (b: Uint8Array) => void;
  env: Record<string, string | undefined>;
  /** Standard error is a terminal: long commands (pull) draw live progress there. */
  stderrIsTTY?: boolean;
}

/**
 * The real process streams. A closed pipe (`oci-explorer ls IMAGE | head`) ends the program quietly
 * (exit 0, as the reader wanted no more), and an error no command caught is one line, never a stack.
 */
export function processIO(): CliIO {
  guardProcess();
  return {
    stdout: (s) => void process.stdout.write(s),
    stderr: (s) => void process.stderr.write(s),
    stdoutBytes: (b) => void process.stdout.write(b),
    cwd: process.cwd(),
    env: process.env,
    stderrIsTTY: process.stderr.isTTY === true,
  };
}

let guarded = false;
function guardProcess(): void {
  if (guarded) return;
  guarded = true;
  const onStreamError = (e: NodeJS.ErrnoException) => {
    // process.exit runs the 'exit' hooks (temp copies are removed) and stops whatever is still running.
    if (e.code === 'EPIPE' || e.code === 'ERR_STREAM_DESTROYED') process.exit(process.exitCode === undefined ? 0 : Number(process.exitCode));
    fatal(e);
  };
  process.stdout.on('error', onStreamError);
  process.stderr.on('error', onStreamError);
  process.on('uncaughtException', fatal);
  process.on('unhandledRejection', fatal);
}

function fatal(e: unknown): void {
  const code = (e as { code?: unknown })?.code;
  const msg = e instanceof Error ? e.message : String(e);
  try {
    process.stderr.write(`oci-explorer: unexpected error${typeof code === 'string' ? ` (${code})` : ''}: ${escapeText(msg)}. Please report it with the steps that led here.\n`);
  } catch {
    // stderr is gone too
  }
  process.exit(1);
}
