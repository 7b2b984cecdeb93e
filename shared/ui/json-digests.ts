// Splits pretty-printed JSON text into plain runs and digest strings, so the inspector can make every
// digest clickable without an HTML parser or innerHTML.

export type JsonPiece = { text: string; digest?: string };

const DIGEST = /\b(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128}|sha384:[a-f0-9]{96})\b/g;

export function splitDigests(text: string): JsonPiece[] {
  const out: JsonPiece[] = [];
  let last = 0;
  for (const m of text.matchAll(DIGEST)) {
    const i = m.index ?? 0;
    if (i > last) out.push({ text: text.slice(last, i) });
    out.push({ text: m[0], digest: m[0] });
    last = i + m[0].length;
  }
  if (last < text.length) out.push({ text: text.slice(last) });
  return out;
}

/**
 * Line (0-based) in JSON.stringify(doc, null, 2) where a JSON pointer (`/layers/0/digest`) starts,
 * so a schema problem can point at its field. -1 when the path is not in the document.
 */
export function lineOfPointer(doc: unknown, pointer: string): number {
  const segs = pointer.split('/').slice(1).map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  let line = 0;
  let found = -1;
  const walk = (v: unknown, depth: number): void => {
    if (found >= 0) return;
    if (depth === segs.length) {
      found = line;
      return;
    }
    if (Array.isArray(v)) {
      if (v.length === 0) return;
      line++; // "["
      for (let i = 0; i < v.length; i++) {
        if (String(i) === segs[depth]) return walk(v[i], depth + 1);
        line += lineCount(v[i]);
      }
    } else if (v && typeof v === 'object') {
      const entries = Object.entries(v as Record<string, unknown>);
      if (entries.length === 0) return;
      line++; // "{"
      for (const [k, c] of entries) {
        if (k === segs[depth]) return walk(c, depth + 1);
        line += lineCount(c);
      }
    }
  };
  walk(doc, 0);
  // A missing field (e.g. "required") points at its parent object.
  if (found < 0 && segs.length > 0) return lineOfPointer(doc, segs.length === 1 ? '' : '/' + segs.slice(0, -1).join('/'));
  return found;
}

function lineCount(v: unknown): number {
  return JSON.stringify(v, null, 2).split('\n').length;
}
