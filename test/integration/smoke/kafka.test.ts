import { Kafka, logLevel, Partitioners, type Admin } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testServices, uniqueName } from '../../helpers/services.js';

const MESSAGE_COUNT = 3_000;
const PARTITIONS = 3;

describe('kafka smoke: admin, idempotent producer, consumer group', () => {
  const { kafkaBrokers } = testServices();
  const kafka = new Kafka({ clientId: 'ringflow-smoke', brokers: kafkaBrokers, logLevel: logLevel.NOTHING });
  const topic = uniqueName('smoke_topic');
  const groupId = uniqueName('smoke_group');
  let admin: Admin;

  beforeAll(async () => {
    admin = kafka.admin();
    await admin.connect();
  });
  afterAll(async () => {
    await admin?.disconnect();
  });

  it('creates a topic with the asked-for partitions', async () => {
    const created = await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS }], waitForLeaders: true });
    expect(created).toBe(true);
    const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
    expect(metadata.topics[0].partitions).toHaveLength(PARTITIONS);
  });

  it('produces idempotently and a consumer group reads back everything, in order, and commits', async () => {
    const producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    await producer.connect();
    const produced = Array.from({ length: MESSAGE_COUNT }, (_, i) => ({ key: `k${i}`, value: `v${i}:${i * 31}` }));
    for (let from = 0; from < MESSAGE_COUNT; from += 500) {
      await producer.send({ topic, acks: -1, messages: produced.slice(from, from + 500) });
    }
    await producer.disconnect();

    const received: Array<{ partition: number; offset: bigint; key: string; value: string }> = [];
    const consumer = kafka.consumer({ groupId });
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    let resolveAll: () => void = () => undefined;
    const allReceived = new Promise<void>((resolve) => (resolveAll = resolve));
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        for (const m of batch.messages) {
          received.push({
            partition: batch.partition,
            offset: BigInt(m.offset),
            key: m.key?.toString() ?? '',
            value: m.value?.toString() ?? '',
          });
        }
        const last = batch.messages[batch.messages.length - 1];
        if (last !== undefined) {
          await consumer.commitOffsets([{ topic, partition: batch.partition, offset: (BigInt(last.offset) + 1n).toString() }]);
        }
        if (received.length >= MESSAGE_COUNT) resolveAll();
      },
    });
    try {
      await allReceived;
    } finally {
      await consumer.disconnect();
    }

    // Exactly what was produced: no loss, no duplicate.
    expect(received).toHaveLength(MESSAGE_COUNT);
    const byKey = new Map(received.map((r) => [r.key, r.value]));
    expect(byKey.size).toBe(MESSAGE_COUNT);
    for (const message of produced) expect(byKey.get(message.key)).toBe(message.value);

    // Within a partition, offsets are dense from 0 and follow the order the producer sent in.
    const highWatermarks = await admin.fetchTopicOffsets(topic);
    let total = 0n;
    for (let partition = 0; partition < PARTITIONS; partition++) {
      const rows = received.filter((r) => r.partition === partition);
      rows.sort((a, b) => (a.offset < b.offset ? -1 : 1));
      rows.forEach((row, index) => expect(row.offset).toBe(BigInt(index)));
      const indices = rows.map((r) => Number(r.key.slice(1)));
      expect(indices).toEqual([...indices].sort((a, b) => a - b));
      const high = highWatermarks.find((p) => p.partition === partition);
      expect(BigInt(high?.high ?? -1)).toBe(BigInt(rows.length));
      total += BigInt(rows.length);
    }
    expect(total).toBe(BigInt(MESSAGE_COUNT));

    // The group's committed offsets are the end of every partition.
    const committed = await admin.fetchOffsets({ groupId, topics: [topic] });
    const partitions = committed[0].partitions.sort((a, b) => a.partition - b.partition);
    expect(partitions.map((p) => p.offset)).toEqual(
      highWatermarks.sort((a, b) => a.partition - b.partition).map((p) => p.high),
    );
  });
});
