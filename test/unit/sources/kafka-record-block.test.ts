/**
 * The record-block decoder against kafkajs's own: record batches are encoded with kafkajs's encoder
 * (the bytes a broker returns in a fetch), decoded both ways, and the chunks KafkaChunkBuilder makes
 * from the two must be byte for byte the same, with the same offsets, for any values, keys, headers,
 * compression and cut (the fetched / delivered offset, which may fall inside a batch).
 */
import fc from 'fast-check';
import type { KafkaMessage } from 'kafkajs';
import { describe, expect, test } from 'vitest';
import { SourceError } from '../../../src/errors.js';
import { KafkaChunkBuilder, type BuiltChunk } from '../../../src/sources/kafka/chunk.js';
import { RECORD_BLOCK } from '../../../src/sources/kafka/record-block.js';
import { blockDecode, decodeAll, encodeBatch, kafkajsDecode, type BatchSpec, type RecordSpec } from './kafka-wire-kit.js';

/** What kafkajs's Batch does with plain messages: drop those below the fetched offset. */
const atOrAbove = (messages: KafkaMessage[], cut: number): KafkaMessage[] => messages.filter((m) => Number(m.offset) >= cut);

const chunkText = (c: BuiltChunk | null): string | null => (c === null ? null : Buffer.from(c.buffer, 0, c.length).toString('latin1'));

async function bothWays(batches: BatchSpec[], cut: number): Promise<{ kafkajs: BuiltChunk | null; block: BuiltChunk | null; blocks: number }> {
  const wire = Buffer.concat(await Promise.all(batches.map(encodeBatch)));
  const plain = atOrAbove(await decodeAll(wire, kafkajsDecode), cut);
  const blocks = atOrAbove(await decodeAll(wire, blockDecode as never), cut);
  const builder = new KafkaChunkBuilder();
  return {
    kafkajs: plain.length === 0 ? null : builder.build(plain, cut),
    block: blocks.length === 0 ? null : builder.build(blocks, cut),
    blocks: blocks.filter((m) => RECORD_BLOCK in m).length,
  };
}

const line = fc.string({ unit: fc.constantFrom('a', 'b', '{', '"', ':', '1', 'é', '€', '\n'), maxLength: 40 });
const recordSpec: fc.Arbitrary<RecordSpec> = fc.record({
  key: fc.option(fc.string({ maxLength: 12 }), { nil: null }),
  value: fc.option(line, { nil: null, freq: 6 }),
  headers: fc.dictionary(fc.string({ minLength: 1, maxLength: 6 }), fc.string({ maxLength: 10 }), { maxKeys: 3 }),
  timestampDelta: fc.integer({ min: 0, max: 2 ** 40 }),
});

describe('record-block decoder (kafka-record-block.ts)', () => {
  test('property: chunks equal kafkajs-decoded ones for any records, compression and cut', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 2 ** 45 }),
        fc.array(fc.record({ records: fc.array(recordSpec, { minLength: 1, maxLength: 30 }), gzip: fc.boolean(), transactional: fc.boolean() }), { minLength: 1, maxLength: 4 }),
        fc.nat(),
        async (firstOffset, specs, cutPick) => {
          let next = firstOffset;
          const batches = specs.map((s) => {
            const b = { ...s, firstOffset: next };
            next += s.records.length;
            return b;
          });
          const cut = firstOffset - 1 + (cutPick % (next - firstOffset + 2));
          const { kafkajs, block, blocks } = await bothWays(batches, cut);
          expect(chunkText(block)).toBe(chunkText(kafkajs));
          expect(block?.startOffset).toBe(kafkajs?.startOffset);
          expect(block?.endOffset).toBe(kafkajs?.endOffset);
          // Plain batches with a record at or above the cut arrive as blocks, transactional ones as kafkajs messages.
          expect(blocks).toBe(batches.filter((b) => !b.transactional && b.firstOffset + b.records.length > cut).length);
        },
      ),
      { numRuns: 150 },
    );
  });

  test('a fetch starting inside a batch: the records below the cut are left out', async () => {
    const records = ['{"n":0}', '{"n":1}', '{"n":2}\n', '{"n":3}'].map((value) => ({ key: null, value, headers: {}, timestampDelta: 0 }));
    const { block } = await bothWays([{ firstOffset: 500, records, gzip: false }], 502);
    expect(chunkText(block)).toBe('{"n":2}\n{"n":3}\n');
    expect(block?.startOffset).toBe(502);
    expect(block?.endOffset).toBe(504);
  });

  test('a compacted batch: offsets with gaps, and a cut inside a gap or past every record left', async () => {
    const r = (value: string): RecordSpec => ({ key: null, value, headers: {}, timestampDelta: 0 });
    // Records at 100 and 103 of a batch that once held 100..107.
    const batch = { firstOffset: 100, records: [r('{"o":100}'), r('{"o":103}')], gzip: false, offsetDeltas: [0, 3], lastOffsetDelta: 7 };
    const builder = new KafkaChunkBuilder();
    const messages = await decodeAll(await encodeBatch(batch), blockDecode as never);
    const inGap = builder.build(messages, 102)!;
    expect([chunkText(inGap), inGap.startOffset, inGap.endOffset]).toEqual(['{"o":103}\n', 103, 108]);
    const pastAll = builder.build(messages, 105)!;
    expect([chunkText(pastAll), pastAll.startOffset, pastAll.endOffset]).toEqual(['', 105, 108]);
  });

  test('values of 9 KB and more (3-byte varint lengths) come through whole', async () => {
    const big = `{"v":"${'x'.repeat(9000)}"}`;
    const records = [big, '{"n":1}', `${big}\n${big}`].map((value) => ({ key: 'k'.repeat(200), value, headers: {}, timestampDelta: 2 ** 35 }));
    for (const gzip of [false, true]) {
      const { kafkajs, block } = await bothWays([{ firstOffset: 7, records, gzip }], -1);
      expect(chunkText(block)).toBe(chunkText(kafkajs));
      expect(chunkText(block)).toBe(`${big}\n{"n":1}\n${big}\n${big}\n`);
    }
  });

  test('transactional batches go to kafkajs decoding (aborted transactions are filtered per record)', async () => {
    const wire = await encodeBatch({ firstOffset: 9, records: [{ key: null, value: 'x', headers: {}, timestampDelta: 0 }], gzip: false, transactional: true });
    const messages = await decodeAll(wire, blockDecode as never);
    expect(messages).toHaveLength(1);
    expect(RECORD_BLOCK in messages[0]).toBe(false);
    expect(messages[0].value?.toString()).toBe('x');
  });

  test('a record that runs past its batch is a SourceError, not garbage in the chunk', async () => {
    const wire = await encodeBatch({ firstOffset: 0, records: [{ key: null, value: 'abcdef', headers: {}, timestampDelta: 0 }], gzip: false });
    // Claim two records where there is one: the walk reaches the end of the region mid-record.
    wire.writeInt32BE(2, 57);
    const messages = await decodeAll(wire, blockDecode as never);
    expect(() => new KafkaChunkBuilder().build(messages, -1)).toThrow(SourceError);
  });
});
