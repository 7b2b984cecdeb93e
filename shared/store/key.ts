import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { DIR_MODE, readNoFollow, tempName, writeAtomic, writeExclusive } from './fsafe.js';

// Every file the cache writes carries an HMAC-SHA256 trailer made with a per-user key kept outside the
// cache folder. A file is believed only when its MAC matches for the path it sits at, so planted or
// swapped files (another digest's index copied over, a file from another user's cache, one cut short
// by a crash) are ignored and rebuilt. Why a MAC rather than re-validating: an index is derived data
// (offsets, sizes, restart points) that only re-reading the whole layer could check, which is what
// the cache exists to avoid.
//
// File = payload ‖ HMAC(key, DOMAIN ‖ path-in-cache ‖ NUL ‖ payload) (32 bytes) ‖ TRAILER (8 bytes).
// The trailer sits at the end so offsets inside the payload are those of the unsealed format.

export const KEY_BYTES = 32;
const DOMAIN = 'oci-explorer cache v1\0';
const TRAILER = Buffer.from('OCIXMAC1', 'latin1');
export const SEAL_BYTES = 32 + TRAILER.length;

export function mac(key: Buffer, rel: string, payload: Uint8Array): Buffer {
  return createHmac('sha256', key).update(DOMAIN).update(rel).update('\0').update(payload).digest();
}

/** The parts of a sealed file (written one after the other, so a big payload is not copied). */
export function seal(key: Buffer, rel: string, payload: Uint8Array): Uint8Array[] {
  return [payload, mac(key, rel, payload), TRAILER];
}

/** The payload of a sealed file when its MAC holds for `rel`, else undefined. */
export function unseal(key: Buffer, rel: string, file: Buffer): Buffer | undefined {
  if (file.length < SEAL_BYTES || !file.subarray(file.length - TRAILER.length).equals(TRAILER)) return undefined;
  const payload = file.subarray(0, file.length - SEAL_BYTES);
  const got = file.subarray(payload.length, payload.length + 32);
  return timingSafeEqual(got, mac(key, rel, payload)) ? payload : undefined;
}

/**
 * Reads the key at `file`, creating it when missing (0600, created exclusively and linked into place so
 * two processes starting at once agree on one key). A key that is not a private regular file of ours of
 * the right size (a symlink, readable by others, damaged) is replaced: files sealed with it are then
 * rebuilt, which costs time, never trust.
 */
export async function loadOrCreateKey(file: string): Promise<Buffer> {
  await fsp.mkdir(path.dirname(file), { recursive: true, mode: DIR_MODE });
  for (let attempt = 0; attempt < 5; attempt++) {
    const got = await readNoFollow(file, 4096);
    if (got) {
      const st = await got.fh.stat();
      await got.fh.close();
      if (got.bytes.length === KEY_BYTES && (process.platform === 'win32' || (st.mode & 0o077) === 0)) return got.bytes;
      await writeAtomic(file, [randomBytes(KEY_BYTES)]);
      continue;
    }
    const exists = await fsp.lstat(file).then(
      () => true,
      () => false,
    );
    if (exists) {
      // A symlink, folder or foreign file at the key's name: put a key of ours there instead.
      await fsp.rm(file, { recursive: true, force: true });
      continue;
    }
    const tmp = tempName(file);
    try {
      await writeExclusive(tmp, [randomBytes(KEY_BYTES)]);
      await fsp.link(tmp, file).catch((e: NodeJS.ErrnoException) => {
        if (e.code !== 'EEXIST') throw e;
      });
    } finally {
      await fsp.unlink(tmp).catch(() => undefined);
    }
  }
  throw new Error(`the cache key ${file} keeps changing under us`);
}
