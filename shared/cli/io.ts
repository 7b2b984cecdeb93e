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

/** The real process streams. */
export function processIO(): CliIO {
  return {
    stdout: (s) => void process.stdout.write(s),
    stderr: (s) => void process.stderr.write(s),
    stdoutBytes: (b) => void process.stdout.write(b),
    cwd: process.cwd(),
    env: process.env,
    stderrIsTTY: process.stderr.isTTY === true,
  };
}
