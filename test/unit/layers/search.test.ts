import { describe, expect, it } from 'vitest';
import { searchMatcher } from '../../../shared/layers/search.js';

// The one matcher of the core and the UI (picomatch for globs). Paths are the core's: no leading slash.
describe('searchMatcher', () => {
  const glob = (pattern: string, p: string, caseSensitive = false) => searchMatcher({ pattern, mode: 'glob', caseSensitive })(p);
  it('matches names at any depth when the glob has no "/", whole paths when it has', () => {
    expect(glob('*.conf', 'etc/nginx/nginx.conf')).toBe(true);
    expect(glob('/etc/*', 'etc/passwd')).toBe(true);
    expect(glob('/etc/*', 'etc/nginx/nginx.conf')).toBe(false);
    expect(glob('/etc/**/*.conf', 'etc/nginx/conf.d/x.conf')).toBe(true);
    expect(glob('f?.txt', 'a/f1.txt')).toBe(true);
    expect(glob('a+b', 'a+b')).toBe(true);
    expect(glob('.bashrc', 'root/.bashrc')).toBe(true);
  });
  it('has braces, classes and extglobs', () => {
    expect(glob('**/*.{png,svg}', 'usr/share/icons/a.svg')).toBe(true);
    expect(glob('**/*.{png,svg}', 'usr/share/icons/a.jpg')).toBe(false);
    expect(glob('*.{png,svg}', 'x/y.png')).toBe(true);
    expect(glob('lib[0-9].so', 'usr/lib/lib7.so')).toBe(true);
    expect(glob('lib[!0-9].so', 'usr/lib/lib7.so')).toBe(false);
    expect(glob('+(a|b).txt', 'ab.txt')).toBe(true);
  });
  it('is case-insensitive unless asked', () => {
    expect(glob('*.CONF', 'a.conf')).toBe(true);
    expect(glob('*.CONF', 'a.conf', true)).toBe(false);
  });
  it('substring and regex match the absolute path; a bad regex is INVALID_ARGUMENT', () => {
    expect(searchMatcher({ pattern: '/etc/p', mode: 'substring' })('etc/passwd')).toBe(true);
    expect(searchMatcher({ pattern: '^/usr/lib/.*\\.so$', mode: 'regex' })('usr/lib/x.so')).toBe(true);
    expect(() => searchMatcher({ pattern: '(', mode: 'regex' })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });
});
