/** A full ring stops the producer (scatter returns early) and whenWritable() lets it resume. */
import { expect, test } from 'vitest';
import { setValid } from '../../../src/runtime/batch.js';
import { Runtime } from '../../../src/runtime/runtime.js';
import { readSummary } from '../../../src/runtime/testing/sequence-check-processor.js';
import { feed, seqOptions, seqProcessorUrl, seqSchema } from './feed.js';
import { parseRuntimeConfig } from '../../../src/runtime/runtime-config.js';

const slowOptions = { ...seqOptions, delayMsPerBatch: 20 };

test('a full ring pauses the producer until the worker frees a slot, and nothing is lost', async () => {
  const rt = await Runtime.create({
    config: parseRuntimeConfig({ threads: 1, partitions: 1, ringSlots: 2, batchRows: 4 }),
    schema: seqSchema, keyColumn: 'k', processorModuleUrl: seqProcessorUrl, processorOptions: slowOptions,
    onResult: () => {}, onBatchFailed: (p, s, e) => { throw e; },
  });
  try {
    // 4 rows fill a slot; 2 slots + 1 open slot = 12 rows fit before the ring is full.
    const staging = rt.newStagingBatch();
    const k = staging.column('k');
    const pseq = staging.column('pseq');
    let q = 0;
    let stops = 0;
    let pausedAtPending = -1;
    for (let round = 0; round < 10; round++) {
      staging.clear();
      for (let r = 0; r < 4; r++, q++) {
        k.values[r] = 7; setValid(k.validity, r);
        pseq.values[r] = q; setValid(pseq.validity, r);
      }
      staging.rowCount = 4;
      for (let at = rt.scatter(staging, 0); at < 4; at = rt.scatter(staging, at)) {
        stops++;
        expect(rt.blockedPartition).toBe(0);
        // While stopped, the ring is at its bound: the producer buffers nothing beyond it.
        pausedAtPending = rt.publishedSeq(0) - readSummary(0, rt.stateBuffer(0)).batches;
        let resumed = false;
        const w = rt.whenWritable().then(() => { resumed = true; });
        expect(resumed).toBe(false);
        await w;
        expect(resumed).toBe(true);
      }
    }
    expect(stops).toBeGreaterThan(0);
    expect(pausedAtPending).toBeGreaterThanOrEqual(1);
    expect(pausedAtPending).toBeLessThanOrEqual(2);
    await rt.drain();
    const s = readSummary(0, rt.stateBuffer(0));
    expect(s.rows).toBe(40);
    expect(s.expectedNext).toBe(40);
    expect(s.behind + s.gapRows + s.wrongPartition).toBe(0);
  } finally {
    await rt.close();
  }
}, 30_000);

test('backpressure with many partitions: early returns happen and every row still arrives', async () => {
  const rt = await Runtime.create({
    config: parseRuntimeConfig({ threads: 2, partitions: 4, ringSlots: 2, batchRows: 8 }),
    schema: seqSchema, keyColumn: 'k', processorModuleUrl: seqProcessorUrl, processorOptions: { ...seqOptions, delayMsPerBatch: 1 },
    onResult: () => {}, onBatchFailed: (p, s, e) => { throw e; },
  });
  try {
    const stats = await feed(rt, 3000, () => 8, (i) => i * 31);
    await rt.drain();
    expect(stats.earlyReturns).toBeGreaterThan(0);
    for (let p = 0; p < 4; p++) {
      const s = readSummary(p, rt.stateBuffer(p));
      expect([s.rows, s.behind, s.gapRows, s.wrongPartition]).toEqual([stats.perPartition[p], 0, 0, 0]);
    }
  } finally {
    await rt.close();
  }
}, 30_000);
