import { defaultCacheDir } from '../../layers/store.js';
import { shortDigest } from '../../oci/digest.js';
import { formatPlatform } from '../../oci/platform.js';
import { storeDir } from '../../sources/registry.js';
import { LayoutStore } from '../../store/layout.js';
import { humanBytes } from '../../ui/format.js';
import { parseArgs, usageError } from '../args.js';
import type { CliIO } from '../io.js';

export const IMAGES_USAGE = `Usage: oci-explorer images [--json]

Lists the images pulled into the app's store (an OCI image layout in the cache folder): name, digest,
platform, size on disk and when pulled. Open one offline by its name, e.g. \`oci-explorer ls ruby:2.7.2-slim\`
(or \`oci:<store>:<name>\`).`;

export async function runImages(argv: string[], io: CliIO): Promise<number> {
  const args = parseArgs(argv, { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } });
  if (args.options.help) {
    io.stdout(IMAGES_USAGE + '\n');
    return 0;
  }
  if (args.positionals.length) throw usageError('images takes no arguments.');
  const store = new LayoutStore(storeDir(defaultCacheDir(io.env)));
  const rows = await Promise.all(
    (await store.images()).map(async (img) => {
      const blobs = await store.reachableBlobs(img.descriptor);
      let size = 0;
      for (const n of blobs.values()) size += n;
      return { ...img, size, blobs: blobs.size };
    }),
  );
  if (args.options.json) {
    const out = rows.map((r) => ({ name: r.name, digest: r.descriptor.digest, mediaType: r.descriptor.mediaType, ...(r.descriptor.platform ? { platform: formatPlatform(r.descriptor.platform) } : {}), size: r.size, blobs: r.blobs, ...(r.pulled ? { pulled: r.pulled } : {}) }));
    io.stdout(JSON.stringify(out, null, 2) + '\n');
    return 0;
  }
  if (!rows.length) {
    io.stdout(`No images in the store (${store.dir}). Pull one with \`oci-explorer pull REF\`.\n`);
    return 0;
  }
  const table = [['NAME', 'DIGEST', 'PLATFORM', 'SIZE', 'PULLED'], ...rows.map((r) => [r.name, shortDigest(r.descriptor.digest), r.descriptor.platform ? formatPlatform(r.descriptor.platform) : 'all', humanBytes(r.size), r.pulled?.slice(0, 16).replace('T', ' ') ?? ''])];
  const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
  io.stdout(table.map((row) => row.map((c, i) => (i === row.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd() + '\n').join(''));
  return 0;
}
