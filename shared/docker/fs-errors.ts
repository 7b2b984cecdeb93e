import { ExplorerError } from '../errors.js';

/** A file-system failure while reading Docker's store, as a sentence that says what to do. */
export function storeFsError(e: unknown, file: string, what: string): ExplorerError {
  if (e instanceof ExplorerError) return e;
  const code = (e as NodeJS.ErrnoException)?.code;
  if (code === 'EACCES' || code === 'EPERM') {
    return new ExplorerError(
      'PERMISSION_DENIED',
      `Permission denied reading ${file} (${what}). Docker's store is readable by root only: run as root (e.g. with sudo), or open the image through the engine with docker-daemon: instead.`,
      { path: file },
      { cause: e },
    );
  }
  if (code === 'ENOENT' || code === 'ENOTDIR') {
    return new ExplorerError('STORE_INVALID', `${file} (${what}) does not exist: the Docker store is incomplete or the image was removed meanwhile. Check the data root, or open the image with docker-daemon: instead.`, { path: file }, { cause: e });
  }
  if ((e as { name?: string })?.name === 'AbortError') return new ExplorerError('CANCELLED', 'Reading the layer was cancelled.', undefined, { cause: e });
  const msg = e instanceof Error ? e.message : String(e);
  return new ExplorerError('STORE_INVALID', `Cannot read ${file} (${what}): ${msg}.`, { path: file }, { cause: e });
}
