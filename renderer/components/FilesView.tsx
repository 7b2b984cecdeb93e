import { useEffect, useMemo } from 'react';
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
