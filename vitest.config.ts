import { defineConfig } from 'vitest/config';

// Two projects: `unit` never touches a server; `integration` gets real Kafka, ClickHouse and Redis
// from one global setup shared by all its files.
export default defineConfig({
  test: {
    reporters: ['default', './test/setup/summary-reporter.ts'],
    // Stopping Kafka and ClickHouse gracefully can take several seconds each.
    teardownTimeout: 60_000,
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          environment: 'node',
          testTimeout: 30_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          environment: 'node',
          globalSetup: ['test/setup/global-services.ts'],
          // Files share three servers on a 2-core box: one file at a time keeps timings and load sane.
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
      {
        // `npm run reliability` only (scripts/reliability.sh): long fault runs that write RELIABILITY.md.
        test: {
          name: 'reliability',
          include: ['test/reliability/**/*.test.ts'],
          environment: 'node',
          globalSetup: ['test/setup/global-services.ts'],
          fileParallelism: false,
          testTimeout: 600_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
