import type { Unsubscribe } from '../../shared/api/contract.js';
import { api } from './api.js';
import { useGraph } from './graph.js';
import { useImages } from './image.js';
import { useSources } from './sources.js';
import { useTransfers } from './transfers.js';

// The stores' subscriptions to the core's events, made in one place and undone by the one disposer it
// returns: App's effect calls it and returns the disposer as its cleanup, so a remount (React StrictMode
// mounts, unmounts and mounts again in development) never leaves a second listener behind — a dropped
// file (`command: open-spec`) opens once.
export function connectStores(): Unsubscribe {
  const offSources = useSources.getState().listen();
  const offIndex = api().on('index-progress', (p) => {
    const text = p.done ? undefined : `Indexing layer ${p.layer + 1}: ${p.entries.toLocaleString('en')} entries`;
    useImages.getState().setProgress(p.sourceId, text);
  });
  // The core is the one source of node state: its changes are applied to the graph the UI holds.
  const offGraph = api().on('graph-changed', (c) => useGraph.getState().applyNodeChanges(c.sourceId, c.nodes));
  const offTransfers = useTransfers.getState().listen();
  void useSources.getState().init();
  return () => {
    offSources();
    offIndex();
    offGraph();
    offTransfers();
  };
}
