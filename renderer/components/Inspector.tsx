import { useEffect, useMemo } from 'react';
import { syntheticInfo } from '../../shared/ui/synthetic.js';
import type { GraphNode, ImageSummary } from '../../shared/api/contract.js';
import { groupDigits, humanBytes, platformString } from '../../shared/ui/format.js';
import { dockerfileLine } from '../../shared/ui/image-docs.js';
import { explainMediaType } from '../../shared/oci/mediatypes.js';
import { api } from '../state/api.js';
import { blobKey, useGraph } from '../state/graph.js';
import { useImages } from '../state/image.js';
import { useSources } from '../state/sources.js';
import { AttestationView } from './AttestationView.js';
import { ConfigView } from './ConfigView.js';
import { Copy } from './Copy.js';
import { ErrorBanner } from './ErrorBanner.js';
import { problemBadges } from '../../shared/ui/problems.js';
import { JsonView } from './JsonView.js';

const HAS_DOC = new Set(['index', 'manifest', 'config', 'attestation', 'signature', 'artifact', 'unknown']);

export function Inspector({ sourceId }: { sourceId: string }) {
  const graph = useGraph((s) => s.graphs[sourceId]?.graph);
  const digest = useGraph((s) => s.selected[sourceId]);
  const node = useMemo(() => graph?.nodes.find((n) => n.digest === digest), [graph, digest]);
  const blob = useGraph((s) => (digest ? s.blobs[blobKey(sourceId, digest)] : undefined));
  const summary = useImages((s) => s.images[sourceId]?.summary);
  const caps = useSources((s) => s.caps);

  const wantsDoc = !!node && HAS_DOC.has(node.kind) && node.verify !== 'missing' && node.size <= 4 * 1024 * 1024;
  useEffect(() => {
    if (node && wantsDoc) void useGraph.getState().loadBlob(sourceId, node.digest);
  }, [node, wantsDoc, sourceId]);

  if (!node) return <aside className="inspector placeholder">Select a node to inspect it.</aside>;
  const mt = explainMediaType(node.mediaType);
  const synth = syntheticInfo(node);
  // The node carries what reading its layer found (graph-changed updates it in the graph store).
  const live = node;
  const verify = live.verify;
  const layerIndex = summary?.layers.findIndex((l) => l.digest === node.digest) ?? -1;
  // A layer may belong to another image than the one explored (multi-platform): go through its manifest.
  const layerEdges = graph?.edges.filter((e) => e.to === node.digest && e.role === 'layer' && e.index !== undefined) ?? [];
  const layerEdge = layerEdges.find((e) => e.from === summary?.ref.manifest) ?? layerEdges[0];

  const goFiles = async () => {
    const img = useImages.getState();
    useSources.getState().setTab(sourceId, 'files');
    if (node.kind === 'manifest') {
      if (summary?.ref.manifest !== node.digest) await img.select(sourceId, node.digest);
    } else if (layerEdge) {
      if (summary?.ref.manifest !== layerEdge.from) await img.select(sourceId, layerEdge.from);
      img.selectLayer(sourceId, layerEdge.index);
    }
  };

  return (
    <aside className="inspector" aria-label="Inspector">
      <header className="insp-head">
        <h2>
          <span className={`kind-dot kind-${node.kind}`} /> <span className="cap">{node.kind}</span>
          {node.platform && <span className="badge platform">{platformString(node.platform)}</span>}
        </h2>
        <div className="insp-actions">
          {node.kind === 'manifest' && caps?.layers && (
            <button onClick={() => void goFiles()}>{summary?.ref.manifest === node.digest ? 'Browse files' : 'Explore this image'}</button>
          )}
          {node.kind === 'layer' && caps?.layers && layerEdge?.index !== undefined && <button onClick={() => void goFiles()}>Files of layer {layerEdge.index + 1}</button>}
        </div>
      </header>
      {synth && (
        <p className="insp-synthetic small" data-testid="synthetic-note">
          {synth.line}
        </p>
      )}
      <ProblemList node={live} />
      <table className="props">
        <tbody>
          <tr>
            <th>mediaType</th>
            <td>
              <div className="mono wrap">{node.mediaType ? breakable(node.mediaType) : '—'}</div>
              <div className="explain">
                {mt.text}{' '}
                {mt.url && (
                  <a href={mt.url} target="_blank" rel="noreferrer noopener" onClick={(e) => openLink(e, mt.url!)}>
                    spec
                  </a>
                )}
              </div>
            </td>
          </tr>
          <tr>
            <th>digest</th>
            <td>
              <span className="mono wrap digest-full">{node.digest}</span> <Copy text={node.digest} label="Copy digest" />
            </td>
          </tr>
          <tr>
            <th>size</th>
            <td>
              {groupDigits(node.size)} bytes <span className="muted">({humanBytes(node.size)})</span>
              {layerIndex >= 0 && summary?.layers[layerIndex]?.uncompressedSize !== undefined && (
                <span className="muted nowrap"> · uncompressed {humanBytes(summary.layers[layerIndex]!.uncompressedSize)}</span>
              )}
            </td>
          </tr>
          <tr>
            <th>verify</th>
            <td className={`verify-${verify}`}>{verify}</td>
          </tr>
          {node.platform && (
            <tr>
              <th>platform</th>
              <td>{platformString(node.platform)}{node.platform['os.version'] ? ` (${node.platform['os.version']})` : ''}</td>
            </tr>
          )}
          {node.artifactType && (
            <tr>
              <th>artifactType</th>
              <td className="mono wrap">{node.artifactType}</td>
            </tr>
          )}
          {node.names?.length ? (
            <tr>
              <th>names</th>
              <td>{node.names.join(', ')}</td>
            </tr>
          ) : null}
          {node.annotations && Object.keys(node.annotations).length > 0 && (
            <tr>
              <th>annotations</th>
              <td>
                <dl className="annotations">
                  {Object.entries(node.annotations).map(([k, v]) => (
                    <div key={k}>
                      <dt className="mono">{k}</dt>
                      <dd className="mono wrap">{v}</dd>
                    </div>
                  ))}
                </dl>
              </td>
            </tr>
          )}
        </tbody>
      </table>
      {node.kind === 'layer' && layerIndex >= 0 && summary && <LayerFacts summary={summary} index={layerIndex} />}
      {blob?.error && <ErrorBanner message={blob.error} />}
      {blob?.loading && <div className="muted">Reading…</div>}
      {node.kind === 'config' && blob?.json !== undefined && <ConfigView doc={blob.json} summary={matching(summary, node)} />}
      {blob?.json !== undefined && (node.kind === 'attestation' || node.mediaType === 'application/vnd.in-toto+json') && <AttestationView doc={blob.json} />}
      {blob?.blob && (
        <JsonView
          sourceId={sourceId}
          text={blob.json !== undefined ? JSON.stringify(blob.json, null, 2) : blob.blob.encoding === 'utf8' ? blob.blob.data : undefined}
          doc={blob.json}
          problems={node.problems}
          truncated={blob.blob.truncated}
        />
      )}
    </aside>
  );
}

function LayerFacts({ summary, index }: { summary: ImageSummary; index: number }) {
  const l = summary.layers[index]!;
  return (
    <section className="layer-facts">
      <h3>Layer {index + 1} of this image</h3>
      <table className="props">
        <tbody>
          <tr>
            <th>command</th>
            <td className="mono wrap">{dockerfileLine(l.command)}</td>
          </tr>
          {l.diffId && (
            <tr>
              <th>diff_id</th>
              <td className="mono wrap">{l.diffId}</td>
            </tr>
          )}
          <tr>
            <th>files</th>
            <td>
              {l.fileCount !== undefined ? groupDigits(l.fileCount) : '—'}{' '}
              <span className="c-added">+{l.added ?? '?'}</span> <span className="c-modified">~{l.modified ?? '?'}</span> <span className="c-removed">−{l.removed ?? '?'}</span>
            </td>
          </tr>
          {l.created && (
            <tr>
              <th>created</th>
              <td>{l.created}</td>
            </tr>
          )}
        </tbody>
      </table>
    </section>
  );
}

/** A media type with line-break chances after its separators (not in the middle of "gzip"). */
function breakable(mt: string) {
  return mt.split(/(?<=[./+])/).map((part, i) => (
    <span key={i}>
      {part}
      <wbr />
    </span>
  ));
}

function matching(summary: ImageSummary | undefined, node: GraphNode): ImageSummary | undefined {
  return summary && summary.config === node.digest ? summary : undefined;
}

function openLink(e: React.MouseEvent, url: string) {
  const caps = useSources.getState().caps;
  if (caps?.mode === 'electron') {
    e.preventDefault();
    void api().openExternal({ url }).catch(() => undefined);
  }
}

function showField(path: string) {
  const el = document.querySelector(`.json-line[data-problem-paths~="${CSS.escape(path)}"]`);
  el?.scrollIntoView({ block: 'center' });
  el?.classList.add('flash');
  setTimeout(() => el?.classList.remove('flash'), 1200);
}

function ProblemList({ node }: { node: GraphNode }) {
  if (!node.problems.length) return null;
  const badges = problemBadges(node);
  return (
    <div className="problems" role="alert">
      <div className="badges">
        {badges.map((b) => (
          <span key={b} className="badge problem">
            {b}
          </span>
        ))}
      </div>
      <ul>
        {node.problems.map((p, i) => (
          <li key={i}>
            {p.path && (
              <button className="link problem-path mono" title="Show this field in the raw JSON" onClick={() => showField(p.path!)}>
                {p.path}
              </button>
            )}{' '}
            {p.path && p.message.startsWith(p.path + ':') ? p.message.slice(p.path.length + 1).trim() : p.message}
          </li>
        ))}
      </ul>
    </div>
  );
}

