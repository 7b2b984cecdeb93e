import { execFileSync } from 'node:child_process';

// Facts about a `docker save` archive read with GNU tar only (never with our core): each layer's
// entry names, and the merged path sets after whiteouts, so UI counts can be checked independently.

function tarOut(args: string[], input?: Buffer): Buffer {
  return execFileSync('tar', args, { maxBuffer: 1 << 30, ...(input ? { input } : {}) });
}

export interface SaveFacts {
  /** Per layer, entry paths as absolute paths ("/etc/passwd"), in tar order. */
  layers: string[][];
  /** Reads one file's bytes from layer i. */
  read(layer: number, path: string): Buffer;
}

export function dockerSaveFacts(archive: string): SaveFacts {
  const manifest = JSON.parse(tarOut(['-xOf', archive, 'manifest.json']).toString()) as { Layers: string[] }[];
  const layerPaths = manifest[0]!.Layers;
  const blobs = layerPaths.map((l) => tarOut(['-xOf', archive, l]));
  const layers = blobs.map((b) =>
    tarOut(['-t'], b)
      .toString()
      .split('\n')
      .filter(Boolean)
      .map((p) => '/' + p.replace(/^\.\//, '').replace(/\/$/, ''))
      .filter((p) => p !== '/' && p !== '/.'),
  );
  return { layers, read: (i, p) => tarOut(['-xO', p.replace(/^\//, '')], blobs[i]) };
}

const parent = (p: string) => p.slice(0, p.lastIndexOf('/')) || '/';
const base = (p: string) => p.slice(p.lastIndexOf('/') + 1);

/** Paths in the merged filesystem after layers 0..upTo (OCI whiteouts: `.wh.NAME`, `.wh..wh..opq`). */
export function mergedPaths(layers: string[][], upTo: number): Set<string> {
  const s = new Set<string>();
  const dropUnder = (p: string, self: boolean) => {
    for (const x of [...s]) if ((self && x === p) || x.startsWith(p === '/' ? '/' : p + '/')) s.delete(x);
  };
  for (let i = 0; i <= upTo; i++) {
    const entries = layers[i]!;
    for (const p of entries) if (base(p) === '.wh..wh..opq') dropUnder(parent(p), false);
    for (const p of entries) {
      const b = base(p);
      if (b.startsWith('.wh.') && b !== '.wh..wh..opq') dropUnder((parent(p) === '/' ? '' : parent(p)) + '/' + b.slice(4), true);
    }
    for (const p of entries) {
      if (base(p).startsWith('.wh.')) continue;
      for (let a = parent(p); a !== '/'; a = parent(a)) s.add(a);
      s.add(p);
    }
  }
  return s;
}

/** dive's counts between two merged trees: added = new paths, removed = paths gone. */
export function addedRemoved(before: Set<string>, after: Set<string>): { added: number; removed: number } {
  let added = 0;
  let removed = 0;
  for (const p of after) if (!before.has(p)) added++;
  for (const p of before) if (!after.has(p)) removed++;
  return { added, removed };
}
