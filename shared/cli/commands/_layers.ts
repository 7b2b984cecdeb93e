import { ExplorerError } from '../../errors.js';
import { openImageLayers, type OpenedImageLayers } from '../../layers/open-image.js';
import { defaultCacheDir } from '../../layers/store.js';
import { imageChoice, openSourceArg, type ParsedArgs } from '../args.js';
import type { CliIO } from '../io.js';

// Shared by the layer commands (ls, diff, efficiency, cat, extract): open <source>, pick the image
// (--image, --platform, oci:PATH:TAG), index its layers (cache in OCI_EXPLORER_CACHE or the platform's
// cache folder), and report layer problems (and entries the merged filesystem dropped) on stderr
// without stopping.

export async function openLayersForCli(args: ParsedArgs, io: CliIO): Promise<OpenedImageLayers> {
  const opened = await openSourceArg(args.positionals[0]!, io, undefined, { insecure: args.options.insecure === true });
  const r = await openImageLayers(opened.source, imageChoice(args, opened), { cacheDir: defaultCacheDir(io.env) });
  for (const l of r.layers.layers) {
    for (const p of l.problems) io.stderr(`layer ${l.index} (${l.descriptor.digest.slice(7, 19)}): ${p.code}: ${p.message}\n`);
  }
  // Entries dropped while stacking the layers (e.g. a path through a symlink loop) are not in any view.
  if (r.layers.count) for (const p of r.layers.mergedTree().problems) io.stderr(`merged filesystem: ${p.code}: ${p.message}\n`);
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
