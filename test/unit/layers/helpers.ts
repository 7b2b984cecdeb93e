import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import tarStream from 'tar-stream';
import { indexLayerStream } from '../../../shared/layers/indexer.js';
import type { LayerIndex } from '../../../shared/layers/tarindex.js';
import { digestOf } from '../../../shared/oci/digest.js';

/** Members of a (docker-save) tar read with tar-stream, independent of our own tar scanner. */
export async function tarMembers(file: string): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  const ex = tarStream.extract();
  const done = new Promise<void>((resolve, reject) => {
    ex.on('entry', (h, stream, next) => {
      const parts: Buffer[] = [];
      stream.on('data', (c: unknown) => void parts.push(c as Buffer));
      stream.on('end', () => {
        out.set(h.name.replace(/^\.\//, ''), Buffer.concat(parts));
        next();
      });
    });
    ex.on('finish', resolve);
    ex.on('error', reject);
  });
  Readable.from([readFileSync(file)]).pipe(ex);
  await done;
  return out;
}

/** The headers of a tar in memory (name without ./, type, mode, size, linkname), read with tar-stream. */
export async function tarHeaders(buf: Buffer): Promise<{ name: string; type: string; mode: number; size: number; linkname?: string }[]> {
  const out: { name: string; type: string; mode: number; size: number; linkname?: string }[] = [];
  const ex = tarStream.extract();
  const done = new Promise<void>((resolve, reject) => {
    ex.on('entry', (h, stream, next) => {
      out.push({ name: h.name.replace(/^\.\//, ''), type: h.type ?? 'file', mode: h.mode ?? 0, size: h.size ?? 0, ...(h.linkname ? { linkname: h.linkname } : {}) });
      stream.on('end', () => next());
      stream.resume();
    });
    ex.on('finish', resolve);
    ex.on('error', reject);
  });
  Readable.from([buf]).pipe(ex);
  await done;
  return out;
}

/** The layer blobs of a legacy docker-save archive, bottom first (from manifest.json). */
export async function dockerSaveLayers(file: string): Promise<Buffer[]> {
  const m = await tarMembers(file);
  const manifest = JSON.parse(m.get('manifest.json')!.toString()) as { Layers: string[] }[];
  return manifest[0]!.Layers.map((l) => m.get(l)!);
}

export async function indexBuffer(buf: Buffer, diffId?: string): Promise<LayerIndex> {
  return indexLayerStream(Readable.from([buf]), { digest: digestOf(buf), compressedSize: buf.length, ...(diffId ? { diffId } : {}) });
}

/** Builds a tar from simple entry specs with tar-stream (the independent writer). */
export async function makeTar(entries: { name: string; type?: 'file' | 'directory' | 'symlink' | 'link' | 'fifo' | 'character-device' | 'block-device'; content?: string | Buffer; linkname?: string; mode?: number; uid?: number; gid?: number; devmajor?: number; devminor?: number; pax?: Record<string, string> }[]): Promise<Buffer> {
  const pack = tarStream.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (c: unknown) => void chunks.push(c as Buffer));
  const end = new Promise<void>((r) => pack.on('end', () => r()));
  for (const e of entries) {
    const content = typeof e.content === 'string' ? Buffer.from(e.content) : e.content;
    const header: Partial<tarStream.Header> & { name: string } = { name: e.name, type: e.type ?? 'file', mode: e.mode ?? (e.type === 'directory' ? 0o755 : 0o644), uid: e.uid ?? 0, gid: e.gid ?? 0, mtime: new Date(1_600_000_000_000) };
    if (e.linkname !== undefined) header.linkname = e.linkname;
    if (e.pax) header.pax = e.pax;
    if (e.devmajor !== undefined) header.devmajor = e.devmajor;
    if (e.devminor !== undefined) header.devminor = e.devminor;
    await new Promise<void>((resolve, reject) => pack.entry(header as tarStream.Header, content ?? Buffer.alloc(0), (err) => (err ? reject(err) : resolve())));
  }
  pack.finalize();
  await end;
  return Buffer.concat(chunks);
}
