import { useEffect, useState } from 'react';
import type { DiffSummary } from '../../shared/api/contract.js';
import { groupDigits, humanBytes } from '../../shared/ui/format.js';
import { dockerfileLine } from '../../shared/ui/image-docs.js';
import { api, errorText } from '../state/api.js';
import { treeViewOf, useImages, viewKey } from '../state/image.js';
import { useTree } from '../state/tree.js';

const count = (n: number | undefined) => (n === undefined ? '?' : groupDigits(n));

export function LayersPanel({ sourceId }: { sourceId: string }) {
  const img = useImages((s) => s.images[sourceId]);
  const { selectLayer, setMode, setCompare } = useImages();
  const [pick, setPick] = useState<number[]>([]);
  const summary = img?.summary;
  const view = treeViewOf(img);
  const [diff, setDiff] = useState<{ key: string; d?: DiffSummary; err?: string }>();
  const diffKey = viewKey(view);

  // Asked once the tree of this view is in: the core answers one call at a time, and the tree comes first.
  const treeReady = useTree((t) => !t.loadingRoot && !!t.ctx && viewKey(t.ctx.view) === diffKey);
  useEffect(() => {
    if (!summary || view.kind !== 'diff' || !treeReady) return;
    let live = true;
    api()
      .diff({ image: summary.ref, bottom: view.bottom, top: view.top })
      .then(
        (d) => live && setDiff({ key: diffKey, d }),
        (e: unknown) => live && setDiff({ key: diffKey, err: errorText(e) }),
      );
    return () => {
      live = false;
    };
    // diffKey stands for view
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [summary, diffKey, treeReady]);

  // Keep the selected layer visible (it may be chosen from the graph or the efficiency panel).
  const selectedLayer = img?.layer;
  useEffect(() => {
    if (selectedLayer !== undefined) document.querySelector(`.layer-row[data-layer="${selectedLayer}"]`)?.scrollIntoView({ block: 'nearest' });
  }, [selectedLayer]);

  if (!summary) return null;
  const max = Math.max(1, ...summary.layers.map((l) => l.uncompressedSize ?? l.compressedSize));
  const cmp = img?.compare;
  const togglePick = (i: number) => setPick((p) => (p.includes(i) ? p.filter((x) => x !== i) : [...p.slice(-1), i]));

  return (
    <section className="layers-panel" aria-label="Layers">
      <div className="panel-head">
        <h2>Layers</h2>
        <div className="seg" role="group" aria-label="Layer changes">
          <button aria-pressed={img?.mode === 'layer'} className={img?.mode === 'layer' ? 'on' : ''} onClick={() => setMode(sourceId, 'layer')} title="Changes made by the selected layer">
            This layer
          </button>
          <button aria-pressed={img?.mode === 'aggregated'} className={img?.mode === 'aggregated' ? 'on' : ''} onClick={() => setMode(sourceId, 'aggregated')} title="Changes from the base layer up to the selected one">
            Aggregated
          </button>
        </div>
      </div>
      <div className="layer-list" role="listbox" aria-label="Layer list">
        <div
          role="option"
          aria-selected={img?.layer === undefined && !cmp}
          className={'layer-row final' + (img?.layer === undefined && !cmp ? ' selected' : '')}
          onClick={() => selectLayer(sourceId, undefined)}
        >
          <div className="layer-cmd">Final image (all layers merged)</div>
          <div className="layer-nums muted small">
            {summary.fileCount !== undefined ? `${groupDigits(summary.fileCount)} entries · ` : ''}
            {humanBytes(summary.uncompressedSize ?? summary.compressedSize)}
          </div>
        </div>
        {summary.layers.map((l) => {
          const size = l.uncompressedSize ?? l.compressedSize;
          const sel = !cmp && img?.layer === l.index;
          const inCmp = cmp && (cmp[0] === l.index || cmp[1] === l.index);
          return (
            <div
              key={l.index}
              role="option"
              aria-selected={sel}
              data-layer={l.index}
              tabIndex={0}
              className={'layer-row' + (sel ? ' selected' : '') + (inCmp ? ' compared' : '') + (l.problems.length ? ' has-problems' : '')}
              onClick={() => selectLayer(sourceId, l.index)}
              onKeyDown={(e) => {
                if (e.key === 'Enter' || e.key === ' ') selectLayer(sourceId, l.index);
                if (e.key === 'ArrowDown') (e.currentTarget.nextElementSibling as HTMLElement | null)?.focus();
                if (e.key === 'ArrowUp') (e.currentTarget.previousElementSibling as HTMLElement | null)?.focus();
              }}
            >
              <div className="layer-top">
                <input
                  type="checkbox"
                  aria-label={`Pick layer ${l.index + 1} to compare`}
                  checked={pick.includes(l.index)}
                  onClick={(e) => e.stopPropagation()}
                  onChange={() => togglePick(l.index)}
                />
                <span className="layer-no">{l.index + 1}</span>
                <span className="layer-cmd mono" title={l.command}>
                  {dockerfileLine(l.command)}
                </span>
              </div>
              <div className="layer-bar" aria-hidden>
                <div style={{ width: `${Math.max(0.5, (size / max) * 100)}%` }} />
              </div>
              <div className="layer-nums small">
                <span title="compressed → uncompressed">
                  {humanBytes(l.compressedSize)} → {humanBytes(l.uncompressedSize)}
                </span>
                {l.fileCount !== undefined && <span>{groupDigits(l.fileCount)} files</span>}
                <span className="c-added" title="added">+{count(l.added)}</span>
                <span className="c-modified" title="modified">~{count(l.modified)}</span>
                <span className="c-removed" title="removed">−{count(l.removed)}</span>
              </div>
              {l.problems.map((p, i) => (
                <div key={i} className="row-error" role="alert">
                  {p.message}
                </div>
              ))}
            </div>
          );
        })}
      </div>
      <div className="compare-bar">
        <button
          disabled={pick.length !== 2}
          aria-label={pick.length === 2 ? `Compare layers ${Math.min(...pick) + 1} and ${Math.max(...pick) + 1}` : 'Compare two picked layers'}
          title="Pick two layers with their check boxes"
          onClick={() => setCompare(sourceId, [pick[0]!, pick[1]!])}
        >
          {pick.length === 2 ? `Compare ${Math.min(...pick) + 1} ↔ ${Math.max(...pick) + 1}` : 'Compare two picked layers'}
        </button>
        {cmp && (
          <button
            onClick={() => {
              setCompare(sourceId, undefined);
              setPick([]);
            }}
          >
            Stop
          </button>
        )}
      </div>
      {/* Always there, two lines high: a summary arriving (or going, for the final image) must not move the
          list and the compare bar above it. */}
      <div className="diff-summary" aria-label={view.kind === 'diff' ? 'Diff summary' : undefined} aria-busy={view.kind === 'diff' && diff?.key !== diffKey}>
        {view.kind !== 'diff' ? (
          <span className="muted">Select a layer to see what it changed.</span>
        ) : diff?.key !== diffKey || (!diff.d && !diff.err) ? (
          <span className="muted">Comparing…</span>
        ) : diff.err ? (
          <span className="error-text" title={diff.err}>
            {diff.err}
          </span>
        ) : diff.d ? (
          <>
            <span className="diff-counts">
              <span className="c-added">+{groupDigits(diff.d.added)} added</span>
              <span className="c-modified">~{groupDigits(diff.d.modified)} modified</span>
              <span className="c-removed">−{groupDigits(diff.d.removed)} removed</span>
            </span>
            <span className="muted diff-bytes">
              {humanBytes(diff.d.addedBytes)} added, {humanBytes(diff.d.removedBytes)} removed
            </span>
          </>
        ) : null}
      </div>
    </section>
  );
}
