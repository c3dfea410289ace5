/** 10M rows through 8 partitions on 2 worker threads: each row once, in order per partition. */
import { expect, test } from 'vitest';
import { Runtime } from '../../../src/runtime/runtime.js';
import { firstWrongRow, readSummary, type SequenceCheckSummary } from '../../../src/runtime/testing/sequence-check-processor.js';
import { feed, seqOptions, seqProcessorUrl, seqSchema } from './feed.js';
import { parseRuntimeConfig } from '../../../src/runtime/runtime-config.js';

test('10M rows, 8 partitions, 2 threads: every row exactly once, in order per partition', async () => {
  const TOTAL = 10_000_000;
  const last: (SequenceCheckSummary | null)[] = new Array(8).fill(null);
  const consumed = new Array<number>(8).fill(0);
  const rt = await Runtime.create<typeof seqOptions, SequenceCheckSummary>({
    config: parseRuntimeConfig({ threads: 2, partitions: 8, ringSlots: 8, batchRows: 4096 }),
    schema: seqSchema, keyColumn: 'k', processorModuleUrl: seqProcessorUrl, processorOptions: seqOptions,
    onResult: (p, consumedSeq, out) => { last[p] = out; consumed[p] = consumedSeq; },
    onBatchFailed: (p, seq, e) => { throw e; },
  });
  // Keys from a multiplicative sequence: every partition gets ~1/8 of the rows in an irregular order.
  const stats = await feed(rt, TOTAL, () => 4096, (i) => Math.imul(i, 0x9e3779b1));
  rt.setControl({ closeBeforeMs: 42, final: true });
  await rt.close();

  let total = 0;
  for (let p = 0; p < 8; p++) {
    const s = readSummary(p, rt.stateBuffer(p));
    expect(s.rows).toBe(stats.perPartition[p]);
    expect(s.expectedNext).toBe(stats.perPartition[p]);
    expect(s.behind).toBe(0);
    expect(s.gapRows).toBe(0);
    expect(s.wrongPartition, firstWrongRow(rt.stateBuffer(p))).toBe(0);
    // The final control reached every partition, after all of its batches.
    expect(last[p]!.closeBeforeMs).toBe(42);
    expect(last[p]!.rows).toBe(stats.perPartition[p]);
    expect(consumed[p]).toBe(rt.publishedSeq(p));
    total += s.rows;
  }
  expect(total).toBe(TOTAL);
}, 120_000);
