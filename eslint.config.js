// Code rules, plus the quick per-file part of the layering (DESIGN.md): shared/ has no DOM globals and no
// electron/react; the renderer and the preload import no Node built-in directly. The layering proper is
// checked on the import graph by dependency-cruiser (`npm run lint`): what the renderer reaches through
// any chain (.dependency-cruiser-runtime.cjs), layer order inside shared/ and cycles (.dependency-cruiser.cjs).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import reactHooks from 'eslint-plugin-react-hooks';
import globals from 'globals';

const noElectron = { group: ['electron', 'electron/*'], message: 'shared/ must not import electron: keep the core usable from the CLI and web mode.' };
const nodeBuiltins = ['node:*', 'fs', 'fs/*', 'path', 'os', 'child_process', 'worker_threads', 'crypto', 'zlib', 'net', 'http', 'https', 'stream', 'stream/*', 'events', 'util', 'url'];

export default tseslint.config(
  { ignores: ['dist/**', 'release/**', 'node_modules/**', 'test/.cache/**', 'test/artifacts/**', 'bench/.cache/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    // CommonJS config files (dependency-cruiser's): require() is how they load each other.
    files: ['.dependency-cruiser*.cjs'],
    languageOptions: { sourceType: 'commonjs' },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    files: ['shared/**/*.ts'],
    languageOptions: { globals: { ...globals.node } },
    rules: {
      'no-restricted-imports': ['error', { patterns: [noElectron, { group: ['**/renderer/**', '**/electron/**', 'react', 'react-dom'], message: 'shared/ is the core: it must not depend on the UI or the shell.' }] }],
      'no-restricted-globals': ['error', { name: 'window', message: 'shared/ has no DOM.' }, { name: 'document', message: 'shared/ has no DOM.' }, { name: 'navigator', message: 'shared/ has no DOM.' }],
    },
  },
  {
    files: ['renderer/**/*.{ts,tsx}'],
    languageOptions: { globals: { ...globals.browser } },
    plugins: { 'react-hooks': reactHooks },
    rules: {
      ...reactHooks.configs.recommended.rules,
      'no-restricted-imports': ['error', { patterns: [
        { group: ['electron', 'electron/*'], message: 'The renderer talks only to the API contract (window.explorer / web client).' },
        { group: nodeBuiltins, message: 'The renderer runs sandboxed: no Node built-ins.' },
      ] }],
    },
  },
  {
    files: ['electron/preload.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: nodeBuiltins, message: 'The preload exposes only the contract: no Node.' }] }],
    },
  },
);
