// ESLint (flat config): typescript-eslint's recommended rules over the extension, the CLI, tests and scripts;
// Prettier owns the layout (npm run format), ESLint the rest, plus one line width for everything.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

export default tseslint.config(
  { ignores: ['dist/', 'out/', 'node_modules/', '.vscode-test/', 'test-results/', '.cache/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      'max-len': ['error', { code: 140, ignoreUrls: true, ignoreRegExpLiterals: true }],
      'no-control-regex': 'off',
    },
  },
  {
    files: ['media/**/*.js'],
    languageOptions: { sourceType: 'module', globals: { ...globals.browser, acquireVsCodeApi: 'readonly' } },
    rules: { 'max-len': ['error', { code: 140, ignoreUrls: true }] },
  },
  {
    files: ['scripts/**/*.js', 'scripts/**/*.mjs', '*.mjs'],
    languageOptions: { globals: { ...globals.node } },
    rules: { 'max-len': ['error', { code: 140, ignoreUrls: true }] },
  },
);
