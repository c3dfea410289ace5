/**
 * The `source:` section of the config: a union discriminated by `type`, each variant holding its
 * settings under a key named like the type, so an error names the full path, e.g.
 * `source.kafka.brokers[0]: must be host:port`.
 *
 *   source: { type: 'kafka', kafka: { brokers: ['127.0.0.1:9092'], topic: 'events', ... } }
 *   source: { type: 'generator', generator: { kind: 'iot', ratePerSec: 10000 } }
 */
import { z } from 'zod';
import { parseConfigSection } from '../config-error.js';
import { ConfigError } from '../errors.js';
import { clickstreamGeneratorConfigSchema } from './generators/clickstream-config.js';

const MiB = 1024 * 1024;
const range = (min: number, max: number): string => `must be an integer in [${min}, ${max}]`;
const int = (min: number, max: number) =>
  z.number({ error: range(min, max) }).int(range(min, max)).min(min, range(min, max)).max(max, range(min, max));

const chunkBytes = int(64 * 1024, 256 * MiB)
  .describe('Bytes read per chunk handed to the pipeline (64 KiB - 256 MiB). Default: 2097152 (2 MiB).')
  .default(2 * MiB);

export const fileSourceSchema = z
  .object({
    path: z.string().min(1).describe('Path of the NDJSON file. Required.'),
    chunkBytes,
    startPosition: int(0, Number.MAX_SAFE_INTEGER)
      .describe('Byte offset to start at, a committed position of an earlier run (a line start). Default: 0.')
      .default(0),
  })
  .strict();

export const stdinSourceSchema = z.object({ chunkBytes }).strict();

const brokerAddress = z.string().regex(/^[A-Za-z0-9.\-_[\]:]+:\d{1,5}$/, 'must be host:port');

const topicName = z.string().min(1).max(249).regex(/^[A-Za-z0-9._-]+$/, 'must be a Kafka topic name ([A-Za-z0-9._-], 1-249 chars)');

export const kafkaSourceSchema = z
  .object({
    brokers: z.array(brokerAddress).min(1)
      .describe('Bootstrap brokers, host:port. Default: ["127.0.0.1:9092"].').default(['127.0.0.1:9092']),
    topic: z.union([topicName, z.array(topicName).min(1).max(64).refine((t) => new Set(t).size === t.length, 'lists a topic twice')])
      .describe('Topic to consume, or a list of at most 64 topics read as one stream by one consumer group: partition p of the i-th of n listed topics (i from 0) is source partition p x n + i in checkpoints, status and logs; offsets are committed per topic partition (keep the list while a checkpoint file is in use). Default: "events".')
      .default('events'),
    groupId: z.string().min(1).describe('Consumer group id; committed offsets live under it. Default: "ringflow".').default('ringflow'),
    clientId: z.string().min(1).describe('Kafka client id shown in broker logs. Default: "ringflow".').default('ringflow'),
    fromBeginning: z.boolean().describe('Start at the earliest offset when the group has none committed. Default: true.').default(true),
    sessionTimeoutMs: int(6_000, 300_000)
      .describe('Group session timeout (6000 - 300000 ms; the broker must allow it). Default: 30000.').default(30_000),
    heartbeatIntervalMs: int(100, 100_000)
      .describe('Heartbeat interval, also while a chunk waits on backpressure; at most a third of the session timeout. Default: 3000.')
      .default(3_000),
    rebalanceTimeoutMs: int(1_000, 600_000)
      .describe('How long a rebalance waits for members, including settling revoked partitions (ms). Default: 60000.')
      .default(60_000),
    maxBytes: int(1024, 1024 * MiB).describe('Largest fetch response, all partitions (bytes). Default: 10485760 (10 MiB).').default(10 * MiB),
    maxBytesPerPartition: int(1024, 256 * MiB)
      .describe('Largest fetch per partition (bytes); bounds one chunk. Default: 2097152 (2 MiB).').default(2 * MiB),
    minBytes: int(1, 64 * MiB).describe('Broker waits for this many bytes before answering a fetch. Default: 1.').default(1),
    maxWaitTimeMs: int(0, 30_000).describe('Longest broker wait for minBytes (ms). Default: 500.').default(500),
    partitionsConsumedConcurrently: int(1, 64)
      .describe('Partitions whose batches may be handed over concurrently. Default: 1.').default(1),
    connectionTimeoutMs: int(100, 120_000).describe('TCP connect timeout (ms). Default: 3000.').default(3_000),
    requestTimeoutMs: int(1_000, 600_000).describe('Kafka request timeout (ms). Default: 30000.').default(30_000),
    logLevel: z.enum(['nothing', 'error', 'warn', 'info', 'debug']).describe('kafkajs log level. Default: "warn".').default('warn'),
    memberIdFile: z.string().min(1).nullable()
      .describe('File where the consumer keeps its group member id, so a restart after a crash rejoins as the same member and gets its partitions back at once instead of after sessionTimeoutMs; a file another live daemon owns is left alone; null = always join as a new member. Default: "./ringflow-out/kafka-member.json".')
      .default('./ringflow-out/kafka-member.json'),
  })
  .strict()
  .superRefine((k, ctx) => {
    if (k.heartbeatIntervalMs * 3 > k.sessionTimeoutMs) {
      ctx.addIssue({
        code: 'custom',
        path: ['heartbeatIntervalMs'],
        message: `must be at most sessionTimeoutMs / 3 (${Math.floor(k.sessionTimeoutMs / 3)})`,
      });
    }
  });

export const httpSourceSchema = z
  .object({
    host: z.string().min(1).describe('Address to bind; other than loopback exposes ingest to the network. Default: "127.0.0.1".').default('127.0.0.1'),
    port: int(0, 65535).describe('TCP port; 0 picks a free one. Default: 8080.').default(8080),
    maxBodyBytes: int(1024, 1024 * MiB)
      .describe('Largest request body, on the wire and after gunzip (bytes); larger gets 413. Default: 8388608 (8 MiB).')
      .default(8 * MiB),
    maxInFlightRequests: int(1, 1024)
      .describe('Requests being read or handed over at once; more get 429. Memory bound = this x maxBodyBytes. Default: 8.')
      .default(8),
    retryAfterSeconds: int(1, 3600).describe('Retry-After sent with 429 (s). Default: 1.').default(1),
    bearerToken: z.string().min(16, 'must be at least 16 characters').nullable()
      .describe('If set, requests need "Authorization: Bearer <token>". Default: null (no auth).').default(null),
    requestTimeoutMs: int(1_000, 600_000).describe('Time allowed to receive a whole request (ms). Default: 30000.').default(30_000),
    maxReasons: int(0, 100).describe('Invalid-line reasons returned per response. Default: 5.').default(5),
  })
  .strict();

const seed = int(0, 0xffffffff).describe('PRNG seed; same seed, same events. Default: 1.').default(1);
const startTsMs = int(946_684_800_000, 4_102_444_800_000)
  .describe('Event time of the first event (epoch ms). Default: 1700000000000.').default(1_700_000_000_000);

export const iotGeneratorSchema = z
  .object({
    seed,
    startTsMs,
    devices: int(1, 10_000_000).describe('Number of devices. Default: 1000.').default(1000),
    intervalMs: int(1, 86_400_000).describe('Event-time interval between readings of one device (ms). Default: 1000.').default(1000),
  })
  .strict();

export const cdcGeneratorSchema = z
  .object({
    seed,
    startTsMs,
    rowsPerTable: int(1, 10_000_000).describe('Distinct keys per table. Default: 100.').default(100),
    stepMs: int(0, 86_400_000).describe('Event-time step between change events (ms). Default: 10.').default(10),
    deleteRatio: z.number().min(0).max(1).describe('Share of changes to existing rows that are deletes, [0, 1]. Default: 0.1.').default(0.1),
  })
  .strict();

export const generatorSourceSchema = z
  .object({
    kind: z.enum(['clickstream', 'iot', 'cdc']).describe('Which events to generate. Default: "clickstream".').default('clickstream'),
    ratePerSec: z.number().min(0).max(1e9).describe('Events per second; 0 = as fast as the pipeline takes them. Default: 0.').default(0),
    totalEvents: int(-1, Number.MAX_SAFE_INTEGER).describe('Stop after this many lines; -1 = run until stopped. Default: -1.').default(-1),
    chunkLines: int(1, 1_000_000).describe('Most lines per chunk. Default: 4096.').default(4096),
    clickstream: clickstreamGeneratorConfigSchema.prefault({}).describe('Clickstream generator options (kind "clickstream"). Default: {}.'),
    iot: iotGeneratorSchema.prefault({}).describe('IoT generator options (kind "iot"). Default: {}.'),
    cdc: cdcGeneratorSchema.prefault({}).describe('CDC generator options (kind "cdc"). Default: {}.'),
  })
  .strict();

const sourceType = <T extends string>(t: T) =>
  z.literal(t).describe('Which source: file, stdin, kafka, http or generator. Default: "generator" (when `source` is omitted).');

export const sourceConfigSchema = z
  .discriminatedUnion('type', [
    z.object({ type: sourceType('file'), file: fileSourceSchema }).strict(),
    z.object({ type: sourceType('stdin'), stdin: stdinSourceSchema.prefault({}) }).strict(),
    z.object({ type: sourceType('kafka'), kafka: kafkaSourceSchema.prefault({}) }).strict(),
    z.object({ type: sourceType('http'), http: httpSourceSchema.prefault({}) }).strict(),
    z.object({ type: sourceType('generator'), generator: generatorSourceSchema.prefault({}) }).strict(),
  ])
  .describe('Where events come from; `type` picks one of file, stdin, kafka, http, generator. Default: {type: "generator"}.')
  .prefault({ type: 'generator' });

export type SourceConfig = z.output<typeof sourceConfigSchema>;
export type SourceConfigInput = z.input<typeof sourceConfigSchema>;
export type KafkaSourceConfig = z.output<typeof kafkaSourceSchema>;
export type HttpSourceConfig = z.output<typeof httpSourceSchema>;
export type GeneratorSourceConfig = z.output<typeof generatorSourceSchema>;

export function parseSourceConfig(input: unknown, basePath = 'source'): SourceConfig {
  return parseConfigSection(sourceConfigSchema, input, basePath);
}
