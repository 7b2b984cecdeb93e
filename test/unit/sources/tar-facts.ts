import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';

// Facts about a tar read independently of shared/sources/tarfs.ts (tar-stream, a streaming reader),
// so tests compare our in-place scanner against another implementation.

export interface FactEntry {
  type: string;
  size: number;
  data: Buffer;
  linkname?: string;
}

export async function tarFacts(file: string): Promise<Map<string, FactEntry>> {
  const out = new Map<string, FactEntry>();
  const ex = tar.extract();
  ex.on('entry', (h, stream, next) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: unknown) => { chunks.push(c as Buffer); });
    stream.on('end', () => {
      const name = h.name.replace(/^(\.\/)+/, '').replace(/\/$/, '');
      const e: FactEntry = { type: h.type ?? 'file', size: h.size ?? 0, data: Buffer.concat(chunks) };
      if (h.linkname) e.linkname = h.linkname;
      out.set(name, e);
      next();
    });
    stream.resume();
  });
  await pipeline(createReadStream(file), ex);
  return out;
}

export const sha256 = (b: Uint8Array | string): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** Data of an entry, following symlinks relative to the link's folder (as docker save writes them). */
export function entryData(facts: Map<string, FactEntry>, name: string, hops = 0): Buffer {
  const e = facts.get(name);
  if (!e) throw new Error(`no ${name} in tar`);
  if (e.type === 'symlink' && e.linkname && hops < 10) {
    const dir = name.split('/').slice(0, -1);
    for (const seg of e.linkname.split('/')) {
      if (seg === '..') dir.pop();
      else if (seg && seg !== '.') dir.push(seg);
    }
    return entryData(facts, dir.join('/'), hops + 1);
  }
  return e.data;
}

export function json<T = unknown>(facts: Map<string, FactEntry>, name: string): T {
  return JSON.parse(entryData(facts, name).toString('utf8')) as T;
}
