import { isExplorerError } from '../../../shared/errors.js';

// Small helpers shared by the sources tests.

export async function readAll(s: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** The code and sentence of the ExplorerError a promise rejects with (fails when it resolves). */
export async function errorOf(p: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await p;
  } catch (e) {
    if (isExplorerError(e)) return { code: e.code, message: e.message };
    throw e;
  }
  throw new Error('expected an error');
}
