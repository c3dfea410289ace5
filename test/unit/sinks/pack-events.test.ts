import { Partitioners } from 'kafkajs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { eventBatchFromLines } from '../../../src/sinks/event-batch.js';
import { wholeBatch } from '../../../src/sinks/kafka/event-slices.js';
import { keyPartition, oneEventPerMessage, packEventsByPartition } from '../../../src/sinks/kafka/pack-events.js';

const metadata = (n: number) => Array.from({ length: n }, (_, partitionId) => ({ partitionId, leader: 1, replicas: [1], isr: [1], partitionErrorCode: 0 }));

describe('keyPartition', () => {
  it('chooses the partition kafkajs DefaultPartitioner (Java murmur2) chooses, for any key bytes', () => {
    const kafkajs = Partitioners.DefaultPartitioner();
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), fc.integer({ min: 1, max: 64 }), fc.integer({ min: 0, max: 8 }), (key, partitions, pad) => {
        // Keys sit inside a larger buffer, as they do in an EventBatch.
        const buffer = new Uint8Array(pad + key.length + 3);
        buffer.set(key, pad);
        const expected = kafkajs({ topic: 't', partitionMetadata: metadata(partitions), message: { key: Buffer.from(key), value: null } });
        expect(keyPartition(buffer, pad, pad + key.length, partitions)).toBe(expected);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('packing events into messages', () => {
  const lines = Array.from({ length: 50 }, (_, i) => `{"event_id":"e${i}"}`);
  const keys = lines.map((_, i) => `user-${i % 7}`);

  it('one event per message: value without the newline, key as given', () => {
    const messages = oneEventPerMessage([wholeBatch(eventBatchFromLines(lines, keys))]);
    expect(messages.map((m) => [String(m.key), String(m.value)])).toEqual(lines.map((l, i) => [keys[i], l]));
  });

  it("packs up to N lines per message, each line in its key's partition, input order kept", () => {
    const batches = [wholeBatch(eventBatchFromLines(lines.slice(0, 20), keys.slice(0, 20))), wholeBatch(eventBatchFromLines(lines.slice(20), keys.slice(20)))];
    const messages = packEventsByPartition(batches, metadata(3), 4, 1 << 20);
    const seen: string[] = [];
    for (const m of messages) {
      const packed = String(m.value).split('\n');
      expect(packed.pop()).toBe('');
      expect(packed.length).toBeLessThanOrEqual(4);
      for (const line of packed) {
        const i = lines.indexOf(line);
        const key = Buffer.from(keys[i]);
        expect(m.partition).toBe(keyPartition(key, 0, key.length, 3));
        seen.push(line);
      }
    }
    expect([...seen].sort()).toEqual([...lines].sort());
    for (const p of [0, 1, 2]) {
      const order = messages.filter((m) => m.partition === p).flatMap((m) => String(m.value).split('\n').filter(Boolean));
      expect(order).toEqual(lines.filter((l) => order.includes(l)));
    }
  });
});
