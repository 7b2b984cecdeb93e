import { useState } from 'react';

/** A small "copy" button; falls back to selecting nothing when the clipboard is not allowed. */
export function Copy({ text, label = 'Copy' }: { text: string; label?: string }) {
  const [done, setDone] = useState(false);
  return (
    <button
      className="icon copy"
      title={`Copy ${text}`}
      aria-label={label}
      onClick={() => {
        void navigator.clipboard?.writeText(text).then(
          () => {
            setDone(true);
            setTimeout(() => setDone(false), 1200);
          },
          () => undefined,
        );
      }}
    >
      {done ? 'copied' : 'copy'}
    </button>
  );
}
