import { builtinModules } from 'node:module';
import path from 'node:path';
import { defineConfig } from 'vite';

// The CLI compiled ahead of time (dist/cli/main.mjs), so `oci-explorer` starts in a fraction of what
// compiling TypeScript on the fly (tsx) costs; bin/oci-explorer.mjs uses it when it is newer than the
// sources. The commands stay lazily loaded chunks.

const root = import.meta.dirname;
// Only Node's own modules stay outside: dependencies are bundled too (some, like picomatch/posix, are not
// importable by bare subpath from ESM), each in the lazily loaded chunk that needs it.
const external = [/^node:/, ...builtinModules];

export default defineConfig({
  logLevel: 'warn',
  build: {
    outDir: path.resolve(process.env.OCI_EXPLORER_DIST ?? path.resolve(root, 'dist'), 'cli'),
    emptyOutDir: true,
    target: 'node20',
    minify: false,
    sourcemap: false,
    // The index worker beside the chunks, where layers/workers.ts looks for it (./worker.js).
    lib: { entry: { main: path.resolve(root, 'shared/cli/main.ts'), worker: path.resolve(root, 'shared/layers/worker.ts') }, formats: ['es'], fileName: (_f, name) => (name === 'worker' ? 'worker.js' : `${name}.mjs`) },
    // Bundled CommonJS (the generated schema validators) requires its externals: give every chunk a require.
    rollupOptions: { external, output: { chunkFileNames: '[name]-[hash].mjs', banner: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" } },
  },
});
