/**
 * The aborted-transaction filter of the consumer thread (kafka-aborted-filter.ts) on fetches of plain
 * batches (as record blocks), transactional data and commit/abort markers from a few producers, some
 * of whose transactions began before the fetch, with the aborted-transaction list a broker sends.
 * The oracle is the truth the fetch was built from: a transactional record is dropped exactly when
 * its transaction was aborted; everything else is kept.
 */
import { createRequire } from 'node:module';
import fc from 'fast-check';
import type { KafkaMessage } from 'kafkajs';
import { describe, expect, test } from 'vitest';
import { filterAbortedMessages } from '../../../src/sources/kafka/aborted-filter.js';
import { RECORD_BLOCK, type RecordBlock } from '../../../src/sources/kafka/record-block.js';
import { blockDecode, decodeAll, encodeBatch } from './kafka-wire-kit.js';

type Aborted = { firstOffset: string; producerId: string }[];
type Filter = (o: { messages: KafkaMessage[]; abortedTransactions: Aborted }) => KafkaMessage[];
const kafkajsFilter = createRequire(import.meta.url)('kafkajs/src/consumer/filterAbortedMessages.js') as Filter;

type Step = { kind: 'plain'; records: number } | { kind: 'data'; producer: number; key0?: boolean } | { kind: 'end'; producer: number; abort: boolean };

const ABORT = Buffer.from([0, 0, 0, 0]);
const COMMIT = Buffer.from([0, 0, 0, 1]);

/** A transactional record or marker as kafkajs decodes it (record blocks are only made of plain batches). */
function txnMessage(offset: number, producer: number, key: Buffer | null, control: boolean): KafkaMessage {
  const batchContext = { producerId: String(producer), inTransaction: true };
  return { offset: String(offset), key, value: null, timestamp: '0', attributes: 0, headers: {}, batchContext, isControlRecord: control } as unknown as KafkaMessage;
}

/**
 * The fetch, the aborted list (in abort-marker order, as a broker sends it) and the offsets that must
 * stay. Transactions in `openBefore` began before the fetch (their first offsets lie before it).
 */
async function fetchOf(steps: Step[], firstOffset: number, openBefore: readonly number[] = []) {
  const messages: KafkaMessage[] = [];
  const aborted: Aborted = [];
  const open = new Map<number, { first: number; records: number[] }>(openBefore.map((p) => [p, { first: firstOffset - 10 + p, records: [] }]));
  const dropped = new Set<number>();
  let offset = firstOffset;
  for (const s of steps) {
    if (s.kind === 'plain') {
      const records = Array.from({ length: s.records }, (_, i) => ({ key: null, value: `{"o":${offset + i}}`, headers: {}, timestampDelta: 0 }));
      messages.push(...(await decodeAll(await encodeBatch({ firstOffset: offset, records, gzip: false }), blockDecode as never)));
      offset += s.records;
      continue;
    }
    if (s.kind === 'end' && !open.has(s.producer)) continue;
    if (s.kind === 'data') {
      // key0: an int32 key of 0, the bytes of an abort marker's key, on a data record.
      messages.push(txnMessage(offset, s.producer, s.key0 ? ABORT : null, false));
      const t = open.get(s.producer) ?? { first: offset, records: [] };
      t.records.push(offset);
      open.set(s.producer, t);
    } else {
      messages.push(txnMessage(offset, s.producer, s.abort ? ABORT : COMMIT, true));
      const t = open.get(s.producer)!;
      if (s.abort) {
        aborted.push({ firstOffset: String(t.first), producerId: String(s.producer) });
        for (const o of t.records) dropped.add(o);
      }
      open.delete(s.producer);
    }
    offset++;
  }
  const kept: number[] = [];
  for (let o = firstOffset; o < offset; o++) if (!dropped.has(o)) kept.push(o);
  return { messages, aborted, kept };
}

/** Offsets kept, a block standing for all of its records (consecutive here: no compaction). */
function keptOffsets(messages: KafkaMessage[]): number[] {
  const out: number[] = [];
  for (const m of messages) {
    const block = (m as unknown as Record<string, RecordBlock | undefined>)[RECORD_BLOCK];
    if (block === undefined) out.push(Number(m.offset));
    else for (let o = block.firstOffset; o <= Number(m.offset); o++) out.push(o);
  }
  return out;
}

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ kind: fc.constant('plain' as const), records: fc.integer({ min: 1, max: 6 }) }),
  fc.record({ kind: fc.constant('data' as const), producer: fc.integer({ min: 1, max: 3 }), key0: fc.boolean() }),
  fc.record({ kind: fc.constant('end' as const), producer: fc.integer({ min: 1, max: 3 }), abort: fc.boolean() }),
);

describe('aborted-transaction filter (kafka-aborted-filter.ts)', () => {
  test('property: drops exactly the records of aborted transactions', async () => {
    await fc.assert(
      // Half the runs begin with all three producers inside a transaction that started before the fetch.
      fc.asyncProperty(fc.array(step, { maxLength: 14 }), fc.integer({ min: 10, max: 2 ** 40 }), fc.oneof(fc.constant([1, 2, 3]), fc.subarray([1, 2, 3])),
        fc.boolean(), async (steps, first, openBefore, abortTheRest) => {
          // The fetch ends with every transaction still open ended, so each one's outcome is known.
          const ends: Step[] = [1, 2, 3].map((producer) => ({ kind: 'end', producer, abort: abortTheRest }));
          const { messages, aborted, kept } = await fetchOf([...steps, ...ends], first, openBefore);
          expect(keptOffsets(filterAbortedMessages({ messages, abortedTransactions: aborted }))).toEqual(kept);
        }),
      { numRuns: 1000 },
    );
  });

  test('what kafkajs 2.2.4 gets wrong, which is why its filter is replaced', async () => {
    // Producers 1, 2, 3 each began a transaction before offset 100 and aborted it; the fetch has a
    // record of producer 3 at 100, a plain batch 101..102, then a producer-3 record keyed int32 0.
    const wire = await encodeBatch({ firstOffset: 101, records: [0, 1].map((i) => ({ key: null, value: `${i}`, headers: {}, timestampDelta: 0 })), gzip: false });
    const messages = [txnMessage(100, 3, null, false), ...(await decodeAll(wire, blockDecode as never)), txnMessage(103, 3, ABORT, false),
      ...[1, 2, 3].map((p) => txnMessage(103 + p, p, ABORT, true))];
    const abortedTransactions = [3, 1, 2].map((p) => ({ firstOffset: String(96 + p), producerId: String(p) }));
    expect(keptOffsets(filterAbortedMessages({ messages, abortedTransactions }))).toEqual([101, 102, 104, 105, 106]);
    // kafkajs steps one listed transaction per message in the order given, and takes a data record
    // keyed 00 00 00 00 for an abort marker: it keeps producer 3's aborted records.
    expect(keptOffsets(kafkajsFilter({ messages, abortedTransactions }))).toContain(103);
  });
});
