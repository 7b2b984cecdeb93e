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
];
