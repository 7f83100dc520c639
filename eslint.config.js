// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/**', 'coverage/**', 'data/**', '**/*.mjs', 'eslint.config.js'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
      '@typescript-eslint/switch-exhaustiveness-check': ['error', { considerDefaultExhaustiveForUnions: true }],
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-console': ['error', { allow: ['error'] }],
    },
  },
  {
    files: ['tests/**/*.ts', 'bench/**/*.ts', 'edge/cli/**/*.ts'],
    rules: { 'no-console': 'off' },
  },
  // Boundaries. SQL lives in edge/ledger/ only: elsewhere nothing imports better-sqlite3 (its
  // types excepted) or prepares, executes or opens a transaction on a handle.
  {
    files: ['edge/**/*.ts', 'bench/**/*.ts', 'cloud-sync/**/*.ts'],
    // Files listed here still query the ledger directly; each is a debt to pay, not a permission.
    // the village ledger (cloud-sync/ledger/) keeps its own database, on SQLite or PostgreSQL
    ignores: ['edge/ledger/**', 'cloud-sync/ledger/**'],
    rules: {
      'no-restricted-imports': ['error', { paths: [{ name: 'better-sqlite3', allowTypeImports: true, message: 'SQL belongs in edge/ledger/: add a function there (db first). / SQL 只写在 edge/ledger/ 中。' }] }],
      'no-restricted-syntax': [
        'error',
        { selector: "CallExpression[callee.property.name='prepare']", message: 'SQL belongs in edge/ledger/: add a function there (db first). / SQL 只写在 edge/ledger/ 中。' },
        { selector: "CallExpression[callee.property.name=/^(exec|pragma|transaction)$/][callee.object.name=/^(db|ro)$|Db$/]", message: 'SQL belongs in edge/ledger/: add a function there (db first). / SQL 只写在 edge/ledger/ 中。' },
        { selector: "CallExpression[callee.property.name=/^(exec|pragma|transaction)$/][callee.object.property.name=/^(db|ro)$/]", message: 'SQL belongs in edge/ledger/: add a function there (db first). / SQL 只写在 edge/ledger/ 中。' },
        { selector: "CallExpression[callee.property.name=/^(exec|pragma|transaction)$/][callee.object.callee.property.name='db']", message: 'SQL belongs in edge/ledger/: add a function there (db first). / SQL 只写在 edge/ledger/ 中。' },
      ],
    },
  },
  // The drivers and the models are libraries of their own: they never reach into the daemon.
  {
    files: ['drivers/**/*.ts', 'models/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ regex: '(^|/)edge/', message: 'drivers/ and models/ never import edge/ (the daemon depends on them, not the reverse). / drivers/ 与 models/ 不得依赖 edge/。' }] }],
    },
  },
  // Benchmarks measure the product, never the test rigs.
  {
    files: ['bench/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { paths: [{ name: 'better-sqlite3', allowTypeImports: true, message: 'SQL belongs in edge/ledger/. / SQL 只写在 edge/ledger/ 中。' }], patterns: [{ regex: '(^|/)tests/', message: 'bench/ never imports tests/: move the rig beside the runtime (drivers/sim/, a harness folder). / bench/ 不得依赖 tests/。' }] }],
    },
  },
);
