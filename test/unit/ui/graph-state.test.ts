import { beforeAll, describe, expect, it } from 'vitest';
import type { ExplorerApi, ImageGraph } from '../../../shared/api/contract.js';
import type { useGraph as UseGraphHook } from '../../../renderer/state/graph.js';

// The core is the one source of a node's state: the renderer applies graph-changed to the graph it
// holds (no merging of image summaries into nodes), keeping the edges so the layout is not redone.

const digest = (c: string) => `sha256:${c.repeat(64)}`;
const graph: ImageGraph = {
  roots: [digest('a')],
  nodes: [
    { digest: digest('a'), mediaType: 'application/vnd.oci.image.manifest.v1+json', size: 10, kind: 'manifest', verify: 'verified', problems: [], names: [] },
    { digest: digest('b'), mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', size: 20, kind: 'layer', verify: 'pending', problems: [], names: [] },
  ],
  edges: [{ from: digest('a'), to: digest('b'), role: 'layer', index: 0 }],
} as unknown as ImageGraph;

let useGraph: typeof UseGraphHook;
beforeAll(async () => {
  (globalThis as { explorer?: ExplorerApi }).explorer = { getGraph: async () => structuredClone(graph), on: () => () => {} } as unknown as ExplorerApi;
  ({ useGraph } = await import('../../../renderer/state/graph.js'));
});

describe('graph store', () => {
  it('applies a graph-changed event to the nodes it names and keeps the same edges', async () => {
    await useGraph.getState().load('s1');
    const before = useGraph.getState().graphs.s1!.graph!;
    const problem = { code: 'DIGEST_MISMATCH' as const, message: 'Layer b hashes to sha256:cc…; fetch it again.' };
    useGraph.getState().applyNodeChanges('s1', [{ digest: digest('b'), verify: 'failed', problems: [problem] }]);
    const after = useGraph.getState().graphs.s1!.graph!;
    expect(after).not.toBe(before);
    expect(after.edges).toBe(before.edges);
    expect(after.nodes[0]).toBe(before.nodes[0]);
    expect(after.nodes[1]).toMatchObject({ verify: 'failed', problems: [problem] });
    // Another source's event, or one for a graph not loaded yet, changes nothing.
    useGraph.getState().applyNodeChanges('s2', [{ digest: digest('b'), verify: 'verified', problems: [] }]);
    expect(useGraph.getState().graphs.s2).toBeUndefined();
  });
});
