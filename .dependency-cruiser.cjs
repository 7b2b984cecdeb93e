// Layering by runtime, checked on the import graph (dependency-cruiser), run by `npm run lint`.
// DESIGN.md: the renderer needs no Node; shared/ is the core, layered oci ← sources ← graph ← layers ←
// api ← web/cli; electron/ is thin glue. test/unit/lint/layering.test.ts proves each rule fails on a
// counter-example.
//
// Two graphs are checked: this file, the FULL graph (type-only imports included), for layer order and
// cycles; .dependency-cruiser-runtime.cjs, the RUNTIME graph (type-only imports erased, as the bundler
// erases them), for what the renderer may reach. Types count here because a type import still ties a
// lower layer to a higher one, and a cycle of types is the same tangle as one of values.

/**
 * Low to high: a module may import its own level and lower ones, never a higher one. The contract's
 * vocabulary is declared once in shared/api but sits lower, so the layers (OpenImage) can speak it:
 * schemas.ts (argument schemas and their types: pure, imports nothing from shared/) with oci, and
 * results.ts (result types; it names graph and layer types) with layers. contract.ts (the method table)
 * and everything else in shared/api stay at the api level.
 */
const LEVELS = [
  ['shared/errors\\.ts$', 'shared/oci/', 'shared/tar/', 'shared/util/', 'shared/api/schemas\\.ts$'],
  ['shared/sources/', 'shared/registry/', 'shared/docker/', 'shared/store/'],
  ['shared/graph/'],
  ['shared/layers/', 'shared/packages/', 'shared/compare/', 'shared/api/results\\.ts$'],
  ['shared/api/'],
  ['shared/web/', 'shared/cli/', 'shared/ui/'],
];
const NAMES = ['oci', 'sources', 'graph', 'layers', 'api', 'web/cli/ui'];
const anyOf = (paths) => `^(${paths.join('|')})`;

const layerRules = LEVELS.slice(0, -1).map((paths, i) => ({
  name: `layer-${NAMES[i].replace(/\W/g, '-')}-imports-higher`,
  comment: `${NAMES[i]} is below ${NAMES.slice(i + 1).join(', ')} (oci ← sources ← graph ← layers ← api ← web/cli): move the shared part down, or invert the dependency.`,
  severity: 'error',
  // A file listed at a lower level (schemas.ts, results.ts) is not also judged by its folder's level.
  from: { path: anyOf(paths), ...(i ? { pathNot: anyOf(LEVELS.slice(0, i).flat()) } : {}) },
  to: { path: anyOf(LEVELS.slice(i + 1).flat()), pathNot: anyOf(LEVELS.slice(0, i + 1).flat()) },
}));

/** Rules on the graph with type-only imports (layers, cycles, what shared/ may touch). */
const fullRules = [
  ...layerRules,
  {
    name: 'shared-imports-ui-or-shell',
    comment: 'shared/ is the core: it must not depend on the UI, the shell, electron, react or the DOM.',
    severity: 'error',
    from: { path: '^shared/' },
    to: { path: ['^renderer/', '^electron/', '^(electron|react|react-dom)$', '(^|/)node_modules/(electron|react|react-dom)/'] },
  },
  {
    name: 'renderer-imports-shell',
    comment: 'The renderer talks to the shell only through the contract (window.explorer).',
    severity: 'error',
    from: { path: '^renderer/' },
    to: { path: '^electron/' },
  },
  {
    name: 'api-through-open-image',
    comment: 'shared/api maps the contract onto OpenImage: it reaches the layer engine only through layers/open-image.ts (and the plain types it speaks), never its internals.',
    severity: 'error',
    from: { path: '^shared/api/' },
    to: { path: '^shared/layers/', pathNot: '^shared/layers/(open-image|engine|diff|types)\\.ts$' },
  },
  {
    name: 'no-circular',
    comment: 'Import cycles (type-only imports included) tangle modules: move the shared part to a module both can import.',
    severity: 'error',
    from: {},
    to: { circular: true },
  },
];

const options = {
  doNotFollow: { path: 'node_modules' },
  exclude: { path: ['^node_modules', '^dist/', '^test/\\.cache/', '^test/artifacts/', '^release/'] },
  tsConfig: { fileName: 'tsconfig.json' },
  enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default', 'types'], extensions: ['.ts', '.tsx', '.js', '.mjs', '.cjs', '.d.ts'] },
  moduleSystems: ['es6', 'cjs'],
  skipAnalysisNotInRules: true,
};

module.exports = { forbidden: fullRules, options: { ...options, tsPreCompilationDeps: true } };
