import { defineConfig } from 'vitest/config';

// Two projects: unit tests (pure logic, beside the code) and integration tests that
// run against the real servers started once by test/ground/global-setup.ts.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['src/**/*.test.ts'],
          environment: 'node',
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/**/*.test.ts'],
          exclude: ['test/cluster-wide/**'],
          environment: 'node',
          globalSetup: ['test/ground/global-setup.ts'],
          testTimeout: 180_000,
          hookTimeout: 180_000,
          // Two cores: the apiserver, etcd and the S3 server share them with the tests.
          maxWorkers: 2,
        },
      },
      {
        // Tests that disturb the whole cluster (a broken aggregated API stalls every namespace
        // deletion and makes every backup partial), so they get a ground of their own and run
        // one file at a time.
        test: {
          name: 'cluster-wide',
          include: ['test/cluster-wide/**/*.test.ts'],
          environment: 'node',
          globalSetup: ['test/ground/global-setup.ts'],
          testTimeout: 180_000,
          hookTimeout: 180_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
