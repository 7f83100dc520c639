import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // expect.poll waits for a condition; its default gives up after 1 s, a guess that a loaded
    // 2-core machine misses (a browser converting a photo took longer). The test's own timeout
    // still bounds a condition that never comes.
    expect: { poll: { timeout: 20_000 } },
    reporters: ['default'],
  },
});
