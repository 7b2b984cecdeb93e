import { buildGraph } from '../../graph/build.js';
import { listImages } from '../../graph/select.js';
import type { GraphEdge, GraphNode, ImageGraph } from '../../graph/types.js';
import { shortDigest } from '../../oci/digest.js';
import { formatPlatform } from '../../oci/platform.js';
import { openSourceArg, parseArgs, usageError } from '../args.js';
import type { CliIO } from '../io.js';
import { DockerStoreSource } from '../../sources/docker-store.js';
import { renderStoreWalk } from './_store-walk.js';
import { escapeForDisplay, escapeText } from '../../tar/names.js';

export const INSPECT_USAGE = `Usage: oci-explorer inspect <source> [--json]

Reads every index, manifest and config of <source> (verified against digest and size) and prints
the descriptor graph; layers are checked for presence and size only (verified when first read).

<source>  an OCI layout folder, an OCI archive (.tar, .tar.gz), a docker save archive, or an image
          reference (ruby:2.7.2-slim, docker://…: manifests and configs are fetched, no layer);
          prefixes oci:PATH[:TAG], oci-archive:PATH, docker-archive:PATH override detection.
--json    print {nodes, edges, roots} as JSON instead of a tree.
--insecure  allow plain HTTP / unverified TLS for a registry that is not on this machine.`;

/** The `--json` shape of issue 2: exactly these keys, nothing internal. */
export function graphToJson(graph: ImageGraph): unknown {
  return {
    nodes: graph.nodes.map((n) => {
      const o: Record<string, unknown> = { digest: n.digest, mediaType: n.mediaType, size: n.size, kind: n.kind };
      if (n.platform) o.platform = n.platform;
      if (n.annotations && Object.keys(n.annotations).length) o.annotations = n.annotations;
      o.problems = n.problems.map((p) => ({ code: p.code, message: p.message }));
      return o;
    }),
    edges: graph.edges.map((e) => ({ from: e.from, to: e.to, role: e.role })),
    roots: graph.roots,
  };
}

export async function runInspect(argv: string[], io: CliIO): Promise<number> {
  const args = parseArgs(argv, { json: { type: 'boolean' }, insecure: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } });
  if (args.options.help) {
    io.stdout(INSPECT_USAGE + '\n');
    return 0;
  }
  if (args.positionals.length !== 1) throw usageError(args.positionals.length ? 'inspect takes one <source>.' : 'inspect needs a <source>.');
  const opened = await openSourceArg(args.positionals[0]!, io, undefined, { insecure: args.options.insecure === true });
  try {
    const graph = await buildGraph(opened.source);
    if (args.options.json) io.stdout(JSON.stringify(graphToJson(graph), null, 2) + '\n');
    else io.stdout(renderTree(graph, opened.source.location));
    // docker-store sources also show the store's own structure (issue 13).
    if (!args.options.json && opened.source instanceof DockerStoreSource) io.stdout(renderStoreWalk(await opened.source.storeWalk()));
  } finally {
    await opened.source.close();
  }
  return 0;
}

function formatSize(n: number): string {
  if (n < 0) return '? B';
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

function nodeLine(n: GraphNode): string {
  const parts = [n.kind, shortDigest(n.digest)];
  if (n.label) parts.push(`(${n.label})`);
  if (n.names?.length) parts.push(n.names.map((x) => `"${escapeForDisplay(x)}"`).join(', '));
  if (n.platform) parts.push(formatPlatform(n.platform));
  parts.push(n.mediaType || '(no media type)', formatSize(n.size), n.verify);
  return parts.join('  ');
}

const CHILD_ROLES: GraphEdge['role'][] = ['manifest', 'config', 'layer', 'attestation', 'referrer'];

/** An indented tree from the roots; a node reached twice is printed once and then referred to. */
export function renderTree(graph: ImageGraph, location: string): string {
  const nodes = new Map(graph.nodes.map((n) => [n.digest, n]));
  const children = new Map<string, GraphEdge[]>();
  for (const e of graph.edges) {
    if (!CHILD_ROLES.includes(e.role)) continue;
    const l = children.get(e.from) ?? [];
    l.push(e);
    children.set(e.from, l);
  }
  const order = (e: GraphEdge): number => CHILD_ROLES.indexOf(e.role);
  for (const l of children.values()) l.sort((a, b) => order(a) - order(b) || (a.index ?? 0) - (b.index ?? 0));

  const lines: string[] = [escapeText(location)];
  const shown = new Set<string>();
  const walk = (d: string, prefix: string, last: boolean, role: string | undefined, top: boolean): void => {
    const n = nodes.get(d);
    if (!n) return;
    const branch = top ? '' : last ? '└─ ' : '├─ ';
    const rolePrefix = role === 'referrer' || role === 'attestation' ? `${role} → ` : '';
    const childPrefix = top ? '' : prefix + (last ? '   ' : '│  ');
    if (shown.has(d)) {
      lines.push(`${prefix}${branch}${rolePrefix}${n.kind}  ${shortDigest(d)}  (shown above)`);
      return;
    }
    shown.add(d);
    lines.push(`${prefix}${branch}${rolePrefix}${escapeText(nodeLine(n))}`);
    const kids = children.get(d) ?? [];
    const bar = kids.length ? '│  ' : '   ';
    for (const p of n.problems) lines.push(`${childPrefix}${bar}! ${p.code}: ${escapeText(p.message)}`);
    kids.forEach((e, i) => walk(e.to, childPrefix, i === kids.length - 1, e.role, false));
  };
  for (const r of graph.roots) walk(r, '', true, undefined, true);
  // Nodes not reachable from a root as a child (subjects reached only through `subject`) still show.
  for (const n of graph.nodes) if (!shown.has(n.digest)) walk(n.digest, '', true, undefined, true);

  const problems = graph.nodes.reduce((s, n) => s + n.problems.length, 0);
  const layers = graph.nodes.filter((n) => n.kind === 'layer');
  const pending = layers.filter((n) => n.verify === 'pending').length;
  lines.push('');
  lines.push(
    `${graph.nodes.length} nodes, ${plural(listImages(graph).length, "image")}, ${plural(layers.length, "layer")} (${pending} not read yet: verified when first read), ${problems} problem${problems === 1 ? '' : 's'}.`,
  );
  return lines.join('\n') + '\n';
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
