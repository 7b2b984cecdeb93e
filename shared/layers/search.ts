import picomatch from 'picomatch/posix';
import { ExplorerError } from '../errors.js';
import type { SearchQuery } from '../api/schemas.js';

// The one path matcher of the core and the UI: globs by picomatch (`*`, `**`, `?`, braces, classes,
// extglobs), regular expressions, substrings. Pure: the renderer uses it too.

/** Compiles a search into a predicate over paths without a leading slash ("etc/passwd"; root ""). */
export function searchMatcher(q: SearchQuery): (p: string) => boolean {
  const nocase = !q.caseSensitive;
  if (q.mode === 'substring') {
    const needle = nocase ? q.pattern.toLowerCase() : q.pattern;
    return (p) => (nocase ? ('/' + p).toLowerCase() : '/' + p).includes(needle);
  }
  if (q.mode === 'regex') {
    let re: RegExp;
    try {
      re = new RegExp(q.pattern, nocase ? 'i' : '');
    } catch (e) {
      throw new ExplorerError('INVALID_ARGUMENT', `The search is not a valid regular expression: ${(e as Error).message}.`);
    }
    return (p) => re.test('/' + p);
  }
  // A glob without "/" matches names at any depth (like find -name); with "/", the whole path.
  const onName = !q.pattern.includes('/');
  // fnmatch's negated class `[!…]` is picomatch's `[^…]`.
  const pattern = (onName ? q.pattern : q.pattern.replace(/^\/+/, '')).replace(/\[!/g, '[^');
  let isMatch: (s: string) => boolean;
  try {
    isMatch = picomatch(pattern, { dot: true, nocase, strictBrackets: true });
  } catch (e) {
    throw new ExplorerError('INVALID_ARGUMENT', `The search is not a valid glob: ${(e as Error).message}.`);
  }
  return onName ? (p) => isMatch(p.slice(p.lastIndexOf('/') + 1)) : (p) => isMatch(p);
}
