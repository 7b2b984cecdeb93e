import type { CliIO } from '../../shared/cli/io.js';
import { main } from '../../shared/cli/main.js';

/** Runs the CLI in-process with captured output and its own index cache folder (plus `env`, e.g. credential files). */
export function cliRunner(cache: string, env: Record<string, string | undefined> = {}): (...argv: string[]) => Promise<{ code: number; out: string; err: string; bytes: Buffer }> {
  return async (...argv) => {
    let out = '';
    let err = '';
    const bytes: Buffer[] = [];
    const io: CliIO = { stdout: (s) => void (out += s), stderr: (s) => void (err += s), stdoutBytes: (b) => void bytes.push(Buffer.from(b)), cwd: process.cwd(), env: { ...process.env, ...env, OCI_EXPLORER_CACHE: cache } };
    const code = await main(argv, io);
    return { code, out, err, bytes: Buffer.concat(bytes) };
  };
}
