import { useMemo } from 'react';
import type { ImageSummary } from '../../shared/api/contract.js';
import { humanBytes } from '../../shared/ui/format.js';
import { dockerfileLine, readConfig } from '../../shared/ui/image-docs.js';

/** The config as people read it, and the history as a Dockerfile aligned with the layers. */
export function ConfigView({ doc, summary }: { doc: unknown; summary: ImageSummary | undefined }) {
  const c = useMemo(() => readConfig(doc), [doc]);
  const steps = useMemo(() => {
    if (summary) return summary.history;
    const h = (doc as { history?: unknown }).history;
    let layer = 0;
    return (Array.isArray(h) ? h : []).map((s: Record<string, unknown>) => {
      const empty = s?.empty_layer === true;
      return { createdBy: typeof s?.created_by === 'string' ? s.created_by : undefined, emptyLayer: empty, layerIndex: empty ? undefined : layer++ };
    });
  }, [doc, summary]);
  const row = (k: string, v: React.ReactNode) => (
    <tr>
      <th>{k}</th>
      <td>{v}</td>
    </tr>
  );
  const argv = (a: string[] | undefined) => (a ? <code className="wrap">{JSON.stringify(a)}</code> : <span className="muted">—</span>);
  return (
    <section className="config-view">
      <h3>Runtime config</h3>
      <table className="props">
        <tbody>
          {row('Entrypoint', argv(c.entrypoint))}
          {row('Cmd', argv(c.cmd))}
          {row('WorkingDir', c.workingDir ? <code>{c.workingDir}</code> : <span className="muted">/ (default)</span>)}
          {row('User', c.user ? <code>{c.user}</code> : <span className="muted">root (default)</span>)}
          {row(
            'Env',
            c.env.length ? (
              <ul className="plain mono">
                {c.env.map((e) => (
                  <li key={e} className="wrap">
                    {e}
                  </li>
                ))}
              </ul>
            ) : (
              <span className="muted">—</span>
            ),
          )}
          {row('ExposedPorts', c.exposedPorts.length ? c.exposedPorts.join(', ') : <span className="muted">—</span>)}
          {c.volumes.length > 0 && row('Volumes', c.volumes.join(', '))}
          {c.stopSignal && row('StopSignal', c.stopSignal)}
          {row(
            'Labels',
            c.labels.length ? (
              <dl className="annotations">
                {c.labels.map(([k, v]) => (
                  <div key={k}>
                    <dt className="mono">{k}</dt>
                    <dd className="mono wrap">{v}</dd>
                  </div>
                ))}
              </dl>
            ) : (
              <span className="muted">—</span>
            ),
          )}
          {c.os && row('Platform', `${c.os}/${c.architecture ?? '?'}`)}
          {c.created && row('Created', c.created)}
        </tbody>
      </table>
      <h3>History</h3>
      <ol className="history mono" aria-label="History">
        {steps.map((s, i) => {
          const layer = s.layerIndex !== undefined ? summary?.layers[s.layerIndex] : undefined;
          return (
            <li key={i} className={s.emptyLayer ? 'empty-layer' : ''} title={s.emptyLayer ? 'empty_layer: this step changed only the config, it made no layer' : undefined}>
              <span className="hist-layer">{s.emptyLayer ? 'no layer' : `layer ${(s.layerIndex ?? 0) + 1}`}</span>
              <span className="hist-cmd wrap">{dockerfileLine(s.createdBy)}</span>
              {layer && <span className="hist-size muted">{humanBytes(layer.uncompressedSize ?? layer.compressedSize)}</span>}
            </li>
          );
        })}
      </ol>
    </section>
  );
}
