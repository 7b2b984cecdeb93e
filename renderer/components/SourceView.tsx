import { useEffect } from 'react';
import type { SourceHandle } from '../../shared/api/contract.js';
import { platformString, shortDigest } from '../../shared/ui/format.js';
import { useGraph } from '../state/graph.js';
import { useImages } from '../state/image.js';
import { useSources, type MainTab } from '../state/sources.js';
import { EfficiencyPanel } from './EfficiencyPanel.js';
import { ErrorBanner } from './ErrorBanner.js';
import { FilesView } from './FilesView.js';
import { GraphPane } from './GraphPane.js';

const TABS: [MainTab, string][] = [
  ['graph', 'Graph'],
  ['files', 'Layers & files'],
  ['efficiency', 'Efficiency'],
];

export function SourceView({ source }: { source: SourceHandle }) {
  const id = source.id;
  const tab = useSources((s) => s.tab[id] ?? 'graph');
  const setTab = useSources((s) => s.setTab);
  const caps = useSources((s) => s.caps);
  const g = useGraph((s) => s.graphs[id]);
  const img = useImages((s) => s.images[id]);

  useEffect(() => {
    void useGraph.getState().load(id);
  }, [id]);
  useEffect(() => {
    if (g?.graph && caps?.layers !== false && !useImages.getState().images[id]) void useImages.getState().select(id);
  }, [g?.graph, caps?.layers, id]);

  const images = g?.graph?.nodes.filter((n) => n.kind === 'manifest') ?? [];

  return (
    <div className="source-view">
      <div className="subbar">
        <div className="view-tabs" role="tablist" aria-label="Views">
          {TABS.map(([t, label]) => (
            <button key={t} role="tab" aria-selected={tab === t} className={tab === t ? 'active' : ''} data-label={label} onClick={() => setTab(id, t)} disabled={t !== 'graph' && caps?.layers === false}>
              {label}
            </button>
          ))}
        </div>
        <div className="image-pick">
          {images.length > 1 && (
            <label>
              Image{' '}
              <select aria-label="Image" value={img?.manifest ?? ''} onChange={(e) => void useImages.getState().select(id, e.target.value)}>
                {images.map((n) => (
                  <option key={n.digest} value={n.digest}>
                    {(n.platform ? platformString(n.platform) : n.names?.[0]) ?? shortDigest(n.digest)} · {shortDigest(n.digest)}
                  </option>
                ))}
              </select>
            </label>
          )}
          {img?.loading && (
            <span className="progress" role="status">
              {/* As wide as its longest text: the counter rising must not move Cancel under the pointer. */}
              <span className="progress-text">{img.progress ?? 'Indexing layers…'}</span>{' '}
              <button className="link" onClick={() => void useImages.getState().cancel(id)}>
                Cancel
              </button>
            </span>
          )}
          {img?.error && !img.loading && (
            <button className="link" onClick={() => void useImages.getState().retry(id)}>
              Index again
            </button>
          )}
        </div>
        <span className="muted small location" title={source.location}>
          {source.location}
        </span>
      </div>
      {source.warnings.map((w) => (
        <div key={w} className="warning-banner" role="status">
          {w}
        </div>
      ))}
      <ErrorBanner title="Could not read this image" message={img?.error} />
      <div className="tab-body">
        {tab === 'graph' && (g?.error ? <ErrorBanner message={g.error} /> : <GraphPane sourceId={id} />)}
        {tab === 'files' && <FilesView sourceId={id} />}
        {tab === 'efficiency' && <EfficiencyPanel sourceId={id} />}
      </div>
    </div>
  );
}
