// Lint for the TypeScript gateway and the e2e suites (typescript-eslint, flat config).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/**', '.data/**', 'dist/**', 'coverage/**', 'migrations/**', 'bench/results/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: false } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      // Tests parse arbitrary JSON replies; `any` there is deliberate.
      '@typescript-eslint/no-explicit-any': 'off',
      'no-control-regex': 'off',
    },
  },
  {
    // The account security page runs in the browser.
    files: ['gateway/public/**/*.js'],
    languageOptions: {
      sourceType: 'module',
      globals: { window: 'readonly', document: 'readonly', DOMParser: 'readonly', navigator: 'readonly', location: 'readonly',
        fetch: 'readonly', console: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', URL: 'readonly', URLSearchParams: 'readonly',
        sessionStorage: 'readonly', localStorage: 'readonly', HTMLElement: 'readonly', Event: 'readonly', atob: 'readonly', btoa: 'readonly',
        TextEncoder: 'readonly', TextDecoder: 'readonly', crypto: 'readonly', alert: 'readonly', confirm: 'readonly' },
    },
  },
  {
    // The back office's lit components (gateway/public/backoffice/) use a few more browser APIs.
    files: ['gateway/public/backoffice/**/*.js'],
    languageOptions: {
      globals: { customElements: 'readonly', CustomEvent: 'readonly', FormData: 'readonly', AbortController: 'readonly',
        TextDecoderStream: 'readonly', setInterval: 'readonly', clearInterval: 'readonly' },
    },
  },
  {
    rules: {
      // Flags the common `let x = default; try { x = ... } catch { x = ... }` shape.
      'no-useless-assignment': 'off',
    },
  },
  {
    files: ['**/*.mjs', '**/*.js'],
    languageOptions: {
      globals: { process: 'readonly', console: 'readonly', fetch: 'readonly', URL: 'readonly', setTimeout: 'readonly',
        clearTimeout: 'readonly', Buffer: 'readonly', AbortController: 'readonly', AbortSignal: 'readonly', performance: 'readonly',
        TextEncoder: 'readonly', TextDecoder: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', crypto: 'readonly' },
    },
    // Scripts are reported, not blocked, for unused names (see the lint report).
    rules: { '@typescript-eslint/no-unused-vars': 'warn' },
  },
);
