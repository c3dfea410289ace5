/**
 * The aborted-transaction filter that understands record blocks (kafka-aborted-filter.ts) against
 * kafkajs's own filter: a fetch of plain batches, transactional data and commit/abort markers from a
 * few producers, with the aborted-transaction list a broker sends. kafkajs filters the per-record
 * messages its decoder makes; ringflow's filter gets record blocks for the plain batches instead. The
 * records kept must be the same.
 */
import { createRequire } from 'node:module';
import fc from 'fast-check';
import type { KafkaMessage } from 'kafkajs';
import { describe, expect, test } from 'vitest';
import { filterAbortedMessages } from '../../../src/sources/kafka-aborted-filter.js';
import { forEachRecordOffset, RECORD_BLOCK, type RecordBlock } from '../../../src/sources/kafka-record-block.js';
import { blockDecode, decodeAll, encodeBatch, kafkajsDecode } from './kafka-wire-kit.js';

type Filter = (o: { messages: KafkaMessage[]; abortedTransactions: { firstOffset: string; producerId: string }[] }) => KafkaMessage[];
const kafkajsFilter = createRequire(import.meta.url)('kafkajs/src/consumer/filterAbortedMessages.js') as Filter;

type Step = { kind: 'plain'; records: number } | { kind: 'data'; producer: number } | { kind: 'end'; producer: number; abort: boolean };

const ABORT = Buffer.from([0, 0, 0, 0]);
const COMMIT = Buffer.from([0, 0, 0, 1]);

/** A transactional record or marker as kafkajs decodes it (both decoders hand these batches to kafkajs). */
function txnMessage(offset: number, producer: number, marker: Buffer | null): KafkaMessage {
  const batchContext = { producerId: String(producer), inTransaction: true };
  return { offset: String(offset), key: marker, value: null, timestamp: '0', attributes: 0, headers: {}, batchContext, isControlRecord: marker !== null } as unknown as KafkaMessage;
}

/** The fetch both ways: kafkajs's per-record messages, and the same with record blocks for plain batches. */
async function fetchOf(steps: Step[], firstOffset: number, openBefore: readonly number[] = []) {
  const perRecord: KafkaMessage[] = [];
  const withBlocks: KafkaMessage[] = [];
  const aborted: { firstOffset: string; producerId: string }[] = [];
  // Transactions already open when the fetch starts: their first records lie before it.
  const open = new Map<number, number>(openBefore.map((p) => [p, firstOffset - 10 + p]));
  let offset = firstOffset;
  for (const s of steps) {
    if (s.kind === 'plain') {
      const records = Array.from({ length: s.records }, (_, i) => ({ key: null, value: `{"o":${offset + i}}`, headers: {}, timestampDelta: 0 }));
      const wire = await encodeBatch({ firstOffset: offset, records, gzip: false });
      perRecord.push(...(await decodeAll(wire, kafkajsDecode)));
      withBlocks.push(...(await decodeAll(wire, blockDecode as never)));
      offset += s.records;
      continue;
    }
    if (s.kind === 'end' && !open.has(s.producer)) continue;
    const m = txnMessage(offset, s.producer, s.kind === 'end' ? (s.abort ? ABORT : COMMIT) : null);
    perRecord.push(m);
    withBlocks.push(m);
    if (s.kind === 'data' && !open.has(s.producer)) open.set(s.producer, offset);
    if (s.kind === 'end') {
      if (s.abort) aborted.push({ firstOffset: String(open.get(s.producer)), producerId: String(s.producer) });
      open.delete(s.producer);
    }
    offset++;
  }
  aborted.sort((a, b) => Number(a.firstOffset) - Number(b.firstOffset));
  return { perRecord, withBlocks, aborted };
}

/** Offsets kept, a block standing for all of its records. */
function keptOffsets(messages: KafkaMessage[]): number[] {
  const out: number[] = [];
  for (const m of messages) {
    const block = (m as unknown as Record<string, RecordBlock | undefined>)[RECORD_BLOCK];
    if (block === undefined) out.push(Number(m.offset));
    else forEachRecordOffset(block, (o) => out.push(o) >= 0);
  }
  return out;
}

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ kind: fc.constant('plain' as const), records: fc.integer({ min: 1, max: 6 }) }),
  fc.record({ kind: fc.constant('data' as const), producer: fc.integer({ min: 1, max: 3 }) }),
  fc.record({ kind: fc.constant('end' as const), producer: fc.integer({ min: 1, max: 3 }), abort: fc.boolean() }),
);

describe('aborted-transaction filter with record blocks (kafka-aborted-filter.ts)', () => {
  test('property: keeps the same records as kafkajs does on per-record messages', async () => {
    await fc.assert(
      // Half the runs begin with all three producers inside a transaction that started before the fetch.
      fc.asyncProperty(fc.array(step, { maxLength: 14 }), fc.integer({ min: 10, max: 2 ** 40 }), fc.oneof(fc.constant([1, 2, 3]), fc.subarray([1, 2, 3])), async (steps, first, openBefore) => {
        // The fetch ends with every transaction still open aborted, so most runs have aborted ones to filter.
        const ends: Step[] = [1, 2, 3].map((producer) => ({ kind: 'end', producer, abort: true }));
        const { perRecord, withBlocks, aborted } = await fetchOf([...steps, ...ends], first, openBefore);
        const expected = keptOffsets(kafkajsFilter({ messages: perRecord, abortedTransactions: aborted }));
        expect(keptOffsets(filterAbortedMessages({ messages: withBlocks, abortedTransactions: aborted }))).toEqual(expected);
      }),
      { numRuns: 1000 },
    );
  });

  test('transactions that began before the fetch: a block steps once per record, so an aborted record after it is dropped', async () => {
    // Producers 1, 2, 3 each began a transaction before offset 100 and aborted it; the fetch starts
    // with a plain batch of 3 records, then a record of producer 3's aborted transaction.
    const wire = await encodeBatch({ firstOffset: 100, records: [0, 1, 2].map((i) => ({ key: null, value: `${i}`, headers: {}, timestampDelta: 0 })), gzip: false });
    const messages = [...(await decodeAll(wire, blockDecode as never)), txnMessage(103, 3, null)];
    const abortedTransactions = [1, 2, 3].map((p) => ({ firstOffset: String(96 + p), producerId: String(p) }));
    expect(keptOffsets(filterAbortedMessages({ messages, abortedTransactions }))).toEqual([100, 101, 102]);
    // kafkajs's own filter steps once per message: given the block it would keep the aborted record.
    expect(keptOffsets(kafkajsFilter({ messages, abortedTransactions }))).toEqual([100, 101, 102, 103]);
  });
});
