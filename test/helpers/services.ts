/**
 * What an integration test calls to reach the servers test/setup/global-services.ts started (or the
 * ones named by RINGFLOW_TEST_* variables), and unique names so tests sharing a server never collide.
 */
import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import type { ServiceAddresses } from '../services/index.js';

export type { ServiceAddresses } from '../services/index.js';

declare module 'vitest' {
  export interface ProvidedContext {
    ringflowServices: ServiceAddresses;
  }
}

/** Addresses of the integration project's servers; throws outside the integration project. */
export function testServices(): ServiceAddresses {
  const services = inject('ringflowServices');
  if (services === undefined) {
    throw new Error('no services provided: run this file in the vitest "integration" project (test/integration/**)');
  }
  return services;
}

let sequence = 0;
const RUN_TAG = `${process.pid.toString(36)}${randomBytes(2).toString('hex')}`;

/**
 * `<prefix>_<run>_<n>`: lower-case letters, digits and underscores only, so the same name is a valid
 * ClickHouse identifier, Kafka topic, consumer group and Redis key prefix.
 */
export function uniqueName(prefix: string): string {
  let clean = prefix.toLowerCase().replace(/[^a-z0-9_]+/g, '_');
  if (!/^[a-z_]/.test(clean)) clean = `t_${clean}`;
  sequence += 1;
  return `${clean}_${RUN_TAG}_${sequence}`;
}
