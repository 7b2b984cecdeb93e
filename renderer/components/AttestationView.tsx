import { useMemo } from 'react';
import { decodeStatement } from '../../shared/ui/image-docs.js';

function b64(s: string): string {
  const bin = atob(s);
  return new TextDecoder().decode(Uint8Array.from(bin, (c) => c.charCodeAt(0)));
}

/** An in-toto statement decoded: subject, predicate type, SLSA builder/materials, SPDX packages. */
export function AttestationView({ doc }: { doc: unknown }) {
  const st = useMemo(() => decodeStatement(doc, b64), [doc]);
  if (!st) return null;
  return (
    <section className="attestation">
      <h3>Attestation</h3>
      <table className="props">
        <tbody>
          <tr>
            <th>predicateType</th>
            <td className="mono wrap">{st.predicateType ?? '—'}</td>
          </tr>
          <tr>
            <th>subject</th>
            <td>
              {st.subjects.map((s, i) => (
                <div key={i} className="mono wrap">
                  {s.name} {s.digests.join(' ')}
                </div>
              ))}
            </td>
          </tr>
          {st.slsa && (
            <>
              <tr>
                <th>builder</th>
                <td className="mono wrap">{st.slsa.builder ?? '—'}</td>
              </tr>
              {st.slsa.buildType && (
                <tr>
                  <th>buildType</th>
                  <td className="mono wrap">{st.slsa.buildType}</td>
                </tr>
              )}
              <tr>
                <th>materials</th>
                <td>
                  <ul className="plain mono">
                    {st.slsa.materials.map((m, i) => (
                      <li key={i} className="wrap">
                        {m.uri} <span className="muted">{m.digests.join(' ')}</span>
                      </li>
                    ))}
                  </ul>
                </td>
              </tr>
            </>
          )}
        </tbody>
      </table>
      {st.spdx && (
        <>
          <h3>
            SBOM packages ({st.spdx.packages.length}) <span className="muted small">{st.spdx.version}</span>
          </h3>
          <table className="grid small">
            <thead>
              <tr>
                <th>Package</th>
                <th>Version</th>
              </tr>
            </thead>
            <tbody>
              {st.spdx.packages.slice(0, 2000).map((p, i) => (
                <tr key={i} title={p.purl}>
                  <td className="mono">{p.name}</td>
                  <td className="mono">{p.version ?? ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}
