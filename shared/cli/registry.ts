import type { CliIO } from './io.js';

// The CLI's commands. Adding one = a file in cli/commands/ exporting `run<Name>(argv, io)` plus one
// line here. Imports are lazy so `oci-explorer inspect` does not load the layer engine or the server.

export interface CliCommand {
  name: string;
  /** One line for `oci-explorer --help`. */
  summary: string;
  run: (argv: string[], io: CliIO) => Promise<number>;
}

export const COMMANDS: CliCommand[] = [
  { name: 'inspect', summary: 'print the descriptor graph of an image source (--json for JSON)', run: async (a, io) => (await import('./commands/inspect.js')).runInspect(a, io) },
  { name: 'validate', summary: 'check one JSON document (index, manifest, config, descriptor, layout) against the spec', run: async (a, io) => (await import('./commands/validate.js')).runValidate(a, io) },
  { name: 'serve', summary: 'web mode: serve the explorer UI on 127.0.0.1 with a token URL (--port N, --no-open)', run: async (a, io) => (await import('./commands/serve.js')).runServe(a, io) },
  { name: 'ls', summary: 'list the merged filesystem or one layer (--layer N, --json for NDJSON)', run: async (a, io) => (await import('./commands/ls.js')).runLs(a, io) },
  { name: 'diff', summary: 'what a layer added, changed and removed (--layer N, --from A --to B)', run: async (a, io) => (await import('./commands/diff.js')).runDiff(a, io) },
  { name: 'efficiency', summary: "dive's efficiency score, wasted and reclaimable bytes (--ci-config FILE)", run: async (a, io) => (await import('./commands/efficiency.js')).runEfficiency(a, io) },
  { name: 'cat', summary: 'print a file of the image (merged view or --layer N)', run: async (a, io) => (await import('./commands/cat.js')).runCat(a, io) },
  { name: 'docker-images', summary: 'list the images of the local Docker engine (--podman for Podman), with the spec that opens each', run: async (a, io) => (await import('./commands/docker-images.js')).runDockerImages(a, io) },
  { name: 'packages', summary: 'installed packages (dpkg, apk, rpm, Python, npm, Go) with the layer that added each (--layer N)', run: async (a, io) => (await import('./commands/packages.js')).runPackages(a, io) },
  { name: 'compare', summary: 'compare two images: config, history, files, packages (exit 0 same, 1 different, 2 trouble)', run: async (a, io) => (await import('./commands/compare.js')).runCompare(a, io) },
  { name: 'extract', summary: 'write the merged root filesystem (or --path P) into a new folder (--to DIR)', run: async (a, io) => (await import('./commands/extract.js')).runExtract(a, io) },
  { name: 'cache', summary: 'what the cache holds and its cap (ls), prune [--max SIZE], clear', run: async (a, io) => (await import('./commands/cache.js')).runCache(a, io) },

  { name: 'pull', summary: 'download an image from a registry into the store or an OCI layout (--to DIR, --platform P, --all-platforms)', run: async (a, io) => (await import('./commands/pull.js')).runPull(a, io) },
  { name: 'tags', summary: "list a repository's tags (every page)", run: async (a, io) => (await import('./commands/tags.js')).runTags(a, io) },
  { name: 'images', summary: 'list the images pulled into the store (name, digest, platform, size, date)', run: async (a, io) => (await import('./commands/images.js')).runImages(a, io) },
];
