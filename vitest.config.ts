import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Tests start real servers and ORT sessions; two cores do not benefit from many workers.
    maxWorkers: 2,
    fileParallelism: true,
  },
});
