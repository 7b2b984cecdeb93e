import { useEffect } from 'react';
import { groupDigits, humanBytes, percent } from '../../shared/ui/format.js';
import type { WastedPath } from '../../shared/api/contract.js';
import { treeViewOf, useImages } from '../state/image.js';
import { useSources } from '../state/sources.js';
import { useTree } from '../state/tree.js';
import { ErrorBanner } from './ErrorBanner.js';
import { Treemap } from './Treemap.js';

export function EfficiencyPanel({ sourceId }: { sourceId: string }) {
  const img = useImages((s) => s.images[sourceId]);
  const summary = img?.summary;
  const eff = img?.efficiency;
  useEffect(() => {
    if (summary) void useImages.getState().loadEfficiency(sourceId);
  }, [summary, sourceId]);
  if (!summary) return <div className="placeholder">{img?.loading ? 'Indexing layers…' : 'Select an image first.'}</div>;
  if (img?.efficiencyError) return <ErrorBanner message={img.efficiencyError} />;
  if (!eff) return <div className="placeholder">Computing efficiency…</div>;
  const maxWaste = Math.max(1, ...eff.top.map((t) => t.wastedBytes));
  // A wasted path may be gone from the final image: show it in the last layer that touched it, where
  // it is listed as added, modified or removed.
  const goto = (w: WastedPath) => {
    const layer = Math.max(...w.layers);
    const images = useImages.getState();
    images.selectLayer(sourceId, layer);
    images.setMode(sourceId, 'layer');
    useTree.getState().revealAfterSwitch(w.path, { sourceId, image: summary.ref, view: treeViewOf({ layer, mode: 'layer' }) });
    useSources.getState().setTab(sourceId, 'files');
  };
  // A treemap tile is a path of the final image: show it in the final tree.
  const openFinal = (path: string) => {
    useImages.getState().selectLayer(sourceId, undefined);
    useTree.getState().revealAfterSwitch(path, { sourceId, image: summary.ref, view: treeViewOf(undefined) });
    useSources.getState().setTab(sourceId, 'files');
  };
  return (
    <div className="efficiency">
      <div className="eff-figures">
        <Figure label="Efficiency score" value={percent(eff.score)} tone={eff.score >= 0.95 ? 'good' : eff.score >= 0.8 ? 'warn' : 'bad'} testid="eff-score" />
        <Figure label="Wasted bytes (dive)" value={`${groupDigits(eff.wastedBytes)}`} sub={humanBytes(eff.wastedBytes)} testid="eff-wasted" />
        <Figure label="Reclaimable bytes" value={`${groupDigits(eff.reclaimableBytes)}`} sub={`${humanBytes(eff.reclaimableBytes)} — stored in layers, not in the final image: what squashing saves`} testid="eff-reclaimable" />
        <Figure label="User wasted" value={percent(eff.userWastedPercent)} sub={`of ${humanBytes(eff.totalBytes)}`} testid="eff-user" />
      </div>
      <div className="eff-bar" aria-label="Image size: kept vs wasted" title={`${humanBytes(eff.totalBytes - eff.wastedBytes)} kept, ${humanBytes(eff.wastedBytes)} wasted`}>
        <div className="kept" style={{ width: `${Math.max(0, 100 - (eff.wastedBytes / Math.max(1, eff.totalBytes)) * 100)}%` }} />
        <div className="wasted" style={{ width: `${(eff.wastedBytes / Math.max(1, eff.totalBytes)) * 100}%` }} />
      </div>
      <h3>Where the bytes are</h3>
      <Treemap image={summary.ref} wasted={eff.top.map((t) => t.path)} onOpen={openFinal} />
      <h3>Top wasted paths</h3>
      {eff.top.length === 0 ? (
        <p className="muted">No file is stored more than once across layers.</p>
      ) : (
        <table className="grid wasted-table">
          <thead>
            <tr>
              <th className="num">Copies</th>
              <th className="num">Wasted</th>
              <th className="num">Reclaimable</th>
              <th>Layers</th>
              <th>Path</th>
            </tr>
          </thead>
          <tbody>
            {eff.top.map((t) => (
              <tr key={t.path}>
                <td className="num">{t.count}</td>
                <td className="num" title={`${t.wastedBytes} bytes`}>
                  <div className="mini-bar">
                    <div style={{ width: `${(t.wastedBytes / maxWaste) * 100}%` }} />
                  </div>
                  {humanBytes(t.wastedBytes)}
                </td>
                <td className="num">{humanBytes(t.reclaimableBytes)}</td>
                <td>{t.layers.map((l) => l + 1).join(', ')}</td>
                <td>
                  <button className="link mono" onClick={() => goto(t)} title="Show in the tree">
                    {t.path}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

function Figure({ label, value, sub, tone, testid }: { label: string; value: string; sub?: string; tone?: string; testid: string }) {
  return (
    <div className={'figure' + (tone ? ' ' + tone : '')} data-testid={testid}>
      <div className="figure-label">{label}</div>
      <div className="figure-value">{value}</div>
      {sub && <div className="figure-sub small muted">{sub}</div>}
    </div>
  );
}
