import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { parseDigest, type Digest } from '../oci/digest.js';

// The size of a layer tar rebuilt from tar-split, remembered by diff_id once a whole rebuild hashed to
// it: the tar's bytes (hence its size) are fixed by its sha256, so a later open of any image with that
// layer needs no pass over its tar-split to describe it. Only verified sizes are written; a wrong one
// could only come from a changed store, and then the read fails its size check like any bad blob.

export interface TarSize {
  size: number;
  entries?: number;
}

export class TarSizeCache {
  constructor(private readonly cacheDir: string) {}

  private file(diffId: Digest): string {
    const { algorithm, hex } = parseDigest(diffId);
    return path.join(this.cacheDir, 'docker-store', 'tar-size', algorithm, `${hex}.json`);
  }

  async get(diffId: Digest): Promise<TarSize | undefined> {
    try {
      const o = JSON.parse(await fsp.readFile(this.file(diffId), 'utf8')) as Partial<TarSize>;
      if (typeof o.size !== 'number' || !Number.isSafeInteger(o.size) || o.size < 1024) return undefined;
      return { size: o.size, ...(typeof o.entries === 'number' ? { entries: o.entries } : {}) };
    } catch {
      return undefined; // absent or damaged: scan instead
    }
  }

  /** Written with temp + rename; a cache that cannot be written is only slower. */
  async remember(diffId: Digest, size: number, entries?: number): Promise<void> {
    const file = this.file(diffId);
    const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
    try {
      await fsp.mkdir(path.dirname(file), { recursive: true });
      await fsp.writeFile(tmp, JSON.stringify({ size, ...(entries !== undefined ? { entries } : {}) }));
      await fsp.rename(tmp, file);
    } catch {
      await fsp.rm(tmp, { force: true }).catch(() => {});
    }
  }
}
