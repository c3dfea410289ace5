import type { KafkaMessage } from 'kafkajs';
import { describe, expect, test } from 'vitest';
import { KafkaChunkBuilder } from '../../../src/sources/kafka-chunk.js';

/** kafkajs message records as its decoder produces them (plain data; no broker involved). */
function messages(values: Array<string | null>, firstOffset = 0): KafkaMessage[] {
  return values.map((v, i) => ({
    key: null,
    value: v === null ? null : Buffer.from(v),
    timestamp: '0',
    attributes: 0,
    offset: String(firstOffset + i),
    headers: {},
  }));
}

describe('KafkaChunkBuilder', () => {
  test('joins values with newlines, keeps multi-line values, skips null and empty values', () => {
    const b = new KafkaChunkBuilder();
    const out = b.build(3, messages(['{"a":1}', '{"a":2}\n{"a":3}\n', null, '', '{"a":4}'], 100), -1)!;
    expect(Buffer.from(out.bytes).toString()).toBe('{"a":1}\n{"a":2}\n{"a":3}\n{"a":4}\n');
    expect(out.startOffset).toBe(100);
    expect(out.endOffset).toBe(105);
  });

  test('a single-message batch is passed through without a copy', () => {
    const msgs = messages(['{"a":1}\n{"a":2}'], 7);
    const out = new KafkaChunkBuilder().build(0, msgs, -1)!;
    expect(out.bytes).toBe(msgs[0].value);
    expect(out.endOffset).toBe(8);
  });

  test('messages below the delivered position are dropped; all below gives null', () => {
    const b = new KafkaChunkBuilder();
    const out = b.build(0, messages(['{"a":0}', '{"a":1}', '{"a":2}', '{"a":3}'], 10), 12)!;
    expect(Buffer.from(out.bytes).toString()).toBe('{"a":2}\n{"a":3}\n');
    expect(out.startOffset).toBe(12);
    expect(out.endOffset).toBe(14);
    expect(b.build(0, messages(['x', 'y'], 10), 12)).toBeNull();
  });

  test('the scratch buffer is reused and grown per partition', () => {
    const b = new KafkaChunkBuilder();
    const small = b.build(1, messages(['a', 'b']), -1)!;
    const again = b.build(1, messages(['c', 'd']), -1)!;
    expect(again.bytes.buffer).toBe(small.bytes.buffer);
    const big = b.build(1, messages(['x'.repeat(100_000), 'y']), -1)!;
    expect(big.bytes.length).toBe(100_003);
    expect(Buffer.from(b.build(2, messages(['p', 'q']), -1)!.bytes).toString()).toBe('p\nq\n');
  });
});
