import { useSources } from '../state/sources.js';

export function TopBar() {
  const { sources, active, setActive, close, theme, setTheme } = useSources();
  return (
    <header className="topbar" role="banner">
      <div className="brand">OCI Explorer</div>
      <nav className="source-tabs" role="tablist" aria-label="Open sources">
        {sources.map((s) => (
          <div key={s.id} className={'source-tab' + (s.id === active ? ' active' : '')} role="presentation">
            <button role="tab" aria-selected={s.id === active} title={s.location} className="source-tab-label" onClick={() => setActive(s.id)}>
              <span className="kind">{s.kind}</span> {s.label}
            </button>
            <button className="icon close" aria-label={`Close ${s.label}`} title="Close" onClick={() => void close(s.id)}>
              ×
            </button>
          </div>
        ))}
        <button className={'source-tab open-tab' + (active === undefined ? ' active' : '')} onClick={() => setActive(undefined)} aria-label="Open a source" title="Open a source">
          + Open
        </button>
      </nav>
      <label className="theme-pick muted">
        Theme{' '}
        <select aria-label="Theme" value={theme} onChange={(e) => void setTheme(e.target.value as typeof theme)}>
          <option value="system">System</option>
          <option value="light">Light</option>
          <option value="dark">Dark</option>
        </select>
      </label>
    </header>
  );
}
