import { compareImages, type CompareResult } from '../../compare/compare.js';
import type { HistoryStep } from '../../compare/history.js';
import { compareReport } from '../../compare/report.js';
import { toExplorerError } from '../../errors.js';
import { openImage, type OpenedImage } from '../../layers/open-image.js';
import { defaultCacheDir } from '../../layers/store.js';
import { humanBytes } from '../../ui/format.js';
import { IMAGE_OPTIONS, imageChoice, openSourceArg, parseArgs, usageError, type ParsedArgs } from '../args.js';
import type { CliIO } from '../io.js';
import { table } from './packages.js';

export const COMPARE_USAGE = `Usage: oci-explorer compare <sourceA> <sourceB> [--json | --markdown]

Compares two images (any two sources: layouts, archives, different formats): config (env, entrypoint,
cmd, user, workdir, labels, exposed ports, volumes, platform), history with the shared base layers
(same diff_id), the merged filesystems (added / modified / removed, what changed, byte deltas) and
packages (added / removed / upgraded). Layers both images share are read once.
--json      the whole comparison as one JSON object
--markdown  a Markdown report
--platform, --image pick the image in both sources (a source's own tag, oci:PATH:TAG, also works).
Exit status as diff(1): 0 the same, 1 different, 2 trouble.`;

export async function runCompare(argv: string[], io: CliIO): Promise<number> {
  const args = parseArgs(argv, { ...IMAGE_OPTIONS, json: { type: 'boolean' }, markdown: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } });
  if (args.options.help) {
    io.stdout(COMPARE_USAGE + '\n');
    return 0;
  }
  if (args.positionals.length !== 2) throw usageError('compare needs two sources: <sourceA> <sourceB>.');
  if (args.options.json && args.options.markdown) throw usageError('Give --json or --markdown, not both.');
  const opened: OpenedImage[] = [];
  try {
    // One cache folder for both: a layer indexed for A is loaded, not read again, for B.
    for (const spec of args.positionals) opened.push(await openOne(spec, args, io));
    const r = await compareImages(opened[0]!.image, opened[1]!.image);
    for (const [k, ps] of [['A', r.problems.a], ['B', r.problems.b]] as const) for (const p of ps) io.stderr(`${k}: ${p.code}: ${p.message}\n`);
    if (args.options.json) io.stdout(JSON.stringify(r) + '\n');
    else if (args.options.markdown) io.stdout(compareReport(r) + '\n');
    else io.stdout(readable(r));
    return r.totals.different ? 1 : 0;
  } catch (e) {
    // Trouble is 2, as for diff(1) (main() would make it 1).
    const err = toExplorerError(e);
    io.stderr(`oci-explorer compare: ${err.message.replace(/\s*\n\s*/g, ' ')}\n`);
    return 2;
  } finally {
    for (const o of opened) await o.close();
  }
}

async function openOne(spec: string, args: ParsedArgs, io: CliIO): Promise<OpenedImage> {
  const src = await openSourceArg(spec, io);
  return openImage(src.source, imageChoice(args, src), { cacheDir: defaultCacheDir(io.env) });
}

function step(s: HistoryStep | undefined): string {
  if (!s) return '';
  const cmd = (s.createdBy ?? s.comment ?? '').replace(/\s+/g, ' ');
  const short = cmd.length > 60 ? `${cmd.slice(0, 59)}…` : cmd;
  return s.emptyLayer ? `${short} (no layer)` : `${short} [L${s.layer}]`;
}

function readable(r: CompareResult): string {
  const out: string[] = [];
  const t = r.totals;
  out.push(`A: ${r.a.names[0] ?? ''} ${r.a.manifest}`, `B: ${r.b.names[0] ?? ''} ${r.b.manifest}`, '');
  if (r.config.length) {
    out.push('Config:');
    for (const c of r.config) out.push(`  ${c.field}${c.key !== undefined ? ` ${c.key}` : ''}: ${c.before === undefined ? '(unset)' : JSON.stringify(c.before)} -> ${c.after === undefined ? '(unset)' : JSON.stringify(c.after)}`);
    out.push('');
  }
  out.push('History:');
  out.push(table([['', 'A', 'B'], ...r.history.rows.map((row) => [row.shared ? '=' : '≠', step(row.a), step(row.b)])]).trimEnd().replace(/^/gm, '  '), '');
  const p = r.packages;
  if (p.added.length || p.removed.length || p.changed.length) {
    out.push('Packages:');
    for (const x of p.added) out.push(`  + ${x.ecosystem} ${x.name} ${x.version}`);
    for (const x of p.removed) out.push(`  - ${x.ecosystem} ${x.name} ${x.version}`);
    for (const c of p.changed) out.push(`  ~ ${c.after.ecosystem} ${c.after.name} ${c.before.version} -> ${c.after.version}${c.direction === 'same' ? '' : ` (${c.direction}d)`}`);
    out.push('');
  }
  if (r.files.entries.length) {
    out.push('Files:');
    for (const e of r.files.entries) {
      const mark = { added: 'A', modified: 'M', removed: 'D', unchanged: ' ' }[e.status];
      const why = e.status === 'modified' ? ` (${e.changes!.join(', ')}${e.sizeDelta ? `, ${e.sizeDelta > 0 ? '+' : ''}${e.sizeDelta} B` : ''})` : e.sizeDelta ? ` (${e.sizeDelta > 0 ? '+' : ''}${e.sizeDelta} B)` : '';
      out.push(`  ${mark}  /${e.path}${why}`);
    }
    out.push('');
  }
  out.push(
    `Layers: ${t.layers.a} / ${t.layers.b}, ${t.layers.shared} shared (${t.layers.sharedBase} in the common base); size ${humanBytes(r.a.size)} -> ${humanBytes(r.b.size)}.`,
    `Config: ${t.configChanges} difference(s). Files: ${t.files.added} added (+${t.files.addedBytes} B), ${t.files.modified} modified (${t.files.modifiedBytesDelta >= 0 ? '+' : ''}${t.files.modifiedBytesDelta} B), ${t.files.removed} removed (-${t.files.removedBytes} B).`,
    `Packages: ${t.packages.added} added, ${t.packages.removed} removed, ${t.packages.upgraded} upgraded, ${t.packages.downgraded} downgraded.`,
    r.identical ? 'Same image.' : t.different ? 'The images differ.' : 'No differences.',
  );
  return out.join('\n') + '\n';
}
