import { useMemo, useState } from 'react';
import type { Problem } from '../../shared/api/contract.js';
import { lineOfPointer, splitDigests } from '../../shared/ui/json-digests.js';
import { useGraph } from '../state/graph.js';

const MAX_LINES = 4000;

/** Raw JSON with every digest clickable (selects that node) and schema problems marked on their line. */
export function JsonView({ sourceId, text, doc, problems, truncated }: { sourceId: string; text: string | undefined; doc: unknown; problems: Problem[]; truncated: boolean }) {
  const [all, setAll] = useState(false);
  const nodes = useGraph((s) => s.graphs[sourceId]?.graph?.nodes);
  const known = useMemo(() => new Set(nodes?.map((n) => n.digest)), [nodes]);
  const lines = useMemo(() => (text ?? '').split('\n'), [text]);
  const marks = useMemo(() => {
    const m = new Map<number, { messages: string[]; paths: string[] }>();
    if (doc === undefined) return m;
    for (const p of problems) {
      if (!p.path) continue;
      const l = lineOfPointer(doc, p.path);
      if (l < 0) continue;
      const cur = m.get(l) ?? { messages: [], paths: [] };
      cur.messages.push(p.message);
      cur.paths.push(p.path);
      m.set(l, cur);
    }
    return m;
  }, [doc, problems]);
  if (text === undefined) return <div className="muted">Binary content; not shown as JSON.</div>;
  const shown = all ? lines : lines.slice(0, MAX_LINES);
  return (
    <section className="raw-json">
      <h3>Raw JSON {truncated && <span className="muted small">(truncated)</span>}</h3>
      <pre className="json mono">
        {shown.map((line, i) => {
          const mark = marks.get(i);
          const msgs = mark?.messages;
          // Long lines wrap with a hanging indent, so a wrapped value stays under its key.
          const body = line.trimStart();
          const indent = line.length - body.length;
          return (
            <div
              key={i}
              className={msgs ? 'json-line problem-line' : 'json-line'}
              style={{ paddingLeft: `${indent + 2}ch`, textIndent: '-2ch' }}
              title={msgs?.join('\n')}
              data-problem-paths={mark?.paths.join(' ')}
            >
              {splitDigests(body).map((p, j) =>
                p.digest && known.has(p.digest) ? (
                  <a
                    key={j}
                    href="#"
                    className="digest-link"
                    onClick={(e) => {
                      e.preventDefault();
                      useGraph.getState().select(sourceId, p.digest);
                    }}
                    title="Go to this node"
                  >
                    {p.text}
                  </a>
                ) : (
                  <span key={j}>{p.text}</span>
                ),
              )}
              {msgs && <span className="problem-note"> ⟵ {msgs[0]}</span>}
            </div>
          );
        })}
      </pre>
      {!all && lines.length > MAX_LINES && (
        <button className="link" onClick={() => setAll(true)}>
          Show all {lines.length.toLocaleString('en')} lines
        </button>
      )}
    </section>
  );
}
