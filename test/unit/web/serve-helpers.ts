import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { CliIO } from '../../../shared/cli/io.js';

/** A CliIO that keeps what was printed. */
export function io(): CliIO & { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, stdout: (s) => void out.push(s), stderr: (s) => void err.push(s), cwd: process.cwd(), env: {} };
}

/** A stand-in renderer build: a folder with an index.html. */
export async function renderer(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'oe-serve-'));
  await writeFile(path.join(dir, 'index.html'), '<!doctype html><title>OCI Explorer</title>');
  return dir;
}
