/** Config section `sinks.kafka`. */
import { z } from 'zod';
import { retryPolicySchema } from '../retry.js';

const topicName = z.string().regex(/^[A-Za-z0-9._-]{1,249}$/, 'a Kafka topic name: 1-249 of letters, digits, . _ -');

export const kafkaSinkConfigSchema = z
  .object({
    brokers: z.array(z.string().regex(/^[^\s:]+:\d{1,5}$/, 'host:port')).min(1).default(['127.0.0.1:9092'])
      .describe('Bootstrap brokers as host:port. Default: [127.0.0.1:9092].'),
    clientId: z.string().min(1).default('ringflow-sink').describe('Kafka client id. Default: ringflow-sink.'),
    eventsTopic: topicName.optional()
      .describe('Topic for processed events, keyed by the partition key; not written when unset. Default: unset.'),
    alertsTopic: topicName.optional()
      .describe('Topic for alerts, keyed by the alert group; not written when unset. Default: unset.'),
    eventsPerMessage: z.number().int().min(1).max(10_000).default(1)
      .describe('NDJSON lines per events message (1-10000); above 1, lines are grouped by the partition of their key and sent without a key. Default: 1.'),
    maxRows: z.number().int().min(1).max(1_000_000).default(10_000)
      .describe('Events or alerts per produce request (1-1000000). Default: 10000.'),
    maxRequestBytes: z.number().int().min(1024).max(2 ** 30).default(1_000_000)
      .describe(
        'Upper bound on the bytes of one produce request and so of every message in it, framing included (1024-2^30); '
        + 'below the broker\'s message.max.bytes (1048588 by default). The topic\'s max.message.bytes is read at first use '
        + 'and the smaller of the two applies. An event larger than the bound goes to the dead letter. Default: 1000000.',
      ),
    maxDelayMs: z.number().int().min(1).max(600_000).default(100)
      .describe('Longest an event waits before its batch is sent, in ms (1-600000). Default: 100.'),
    maxBufferedRows: z.number().int().min(1).max(10_000_000).default(200_000)
      .describe('Messages buffered or in flight before writers wait (1-10000000). Default: 200000.'),
    requestTimeoutMs: z.number().int().min(100).max(600_000).default(30_000)
      .describe('Produce request timeout in ms (100-600000). Default: 30000.'),
    retry: retryPolicySchema.default(retryPolicySchema.parse({})),
  })
  .strict()
  .describe('Kafka sink: processed events and alerts through an idempotent producer (acks = all).');

export type KafkaSinkConfig = z.infer<typeof kafkaSinkConfigSchema>;
