import { useSources } from '../state/sources.js';

/**
 * Opening a source while an image is on screen (a drop, the menu, a second launch): what is being opened,
 * and why it failed in the core's words, right under the tab strip until dismissed. The start screen
 * shows the same error in its own card.
 */
export function OpenStatus() {
  const opening = useSources((s) => s.opening);
  const openingSpec = useSources((s) => s.openingSpec);
  const error = useSources((s) => s.openError);
  const spec = useSources((s) => s.openErrorSpec);
  const clear = useSources((s) => s.clearOpenError);
  if (!error && !opening) return null;
  return (
    <div className="open-status" aria-label="Opening sources">
      {opening && (
        <div className="open-toast busy" role="status">
          Opening <code className="wrap">{openingSpec}</code>…
        </div>
      )}
      {error && (
        <div className="open-toast error-banner" role="alert">
          <strong>Could not open</strong>
          <span className="error-text">
            {/* The core's sentence usually names the path; when it does not, say which one failed. */}
            {spec && !error.includes(spec) && (
              <>
                <code className="wrap">{spec}</code>
                <br />
              </>
            )}
            {error}
          </span>
          <button className="icon" aria-label="Dismiss" title="Dismiss" onClick={clear}>
            ×
          </button>
        </div>
      )}
    </div>
  );
}
