/**
 * Worker failure: a kernel exception or a dead worker thread is attributed to (partition, batch seq),
 * retried once by a fresh processor, then dead-lettered; other batches keep flowing.
 */
import { expect, test } from 'vitest';
import { KernelError } from '../../../src/errors.js';
import { Runtime } from '../../../src/runtime/runtime.js';
import { readSummary, type SequenceCheckOptions } from '../../../src/runtime/testing/sequence-check-processor.js';
import { feed, seqOptions, seqProcessorUrl, seqSchema } from './feed.js';
import { parseRuntimeConfig } from '../../../src/runtime/runtime-config.js';

const P = 4;
const BATCH_ROWS = 16;

async function runWith(fail: SequenceCheckOptions['fail']) {
  const retries: [number, number, KernelError][] = [];
  const failed: [number, number, KernelError][] = [];
  const rt = await Runtime.create({
    config: parseRuntimeConfig({ threads: 2, partitions: P, ringSlots: 4, batchRows: BATCH_ROWS }),
    schema: seqSchema, keyColumn: 'k', processorModuleUrl: seqProcessorUrl,
    processorOptions: { ...seqOptions, fail },
    onResult: () => {},
    onBatchRetry: (p, seq, e) => retries.push([p, seq, e]),
    onBatchFailed: (p, seq, e) => failed.push([p, seq, e]),
  });
  try {
    // Full staging batches of 16 rows spread over 4 partitions: every published slot is full
    // except the last one of each partition (flushed by drain).
    const stats = await feed(rt, 4000, () => BATCH_ROWS, (i) => i);
    await rt.drain();
    const summaries = Array.from({ length: P }, (_, p) => readSummary(p, rt.stateBuffer(p)));
    return { stats, summaries, retries, failed };
  } finally {
    await rt.close();
  }
}

test('a kernel that throws once on a batch: reported, retried, then succeeds', async () => {
  const r = await runWith({ partition: 1, seq: 5, mode: 'throw-once' });
  expect(r.retries.map(([p, s]) => [p, s])).toEqual([[1, 5]]);
  expect(r.retries[0][2]).toBeInstanceOf(KernelError);
  expect(r.retries[0][2].details).toMatchObject({ partition: 1, seq: 5, attempt: 1 });
  expect(r.retries[0][2].message).toContain('injected one-time failure on batch 5');
  expect(r.failed).toEqual([]);
  for (let p = 0; p < P; p++) {
    const s = r.summaries[p];
    expect([s.rows, s.behind, s.gapRows, s.wrongPartition]).toEqual([r.stats.perPartition[p], 0, 0, 0]);
  }
}, 30_000);

test('a kernel that always throws on a batch: dead-lettered once, every other batch processed', async () => {
  const r = await runWith({ partition: 2, seq: 3, mode: 'throw-always' });
  expect(r.retries.map(([p, s]) => [p, s])).toEqual([[2, 3]]);
  expect(r.failed.map(([p, s]) => [p, s])).toEqual([[2, 3]]);
  expect(r.failed[0][2].details).toMatchObject({ partition: 2, seq: 3, attempt: 2 });
  for (let p = 0; p < P; p++) {
    const s = r.summaries[p];
    expect(s.behind + s.wrongPartition).toBe(0);
    if (p === 2) {
      // Exactly the dead-lettered batch's rows are missing, and nothing after it.
      expect(s.gapRows).toBeGreaterThan(0);
      expect(s.gapRows).toBeLessThanOrEqual(BATCH_ROWS);
      expect(s.rows + s.gapRows).toBe(r.stats.perPartition[p]);
      expect(s.expectedNext).toBe(r.stats.perPartition[p]);
    } else {
      expect([s.rows, s.gapRows]).toEqual([r.stats.perPartition[p], 0]);
    }
  }
}, 30_000);

test('a worker thread that exits inside a kernel: reported with partition and seq, retried on a fresh worker', async () => {
  const r = await runWith({ partition: 0, seq: 7, mode: 'exit-once' });
  expect(r.retries.map(([p, s]) => [p, s])).toEqual([[0, 7]]);
  expect(r.failed).toEqual([]);
  for (let p = 0; p < P; p++) {
    const s = r.summaries[p];
    expect([s.rows, s.behind, s.gapRows, s.wrongPartition]).toEqual([r.stats.perPartition[p], 0, 0, 0]);
  }
}, 30_000);
