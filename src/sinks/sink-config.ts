/**
 * Config section `sinks`. Each destination is optional; with none configured the daemon uses the
 * local files sink (see files/sink.ts) so the embedded default needs no external service.
 *
 *   sinks:
 *     clickhouse: { url, database, table, eventsTable?, username, password, maxRows, maxDelayMs, retry: {...} }
 *     redis:      { url, keyPrefix, windowTtlSeconds, latestTtlSeconds, leaderboards: [...], retry: {...} }
 *     kafka:      { brokers, eventsTopic?, alertsTopic?, maxRows, maxDelayMs, retry: {...} }
 *     alerts:     { rules: [{ kind: threshold|change, ... }], retainedWindows }
 *     files:      { dir, events }
 *     deadLetterPath, logAlerts, maxInFlightDeliveries, maxInFlightBytes
 */
import { z } from 'zod';
import { parseConfigSection } from '../config-error.js';
import { ConfigError } from '../errors.js';
import { alertsConfigSchema } from './alerts/config.js';
import { clickHouseSinkConfigSchema } from './clickhouse/config.js';
import { filesSinkConfigSchema } from './files/sink.js';
import { kafkaSinkConfigSchema } from './kafka/config.js';
import { redisSinkConfigSchema } from './redis/config.js';

export const sinksConfigSchema = z
  .object({
    clickhouse: clickHouseSinkConfigSchema.optional().describe('ClickHouse sink; off when unset. Default: unset.'),
    redis: redisSinkConfigSchema.optional().describe('Redis sink; off when unset. Default: unset.'),
    kafka: kafkaSinkConfigSchema.optional().describe('Kafka sink; off when unset. Default: unset.'),
    alerts: alertsConfigSchema.default(alertsConfigSchema.parse({})),
    files: filesSinkConfigSchema.optional()
      .describe('Local NDJSON files; used by default when no other sink is configured. Default: unset.'),
    deadLetterPath: z.string().min(1).default('./ringflow-out/sinks.deadletter.ndjson')
      .describe('NDJSON file for rows a sink could not store (with the error). Default: ./ringflow-out/sinks.deadletter.ndjson.'),
    logAlerts: z.boolean().default(true).describe('Also log every alert (pino, level warn). Default: true.'),
    maxInFlightDeliveries: z.number().int().min(1).max(65_536).default(64)
      .describe('Deliveries sent to the sink thread and not yet acknowledged before senders wait (1-65536). Default: 64.'),
    maxInFlightBytes: z.number().int().min(65_536).max(2 ** 31).default(64 * 1024 * 1024)
      .describe('Event bytes sent to the sink thread and not yet acknowledged before senders wait (65536-2^31). Default: 67108864.'),
  })
  .strict()
  .describe('Where results go: ClickHouse, Redis, Kafka, alerts, local files; with batching, retries and a dead letter.');

export type SinksConfig = z.infer<typeof sinksConfigSchema>;
export type SinksConfigInput = z.input<typeof sinksConfigSchema>;

/** Validates `input`; the error names the full path of the first bad setting and what is allowed. */
export function parseSinksConfig(input: unknown, basePath = 'sinks'): SinksConfig {
  return parseConfigSection(sinksConfigSchema, input ?? {}, basePath);
}

/** True when some sink stores processed events (the pipeline then serializes them). */
export function eventsWanted(config: SinksConfig): boolean {
  return Boolean(config.kafka?.eventsTopic || config.clickhouse?.eventsTable || config.files?.events);
}

/** With no destination configured, write to local files (the embedded default). */
export function withDefaultFileSink(config: SinksConfig): SinksConfig {
  if (config.clickhouse || config.redis || config.kafka || config.files) return config;
  return { ...config, files: filesSinkConfigSchema.parse({}) };
}
