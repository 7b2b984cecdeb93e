// Debian control-file syntax (deb822, RFC-822-like): paragraphs separated by blank lines, `Field: value`,
// continuation lines starting with a space or tab. Also the header block of Python METADATA / PKG-INFO
// (email headers: the body after the first blank line is not read).

export type Paragraph = Map<string, string>;

/** Splits text into paragraphs; field names are kept as written (look them up case-insensitively with `field`). */
export function paragraphs(text: string, opts: { max?: number; headersOnly?: boolean } = {}): { paragraphs: Paragraph[]; truncated: boolean } {
  const out: Paragraph[] = [];
  let cur: Paragraph | undefined;
  let last: string | undefined;
  const max = opts.max ?? Infinity;
  for (const raw of text.split('\n')) {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.trim() === '') {
      if (cur && opts.headersOnly) break;
      if (cur) out.push(cur);
      if (out.length >= max) return { paragraphs: out, truncated: true };
      cur = undefined;
      last = undefined;
      continue;
    }
    if ((line[0] === ' ' || line[0] === '\t') && cur && last !== undefined) {
      cur.set(last, `${cur.get(last)}\n${line.trim()}`);
      continue;
    }
    if (line.startsWith('#')) continue; // comments (deb822 allows them outside Debian's status file)
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    cur ??= new Map();
    last = line.slice(0, colon).trim();
    const value = line.slice(colon + 1).trim();
    // A repeated field (Classifier in METADATA) keeps every value, one per line.
    cur.set(last, cur.has(last) ? `${cur.get(last)}\n${value}` : value);
  }
  if (cur) out.push(cur);
  return { paragraphs: out.slice(0, max), truncated: out.length > max };
}

/** A field by case-insensitive name. */
export function field(p: Paragraph, name: string): string | undefined {
  const v = p.get(name);
  if (v !== undefined) return v;
  const lower = name.toLowerCase();
  for (const [k, val] of p) if (k.toLowerCase() === lower) return val;
  return undefined;
}
