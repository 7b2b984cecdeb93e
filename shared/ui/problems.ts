import type { GraphNode } from '../api/contract.js';

/** Short badges for a node's problems (what the graph node and the inspector show). */
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
