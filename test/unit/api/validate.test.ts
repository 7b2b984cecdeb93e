import { describe, expect, expectTypeOf, it } from 'vitest';
import {
  CONTRACT, DEFAULT_SETTINGS, EVENTS, METHODS, SHELL_METHODS, WEB_EVENTS_PATH, WEB_ROUTES,
  type ExplorerApi, type ExplorerEvents, type MethodArgs, type MethodResult, type Settings, type ShellCommand, type SourceHandle, type TreeView,
} from '../../../shared/api/contract.js';
import { isEventName, isMethodName } from '../../../shared/api/names.js';
import { sanitizeSettings } from '../../../shared/api/state.js';
import { argsProblem, fits } from '../../../shared/api/validate.js';
import { SETTINGS } from '../../../shared/api/schemas.js';

// The contract is declared once (CONTRACT): these check what is derived from it at run time (method and
// event lists, routes, validation sentences) and, through expectTypeOf, at compile time (tsc runs over
// test/), that the derived types keep the shapes the handlers and the renderer were written against.

const I = { sourceId: 's1', manifest: 'sha256:00' };
const merged = { kind: 'merged' };

describe('one declaration per method', () => {
  it('lists every method once, with the shell ones marked in the same table', () => {
    expect(METHODS).toEqual(Object.keys(CONTRACT));
    expect(new Set(METHODS).size).toBe(METHODS.length);
    expect([...SHELL_METHODS].sort()).toEqual(['chooseSource', 'chooseTarget', 'openExternal']);
  });

  it('compiles every argument schema under Ajv strict mode', () => {
    // argsProblem compiles on first use; a schema Ajv refuses would throw here instead of at a user's call.
    for (const m of METHODS) expect(() => argsProblem(m, {}), m).not.toThrow();
  });

  it('derives the web routes and the event list from the contract', () => {
    for (const m of METHODS) expect(WEB_ROUTES[m]).toBe(`/api/${m}`);
    expect(Object.values(WEB_ROUTES)).not.toContain(WEB_EVENTS_PATH);
    expect(EVENTS).toContain('graph-changed');
    expect(EVENTS).toContain('command');
  });

  it('guards names with own keys only', () => {
    for (const n of ['__proto__', 'constructor', 'toString', 'hasOwnProperty', '', 42, null]) {
      expect(isMethodName(n)).toBe(false);
      expect(isEventName(n)).toBe(false);
    }
    expect(isMethodName('listDir')).toBe(true);
    expect(isEventName('sources-changed')).toBe(true);
  });

  it('keeps the types the code was written against', () => {
    expectTypeOf<MethodArgs<'openSource'>>().toEqualTypeOf<{ spec: string; opId?: string }>();
    expectTypeOf<MethodArgs<'listDir'>['view']>().toEqualTypeOf<TreeView>();
    expectTypeOf<TreeView>().toEqualTypeOf<
      { kind: 'merged'; upTo?: number } | { kind: 'layer'; layer: number } | { kind: 'diff'; bottom: { start: number; end: number } | null; top: { start: number; end: number } }
    >();
    expectTypeOf<MethodArgs<'setSettings'>['patch']>().toEqualTypeOf<Partial<Settings>>();
    expectTypeOf<Settings['hexBytesPerRow']>().toEqualTypeOf<8 | 16 | 32>();
    expectTypeOf<MethodResult<'openSource'>>().toEqualTypeOf<SourceHandle>();
    expectTypeOf<ExplorerEvents['command']>().toEqualTypeOf<ShellCommand>();
    // Methods without arguments may be called with none.
    expectTypeOf<ExplorerApi['version']>().parameter(0).toEqualTypeOf<Record<string, never> | undefined>();
  });
});

describe('argument validation', () => {
  it.each([
    ['openSource', {}, 'args.spec is required'],
    ['openSource', { spec: 42 }, 'args.spec must be a string'],
    ['openSource', { spec: '' }, 'args.spec must not be empty'],
    ['openSource', { spec: 'x', extra: 1 }, 'args.extra is not a known field'],
    ['openSource', { spec: 'x', opId: 'has space' }, 'args.opId has an invalid format'],
    ['openSource', { spec: 'a\0b' }, 'args.spec has an invalid format'],
    ['getBlob', { sourceId: 's1', digest: 'sha256:' + 'a'.repeat(300) }, 'args.digest is longer than 200 characters'],
    ['listDir', { image: I, view: merged, path: 'relative' }, 'args.path has an invalid format'],
    ['listDir', { image: { sourceId: '../x', manifest: 'sha256:00' }, view: merged, path: '/' }, 'args.image.sourceId has an invalid format'],
    ['listDir', { image: I, view: { kind: 'bogus' }, path: '/' }, 'args.view.kind must be one of merged, layer, diff'],
    ['listDir', { image: I, view: {}, path: '/' }, 'args.view.kind is required'],
    ['listDir', { image: I, view: 'merged', path: '/' }, 'args.view must be an object'],
    ['listDir', { image: I, view: { kind: 'layer' }, path: '/' }, 'args.view.layer is required'],
    ['listDir', { image: I, view: { kind: 'merged', upTo: 1, x: 1 }, path: '/' }, 'args.view.x is not a known field'],
    ['listDir', { image: I, view: { kind: 'diff', bottom: 3, top: { start: 0, end: 1 } }, path: '/' }, 'args.view.bottom must be an object or null'],
    ['listDir', { image: I, view: { kind: 'diff', bottom: { start: 'a', end: 1 }, top: { start: 0, end: 1 } }, path: '/' }, 'args.view.bottom.start must be an integer'],
    ['listDir', { image: I, view: merged, path: '/', limit: 1e9 }, 'args.limit must be at most 5000'],
    ['listDir', { image: I, view: merged, path: '/', filter: { changes: ['added', 'nope'] } }, 'args.filter.changes[1] must be one of added, modified, removed, unchanged'],
    ['listDirs', { image: I, view: merged, paths: ['/', 'rel'] }, 'args.paths[1] has an invalid format'],
    ['listDirs', { image: I, view: merged, paths: Array(1001).fill('/') }, 'args.paths has more than 1000 items'],
    ['readFile', { image: I, path: '/a', length: -1 }, 'args.length must be at least 0'],
    ['readFile', { image: I, path: '/a', length: 1.5 }, 'args.length must be an integer'],
    ['readFile', { image: I, path: '/a', view: { kind: 'diff', bottom: null, top: { start: 0, end: 0 } } }, 'args.view.kind must be one of merged, layer'],
    ['search', { image: I, view: merged, query: { pattern: 'x', mode: 'glob', caseSensitive: 'yes' } }, 'args.query.caseSensitive must be true or false'],
    ['setSettings', { patch: { theme: 'neon' } }, 'args.patch.theme must be one of system, light, dark'],
    ['setSettings', { patch: { hexBytesPerRow: 12 } }, 'args.patch.hexBytesPerRow must be one of 8, 16, 32'],
    ['setSettings', { patch: { bogus: 1 } }, 'args.patch.bogus is not a known field'],
    ['version', [], 'args must be an object'],
    ['version', { a: 1 }, 'args.a is not a known field'],
    ['nope', {}, '"nope" is not an API method'],
    ['__proto__', {}, '"__proto__" is not an API method'],
  ])('%s %j → %s', (method, args, sentence) => {
    expect(argsProblem(method, args)).toBe(sentence);
  });

  it('accepts what the UI sends', () => {
    expect(argsProblem('version', undefined)).toBeUndefined();
    expect(argsProblem('listDir', { image: I, view: { kind: 'diff', bottom: null, top: { start: 0, end: 2 } }, path: '/', sort: { by: 'size', order: 'desc' }, filter: { changes: ['added'], search: { pattern: '*.so', mode: 'glob' } } })).toBeUndefined();
    expect(argsProblem('setSettings', { patch: { ...DEFAULT_SETTINGS } })).toBeUndefined();
    expect(argsProblem('chooseTarget', { kind: 'file', defaultName: 'passwd' })).toBeUndefined();
  });

  it('refuses objects with another prototype anywhere in the arguments', () => {
    class Ref {
      sourceId = 's1';
      manifest = 'sha256:00';
    }
    expect(argsProblem('listDir', { image: new Ref(), view: merged, path: '/' })).toBe('args.image must be an object');
    expect(argsProblem('listDir', Object.assign(Object.create(null), { image: I, view: merged, path: '/' }))).toBeUndefined();
  });

  it('names a hostile unknown key without echoing all of it', () => {
    const p = argsProblem('version', { ['k'.repeat(10_000)]: 1 })!;
    expect(p.length).toBeLessThan(120);
  });
});

describe('settings kept field by field from the same schema', () => {
  it('keeps valid fields and defaults the others', () => {
    const s = sanitizeSettings({ theme: 'dark', recentLimit: -3, hexBytesPerRow: 32, treeSort: { by: 'size' }, defaultPlatform: 'linux/arm64/v8', junk: 1 });
    expect(s).toEqual({ ...DEFAULT_SETTINGS, theme: 'dark', hexBytesPerRow: 32, defaultPlatform: 'linux/arm64/v8' });
    expect(fits(SETTINGS, DEFAULT_SETTINGS)).toBe(true);
    expect(sanitizeSettings('nonsense')).toEqual(DEFAULT_SETTINGS);
  });
});
