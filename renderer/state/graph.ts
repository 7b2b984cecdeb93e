import { create } from 'zustand';
import type { BlobContent, Digest, ImageGraph, NodeStateChange, SourceId } from '../../shared/api/contract.js';
import { api, errorText } from './api.js';

// The descriptor graph of each source, the selected node, and the raw documents the inspector reads.

export interface BlobState {
  blob?: BlobContent;
  /** Parsed JSON when the blob is a JSON document. */
  json?: unknown;
  error?: string;
  loading: boolean;
}

interface GraphState {
  graphs: Record<SourceId, { graph?: ImageGraph; error?: string; loading: boolean }>;
  selected: Record<SourceId, Digest | undefined>;
  blobs: Record<string, BlobState>;
  load(sourceId: SourceId): Promise<void>;
  select(sourceId: SourceId, digest: Digest | undefined): void;
  loadBlob(sourceId: SourceId, digest: Digest): Promise<void>;
  /** Applies a graph-changed event: the core's new node states, the same edges (no relayout). */
  applyNodeChanges(sourceId: SourceId, nodes: NodeStateChange[]): void;
}

export const blobKey = (sourceId: SourceId, digest: Digest) => `${sourceId}/${digest}`;

export const useGraph = create<GraphState>((set, get) => ({
  graphs: {},
  selected: {},
  blobs: {},
  async load(sourceId) {
    const cur = get().graphs[sourceId];
    if (cur && (cur.loading || cur.graph)) return;
    set((s) => ({ graphs: { ...s.graphs, [sourceId]: { loading: true } } }));
    try {
      const graph = await api().getGraph({ sourceId });
      set((s) => ({
        graphs: { ...s.graphs, [sourceId]: { graph, loading: false } },
        selected: { ...s.selected, [sourceId]: s.selected[sourceId] ?? graph.roots[0] },
      }));
    } catch (e) {
      set((s) => ({ graphs: { ...s.graphs, [sourceId]: { error: errorText(e), loading: false } } }));
    }
  },
  applyNodeChanges(sourceId, changes) {
    const cur = get().graphs[sourceId];
    if (!cur?.graph || !changes.length) return;
    const byDigest = new Map(changes.map((c) => [c.digest, c]));
    const nodes = cur.graph.nodes.map((n) => {
      const c = byDigest.get(n.digest);
      return c ? { ...n, verify: c.verify, problems: c.problems } : n;
    });
    set((s) => ({ graphs: { ...s.graphs, [sourceId]: { ...cur, graph: { ...cur.graph!, nodes } } } }));
  },
  select(sourceId, digest) {
    set((s) => ({ selected: { ...s.selected, [sourceId]: digest } }));
  },
  async loadBlob(sourceId, digest) {
    const k = blobKey(sourceId, digest);
    if (get().blobs[k]) return;
    set((s) => ({ blobs: { ...s.blobs, [k]: { loading: true } } }));
    try {
      const blob = await api().getBlob({ sourceId, digest, maxBytes: 1024 * 1024 });
      let json: unknown;
      if (blob.encoding === 'utf8' && !blob.truncated) {
        try {
          json = JSON.parse(blob.data);
        } catch {
          json = undefined;
        }
      }
      set((s) => ({ blobs: { ...s.blobs, [k]: { blob, json, loading: false } } }));
    } catch (e) {
      set((s) => ({ blobs: { ...s.blobs, [k]: { error: errorText(e), loading: false } } }));
    }
  },
}));
