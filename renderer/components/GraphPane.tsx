import { Background, Controls, Handle, Position, ReactFlow, ReactFlowProvider, useReactFlow, type Edge, type Node, type NodeProps } from '@xyflow/react';
import { syntheticInfo } from '../../shared/ui/synthetic.js';
import { memo, useCallback, useEffect, useMemo, type KeyboardEvent } from 'react';
import type { GraphNode, LayerSummary } from '../../shared/api/contract.js';
import { humanBytes, platformString, shortDigest } from '../../shared/ui/format.js';
import { useGraph } from '../state/graph.js';
import { useImages } from '../state/image.js';
import { Inspector } from './Inspector.js';
import { problemBadges, withLayerState } from './node-state.js';
import { NODE_H, NODE_W, layoutGraph } from './graph-layout.js';

type DescData = { node: GraphNode; layer?: LayerSummary; layerIndex?: number; current: boolean; image?: { compressed: number; uncompressed?: number | undefined } };
type DescNode = Node<DescData, 'desc'>;

const KIND_LABEL: Record<string, string> = {
  index: 'Index', manifest: 'Manifest', config: 'Config', layer: 'Layer', attestation: 'Attestation', signature: 'Signature', artifact: 'Artifact', unknown: 'Unknown',
};

const VERIFY_ICON: Record<string, [string, string]> = {
  verified: ['✓', 'Digest and size verified'],
  pending: ['○', 'Not read yet: verified when first read'],
  failed: ['✗', 'Read and did not match its digest or size'],
  missing: ['?', 'The source does not have this blob'],
};

/** artifactType without the parts every one of them shares ("application/", "vnd."): the node is narrow. */
export function shortArtifactType(t: string): string {
  return t.replace(/^application\//, '').replace(/^vnd\./, '');
}

const DescNodeView = memo(function DescNodeView({ data, selected }: NodeProps<DescNode>) {
  const n = withLayerState(data.node, data.layer);
  const badges = problemBadges(n);
  const synth = syntheticInfo(n);
  const verify = n.verify;
  const [icon, iconTitle] = VERIFY_ICON[verify] ?? ['', ''];
  return (
    <div className={`gnode kind-${n.kind}${selected ? ' selected' : ''}${badges.length ? ' has-problems' : ''}${data.current ? ' current' : ''}`} data-digest={n.digest} data-kind={n.kind}>
      <Handle type="target" position={Position.Left} />
      <div className="gnode-head">
        <span className="gnode-kind">
          {KIND_LABEL[n.kind] ?? n.kind}
          {data.layerIndex !== undefined ? ` ${data.layerIndex + 1}` : ''}
        </span>
        {n.platform && <span className="badge platform">{platformString(n.platform)}</span>}
        {/* The name (a tag) sits in the head row: the meta row below is full with sizes on manifests. */}
        {n.names?.[0] && (
          <span className="gnode-name" title={n.names.join(', ')}>
            {n.names[0]}
          </span>
        )}
        <span className={`verify verify-${verify}`} title={iconTitle} aria-label={iconTitle}>
          {icon}
        </span>
      </div>
      <div className="gnode-digest">
        <span className="mono">{shortDigest(n.digest)}</span>
        {synth && (
          <span className="badge synthetic" title={synth.line}>
            {synth.badge}
          </span>
        )}
      </div>
      <div className="gnode-meta">
        {/* Problems first: the row is clipped at the node's width, and a problem must never be the part cut off. */}
        {badges.map((b) => (
          <span key={b} className="badge problem" title={n.problems.map((p) => p.message).join('\n')}>
            {b}
          </span>
        ))}
        <span title={`${n.size} bytes`}>{humanBytes(n.size)}</span>
        {data.layer?.uncompressedSize !== undefined && <span title="uncompressed"> → {humanBytes(data.layer.uncompressedSize)}</span>}
        {/* What a referrer or artifact is (an SBOM, a signature…), readable without opening it. */}
        {n.artifactType && (
          <span className="gnode-atype" title={n.artifactType}>
            · {shortArtifactType(n.artifactType)}
          </span>
        )}
        {data.image && (
          <span className="gnode-image" title={`image: layers ${humanBytes(data.image.compressed)} compressed${data.image.uncompressed !== undefined ? ` → ${humanBytes(data.image.uncompressed)} uncompressed` : ''}`}>
            · image {humanBytes(data.image.compressed)}
            {data.image.uncompressed !== undefined ? ` → ${humanBytes(data.image.uncompressed)}` : ''}
          </span>
        )}
      </div>
      <Handle type="source" position={Position.Right} />
    </div>
  );
});

const nodeTypes = { desc: DescNodeView };

function GraphCanvas({ sourceId }: { sourceId: string }) {
  const graph = useGraph((s) => s.graphs[sourceId]?.graph);
  const selected = useGraph((s) => s.selected[sourceId]);
  const select = useGraph((s) => s.select);
  const summary = useImages((s) => s.images[sourceId]?.summary);
  const flow = useReactFlow();

  const laid = useMemo(() => (graph ? layoutGraph(graph) : undefined), [graph]);
  const nodes: DescNode[] = useMemo(() => {
    if (!graph || !laid) return [];
    const layerByDigest = new Map(summary?.layers.map((l) => [l.digest, l]) ?? []);
    return graph.nodes.map((n) => {
      const layer = n.kind === 'layer' ? layerByDigest.get(n.digest) : undefined;
      const layerEdge = laid.edges.find((e) => e.to === n.digest && e.role === 'layer');
      const data: DescData = { node: n, current: summary?.ref.manifest === n.digest };
      if (layer) data.layer = layer;
      if (layerEdge?.index !== undefined) data.layerIndex = layerEdge.index;
      if (data.current && summary) data.image = { compressed: summary.compressedSize, uncompressed: summary.uncompressedSize };
      return { id: n.digest, type: 'desc' as const, position: laid.positions.get(n.digest)!, data, selected: n.digest === selected, width: NODE_W, height: NODE_H };
    });
  }, [graph, laid, summary, selected]);
  const edges: Edge[] = useMemo(
    () =>
      laid?.edges.map((e) => ({
        id: `${e.from}>${e.to}:${e.role}:${e.index ?? ''}`,
        source: e.from,
        target: e.to,
        className: `edge-${e.role}`,
        animated: e.role === 'attestation' || e.role === 'referrer',
        label: e.role === 'attestation' || e.role === 'referrer' ? e.role : undefined,
      })) ?? [],
    [laid],
  );

  const focus = useCallback(
    (digest: string) => {
      select(sourceId, digest);
      const p = laid?.positions.get(digest);
      if (p) void flow.setCenter(p.x + NODE_W / 2, p.y + NODE_H / 2, { zoom: Math.max(flow.getZoom(), 0.8), duration: 150 });
    },
    [select, sourceId, laid, flow],
  );

  // Clicking a digest in the inspector selects a node; bring it into view.
  useEffect(() => {
    if (!selected || !laid) return;
    const p = laid.positions.get(selected);
    const vp = flow.getViewport();
    const el = document.querySelector('.graph-canvas');
    if (!p || !el) return;
    const r = el.getBoundingClientRect();
    const sx = p.x * vp.zoom + vp.x;
    const sy = p.y * vp.zoom + vp.y;
    if (sx < 0 || sy < 0 || sx + NODE_W * vp.zoom > r.width || sy + NODE_H * vp.zoom > r.height) {
      void flow.setCenter(p.x + NODE_W / 2, p.y + NODE_H / 2, { zoom: vp.zoom, duration: 150 });
    }
  }, [selected, laid, flow]);

  const onKeyDown = (e: KeyboardEvent) => {
    if (!laid || !graph) return;
    const cur = selected ?? graph.roots[0];
    if (!cur) return;
    const parent = laid.parents.get(cur)?.[0];
    let next: string | undefined;
    if (e.key === 'ArrowRight') next = laid.children.get(cur)?.[0];
    else if (e.key === 'ArrowLeft') next = parent;
    else if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      const sibs = parent ? (laid.children.get(parent) ?? []) : graph.roots;
      const i = sibs.indexOf(cur);
      if (i >= 0) next = sibs[(i + (e.key === 'ArrowDown' ? 1 : sibs.length - 1)) % sibs.length];
    } else if (e.key === 'Home') next = graph.roots[0];
    if (next) {
      e.preventDefault();
      focus(next);
    }
  };

  // Fit the whole graph when it stays readable (zoom ≥ 0.7); a taller graph starts at its top-left corner
  // at a readable zoom instead of as a column of unreadable boxes.
  const initialView = useCallback(() => {
    if (!laid) return;
    const el = document.querySelector('.graph-canvas');
    const ps = [...laid.positions.values()];
    if (!el || !ps.length) return;
    const r = el.getBoundingClientRect();
    const minX = Math.min(...ps.map((p) => p.x));
    const minY = Math.min(...ps.map((p) => p.y));
    const w = Math.max(...ps.map((p) => p.x)) + NODE_W - minX;
    const h = Math.max(...ps.map((p) => p.y)) + NODE_H - minY;
    const fit = Math.min(1, (r.width - 40) / w, (r.height - 40) / h);
    if (fit >= 0.7) void flow.fitView({ padding: 0.1, maxZoom: 1 });
    else {
      const zoom = 0.8;
      void flow.setViewport({ x: 20 - minX * zoom, y: 20 - minY * zoom, zoom });
    }
  }, [laid, flow]);

  if (!graph) return <div className="placeholder">Reading the descriptor graph…</div>;
  return (
    <div className="graph-canvas" tabIndex={0} onKeyDown={onKeyDown} aria-label="Descriptor graph: arrow keys move between nodes">
      <ReactFlow
        nodes={nodes}
        edges={edges}
        nodeTypes={nodeTypes}
        onNodeClick={(_, n) => select(sourceId, n.id)}
        nodesDraggable={false}
        nodesConnectable={false}
        elementsSelectable
        onInit={initialView}
        minZoom={0.1}
        maxZoom={2}
        proOptions={{ hideAttribution: true }}
      >
        <Background gap={24} size={1} />
        <Controls showInteractive={false} />
      </ReactFlow>
      <div className="graph-legend small muted">Arrow keys: ← parent · → child · ↑↓ siblings</div>
    </div>
  );
}

export function GraphPane({ sourceId }: { sourceId: string }) {
  return (
    <div className="graph-pane">
      <ReactFlowProvider>
        <GraphCanvas sourceId={sourceId} />
      </ReactFlowProvider>
      <Inspector sourceId={sourceId} />
    </div>
  );
}
