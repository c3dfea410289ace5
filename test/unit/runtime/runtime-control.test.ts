/** setControl reaches every partition, idle ones included, and reports which batches it covers. */
import { expect, test } from 'vitest';
import { Runtime } from '../../../src/runtime/runtime.js';
import type { SequenceCheckSummary } from '../../../src/runtime/testing/sequence-check-processor.js';
import { feed, seqOptions, seqProcessorUrl, seqSchema } from './feed.js';
import { parseRuntimeConfig } from '../../../src/runtime/runtime-config.js';

test('every partition, even one that never got a row, runs a task that sees the new control', async () => {
  const seen: { p: number; consumedSeq: number; out: SequenceCheckSummary }[] = [];
  const rt = await Runtime.create<typeof seqOptions, SequenceCheckSummary>({
    config: parseRuntimeConfig({ threads: 2, partitions: 4, ringSlots: 4, batchRows: 32 }),
    schema: seqSchema, keyColumn: 'k', processorModuleUrl: seqProcessorUrl, processorOptions: seqOptions,
    onResult: (p, consumedSeq, out) => seen.push({ p, consumedSeq, out }),
    onBatchFailed: (p, s, e) => { throw e; },
  });
  try {
    // One key only: a single partition gets rows, the other three stay idle.
    const stats = await feed(rt, 500, () => 32, () => 12345);
    const busy = stats.perPartition.findIndex((n) => n > 0);
    rt.flush();
    const published = Array.from({ length: 4 }, (_, p) => rt.publishedSeq(p));
    rt.setControl({ closeBeforeMs: 1000, final: false });
    await rt.drain();
    for (let p = 0; p < 4; p++) {
      const withControl = seen.filter((s) => s.p === p && s.out.closeBeforeMs === 1000);
      expect(withControl.length).toBeGreaterThanOrEqual(1);
      const lastOne = withControl[withControl.length - 1];
      expect(lastOne.consumedSeq).toBe(published[p]);
      expect(lastOne.out.rows).toBe(stats.perPartition[p]);
    }
    expect(published[busy]).toBeGreaterThan(0);
  } finally {
    await rt.close();
  }
}, 30_000);
