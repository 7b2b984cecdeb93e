import path from 'node:path';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// The UI, built once and served by both shells: app://app/ in Electron, http://127.0.0.1:PORT/ in web
// mode. OCI_EXPLORER_DIST moves the output (the packaging test builds into a temp folder).
// Relative asset URLs (base './') work under both. No inline scripts: the CSP forbids them.
export default defineConfig({
  root: path.resolve(import.meta.dirname, 'renderer'),
  base: './',
  plugins: [react()],
  build: {
    outDir: path.resolve(process.env.OCI_EXPLORER_DIST ?? path.resolve(import.meta.dirname, 'dist'), 'renderer'),
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    // Inlined assets would become data: URLs (allowed for images/fonts only); keep scripts as files.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    chunkSizeWarningLimit: 4096,
  },
  worker: { format: 'es' },
});
