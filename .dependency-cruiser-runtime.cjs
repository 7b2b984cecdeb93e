// The RUNTIME import graph (type-only imports erased, as the bundler erases them): the renderer and the
// sandboxed preload reach only modules that need no Node, through any chain. A type-only import of a
// Node module is fine here: it costs nothing at run time. Layer order and cycles: .dependency-cruiser.cjs.
const { options } = require('./.dependency-cruiser.cjs');

/** Node built-ins as dependency-cruiser names them (with and without the node: prefix). */
const NODE = '^(node:.*|assert|buffer|child_process|crypto|dns|events|fs|fs/promises|http|https|module|net|os|path|perf_hooks|process|readline|stream|stream/.*|string_decoder|timers|tls|url|util|v8|vm|worker_threads|zlib)$';

const runtimeRules = [
  {
    name: 'renderer-reaches-node',
    comment: 'The renderer runs in a browser sandbox: this import reaches a Node built-in, electron, or a module that needs them. Import only the common set (contract types, shared/ui, pure shared helpers).',
    severity: 'error',
    from: { path: '^renderer/' },
    to: { path: [NODE, '^electron$', '(^|/)node_modules/electron/'], reachable: true },
  },
  {
    name: 'preload-reaches-node',
    comment: 'The sandboxed preload may use electron itself, but what it imports from shared/ must need no Node.',
    severity: 'error',
    from: { path: '^electron/preload\\.ts$' },
    to: { path: [NODE], reachable: true },
  },
];

module.exports = { forbidden: runtimeRules, options: { ...options, tsPreCompilationDeps: false } };
