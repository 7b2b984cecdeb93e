import type { DiffEntry } from '../layers/diff.js';
import type { Package } from '../packages/types.js';
import { humanBytes } from '../util/bytes.js';
import type { CompareResult } from './compare.js';
import type { HistoryStep } from './history.js';

// A comparison as a Markdown report (the app's "Export report…", `compare --markdown`): summary,
// config, history, packages, files. Long lists are cut with a line saying how many were left out.

const MAX_FILE_ROWS = 1000;

function cell(s: string | undefined): string {
  if (s === undefined) return '—';
  const t = s.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
  return t.length > 200 ? `${t.slice(0, 199)}…` : t || '""';
}

function code(s: string | undefined): string {
  return s === undefined ? '—' : `\`${cell(s).replace(/`/g, "'")}\``;
}

function table(head: string[], rows: string[][]): string {
  return [`| ${head.join(' | ')} |`, `|${head.map(() => ' --- ').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

function signed(n: number): string {
  return `${n > 0 ? '+' : n < 0 ? '−' : '±'}${humanBytes(Math.abs(n))}`;
}

function name(r: CompareResult['a']): string {
  return r.names[0] ?? r.manifest.slice(0, 19);
}

function step(s: HistoryStep | undefined): string {
  if (!s) return '—';
  const what = cell(s.createdBy ?? s.comment ?? '(no command recorded)');
  return s.emptyLayer ? `${what} *(no layer)*` : `${what} (layer ${s.layer}${s.size !== undefined ? `, ${humanBytes(s.size)}` : ''})`;
}

function pkgRow(p: Package): string[] {
  return [p.ecosystem, cell(p.name), cell(p.version), p.layer === undefined ? '—' : String(p.layer), humanBytes(p.bytes)];
}

function fileRow(e: DiffEntry): string[] {
  const what = e.status === 'modified' ? (e.changes ?? []).join(', ') : e.status;
  const type = (e.after ?? e.before)?.type ?? '';
  return [e.status === 'added' ? 'A' : e.status === 'removed' ? 'D' : 'M', code(`/${e.path}`), type, what, e.sizeDelta ? signed(e.sizeDelta) : ''];
}

export function compareReport(r: CompareResult): string {
  const t = r.totals;
  const out: string[] = [];
  out.push(`# ${cell(name(r.a))} → ${cell(name(r.b))}`, '');
  out.push(
    r.identical ? 'The two are the same image (same manifest digest).' : t.different ? 'The images differ.' : 'The images have the same configuration, steps, files and packages (their manifests differ).',
    '',
  );
  out.push('## Summary', '');
  out.push(
    table(
      ['', 'A', 'B'],
      [
        ['Manifest', code(r.a.manifest), code(r.b.manifest)],
        ['Platform', cell(r.a.platform), cell(r.b.platform)],
        ['Layers', String(r.a.layers), String(r.b.layers)],
        ['Size (layer blobs)', humanBytes(r.a.size), `${humanBytes(r.b.size)} (${signed(t.sizeDelta)})`],
        ['Packages', String(r.a.packages), String(r.b.packages)],
      ],
    ),
    '',
  );
  out.push(
    `- Layers: ${t.layers.shared} shared (${t.layers.sharedBase} in the common base)`,
    `- Config: ${t.configChanges} difference${t.configChanges === 1 ? '' : 's'}`,
    `- Files: ${t.files.added} added (${signed(t.files.addedBytes)}), ${t.files.modified} modified (${signed(t.files.modifiedBytesDelta)}), ${t.files.removed} removed (${signed(-t.files.removedBytes)})`,
    `- Packages: ${t.packages.added} added, ${t.packages.removed} removed, ${t.packages.upgraded} upgraded, ${t.packages.downgraded} downgraded${t.packages.changed ? `, ${t.packages.changed} changed` : ''}`,
    '',
  );
  if (r.config.length) {
    out.push('## Configuration', '', table(['Field', 'Key', 'A', 'B'], r.config.map((c) => [c.field, cell(c.key), code(c.before), code(c.after)])), '');
  }
  out.push('## History', '', table(['#', 'A', 'B', ''], r.history.rows.map((row, i) => [String(i), step(row.a), step(row.b), row.shared ? 'shared' : ''])), '');
  const p = r.packages;
  if (p.added.length || p.removed.length || p.changed.length) {
    out.push('## Packages', '');
    if (p.added.length) out.push('### Added', '', table(['Ecosystem', 'Name', 'Version', 'Layer (B)', 'Size'], p.added.map(pkgRow)), '');
    if (p.removed.length) out.push('### Removed', '', table(['Ecosystem', 'Name', 'Version', 'Layer (A)', 'Size'], p.removed.map(pkgRow)), '');
    if (p.changed.length) {
      out.push('### Changed versions', '', table(['Ecosystem', 'Name', 'A', 'B', ''], p.changed.map((c) => [c.after.ecosystem, cell(c.after.name), cell(c.before.version), cell(c.after.version), c.direction === 'same' ? 'changed' : `${c.direction}d`])), '');
    }
  }
  if (r.files.entries.length) {
    const shown = r.files.entries.slice(0, MAX_FILE_ROWS);
    out.push('## Files', '', table(['', 'Path', 'Type', 'Change', 'Bytes'], shown.map(fileRow)), '');
    if (r.files.entries.length > shown.length) out.push(`… and ${r.files.entries.length - shown.length} more changed paths (use \`oci-explorer compare --json\` for all).`, '');
  }
  const probs = [...r.problems.a.map((x) => ['A', x.code, cell(x.message)]), ...r.problems.b.map((x) => ['B', x.code, cell(x.message)])];
  if (probs.length) out.push('## Problems', '', table(['Image', 'Code', 'Problem'], probs), '');
  return out.join('\n');
}
