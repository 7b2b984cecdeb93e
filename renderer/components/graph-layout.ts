import dagre from '@dagrejs/dagre';
import type { GraphEdge, ImageGraph } from '../../shared/api/contract.js';

// Left-to-right layout of the descriptor graph: index → manifests → config + layers, attestations and
// referrers placed beside their subject. "subject" edges are the reverse of "referrer" edges and are
// left out so the layout stays acyclic.

export const NODE_W = 236;
export const NODE_H = 78;

export interface Laid {
  positions: Map<string, { x: number; y: number }>;
  edges: GraphEdge[];
  children: Map<string, string[]>;
  parents: Map<string, string[]>;
}

export function layoutGraph(graph: ImageGraph): Laid {
  const g = new dagre.graphlib.Graph();
  g.setGraph({ rankdir: 'LR', nodesep: 14, ranksep: 70, marginx: 20, marginy: 20 });
  g.setDefaultEdgeLabel(() => ({}));
  for (const n of graph.nodes) g.setNode(n.digest, { width: NODE_W, height: NODE_H });
  const known = new Set(graph.nodes.map((n) => n.digest));
  const edges = graph.edges.filter((e) => e.role !== 'subject' && known.has(e.from) && known.has(e.to) && e.from !== e.to);
  const seen = new Set<string>();
  const children = new Map<string, string[]>();
  const parents = new Map<string, string[]>();
  const ordered = [...edges].sort((a, b) => roleRank(a.role) - roleRank(b.role) || (a.index ?? 0) - (b.index ?? 0));
  for (const e of ordered) {
    const k = e.from + '>' + e.to;
    if (seen.has(k)) continue;
    seen.add(k);
    g.setEdge(e.from, e.to);
    push(children, e.from, e.to);
    push(parents, e.to, e.from);
  }
  dagre.layout(g);
  const positions = new Map<string, { x: number; y: number }>();
  for (const n of graph.nodes) {
    const p = g.node(n.digest) as { x: number; y: number } | undefined;
    positions.set(n.digest, { x: (p?.x ?? 0) - NODE_W / 2, y: (p?.y ?? 0) - NODE_H / 2 });
  }
  return { positions, edges, children, parents };
}

function roleRank(r: GraphEdge['role']): number {
  return ['manifest', 'config', 'layer', 'attestation', 'referrer', 'subject'].indexOf(r);
}

function push(m: Map<string, string[]>, k: string, v: string) {
  const l = m.get(k);
  if (l) {
    if (!l.includes(v)) l.push(v);
  } else m.set(k, [v]);
}
