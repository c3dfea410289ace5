/**
 * Global setup of the vitest "integration" project: starts Kafka, ClickHouse and Redis in parallel
 * (unless RINGFLOW_TEST_* names existing ones), hands their addresses to the tests through
 * `provide`, and stops them at teardown. Interrupted runs are covered by test/services/process.ts.
 */
import type { TestProject } from 'vitest/node';
// Type-only: brings the ProvidedContext declaration without loading vitest's runtime here.
import type { ServiceAddresses } from '../helpers/services.js';
import { startServices } from '../services/index.js';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const services = await startServices();
  const started = Object.entries(services.startupMs)
    .map(([name, ms]) => `${name} ${(ms / 1000).toFixed(1)} s`)
    .join(', ');
  console.log(`[services] kafka ${services.addresses.kafkaBrokers.join(',')} · clickhouse ${services.addresses.clickhouseUrl} · `
    + `redis ${services.addresses.redisUrl}${started ? ` (started: ${started})` : ''}`);
  const addresses: ServiceAddresses = services.addresses;
  project.provide('ringflowServices', addresses);
  return async () => {
    await services.stop();
  };
}
