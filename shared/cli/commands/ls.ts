import type { MergedEntry } from '../../layers/merge.js';
import { IMAGE_OPTIONS, parseArgs, usageError } from '../args.js';
import type { CliIO } from '../io.js';
import { layerArg, openLayersForCli } from './_layers.js';
import { escapeForDisplay } from '../../tar/names.js';

export const LS_USAGE = `Usage: oci-explorer ls <source> [--platform os/arch[/variant]] [--image DIGEST] [--layer N | --merged] [--json]

Lists the files of an image: the merged root filesystem (default, --merged) or what layer N's own
tar holds (--layer N, bottom layer = 0; whiteouts are not listed, see \`diff --layer N\`).
Names are printed with control characters and non-UTF-8 bytes escaped (\\n, \\x1b, \\xe9; a
backslash is doubled); --json keeps them exact (non-UTF-8 bytes as \\udc80-\\udcff).
--json  one JSON object per line: {"path","type","size","mode","uid","gid","linkname"?,"layer"}
        (mode = permission bits incl. setuid/setgid/sticky; size of a hard link = its target's).`;

export function entryJson(e: MergedEntry): Record<string, unknown> {
  const o: Record<string, unknown> = { path: e.path, type: e.type, size: e.size, mode: e.mode, uid: e.uid, gid: e.gid };
  if (e.linkname !== undefined) o.linkname = e.linkname;
  o.layer = e.layer;
  return o;
}

function modeString(e: MergedEntry): string {
  const t = { file: '-', dir: 'd', symlink: 'l', hardlink: 'h', char: 'c', block: 'b', fifo: 'p' }[e.type];
  const m = e.mode;
  const rwx = (bits: number, special: boolean, ch: string) => `${bits & 4 ? 'r' : '-'}${bits & 2 ? 'w' : '-'}${special ? (bits & 1 ? ch : ch.toUpperCase()) : bits & 1 ? 'x' : '-'}`;
  return t + rwx(m >> 6, (m & 0o4000) !== 0, 's') + rwx(m >> 3, (m & 0o2000) !== 0, 's') + rwx(m, (m & 0o1000) !== 0, 't');
}

export async function runLs(argv: string[], io: CliIO): Promise<number> {
  const args = parseArgs(argv, { ...IMAGE_OPTIONS, layer: { type: 'string' }, merged: { type: 'boolean' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } });
  if (args.options.help) {
    io.stdout(LS_USAGE + '\n');
    return 0;
  }
  if (args.positionals.length !== 1) throw usageError('ls needs one <source>.');
  if (args.options.layer !== undefined && args.options.merged) throw usageError('Give either --layer N or --merged, not both.');
  const r = await openLayersForCli(args, io);
  try {
    const layer = layerArg(args.options.layer, 'layer', r.layers.count);
    // A layer's own listing = the entries layer N puts in the stack 0..N (duplicates resolved, markers
    // hidden, hard links sized from their targets even when those are in lower layers).
    const tree = layer === undefined ? r.layers.mergedTree() : r.layers.mergedTree(layer);
    let out: string[] = [];
    const flush = () => {
      if (out.length) io.stdout(out.join(''));
      out = [];
    };
    for (const p of tree.walk()) {
      const e = tree.get(p)!;
      if (layer !== undefined && e.layer !== layer) continue;
      if (args.options.json) out.push(JSON.stringify(entryJson(e)) + '\n');
      else out.push(`${modeString(e)} ${String(e.uid).padStart(5)}/${String(e.gid).padEnd(5)} ${String(e.size).padStart(10)}  L${e.layer}  ${escapeForDisplay(e.path)}${e.linkname !== undefined ? (e.type === 'symlink' ? ' -> ' : ' link to ') + escapeForDisplay(e.linkname) : ''}\n`);
      if (out.length >= 1000) flush();
    }
    flush();
  } finally {
    await r.close();
  }
  return 0;
}
