import { describe, expect, it } from 'vitest';
import { kafkaSourceSchema } from '../../../src/sources/source-config.js';
import { TopicPartitionIds } from '../../../src/sources/kafka/topic-partitions.js';

describe('source partition numbers of several topics', () => {
  it('are the Kafka partition numbers with one topic', () => {
    const ids = new TopicPartitionIds(['clicks']);
    expect([0, 1, 7].map((p) => ids.id('clicks', p))).toEqual([0, 1, 7]);
    expect(ids.of(7)).toEqual({ topic: 'clicks', partition: 7 });
  });

  it('map (topic, partition) one to one and back, densely, the list order interleaved', () => {
    const ids = new TopicPartitionIds(['a', 'b', 'c']);
    const seen = new Set<number>();
    for (const topic of ['a', 'b', 'c']) {
      for (const p of [0, 1, 2, 999]) {
        const id = ids.id(topic, p);
        expect(seen.has(id)).toBe(false);
        seen.add(id);
        expect(ids.of(id)).toEqual({ topic, partition: p });
      }
    }
    // 4 + 2 partitions: ids 0..6, in 0..7 (partitions x topics), whatever the partition counts.
    const two = new TopicPartitionIds(['x', 'y']);
    expect(two.idsOf({ x: [0, 1, 2, 3], y: [0, 1] })).toEqual([0, 1, 2, 3, 4, 6]);
    expect(ids.idsOf({ c: [1, 0], a: [2], other: [5] })).toEqual([2, 5, 6]);
  });

  it('refuse a topic not listed, a bad partition or id, and a topic listed twice', () => {
    const ids = new TopicPartitionIds(['a', 'b']);
    expect(() => ids.id('z', 0)).toThrow(/topic z, which this source does not read/);
    expect(() => ids.id('a', -1)).toThrow(/not a partition number/);
    expect(() => ids.of(-2)).toThrow(/not a source partition number/);
    expect(() => new TopicPartitionIds(['a', 'a'])).toThrow(/listed twice/);
  });

  it('source.kafka.topic takes a name or a list of distinct names', () => {
    expect(kafkaSourceSchema.parse({ topic: 'x' }).topic).toBe('x');
    expect(kafkaSourceSchema.parse({ topic: ['x', 'y'] }).topic).toEqual(['x', 'y']);
    const twice = kafkaSourceSchema.safeParse({ topic: ['x', 'x'] });
    expect(twice.success).toBe(false);
    expect(JSON.stringify(twice.error?.issues)).toMatch(/lists a topic twice/);
    expect(kafkaSourceSchema.safeParse({ topic: [] }).success).toBe(false);
    expect(kafkaSourceSchema.safeParse({ topic: ['ok', 'bad name'] }).success).toBe(false);
  });
});
