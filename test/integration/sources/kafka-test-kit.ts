/**
 * Topic set-up and collection helpers for the Kafka source tests (real broker from the
 * integration project's global setup).
 */
import { Kafka, logLevel, Partitioners, type Admin, type Producer } from 'kafkajs';
import { testServices, uniqueName } from '../../helpers/services.js';
import type { SourceChunk } from '../../../src/sources/source.js';

export interface KafkaKit {
  brokers: string[];
  admin: Admin;
  producer: Producer;
  close(): Promise<void>;
}

export async function openKafkaKit(): Promise<KafkaKit> {
  const brokers = testServices().kafkaBrokers;
  const kafka = new Kafka({ clientId: uniqueName('kit'), brokers, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, idempotent: true, maxInFlightRequests: 1 });
  await admin.connect();
  await producer.connect();
  return {
    brokers,
    admin,
    producer,
    close: async () => {
      await producer.disconnect();
      await admin.disconnect();
    },
  };
}

export async function createTopic(kit: KafkaKit, partitions: number): Promise<string> {
  const topic = uniqueName('src');
  await kit.admin.createTopics({ topics: [{ topic, numPartitions: partitions, replicationFactor: 1 }], waitForLeaders: true });
  return topic;
}

/**
 * Produces message values to one partition, in order. Each send is one record batch on the broker,
 * and a fetch never splits a record batch, so `perSend` bounds how finely a consumer can chunk.
 */
export async function produce(kit: KafkaKit, topic: string, partition: number, values: string[], perSend = 500): Promise<void> {
  for (let i = 0; i < values.length; i += perSend) {
    await kit.producer.send({ topic, messages: values.slice(i, i + perSend).map((value) => ({ value, partition })) });
  }
}

/** One line as delivered: partition and the chunk it arrived in. */
export interface Delivered {
  partition: number;
  line: string;
  chunkStart: number;
  chunkEnd: number;
}

/** Splits a chunk into its lines (copying: chunk bytes are only valid during the call). */
export function linesOf(chunk: SourceChunk): Delivered[] {
  const text = Buffer.from(chunk.bytes).toString('utf8');
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((line) => ({ partition: chunk.sourcePartition, line, chunkStart: chunk.startPosition, chunkEnd: chunk.endPosition }));
}

export async function waitFor(what: string, condition: () => boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
