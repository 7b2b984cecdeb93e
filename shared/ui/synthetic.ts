// What to call a node the source made up (GraphNode.synthetic): an OCI layout's index.json (it has no blob
// of its own) or a manifest synthesized from a docker save archive's manifest.json / repositories file.

export interface SyntheticInfo {
  /** Short text for the graph node. */
  badge: string;
  /** One line for the Inspector. */
  line: string;
}

export function syntheticInfo(node: { synthetic?: boolean; label?: string; kind: string }): SyntheticInfo | undefined {
  if (!node.synthetic) return undefined;
  const label = node.label ?? '';
  if (label === 'index.json') {
    return { badge: 'index.json', line: "The layout's index.json (not a blob: its digest is the file's hash)." };
  }
  // docker-archive labels: "manifest.json[i]" (one entry of manifest.json) or "repositories: name" (legacy).
  const from = label.startsWith('manifest.json') ? 'manifest.json' : label.startsWith('repositories') ? 'repositories' : label || 'the archive';
  return {
    badge: `from ${from}`,
    line: `Synthesized from the archive's ${label || from} (docker save stores no ${node.kind} blob).`,
  };
}
