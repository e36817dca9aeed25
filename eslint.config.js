// ESLint flat config: `npm run lint`.
// TypeScript (src/, test/, vitest.config.ts) gets typescript-eslint's type-checked rules, with the
// types of tsconfig.test.json (src/ and test/) and tsconfig.browser.json (test/browser/, with the
// DOM). The plain-JS files (scripts/, the .mjs helpers under test/support/, this file) have no types
// to check: they get ESLint's recommended rules for Node ES modules. The pages' browser code
// (src/*/browser/*.js, inlined into the pages by scripts/inline-browser.js) gets them as browser
// scripts; tsconfig.browser-src.json type-checks it.
import js from '@eslint/js';
import { defineConfig, globalIgnores } from 'eslint/config';
import globals from 'globals';
import tseslint from 'typescript-eslint';

/** The pages' browser code: plain scripts that run in the page. */
const BROWSER = 'src/*/browser/*.js';

export default defineConfig(
  globalIgnores(['dist/', 'out/', 'coverage/', 'test-artifacts/', '.canvas-letters/']),
  {
    name: 'canvas-letters/typescript',
    files: ['src/**/*.ts', 'test/**/*.ts', 'vitest.config.ts'],
    extends: [js.configs.recommended, tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: { project: ['./tsconfig.test.json', './tsconfig.browser.json'], tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // A promise nobody awaits or a promise where a callback's result is ignored loses its
      // rejection; awaiting a non-promise hides a missing call; a switch that forgets a member of
      // a union silently does nothing. These are bugs here, never style.
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      // A `default:` is an explicit decision about the rest, so it counts as exhaustive.
      '@typescript-eslint/switch-exhaustiveness-check': ['error', { considerDefaultExhaustiveForUnions: true }],
      // `const { secret: _omitted, ...rest } = x` is how the code drops a property.
      '@typescript-eslint/no-unused-vars': ['error', { ignoreRestSiblings: true, argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // An async function without await is how a fake or a no-op meets a Promise-returning interface.
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    name: 'canvas-letters/tests',
    files: ['test/**/*.ts'],
    // Tests read back the JSON the CLI wrote (reports, status files, server answers) and assert
    // its shape value by value: those assertions are the check, so untyped JSON is not unsafe there.
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
    },
  },
  {
    name: 'canvas-letters/function-length',
    files: ['src/**/*.ts'],
    // A function a reader can hold in view: split longer ones into named steps (tests are exempt:
    // a describe block is a list of cases, not a function to read).
    rules: { 'max-lines-per-function': ['error', { max: 80, skipBlankLines: true, skipComments: true }] },
  },
  {
    name: 'canvas-letters/escape',
    files: ['src/escape.ts', 'src/templates/safety.ts'],
    // Finding control characters is these files' job (escaping names; URLs as a browser reads them).
    rules: { 'no-control-regex': 'off' },
  },
  {
    name: 'canvas-letters/javascript',
    files: ['**/*.js', '**/*.mjs'],
    ignores: [BROWSER],
    extends: [js.configs.recommended],
    languageOptions: { ecmaVersion: 2024, sourceType: 'module', globals: globals.node },
  },
  {
    name: 'canvas-letters/browser',
    files: [BROWSER],
    extends: [js.configs.recommended],
    languageOptions: { ecmaVersion: 2024, sourceType: 'script', globals: globals.browser },
  },
  {
    name: 'canvas-letters/inbox-parts',
    files: ['src/sandbox/browser/*.js'],
    // The inbox script's parts share one function scope in the page: a top-level name one part
    // declares is used by another. tsc (tsconfig.browser-src.json) checks that every name exists.
    rules: { 'no-undef': 'off', 'no-unused-vars': ['error', { vars: 'local' }] },
  },
);
