// Layering rules from DESIGN.md, enforced here rather than remembered:
// shared/ is pure Node (no electron, no DOM); renderer/ talks only to the API contract;
// electron/ is thin glue over shared/.
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
        { regex: '^(\\.\\./)+shared/(?!api(/|$)|ui/)', message: 'The renderer may import only shared/api (the contract) and shared/ui pure helpers.' },
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
