/**
 * Property: with real worker threads, for random ring sizes, batch capacities, partition counts and
 * staging batch sizes, every partition's processor sees exactly its rows, each once, in order,
 * while sequence numbers wrap around the ring many times.
 */
import fc from 'fast-check';
import { expect, test } from 'vitest';
import { Runtime } from '../../../src/runtime/runtime.js';
import { readSummary } from '../../../src/runtime/testing/sequence-check-processor.js';
import { feed, paddedOptions, paddedSchema, seqOptions, seqProcessorUrl, seqSchema } from './feed.js';
import { parseRuntimeConfig } from '../../../src/runtime/runtime-config.js';

test('no loss, no duplicate, no reordering within a partition across wrap-around', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.record({
        threads: fc.integer({ min: 1, max: 2 }),
        extraPartitions: fc.integer({ min: 0, max: 5 }),
        ringSlotsLog2: fc.integer({ min: 1, max: 4 }),
        batchRows: fc.integer({ min: 1, max: 64 }),
        rows: fc.integer({ min: 0, max: 4000 }),
        stagingSizes: fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 16 }),
        keySeed: fc.integer(),
        withStrings: fc.boolean(),
      }),
      async (c) => {
        const partitions = c.threads + c.extraPartitions;
        // A slot reserves 8 string bytes per row; the longest pad (22 bytes) needs at least 3 rows of them.
        const batchRows = c.withStrings ? Math.max(3, c.batchRows) : c.batchRows;
        const outputs: number[] = new Array(partitions).fill(-1);
        const failures: unknown[] = [];
        const rt = await Runtime.create({
          config: parseRuntimeConfig({ threads: c.threads, partitions, ringSlots: 1 << c.ringSlotsLog2, batchRows }),
          schema: c.withStrings ? paddedSchema : seqSchema,
          keyColumn: 'k',
          processorModuleUrl: seqProcessorUrl,
          processorOptions: c.withStrings ? paddedOptions : seqOptions,
          onResult: (p, consumedSeq) => { outputs[p] = Math.max(outputs[p], consumedSeq); },
          onBatchFailed: (p, seq, e) => failures.push([p, seq, e]),
        });
        try {
          let s = 0;
          const sizes = () => Math.min(batchRows, c.stagingSizes[s++ % c.stagingSizes.length]);
          const stats = await feed(rt, c.rows, sizes, (i) => Math.imul(i ^ c.keySeed, 0x27d4eb2d));
          await rt.drain();
          expect(failures).toEqual([]);
          for (let p = 0; p < partitions; p++) {
            const sum = readSummary(p, rt.stateBuffer(p));
            expect({ p, rows: sum.rows, behind: sum.behind, gapRows: sum.gapRows, wrong: sum.wrongPartition })
              .toEqual({ p, rows: stats.perPartition[p], behind: 0, gapRows: 0, wrong: 0 });
            expect(sum.expectedNext).toBe(stats.perPartition[p]);
            if (sum.batches > 0) expect(outputs[p]).toBe(rt.publishedSeq(p));
          }
        } finally {
          await rt.close();
        }
      },
    ),
    { numRuns: 20 },
  );
}, 60_000);
