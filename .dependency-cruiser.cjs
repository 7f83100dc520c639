/* global module */
/**
 * Which way imports run (the project's design): checked by `npm run lint:deps`, part of
 * `npm test`. Type-only imports count: a cycle through types is still a cycle of meaning.
 * @type {import('dependency-cruiser').IConfiguration}
 */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'Import cycles make start-up order and refactoring fragile; break them with an interface or a smaller module.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'drivers-models-know-no-store',
      severity: 'error',
      comment: 'drivers/ and models/ know nothing of the store: no edge/, cloud-sync/ or harness/.',
      from: { path: '^(drivers|models)/' },
      to: { path: '^(edge|cloud-sync|harness)/' },
    },
    {
      name: 'drivers-not-models',
      severity: 'error',
      comment: 'drivers/ and models/ do not import each other.',
      from: { path: '^drivers/' },
      to: { path: '^models/' },
    },
    {
      name: 'models-not-drivers',
      severity: 'error',
      comment: 'drivers/ and models/ do not import each other.',
      from: { path: '^models/' },
      to: { path: '^drivers/' },
    },
    {
      name: 'runtime-not-tests-or-bench',
      severity: 'error',
      comment: 'The runtime (edge/, drivers/, models/, cloud-sync/) never imports tests/ or bench/.',
      from: { path: '^(edge|drivers|models|cloud-sync)/' },
      to: { path: '^(tests|bench)/' },
    },
    {
      name: 'runtime-not-harness',
      severity: 'error',
      comment:
        'The runtime never imports the test harness (harness/). One exception: the CLI (edge/cli/) loads the ' +
        'scenario runner of `simulate` and the demo of `start --demo` by dynamic import(), only when asked for.',
      from: { path: '^(edge|drivers|models|cloud-sync)/', pathNot: '^edge/cli/' },
      to: { path: '^harness/' },
    },
    {
      name: 'cli-harness-only-lazily',
      severity: 'error',
      comment: 'edge/cli/ reaches harness/ only by dynamic import(), so a store daemon never loads harness code.',
      from: { path: '^edge/cli/' },
      to: { path: '^harness/', dependencyTypesNot: ['dynamic-import'] },
    },
    {
      name: 'bench-not-tests',
      severity: 'error',
      comment: 'Benchmarks stand on their own: bench/ never imports tests/.',
      from: { path: '^bench/' },
      to: { path: '^tests/' },
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      comment: 'An import that cannot be resolved means the cruise is blind to it.',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|data|coverage)/' },
    // dependency-cruiser 16.10.4 supports TypeScript < 6 only, and this project has 6: without
    // this it would not even list the .ts files of a folder (it cruised 3 modules). The .ts
    // files are then read by its tolerant JavaScript parser (acorn-loose), which still sees
    // every import, export-from and import() — type-only ones included, as plain imports.
    // dependency-cruiser 16.10.4 supports TypeScript < 6 only, and this project has 6: it will
    // not list the .ts files of a folder, so `npm run lint:deps` names them by glob, and it reads
    // them with its tolerant JavaScript parser (acorn-loose). That still sees every import,
    // `import type` and import(); a type-only re-export (`export type { X } from`) it misses.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      extensions: ['.ts', '.js', '.mjs', '.cjs', '.json'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      exportsFields: ['exports'],
      mainFields: ['module', 'main', 'types'],
    },
  },
};
