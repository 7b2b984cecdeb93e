import { useEffect, useMemo } from 'react';
import { api } from '../state/api.js';
import { useImages, treeViewOf } from '../state/image.js';
import { useTree } from '../state/tree.js';
import { FileViewer } from './FileViewer.js';
import { LayersPanel } from './LayersPanel.js';
import { TreePane } from './TreePane.js';

export function FilesView({ sourceId }: { sourceId: string }) {
  const img = useImages((s) => s.images[sourceId]);
  const summary = img?.summary;
  const view = useMemo(() => treeViewOf(img), [img]);
  useEffect(() => {
    if (summary) useTree.getState().setContext({ sourceId, image: summary.ref, view });
  }, [summary, view, sourceId]);

  // Once this view has loaded, let the core build the neighbouring layers' views in the background, so
  // stepping through layers does not wait for them (a diff over a big tree is the slow part of a switch).
  const loaded = useTree((s) => s.lastLoad);
  const layerCount = summary?.layers.length ?? 0;
  const layer = img?.layer;
  const mode = img?.mode ?? 'layer';
  const ref = summary?.ref;
  useEffect(() => {
    if (!loaded || !ref || img?.compare) return;
    const around = layer === undefined ? [layerCount - 1] : [layer + 1, layer - 1];
    for (const n of around) {
      if (n < 0 || n >= layerCount) continue;
      const v = treeViewOf({ layer: n, mode });
      // listDir (not diff): the core keeps each view's tree once listed, and that is what a switch needs.
      void api().listDir({ image: ref, view: v, path: '/', limit: 1 }).catch(() => undefined);
    }
  }, [loaded, ref, layer, mode, layerCount, img?.compare]);
  if (!summary) return <div className="placeholder">{img?.loading ? (img.progress ?? 'Indexing layers…') : img?.error ? '' : 'Select an image in the graph.'}</div>;
  const broken = summary.layers.filter((l) => l.problems.length).map((l) => l.index + 1);
  return (
    <div className="files-view">
      <LayersPanel sourceId={sourceId} />
      <TreePane sourceId={sourceId} warning={broken.length ? `Layer ${broken.join(', ')} could not be read (see the layer list): the tree may be incomplete.` : undefined} />
      <FileViewer />
    </div>
  );
}
