import path from 'node:path';
import { defaultCacheDir } from '../../layers/store.js';
import { formatPlatform } from '../../oci/platform.js';
import { pull } from '../../registry/pull.js';
import { humanBytes } from '../../ui/format.js';
import { parseArgs, usageError } from '../args.js';
import type { CliIO } from '../io.js';
import { PullProgressView } from './_progress.js';

export const PULL_USAGE = `Usage: oci-explorer pull <reference> [--platform os/arch[/variant] | --all-platforms] [--to DIR] [--insecure] [--json]

Downloads an image from its registry into an OCI image layout: the app's store (default; list it with
\`oci-explorer images\`, open it offline by its reference) or DIR (new, empty, or an existing layout),
tagged as skopeo's oci:DIR:TAG would be. Every blob is verified before it is kept; blobs already there
are not downloaded again; broken connections resume where they stopped.

<reference>       e.g. ruby:2.7.2-slim, ghcr.io/o/r@sha256:…, localhost:5000/x:y (docker:// optional)
--platform P      the image for P from a multi-platform index (default: this machine's)
--all-platforms   the whole index: every platform and its attestations
--to DIR          write the layout to DIR instead of the store
--insecure        allow plain HTTP and unverified TLS for a registry that is not on this machine
--json            print the result as JSON

A connection that sends nothing for 30 s (OCI_EXPLORER_STALL_TIMEOUT=seconds) is dropped and the
download resumed where it stopped; 429 and 5xx answers are retried, honouring Retry-After.`;

export async function runPull(argv: string[], io: CliIO): Promise<number> {
  const args = parseArgs(argv, {
    platform: { type: 'string' },
    'all-platforms': { type: 'boolean' },
    to: { type: 'string' },
    insecure: { type: 'boolean' },
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (args.options.help) {
    io.stdout(PULL_USAGE + '\n');
    return 0;
  }
  if (args.positionals.length !== 1) throw usageError('pull needs one <reference>.');
  if (args.options.platform !== undefined && args.options['all-platforms']) throw usageError('Give either --platform or --all-platforms, not both.');
  const view = new PullProgressView(io);
  // Ctrl-C cancels cleanly (nothing unverified is kept); a second one kills as usual.
  const ctrl = new AbortController();
  const onInt = () => ctrl.abort();
  process.once('SIGINT', onInt);
  try {
    const r = await pull(args.positionals[0]!, {
      env: io.env,
      cacheDir: defaultCacheDir(io.env),
      signal: ctrl.signal,
      onProgress: view.update,
      ...(typeof args.options.platform === 'string' ? { platform: args.options.platform } : {}),
      ...(args.options['all-platforms'] ? { allPlatforms: true } : {}),
      ...(typeof args.options.to === 'string' ? { to: path.resolve(io.cwd, args.options.to) } : {}),
      ...(args.options.insecure ? { insecure: true } : {}),
    });
    view.finish();
    for (const w of r.warnings) io.stderr(`warning: ${w}\n`);
    if (args.options.json) {
      io.stdout(JSON.stringify({ reference: args.positionals[0], name: r.name, layout: r.layout, digest: r.descriptor.digest, mediaType: r.descriptor.mediaType, platforms: r.platforms, blobs: r.blobs }, null, 2) + '\n');
    } else {
      const plat = r.descriptor.platform ? ` (${formatPlatform(r.descriptor.platform)})` : r.platforms.length > 1 ? ` (${r.platforms.join(', ')})` : '';
      io.stdout(
        `Pulled ${r.name}${plat} into ${r.layout}: ${r.blobs.fetched} blob${r.blobs.fetched === 1 ? '' : 's'} downloaded (${humanBytes(r.blobs.bytes)}), ${r.blobs.present} already there.\nDigest: ${r.descriptor.digest}\n`,
      );
    }
  } finally {
    process.removeListener('SIGINT', onInt);
    view.finish();
  }
  return 0;
}
