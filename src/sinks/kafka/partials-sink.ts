/**
 * Scale-out: the first stage's partial window cells and markers (src/pipeline/scale-out/) go to a
 * single-partition topic on the source's cluster, through the same idempotent producer and request
 * slicing as processed events. One partition keeps every writer's records in one order, which the
 * merge's marker rule relies on (a partial written before its source partition's marker is read before
 * it), and lets the consumer group hand the merge to exactly one daemon at a time.
 */
import type { SinkEvents } from '../buffered-sink.js';
import type { DeadLetterFile } from '../dead-letter-file.js';
import type { Sink } from '../sink.js';
import { kafkaSinkConfigSchema } from './config.js';
import { KafkaEventsSink } from './events-sink.js';
import { SharedProducer } from './producer.js';
import type { EventBatch } from '../../contracts/index.js';

export interface PartialsSinkOptions {
  brokers: string[];
  clientId: string;
  topic: string;
  /** Config path named by errors about the topic. */
  path: string;
}

export const PARTIALS_SINK_NAME = 'kafka.partials';

export async function createPartialsSink(options: PartialsSinkOptions, deadLetter: DeadLetterFile, events: SinkEvents):
  Promise<{ sink: Sink<EventBatch>; close(): Promise<void> }> {
  // A short batching delay: partials are few, and the merge (and so the sinks) wait for them.
  const config = kafkaSinkConfigSchema.parse({ brokers: options.brokers, clientId: options.clientId, eventsTopic: options.topic, maxDelayMs: 10 });
  const producer = new SharedProducer(config);
  try {
    await producer.ensureTopic(options.topic, 1, options.path);
  } catch (err) {
    await producer.close();
    throw err;
  }
  const sink = new KafkaEventsSink(producer, { ...config, eventsTopic: options.topic }, deadLetter, events, PARTIALS_SINK_NAME);
  return {
    sink,
    async close() {
      try {
        await sink.close();
      } finally {
        await producer.close();
      }
    },
  };
}
