import { createRequire } from 'node:module';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Batcher } from '../../../src/sinks/batcher.js';
import { eventBatchFromLines, keyAt, lineAt } from '../../../src/sinks/event-batch.js';
import {
  eventBytes, halveSlice, rangeBytes, recordBudgetBytes, sliceEventBatch, type EventSlice,
} from '../../../src/sinks/kafka/event-slices.js';
import { keyPartition, oneEventPerMessage, packEventsByPartition } from '../../../src/sinks/kafka/pack-events.js';
import type { EventBatch } from '../../../src/contracts/index.js';

// kafkajs' own record batch encoder: the sizes the slices promise are checked against real bytes.
const require = createRequire(import.meta.url);
const { RecordBatch } = require('kafkajs/src/protocol/recordBatch/v0/index.js') as { RecordBatch: (o: { records: unknown[] }) => Promise<{ buffer: Buffer }> };
const Record = require('kafkajs/src/protocol/recordBatch/record/v0/index.js') as (o: { offsetDelta: number; timestampDelta: number; key: Buffer | null; value: Buffer }) => unknown;

/** Events: a key from a small set (so keys repeat) and a line of arbitrary length, unicode included. */
const eventsArb = fc.array(
  fc.record({ key: fc.constantFrom('a', 'user-1', 'ü-2', 'k3', '', 'long-key-0123456789'), pad: fc.string({ maxLength: 300, unit: 'grapheme' }) }),
  { minLength: 0, maxLength: 200 },
);

function batchOf(events: { key: string; pad: string }[], tag: string): EventBatch {
  const lines = events.map((e, i) => JSON.stringify({ id: `${tag}${i}`, key: e.key, pad: e.pad }));
  return eventBatchFromLines(lines, events.map((e) => e.key));
}

/** The rows of each slice, in order, as `line` strings. */
const linesOf = (slices: readonly EventSlice[]): string[] =>
  slices.flatMap((s) => Array.from({ length: s.to - s.from }, (_, j) => lineAt(s.batch, s.from + j)));

describe('sliceEventBatch', () => {
  it('puts every event in exactly one slice, in order, within maxRows and the byte budget', () => {
    fc.assert(
      fc.property(eventsArb, fc.integer({ min: 1, max: 50 }), fc.integer({ min: 40, max: 4000 }), (events, maxRows, budget) => {
        const batch = batchOf(events, 'e');
        const slices = sliceEventBatch(batch, maxRows, budget);
        let next = 0;
        for (const s of slices) {
          expect(s.from).toBe(next);
          expect(s.to).toBeGreaterThan(s.from);
          expect(s.to - s.from).toBeLessThanOrEqual(maxRows);
          expect(s.bytes).toBe(rangeBytes(batch, s.from, s.to));
          // Over budget only as a single event that is over budget by itself.
          if (s.bytes > budget) expect(s.to - s.from).toBe(1);
          next = s.to;
        }
        expect(next).toBe(batch.rowCount);
        // Cuts are not wasteful: a slice ends early only when the next event would not fit.
        for (const s of slices.slice(0, -1)) {
          if (s.to - s.from < maxRows && s.bytes <= budget) expect(s.bytes + eventBytes(batch, s.to)).toBeGreaterThan(budget);
        }
      }),
      { numRuns: 400 },
    );
  });

  it('gives an event over the budget a slice of its own, the events around it unaffected', () => {
    const batch = eventBatchFromLines(['{"a":1}', `{"big":"${'x'.repeat(500)}"}`, '{"b":2}', '{"c":3}'], ['k', 'k', 'k', 'k']);
    const slices = sliceEventBatch(batch, 10, 200);
    expect(slices.map((s) => [s.from, s.to])).toEqual([[0, 1], [1, 2], [2, 4]]);
    expect(slices[1].bytes).toBeGreaterThan(200);
  });

  it('halves a slice into two that cover it, bytes adding up', () => {
    fc.assert(
      fc.property(eventsArb.filter((e) => e.length >= 2), (events) => {
        const batch = batchOf(events, 'h');
        const [whole] = sliceEventBatch(batch, 1_000, Number.MAX_SAFE_INTEGER);
        const [a, b] = halveSlice(whole)!;
        expect([a.from, a.to, b.from, b.to]).toEqual([0, a.to, a.to, batch.rowCount]);
        expect(a.bytes + b.bytes).toBe(whole.bytes);
        expect(b.bytes).toBe(rangeBytes(batch, b.from, b.to));
        expect(halveSlice({ ...a, to: a.from + 1 })).toBeUndefined();
      }),
    );
  });

  it('promises no less than kafkajs encodes: a request within the budget is a record batch within the limit', async () => {
    await fc.assert(
      fc.asyncProperty(eventsArb.filter((e) => e.length > 0), fc.integer({ min: 300, max: 20_000 }), async (events, limit) => {
        const batch = batchOf(events, 'k');
        for (const s of sliceEventBatch(batch, 10_000, recordBudgetBytes(limit))) {
          if (s.bytes > recordBudgetBytes(limit)) continue;
          const records = oneEventPerMessage([s]).map((m, i) =>
            Record({ offsetDelta: i, timestampDelta: 0, key: m.key as Buffer, value: m.value as Buffer }));
          const encoded = await RecordBatch({ records });
          expect(encoded.buffer.length).toBeLessThanOrEqual(limit);
        }
      }),
      { numRuns: 100 },
    );
  });
});

describe('requests: slices of many batches joined by the Batcher', () => {
  it('every event once, per-key order kept, no request over maxRows or the byte budget', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(eventsArb, { minLength: 1, maxLength: 6 }), fc.integer({ min: 1, max: 40 }), fc.integer({ min: 60, max: 3000 }),
        async (batches, maxRows, budget) => {
          const requests: EventSlice[][] = [];
          const batcher = new Batcher<EventSlice>({
            maxRows, maxDelayMs: 60_000, maxBufferedRows: 1_000_000, maxBatchBytes: () => budget,
            rowsOf: (s) => s.to - s.from, bytesOf: (s) => s.bytes,
            deliver: async (items) => void requests.push(items),
          });
          const sent = batches.map((events, b) => batchOf(events, `b${b}-`));
          for (const batch of sent) await Promise.all(sliceEventBatch(batch, maxRows, budget).map((s) => batcher.add(s)));
          await batcher.flush();

          for (const r of requests) {
            const rows = r.reduce((n, s) => n + s.to - s.from, 0);
            const bytes = r.reduce((n, s) => n + s.bytes, 0);
            expect(rows).toBeLessThanOrEqual(maxRows);
            if (bytes > budget) expect(rows).toBe(1);
          }
          const expected = sent.flatMap((batch) => linesOf([{ batch, from: 0, to: batch.rowCount, bytes: 0 }]));
          const delivered = requests.flatMap((r) => linesOf(r));
          // Slices are delivered in the order they were added: same lines, same order, so per key too.
          expect(delivered).toEqual(expected);
          expect(new Set(delivered).size).toBe(expected.length);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('packing with a message size bound', () => {
  it('keeps each packed message within maxMessageBytes unless one line alone is larger, lines in key partitions', () => {
    fc.assert(
      fc.property(eventsArb, fc.integer({ min: 1, max: 20 }), fc.integer({ min: 50, max: 2000 }), fc.integer({ min: 1, max: 5 }), (events, perMessage, maxMessageBytes, partitions) => {
        const batch = batchOf(events, 'p');
        const metadata = Array.from({ length: partitions }, (_, partitionId) => ({ partitionId, leader: 1, replicas: [1], isr: [1], partitionErrorCode: 0 }));
        const messages = packEventsByPartition(sliceEventBatch(batch, 1_000, Number.MAX_SAFE_INTEGER), metadata, perMessage, maxMessageBytes);
        const seen: string[] = [];
        for (const m of messages) {
          const value = m.value as Buffer;
          const lines = value.toString().split('\n');
          expect(lines.pop()).toBe('');
          expect(lines.length).toBeLessThanOrEqual(perMessage);
          if (value.length > maxMessageBytes) expect(lines.length).toBe(1);
          seen.push(...lines);
        }
        const all = Array.from({ length: batch.rowCount }, (_, i) => lineAt(batch, i));
        expect([...seen].sort()).toEqual([...all].sort());
        for (let i = 0; i < batch.rowCount; i++) {
          const key = Buffer.from(keyAt(batch, i));
          const m = messages.find((msg) => (msg.value as Buffer).toString().split('\n').includes(all[i]))!;
          expect(m.partition).toBe(keyPartition(key, 0, key.length, partitions));
        }
      }),
      { numRuns: 200 },
    );
  });
});
