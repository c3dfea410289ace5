/**
 * Kafka consume rate: raw kafkajs (`eachBatch`, no processing: the ceiling any kafkajs-based
 * pipeline can reach) next to ringflow's KafkaSource with a handler that does nothing (the cost
 * of its consumer thread turning batches into NDJSON chunks and moving them to the main thread),
 * on the same topic in the same run. Two topic shapes:
 * one clickstream event per message, and `eventsPerMessage` events joined by newlines.
 *
 *   node dist/bench/sources/kafka-consume-bench.js --brokers 127.0.0.1:9092 \
 *     [--messages 300000] [--batched-messages 1000] [--events-per-message 1000] [--partitions 3] [--repeat 1]
 *
 * Timing starts when the consumer has joined its group (the join and the broker's initial rebalance
 * delay are not consume work) and stops when the last message has been handed over; fetches count.
 */
import { realpathSync } from 'node:fs';
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel, Partitioners, type Admin } from 'kafkajs';
import { ClickstreamGenerator } from '../../src/sources/generators/clickstream-events.js';
import { KafkaSource } from '../../src/sources/kafka/source.js';

export interface KafkaConsumeBenchOptions {
  brokers: string[];
  /** Messages in the one-event-per-message topic. */
  messages?: number;
  /** Messages in the batched topic. */
  batchedMessages?: number;
  eventsPerMessage?: number;
  partitions?: number;
  /** Consumer runs per topic and consumer kind; the best is reported with all runs listed. */
  repeat?: number;
  log?: (line: string) => void;
}

export interface ConsumeResult {
  consumer: 'kafkajs-eachBatch' | 'ringflow-KafkaSource';
  shape: string;
  messages: number;
  events: number;
  bytes: number;
  seconds: number;
  messagesPerSec: number;
  eventsPerSec: number;
  mbPerSec: number;
  runsMessagesPerSec: number[];
}

export interface TopicFixture {
  topic: string;
  shape: string;
  messages: number;
  eventsPerMessage: number;
  bytes: number;
}

const clientLog = logLevel.NOTHING;

/** Fills a new topic with `messages` values of `eventsPerMessage` clickstream lines each. */
export async function fillTopic(kafka: Kafka, admin: Admin, messages: number, eventsPerMessage: number, partitions: number): Promise<TopicFixture> {
  const topic = `bench_consume_${eventsPerMessage}_${process.pid}_${Date.now().toString(36)}`;
  await admin.createTopics({ topics: [{ topic, numPartitions: partitions, replicationFactor: 1 }], waitForLeaders: true });
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false });
  await producer.connect();
  const gen = new ClickstreamGenerator({ seed: 7, invalidRate: 0, blankLineRate: 0 });
  // A record batch must stay under the broker's 1 MiB message.max.bytes.
  const perSend = Math.max(1, Math.min(2000, Math.floor(512 * 1024 / (eventsPerMessage * 120))));
  let bytes = 0;
  const sends: Promise<unknown>[] = [];
  for (let sent = 0; sent < messages; ) {
    const n = Math.min(perSend, messages - sent);
    const batch = new Array<{ value: string; partition: number }>(n);
    for (let i = 0; i < n; i++) {
      const value = eventsPerMessage === 1 ? gen.nextLine() : gen.fillLines(eventsPerMessage).join('\n');
      bytes += value.length;
      batch[i] = { value, partition: (sent + i) % partitions };
    }
    sends.push(producer.send({ topic, messages: batch, acks: 1 }));
    if (sends.length >= 8) await Promise.all(sends.splice(0));
    sent += n;
  }
  await Promise.all(sends);
  await producer.disconnect();
  return { topic, shape: eventsPerMessage === 1 ? '1 event/message' : `${eventsPerMessage} events/message`, messages, eventsPerMessage, bytes };
}

/** Raw kafkajs: eachBatch that only counts messages. Returns seconds from first batch to last message. */
export async function consumeRaw(kafka: Kafka, fixture: TopicFixture): Promise<number> {
  const consumer = kafka.consumer({ groupId: `bench_raw_${Date.now().toString(36)}_${Math.random().toString(36).slice(2)}`, maxBytes: 10 * 1024 * 1024, maxBytesPerPartition: 2 * 1024 * 1024, maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topics: [fixture.topic], fromBeginning: true });
  let seen = 0;
  let firstAt = 0;
  let lastAt = 0;
  consumer.on(consumer.events.GROUP_JOIN, () => {
    if (firstAt === 0) firstAt = performance.now();
  });
  const done = new Promise<void>((resolve) => {
    void consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: true,
      eachBatch: async ({ batch }) => {
        seen += batch.messages.length;
        if (seen >= fixture.messages) {
          lastAt = performance.now();
          resolve();
        }
      },
    });
  });
  await done;
  await consumer.disconnect();
  return (lastAt - firstAt) / 1000;
}

/** ringflow's KafkaSource with a handler that accepts every chunk at once. */
async function consumeSource(brokers: string[], fixture: TopicFixture): Promise<number> {
  const source = new KafkaSource({ brokers, topic: fixture.topic, groupId: `bench_src_${Date.now().toString(36)}_${Math.random().toString(36).slice(2)}`, logLevel: 'nothing', maxWaitTimeMs: 100 });
  let seen = 0;
  let firstAt = 0;
  let lastAt = 0;
  const done = new Promise<void>((resolve) => {
    void source.start(
      (chunk) => {
        seen += chunk.endPosition - chunk.startPosition;
        if (seen >= fixture.messages) {
          lastAt = performance.now();
          resolve();
        }
      },
      // Called on GROUP_JOIN, the same instant the raw consumer's clock starts.
      { onAssign: () => void (firstAt === 0 && (firstAt = performance.now())) },
    );
  });
  await done;
  await source.close();
  return (lastAt - firstAt) / 1000;
}

function result(consumer: ConsumeResult['consumer'], fixture: TopicFixture, runs: number[]): ConsumeResult {
  const seconds = Math.min(...runs);
  const events = fixture.messages * fixture.eventsPerMessage;
  return {
    consumer,
    shape: fixture.shape,
    messages: fixture.messages,
    events,
    bytes: fixture.bytes,
    seconds,
    messagesPerSec: fixture.messages / seconds,
    eventsPerSec: events / seconds,
    mbPerSec: fixture.bytes / 1e6 / seconds,
    runsMessagesPerSec: runs.map((s) => Math.round(fixture.messages / s)),
  };
}

export async function runKafkaConsumeBench(options: KafkaConsumeBenchOptions): Promise<ConsumeResult[]> {
  const log = options.log ?? ((line: string) => console.log(line));
  const partitions = options.partitions ?? 3;
  const repeat = options.repeat ?? 1;
  const kafka = new Kafka({ clientId: 'ringflow-consume-bench', brokers: options.brokers, logLevel: clientLog });
  const admin = kafka.admin();
  await admin.connect();
  const results: ConsumeResult[] = [];
  try {
    const shapes: Array<[number, number]> = [
      [options.messages ?? 300_000, 1],
      [options.batchedMessages ?? 1000, options.eventsPerMessage ?? 1000],
    ];
    for (const [messages, eventsPerMessage] of shapes) {
      const started = performance.now();
      const fixture = await fillTopic(kafka, admin, messages, eventsPerMessage, partitions);
      log(`filled ${fixture.topic}: ${messages} messages x ${eventsPerMessage} events, ${(fixture.bytes / 1e6).toFixed(1)} MB in ${((performance.now() - started) / 1000).toFixed(1)} s`);
      const raw: number[] = [];
      const src: number[] = [];
      for (let r = 0; r < repeat; r++) {
        raw.push(await consumeRaw(kafka, fixture));
        src.push(await consumeSource(options.brokers, fixture));
      }
      for (const res of [result('kafkajs-eachBatch', fixture, raw), result('ringflow-KafkaSource', fixture, src)]) {
        results.push(res);
        log(`${res.consumer.padEnd(21)} ${res.shape.padEnd(20)} ${Math.round(res.messagesPerSec).toLocaleString('en-US').padStart(10)} msg/s ` +
          `${Math.round(res.eventsPerSec).toLocaleString('en-US').padStart(12)} events/s ${res.mbPerSec.toFixed(1).padStart(7)} MB/s  (runs: ${res.runsMessagesPerSec.join(', ')} msg/s)`);
      }
      await admin.deleteTopics({ topics: [fixture.topic] }).catch(() => undefined);
    }
  } finally {
    await admin.disconnect();
  }
  return results;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      brokers: { type: 'string' },
      messages: { type: 'string', default: '300000' },
      'batched-messages': { type: 'string', default: '1000' },
      'events-per-message': { type: 'string', default: '1000' },
      partitions: { type: 'string', default: '3' },
      repeat: { type: 'string', default: '1' },
    },
  });
  if (!values.brokers) {
    console.error('usage: kafka-consume-bench --brokers host:port[,host:port] [--messages N] [--batched-messages N] [--events-per-message N] [--partitions N] [--repeat N]');
    process.exit(2);
  }
  console.log(`kafka consume bench on ${hostname()} (node ${process.version}), brokers ${values.brokers}`);
  await runKafkaConsumeBench({
    brokers: values.brokers.split(','),
    messages: Number(values.messages),
    batchedMessages: Number(values['batched-messages']),
    eventsPerMessage: Number(values['events-per-message']),
    partitions: Number(values.partitions),
    repeat: Number(values.repeat),
  });
}

if (process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
