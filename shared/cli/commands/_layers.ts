import { ExplorerError } from '../../errors.js';
import type { ImageLayers } from '../../layers/engine.js';
import { openImage, type OpenImage } from '../../layers/open-image.js';
import { defaultCacheDir } from '../../layers/store.js';
import { openCache } from '../../store/cache.js';
import { imageChoice, openSourceArg, type ParsedArgs } from '../args.js';
import type { CliIO } from '../io.js';
import { escapeText } from '../../tar/names.js';

// Shared by the layer commands (ls, diff, efficiency, cat, extract): open <source>, pick the image
// (--image, --platform, oci:PATH:TAG), index its layers (cache in OCI_EXPLORER_CACHE or the platform's
// cache folder), and report layer problems (and entries the merged filesystem dropped) on stderr
// without stopping.

export interface CliImage {
  image: OpenImage;
  layers: ImageLayers;
  close(): Promise<void>;
}

export async function openLayersForCli(args: ParsedArgs, io: CliIO): Promise<CliImage> {
  const opened = await openSourceArg(args.positionals[0]!, io, undefined, { insecure: args.options.insecure === true });
  const cacheDir = defaultCacheDir(io.env);
  openCache(cacheDir, { env: io.env }); // its cap from OCI_EXPLORER_CACHE_MAX (--cache-max)
  const { image, close } = await openImage(opened.source, imageChoice(args, opened), { cacheDir });
  const r = { image, layers: image.layers, close };
  for (const l of r.layers.layers) {
    for (const p of l.problems) io.stderr(`layer ${l.index} (${l.descriptor.digest.slice(7, 19)}): ${p.code}: ${escapeText(p.message)}\n`);
  }
  // Entries dropped while stacking the layers (e.g. a path through a symlink loop) are not in any view.
  if (r.layers.count) for (const p of r.layers.mergedTree().problems) io.stderr(`merged filesystem: ${p.code}: ${escapeText(p.message)}\n`);
  return r;
}

/** Parses a layer number option against the image's layer count. */
export function layerArg(v: unknown, name: string, count: number): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n >= count) {
    throw new ExplorerError('INVALID_ARGUMENT', `--${name} ${String(v)} is not a layer of this image: give a number from 0 to ${count - 1}.`);
  }
  return n;
}
