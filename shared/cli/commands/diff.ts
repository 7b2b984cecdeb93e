import { diffTrees, type DiffEntry } from '../../layers/diff.js';
import { IMAGE_OPTIONS, parseArgs, usageError } from '../args.js';
import type { CliIO } from '../io.js';
import { layerArg, openLayersForCli } from './_layers.js';
import { escapeForDisplay } from '../../tar/names.js';

export const DIFF_USAGE = `Usage: oci-explorer diff <source> --layer N | --from A --to B [--json] [--aggregated]

What changed: --layer N = what layer N did on top of layers 0..N-1 (dive's "this layer");
--layer N --aggregated = layers 1..N on top of layer 0; --from A --to B = the merged filesystem
at layer A against the one at layer B. Removed paths name the layer that removed them.
--json  one JSON object per changed path: {"path","status","changes"?,"sizeDelta","layer"?,"removedBy"?}`;

function json(e: DiffEntry): Record<string, unknown> {
  const o: Record<string, unknown> = { path: e.path, status: e.status };
  if (e.changes) o.changes = e.changes;
  o.sizeDelta = e.sizeDelta;
  if (e.after) o.layer = e.after.layer;
  if (e.removedBy !== undefined) o.removedBy = e.removedBy;
  if (e.after) o.type = e.after.type;
  else if (e.before) o.type = e.before.type;
  return o;
}

export async function runDiff(argv: string[], io: CliIO): Promise<number> {
  const args = parseArgs(argv, { ...IMAGE_OPTIONS, layer: { type: 'string' }, from: { type: 'string' }, to: { type: 'string' }, aggregated: { type: 'boolean' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } });
  if (args.options.help) {
    io.stdout(DIFF_USAGE + '\n');
    return 0;
  }
  if (args.positionals.length !== 1) throw usageError('diff needs one <source>.');
  const byLayer = args.options.layer !== undefined;
  const byRange = args.options.from !== undefined || args.options.to !== undefined;
  if (byLayer === byRange) throw usageError('Give --layer N, or --from A --to B.');
  if (byRange && (args.options.from === undefined || args.options.to === undefined)) throw usageError('--from and --to go together.');
  const r = await openLayersForCli(args, io);
  try {
    const n = r.layers.count;
    const at = (k: string) => layerArg(args.options[k], k, n)!;
    let d: ReturnType<typeof diffTrees>;
    if (byLayer) d = args.options.aggregated ? r.image.diff({ start: 0, end: 0 }, { start: 1, end: at('layer') }) : r.image.layerDiff(at('layer'));
    else {
      const [a, b] = [at('from'), at('to')];
      // Forwards is one stack on top of another; backwards compares the two merged trees as they are.
      d = a < b ? r.image.diff({ start: 0, end: a }, { start: a + 1, end: b }) : diffTrees(r.layers.mergedTree(a), r.layers.mergedTree(b));
    }
    const lines: string[] = [];
    for (const e of d.entries) {
      if (args.options.json) lines.push(JSON.stringify(json(e)));
      else {
        const mark = { added: 'A', modified: 'M', removed: 'D', unchanged: ' ' }[e.status];
        const extra = e.status === 'modified' ? ` (${e.changes!.join(', ')}${e.sizeDelta ? `, ${e.sizeDelta > 0 ? '+' : ''}${e.sizeDelta} B` : ''})` : e.status === 'removed' && e.removedBy !== undefined ? ` (removed by layer ${e.removedBy})` : e.status === 'added' && e.sizeDelta ? ` (+${e.sizeDelta} B)` : '';
        lines.push(`${mark}  ${escapeForDisplay(e.path)}${extra}`);
      }
    }
    if (lines.length) io.stdout(lines.join('\n') + '\n');
    if (!args.options.json) {
      const s = d.summary;
      io.stdout(`${s.added} added (+${s.addedBytes} B), ${s.modified} modified (${s.modifiedBytesDelta >= 0 ? '+' : ''}${s.modifiedBytesDelta} B), ${s.removed} removed (-${s.removedBytes} B).\n`);
    }
  } finally {
    await r.close();
  }
  return 0;
}
