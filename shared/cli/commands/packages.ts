import { ExplorerError } from '../../errors.js';
import { packagesOf } from '../../packages/scan.js';
import { ECOSYSTEMS, type Ecosystem, type LayerPackages, type Package } from '../../packages/types.js';
import { humanBytes } from '../../ui/format.js';
import { IMAGE_OPTIONS, parseArgs, usageError } from '../args.js';
import type { CliIO } from '../io.js';
import { layerArg, openLayersForCli } from './_layers.js';

export const PACKAGES_USAGE = `Usage: oci-explorer packages <source> [--layer N] [--ecosystem E[,E…]] [--json]

The packages installed in the image: dpkg (status, distroless status.d), apk, rpm (rpmdb.sqlite),
Python (dist-info, egg-info), npm (node_modules) and Go modules (build info of Go binaries), with
version, source, licence, the layer that added or last changed each, and its files' bytes.
Then, per layer, what that layer's package databases added, removed and changed.
--layer N       the image as of layer N (merged layers 0..N), and layer N's changes in full
--ecosystem E   only these ecosystems (${ECOSYSTEMS.join(', ')})
--json          {"packages": [...], "problems": [...], "perLayer": [{"layer","added","removed","changed"}]}`;

export async function runPackages(argv: string[], io: CliIO): Promise<number> {
  const args = parseArgs(argv, { ...IMAGE_OPTIONS, layer: { type: 'string' }, ecosystem: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } });
  if (args.options.help) {
    io.stdout(PACKAGES_USAGE + '\n');
    return 0;
  }
  if (args.positionals.length !== 1) throw usageError('packages needs one <source>.');
  const ecosystems = parseEcosystems(args.options.ecosystem);
  const r = await openLayersForCli(args, io);
  try {
    const layer = layerArg(args.options.layer, 'layer', r.layers.count);
    const result = await packagesOf(r.image, { ...(layer !== undefined ? { layer } : {}), ...(ecosystems ? { ecosystems } : {}) });
    for (const p of result.problems) io.stderr(`packages: ${p.code}: ${p.message}\n`);
    if (args.options.json) {
      io.stdout(JSON.stringify(result) + '\n');
      return 0;
    }
    io.stdout(packageTable(result.packages));
    io.stdout(`${result.packages.length} packages${summaryByEcosystem(result.packages)}.\n`);
    if (layer !== undefined) {
      const d = result.perLayer[layer];
      if (d) io.stdout(`\nLayer ${layer}:\n${layerDetail(d)}`);
    } else {
      const lines = result.perLayer.filter((d) => d.added.length || d.removed.length || d.changed.length).map((d) => `  layer ${d.layer}: ${counts(d)}`);
      if (lines.length) io.stdout(`\nPer layer:\n${lines.join('\n')}\n`);
    }
  } finally {
    await r.close();
  }
  return 0;
}

function parseEcosystems(v: unknown): Ecosystem[] | undefined {
  if (v === undefined) return undefined;
  const list = String(v)
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const bad = list.filter((e) => !ECOSYSTEMS.includes(e as Ecosystem));
  if (bad.length || !list.length) throw new ExplorerError('INVALID_ARGUMENT', `--ecosystem ${String(v)}: use one or more of ${ECOSYSTEMS.join(', ')}, separated by commas.`);
  return list as Ecosystem[];
}

/** Columns padded to their widest cell; the last column is not padded. */
export function table(rows: string[][]): string {
  if (!rows.length) return '';
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  return rows.map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]!))).join('  ').trimEnd()).join('\n') + '\n';
}

export function packageTable(packages: Package[]): string {
  if (!packages.length) return 'No packages found.\n';
  const rows = [['ECOSYSTEM', 'NAME', 'VERSION', 'ARCH', 'LAYER', 'FILES', 'SIZE', 'SOURCE', 'LICENSE']];
  for (const p of packages) {
    rows.push([p.ecosystem, p.name, p.version || '-', p.arch ?? '-', p.layer === undefined ? '-' : String(p.layer), String(p.files), humanBytes(p.bytes), p.source ?? '-', clip(p.license ?? '-', 60)]);
  }
  return table(rows);
}

/** Long licence lists (DEP-5 files name dozens) are cut in the table; --json has them whole. */
function clip(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n - 1)}…` : s;
}

function summaryByEcosystem(ps: Package[]): string {
  const n = new Map<string, number>();
  for (const p of ps) n.set(p.ecosystem, (n.get(p.ecosystem) ?? 0) + 1);
  return n.size > 1 ? ` (${[...n].map(([e, k]) => `${k} ${e}`).join(', ')})` : '';
}

function counts(d: LayerPackages): string {
  const up = d.changed.filter((c) => c.direction === 'upgrade').length;
  const down = d.changed.filter((c) => c.direction === 'downgrade').length;
  const other = d.changed.length - up - down;
  const parts = [`${d.added.length} added`, `${d.removed.length} removed`, `${up} upgraded`];
  if (down) parts.push(`${down} downgraded`);
  if (other) parts.push(`${other} changed`);
  return parts.join(', ');
}

function layerDetail(d: LayerPackages): string {
  const lines = [
    ...d.added.map((p) => `  + ${p.ecosystem} ${p.name} ${p.version}`),
    ...d.removed.map((p) => `  - ${p.ecosystem} ${p.name} ${p.version}`),
    ...d.changed.map((c) => `  ~ ${c.after.ecosystem} ${c.after.name} ${c.before.version} -> ${c.after.version} (${c.direction === 'same' ? 'changed' : `${c.direction}d`})`),
  ];
  return `${lines.length ? lines.join('\n') + '\n' : '  no package changes\n'}  ${counts(d)}\n`;
}
