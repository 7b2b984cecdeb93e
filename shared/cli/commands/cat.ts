import { IMAGE_OPTIONS, parseArgs, usageError } from '../args.js';
import type { CliIO } from '../io.js';
import { layerArg, openLayersForCli } from './_layers.js';

export const CAT_USAGE = `Usage: oci-explorer cat <source> <path> [--layer N] [--start BYTE] [--end BYTE]

Writes the content of a file in the merged filesystem (or in layer N's own view) to standard
output; hard links and symbolic links are followed inside the image root.`;

export async function runCat(argv: string[], io: CliIO): Promise<number> {
  const args = parseArgs(argv, { ...IMAGE_OPTIONS, layer: { type: 'string' }, start: { type: 'string' }, end: { type: 'string' }, help: { type: 'boolean', short: 'h' } });
  if (args.options.help) {
    io.stdout(CAT_USAGE + '\n');
    return 0;
  }
  if (args.positionals.length !== 2) throw usageError('cat needs <source> and <path>.');
  const num = (v: unknown, name: string): number | undefined => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw usageError(`--${name} takes a byte offset (a whole number).`);
    return n;
  };
  const start = num(args.options.start, 'start');
  const end = num(args.options.end, 'end');
  const r = await openLayersForCli(args, io);
  try {
    const layer = layerArg(args.options.layer, 'layer', r.layers.count);
    const s = await r.layers.readFile(args.positionals[1]!, { ...(layer !== undefined ? { layer } : {}), ...(start !== undefined ? { start } : {}), ...(end !== undefined ? { end } : {}) });
    for await (const c of s) {
      if (io.stdoutBytes) io.stdoutBytes(c as Buffer);
      else io.stdout((c as Buffer).toString('utf8'));
    }
  } finally {
    await r.close();
  }
  return 0;
}
