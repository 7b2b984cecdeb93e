import { builtinModules } from 'node:module';
import path from 'node:path';
import { build, defineConfig, type InlineConfig, type Plugin } from 'vite';

// The desktop shell as CommonJS for Electron: main.cjs and core-host.cjs (the utilityProcess running
// the handler table) in one build; preload.cjs in a second build so it is ONE self-contained file
// (a sandboxed preload cannot require its own chunks). electron and Node built-ins stay external;
// everything else is bundled, so the packaged app needs no node_modules.

const root = import.meta.dirname;
// OCI_EXPLORER_DIST moves the output (the packaging test builds into a temp folder).
const outDir = path.resolve(process.env.OCI_EXPLORER_DIST ?? path.resolve(root, 'dist'), 'electron');
const external = ['electron', /^electron\//, /^node:/, ...builtinModules];

function preloadBuild(): InlineConfig {
  return {
    configFile: false,
    logLevel: 'warn',
    build: {
      outDir,
      emptyOutDir: false,
      target: 'node20',
      minify: false,
      lib: { entry: path.resolve(root, 'electron/preload.ts'), formats: ['cjs'], fileName: () => 'preload.cjs' },
      rollupOptions: { external: ['electron'], output: { inlineDynamicImports: true } },
    },
  };
}

const buildPreload = (): Plugin => ({
  name: 'oci-explorer:preload',
  apply: 'build',
  async closeBundle() {
    await build(preloadBuild());
  },
});

export default defineConfig({
  plugins: [buildPreload()],
  build: {
    outDir,
    emptyOutDir: true,
    target: 'node20',
    minify: false,
    ssr: true,
    lib: {
      entry: { main: path.resolve(root, 'electron/main.ts'), 'core-host': path.resolve(root, 'electron/core-host.ts') },
      formats: ['cjs'],
      fileName: (_format, name) => `${name}.cjs`,
    },
    rollupOptions: { external, output: { chunkFileNames: 'chunks/[name]-[hash].cjs' } },
  },
  ssr: { noExternal: true, external: ['electron'] },
});
