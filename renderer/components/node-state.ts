import type { GraphNode, LayerSummary } from '../../shared/api/contract.js';

// What the graph's nodes and the inspector both show of a node's state: its problem badges, and the
// layer state learnt after the graph was read. Its own module so GraphPane and Inspector do not import
// each other (lint refuses import cycles).

/** Short labels for a node's problems (what the graph's badges and the inspector show). */
export function problemBadges(node: GraphNode): string[] {
  const out = new Set<string>();
  if (node.verify === 'missing') out.add('missing');
  for (const p of node.problems) {
    if (p.code === 'BLOB_MISSING') out.add('missing');
    else if (p.code === 'DIGEST_MISMATCH' || p.code === 'SIZE_MISMATCH' || p.code === 'DIFFID_MISMATCH') out.add('digest mismatch');
    else if (p.code === 'SCHEMA_INVALID' || p.code === 'JSON_INVALID' || p.code === 'MANIFEST_JSON_INVALID') out.add('schema error');
    else out.add(p.code.toLowerCase().replace(/_/g, ' '));
  }
  if (node.verify === 'failed' && !out.has('digest mismatch')) out.add('digest mismatch');
  return [...out];
}

/**
 * The node as known now: the graph is read once, before any layer is; layers are verified when first read
 * (indexing), so the image summary's verify state and problems (a digest mismatch found then) are newer.
 */
export function withLayerState(n: GraphNode, layer: Pick<LayerSummary, 'verify' | 'problems'> | undefined): GraphNode {
  if (!layer) return n;
  const problems = [...n.problems, ...layer.problems.filter((p) => !n.problems.some((q) => q.code === p.code))];
  return { ...n, verify: layer.verify, problems };
}
