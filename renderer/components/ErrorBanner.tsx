export function ErrorBanner({ message, onClose, title }: { message: string | undefined; onClose?: () => void; title?: string }) {
  if (!message) return null;
  return (
    <div className="error-banner" role="alert">
      {title && <strong>{title}: </strong>}
      <span className="error-text">{message}</span>
      {onClose && (
        <button className="icon" aria-label="Dismiss" onClick={onClose}>
          ×
        </button>
      )}
    </div>
  );
}
