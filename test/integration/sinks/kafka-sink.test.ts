import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testServices, uniqueName } from '../../helpers/services.js';
import type { Alert } from '../../../src/sinks/alerts/alert.js';
import { DeadLetterFile } from '../../../src/sinks/dead-letter-file.js';
import { eventBatchFromLines } from '../../../src/sinks/event-batch.js';
import { kafkaSinkConfigSchema } from '../../../src/sinks/kafka/config.js';
import { createKafkaSinks, type KafkaSinks } from '../../../src/sinks/kafka/sink.js';

let kafka: Kafka;
let admin: Admin;
let dir: string;
const opened: KafkaSinks[] = [];

beforeAll(async () => {
  kafka = new Kafka({ clientId: 'sink-test', brokers: testServices().kafkaBrokers, logLevel: logLevel.NOTHING });
  admin = kafka.admin();
  await admin.connect();
  dir = mkdtempSync(join(tmpdir(), 'ringflow-kafka-sink-'));
});

afterAll(async () => {
  for (const s of opened) await s.close().catch(() => undefined);
  await admin.disconnect();
  rmSync(dir, { recursive: true, force: true });
});

/** Reads `count` messages from the start of `topic` with a fresh consumer group. */
async function readBack(topic: string, count: number): Promise<{ key: string; value: string; partition: number }[]> {
  const consumer = kafka.consumer({ groupId: uniqueName('reader') });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const out: { key: string; value: string; partition: number }[] = [];
  await new Promise<void>((resolve, reject) => {
    consumer
      .run({
        eachMessage: async ({ message, partition }) => {
          out.push({ key: message.key!.toString(), value: message.value!.toString(), partition });
          if (out.length >= count) resolve();
        },
      })
      .catch(reject);
  });
  await consumer.disconnect();
  return out;
}

/** Every message of `topic` (keys may be absent), read until a fetch brings nothing new for a while. */
async function readBackRaw(topic: string): Promise<{ value: string; partition: number; offset: string }[]> {
  const offsets = await admin.fetchTopicOffsets(topic);
  const expected = offsets.reduce((n, o) => n + Number(o.high) - Number(o.low), 0);
  const consumer = kafka.consumer({ groupId: uniqueName('reader') });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const out: { value: string; partition: number; offset: string }[] = [];
  await new Promise<void>((resolve, reject) => {
    consumer
      .run({
        eachMessage: async ({ message, partition }) => {
          out.push({ value: message.value!.toString(), partition, offset: message.offset });
          if (out.length >= expected) resolve();
        },
      })
      .catch(reject);
  });
  await consumer.disconnect();
  return out.sort((a, b) => a.partition - b.partition || Number(a.offset) - Number(b.offset));
}

/** Messages in `topic` per the broker (high - low watermarks summed over partitions). */
async function messagesIn(topic: string): Promise<number> {
  const offsets = await admin.fetchTopicOffsets(topic);
  return offsets.reduce((n, o) => n + Number(o.high) - Number(o.low), 0);
}

/** Every message of `topic` (a fresh group, batch by batch), in partition then offset order. */
async function readAll(topic: string): Promise<{ key: string | null; value: string; partition: number }[]> {
  const expected = await messagesIn(topic);
  const consumer = kafka.consumer({ groupId: uniqueName('reader'), maxBytes: 16 << 20 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const out: { key: string | null; value: string; partition: number; offset: number }[] = [];
  await new Promise<void>((resolve, reject) => {
    consumer
      .run({
        eachBatch: async ({ batch }) => {
          for (const m of batch.messages) {
            out.push({ key: m.key ? m.key.toString() : null, value: m.value!.toString(), partition: batch.partition, offset: Number(m.offset) });
          }
          if (out.length >= expected) resolve();
        },
      })
      .catch(reject);
  });
  await consumer.disconnect();
  return out.sort((a, b) => a.partition - b.partition || a.offset - b.offset);
}

/** `count` events: unique ids, 997 keys, lines of 40 to ~400 bytes. */
function manyEvents(count: number, tag: string): { lines: string[]; keys: string[] } {
  const lines: string[] = [];
  const keys: string[] = [];
  for (let i = 0; i < count; i++) {
    const user = `u${(i * 7919) % 997}`;
    lines.push(JSON.stringify({ event_id: `${tag}${i}`, user_id: user, pad: 'x'.repeat((i * 37) % 360) }));
    keys.push(user);
  }
  return { lines, keys };
}

/**
 * Each input event arrives exactly once, keyed by its user, and a key's events keep input order
 * within their partition (one event per message).
 */
function expectExactlyOnceInKeyOrder(got: { key: string | null; value: string; partition: number }[], lines: string[]): void {
  expect(got.length).toBe(lines.length);
  expect(got.map((m) => m.value).sort()).toEqual([...lines].sort());
  const lastIndex = new Map<string, number>();
  const partitionOf = new Map<string, number>();
  for (const m of got) {
    const event = JSON.parse(m.value) as { event_id: string; user_id: string };
    expect(m.key).toBe(event.user_id);
    const index = Number(event.event_id.replace(/^\D+/, ''));
    expect(index).toBeGreaterThan(lastIndex.get(event.user_id) ?? -1);
    lastIndex.set(event.user_id, index);
    expect(partitionOf.get(event.user_id) ?? m.partition).toBe(m.partition);
    partitionOf.set(event.user_id, m.partition);
  }
}

const deadLetterRecords = (path: string): Record<string, unknown>[] => {
  try {
    return readFileSync(path, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
  } catch {
    return [];
  }
};

describe('Kafka sink on a real broker', () => {
  it('produces processed events keyed by their partition key, and alerts to the alerts topic', async () => {
    const eventsTopic = uniqueName('events');
    const alertsTopic = uniqueName('alerts');
    await admin.createTopics({ topics: [{ topic: eventsTopic, numPartitions: 3 }, { topic: alertsTopic, numPartitions: 1 }], waitForLeaders: true });
    const sinks = createKafkaSinks(
      kafkaSinkConfigSchema.parse({ brokers: testServices().kafkaBrokers, eventsTopic, alertsTopic, maxRows: 40, maxDelayMs: 10 }),
      new DeadLetterFile(join(dir, 'dl.ndjson')),
    );
    opened.push(sinks);

    const lines = Array.from({ length: 100 }, (_, i) => JSON.stringify({ event_id: `e${i}`, user_id: `u${i % 7}`, amount: i }));
    const keys = lines.map((_, i) => `u${i % 7}`);
    for (let at = 0; at < lines.length; at += 25) {
      await sinks.events!.write(eventBatchFromLines(lines.slice(at, at + 25), keys.slice(at, at + 25)));
    }
    const alert: Alert = {
      alert_id: 'big:1764000000000:purchase|eu', rule: 'big', kind: 'threshold', window_start: 1_764_000_000_000,
      window_end: 1_764_000_060_000, group: { type: 'purchase', region: 'eu' }, group_key: 'purchase|eu',
      metric: 'amount_sum', value: 1500, condition: 'amount_sum > 1000', threshold: 1000,
    };
    await sinks.alerts!.write(alert);
    await sinks.events!.flush();
    await sinks.alerts!.flush();
    expect(sinks.events!.counters()).toMatchObject({ writtenRows: 100, deadLetteredRows: 0 });

    const events = await readBack(eventsTopic, 100);
    expect(events.map((m) => m.value).sort()).toEqual([...lines].sort());
    for (const m of events) expect(m.key).toBe(JSON.parse(m.value).user_id);
    // Keyed: all events of one user land in one partition.
    const partitionOf = new Map<string, Set<number>>();
    for (const m of events) partitionOf.set(m.key, (partitionOf.get(m.key) ?? new Set()).add(m.partition));
    for (const parts of partitionOf.values()) expect(parts.size).toBe(1);

    const alerts = await readBack(alertsTopic, 1);
    expect(alerts).toEqual([{ key: 'purchase|eu', value: JSON.stringify(alert), partition: 0 }]);
  });

  it('packs many events per message into the partition each key maps to when eventsPerMessage > 1', async () => {
    const packedTopic = uniqueName('packed');
    const keyedTopic = uniqueName('keyed');
    await admin.createTopics({ topics: [{ topic: packedTopic, numPartitions: 4 }, { topic: keyedTopic, numPartitions: 4 }], waitForLeaders: true });
    const sinks = createKafkaSinks(
      kafkaSinkConfigSchema.parse({ brokers: testServices().kafkaBrokers, eventsTopic: packedTopic, eventsPerMessage: 16, maxDelayMs: 10 }),
      new DeadLetterFile(join(dir, 'dl-packed.ndjson')),
    );
    opened.push(sinks);
    const userKeys = Array.from({ length: 11 }, (_, i) => `user-${i}`);
    const lines = Array.from({ length: 200 }, (_, i) => JSON.stringify({ event_id: `p${i}`, user_id: userKeys[i % 11] }));
    const keys = lines.map((_, i) => userKeys[i % 11]);
    await sinks.events!.write(eventBatchFromLines(lines.slice(0, 120), keys.slice(0, 120)));
    await sinks.events!.write(eventBatchFromLines(lines.slice(120), keys.slice(120)));
    await sinks.events!.flush();

    // Reference: where a plain keyed producer puts each key on a topic with the same partition count.
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: keyedTopic, messages: userKeys.map((k) => ({ key: k, value: k })) });
    await producer.disconnect();
    const keyedPartition = new Map((await readBack(keyedTopic, userKeys.length)).map((m) => [m.key, m.partition]));

    const messages = await readBackRaw(packedTopic);
    const events = messages.flatMap((m) => m.value.split('\n').filter(Boolean).map((line) => ({ line, partition: m.partition })));
    expect(events.map((e) => e.line).sort()).toEqual([...lines].sort());
    expect(messages.length).toBeLessThan(lines.length / 4);
    for (const e of events) expect(e.partition).toBe(keyedPartition.get(JSON.parse(e.line).user_id));
    // Order within a partition follows input order.
    for (const p of new Set(events.map((e) => e.partition))) {
      const ids = events.filter((e) => e.partition === p).map((e) => Number(JSON.parse(e.line).event_id.slice(1)));
      expect(ids).toEqual([...ids].sort((a, b) => a - b));
    }
  });

  it.each([
    { partitions: 4, maxRows: 400 },
    { partitions: 1, maxRows: 250 },
  ])('splits one write of 120000 events into bounded requests: $partitions partition(s), maxRows $maxRows, 64 KiB', async ({ partitions, maxRows }) => {
    const topic = uniqueName(`split_${partitions}`);
    const maxRequestBytes = 64 * 1024;
    // The broker refuses any record batch over the bound: a request cut too large would fail loudly here.
    await admin.createTopics({
      topics: [{ topic, numPartitions: partitions, configEntries: [{ name: 'max.message.bytes', value: String(maxRequestBytes) }] }],
      waitForLeaders: true,
    });
    const deadLetter = new DeadLetterFile(join(dir, `${topic}.dl.ndjson`));
    const sinks = createKafkaSinks(
      kafkaSinkConfigSchema.parse({ brokers: testServices().kafkaBrokers, eventsTopic: topic, maxRows, maxRequestBytes, maxDelayMs: 10 }),
      deadLetter,
    );
    opened.push(sinks);
    const { lines, keys } = manyEvents(120_000, 's');
    await sinks.events!.write(eventBatchFromLines(lines, keys));
    await sinks.events!.flush();
    expect(sinks.events!.counters()).toMatchObject({ writtenRows: lines.length, deadLetteredRows: 0, retriedAttempts: 0, bufferedRows: 0 });
    expect(deadLetterRecords(deadLetter.path)).toEqual([]);
    expect(await messagesIn(topic)).toBe(lines.length);
    expectExactlyOnceInKeyOrder(await readAll(topic), lines);
  });

  it('dead-letters an event larger than maxRequestBytes, naming the limit, and stores the events around it', async () => {
    const topic = uniqueName('oversized');
    await admin.createTopics({ topics: [{ topic, numPartitions: 4 }], waitForLeaders: true });
    const deadLetter = new DeadLetterFile(join(dir, `${topic}.dl.ndjson`));
    const maxRequestBytes = 64 * 1024;
    const sinks = createKafkaSinks(
      kafkaSinkConfigSchema.parse({ brokers: testServices().kafkaBrokers, eventsTopic: topic, maxRows: 100, maxRequestBytes, maxDelayMs: 10 }),
      deadLetter,
    );
    opened.push(sinks);
    const { lines, keys } = manyEvents(3_000, 'o');
    const big = JSON.stringify({ event_id: 'o_big', user_id: keys[1234], pad: 'y'.repeat(maxRequestBytes) });
    const sent = [...lines.slice(0, 1234), big, ...lines.slice(1234)];
    const sentKeys = [...keys.slice(0, 1234), keys[1234], ...keys.slice(1234)];
    await sinks.events!.write(eventBatchFromLines(sent, sentKeys));
    await sinks.events!.flush();
    expect(sinks.events!.counters()).toMatchObject({ writtenRows: lines.length, deadLetteredRows: 1 });
    await deadLetter.close();
    const records = deadLetterRecords(deadLetter.path);
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ sink: 'kafka.events', code: 'kafka:MESSAGE_TOO_LARGE', retriable: false, attempts: 1, line: big, key: keys[1234] });
    expect(records[0].message).toMatch(new RegExp(`over the Kafka limit of ${maxRequestBytes} bytes .*maxRequestBytes ${maxRequestBytes}`));
    expectExactlyOnceInKeyOrder(await readAll(topic), lines);
  });

  it.each([1, 32])('stores every event on a topic whose max.message.bytes is 16384 (eventsPerMessage %i)', async (eventsPerMessage) => {
    const topic = uniqueName(`small_limit_${eventsPerMessage}`);
    await admin.createTopics({
      topics: [{ topic, numPartitions: 4, configEntries: [{ name: 'max.message.bytes', value: '16384' }] }],
      waitForLeaders: true,
    });
    const deadLetter = new DeadLetterFile(join(dir, `${topic}.dl.ndjson`));
    // maxRequestBytes stays at its default (1000000): the topic's own limit has to be learned.
    const sinks = createKafkaSinks(
      kafkaSinkConfigSchema.parse({ brokers: testServices().kafkaBrokers, eventsTopic: topic, eventsPerMessage, maxDelayMs: 10 }),
      deadLetter,
    );
    opened.push(sinks);
    const { lines, keys } = manyEvents(30_000, 'm');
    await sinks.events!.write(eventBatchFromLines(lines.slice(0, 20_000), keys.slice(0, 20_000)));
    await sinks.events!.write(eventBatchFromLines(lines.slice(20_000), keys.slice(20_000)));
    await sinks.events!.flush();
    expect(sinks.events!.counters()).toMatchObject({ writtenRows: lines.length, deadLetteredRows: 0 });
    expect(deadLetterRecords(deadLetter.path)).toEqual([]);
    if (eventsPerMessage === 1) {
      expect(await messagesIn(topic)).toBe(lines.length);
      expectExactlyOnceInKeyOrder(await readAll(topic), lines);
    } else {
      const messages = await readAll(topic);
      for (const m of messages) expect(Buffer.byteLength(m.value)).toBeLessThanOrEqual(16384);
      const got = messages.flatMap((m) => m.value.split('\n').filter(Boolean));
      expect(got.length).toBe(lines.length);
      expect([...got].sort()).toEqual([...lines].sort());
    }
  });

  it('dead-letters events for a topic that does not exist once the budget is spent', async () => {
    const deadLetter = new DeadLetterFile(join(dir, 'dl-missing.ndjson'));
    const sinks = createKafkaSinks(
      kafkaSinkConfigSchema.parse({
        brokers: testServices().kafkaBrokers, eventsTopic: uniqueName('missing'), maxDelayMs: 10, requestTimeoutMs: 2000,
        retry: { maxAttempts: 2, initialBackoffMs: 10, maxBackoffMs: 20, maxElapsedMs: 0 },
      }),
      deadLetter,
    );
    opened.push(sinks);
    await sinks.events!.write(eventBatchFromLines(['{"event_id":"x"}', '{"event_id":"y"}'], ['k1', 'k2']));
    await sinks.events!.flush();
    expect(sinks.events!.counters()).toMatchObject({ writtenRows: 0, deadLetteredRows: 2 });
    await deadLetter.close();
    const records = readFileSync(deadLetter.path, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(records.map((r) => [r.sink, r.line, r.key, r.attempts])).toEqual([
      ['kafka.events', '{"event_id":"x"}', 'k1', 2],
      ['kafka.events', '{"event_id":"y"}', 'k2', 2],
    ]);
    for (const r of records) expect(r).toMatchObject({ code: 'kafka:UNKNOWN_TOPIC_OR_PARTITION', retriable: true });
  });
});
