import type { KafkaMessage } from 'kafkajs';
import { describe, expect, test } from 'vitest';
import { KafkaChunkBuilder, type BuiltChunk } from '../../../src/sources/kafka/chunk.js';

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

const text = (c: BuiltChunk): string => Buffer.from(c.buffer, 0, c.length).toString();

describe('KafkaChunkBuilder', () => {
  test('joins values with newlines, keeps multi-line values, skips null and empty values', () => {
    const b = new KafkaChunkBuilder();
    const out = b.build(messages(['{"a":1}', '{"a":2}\n{"a":3}\n', null, '', '{"a":4}'], 100), -1)!;
    expect(text(out)).toBe('{"a":1}\n{"a":2}\n{"a":3}\n{"a":4}\n');
    expect(out.startOffset).toBe(100);
    expect(out.endOffset).toBe(105);
  });

  test('a single-message batch ends with a newline too (a whole line per chunk)', () => {
    const out = new KafkaChunkBuilder().build(messages(['{"a":1}\n{"a":2}'], 7), -1)!;
    expect(text(out)).toBe('{"a":1}\n{"a":2}\n');
    expect(out.startOffset).toBe(7);
    expect(out.endOffset).toBe(8);
  });

  test('messages below the delivered position are dropped; all below gives null', () => {
    const b = new KafkaChunkBuilder();
    const out = b.build(messages(['{"a":0}', '{"a":1}', '{"a":2}', '{"a":3}'], 10), 12)!;
    expect(text(out)).toBe('{"a":2}\n{"a":3}\n');
    expect(out.startOffset).toBe(12);
    expect(out.endOffset).toBe(14);
    expect(b.build(messages(['x', 'y'], 10), 12)).toBeNull();
  });

  test('a recycled buffer is reused when it fits; a larger batch gets a larger buffer', () => {
    const b = new KafkaChunkBuilder(2);
    const small = b.build(messages(['a', 'b']), -1)!;
    b.recycle(small.buffer);
    expect(b.pooledBuffers).toBe(1);
    const again = b.build(messages(['c', 'd']), -1)!;
    expect(again.buffer).toBe(small.buffer);
    expect(text(again)).toBe('c\nd\n');
    b.recycle(again.buffer);
    const big = b.build(messages(['x'.repeat(100_000), 'y']), -1)!;
    expect(big.length).toBe(100_003);
    expect(big.buffer).not.toBe(small.buffer);
    expect(big.buffer.byteLength).toBeGreaterThanOrEqual(100_003);
    // The too-small pooled buffer was dropped in favour of the new size.
    expect(b.pooledBuffers).toBe(0);
  });

  test('the pool keeps at most maxPooledBuffers and ignores detached buffers', () => {
    const b = new KafkaChunkBuilder(1);
    const one = b.build(messages(['p']), -1)!;
    const two = b.build(messages(['q']), -1)!;
    b.recycle(one.buffer);
    b.recycle(two.buffer);
    expect(b.pooledBuffers).toBe(1);
    const moved = b.build(messages(['r']), -1)!;
    structuredClone(moved.buffer, { transfer: [moved.buffer] });
    b.recycle(moved.buffer);
    expect(b.pooledBuffers).toBe(0);
  });
});
