import { useState } from 'react';
import { useSources } from '../state/sources.js';
import { ErrorBanner } from './ErrorBanner.js';

export function StartScreen() {
  const { caps, recent, opening, openError, open, openDemo, choose, clearOpenError, clearRecent } = useSources();
  const [spec, setSpec] = useState('');
  const [drag, setDrag] = useState(false);
  return (
    <div
      className={'start' + (drag ? ' dragging' : '')}
      onDragOver={(e) => {
        e.preventDefault();
        setDrag(true);
      }}
      onDragLeave={() => setDrag(false)}
      // The drop itself is handled by the App (anywhere on the window); here it only ends the highlight.
      onDrop={() => setDrag(false)}
    >
      <div className="start-card">
        <h1>Open an image</h1>
        <p className="muted">An OCI layout folder, an OCI archive (.tar), or a <code>docker save</code> archive. Drop one here or type its path.</p>
        <form
          className="open-form"
          onSubmit={(e) => {
            e.preventDefault();
            void open(spec);
          }}
        >
          <input
            aria-label="Path to open"
            placeholder={caps?.mode === 'web' ? 'Path on the server, e.g. /images/app.tar or oci:/layouts/app:1.0' : 'Path, e.g. ~/images/app.tar'}
            value={spec}
            onChange={(e) => setSpec(e.target.value)}
            spellCheck={false}
          />
          <button type="submit" className="primary" disabled={opening || !spec.trim()}>
            {opening ? 'Opening…' : 'Open'}
          </button>
        </form>
        <ErrorBanner message={openError} onClose={clearOpenError} />
        <div className="start-actions">
          {caps?.nativeDialogs && (
            <>
              <button onClick={() => void choose('folder')}>Open Folder…</button>
              <button onClick={() => void choose('archive')}>Open Archive…</button>
            </>
          )}
          <button onClick={() => void openDemo()}>Open the demo image</button>
          <button disabled title="Pulling from registries comes in a later version">
            Pull from registry (coming soon)
          </button>
        </div>
        <section className="recent" aria-label="Recent">
          <h2>
            Recent{' '}
            {recent.length > 0 && (
              <button className="link small" onClick={() => void clearRecent()}>
                Clear
              </button>
            )}
          </h2>
          {recent.length === 0 ? (
            <p className="muted">Nothing opened yet.</p>
          ) : (
            <ul>
              {recent.map((r) => (
                <li key={r.spec}>
                  <button className="link" onClick={() => void open(r.spec)} title={r.spec}>
                    <span className="kind">{r.kind}</span> {r.label}
                  </button>
                  <span className="muted small">{r.spec}</span>
                </li>
              ))}
            </ul>
          )}
        </section>
      </div>
    </div>
  );
}
