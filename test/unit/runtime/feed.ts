/**
 * Test producer: numbers rows per partition (pseq) so the sequence-check processor can verify
 * exactly-once, in-order delivery on the worker side.
 */
import { setValid } from '../../../src/runtime/batch.js';
import { partitionOfInt32 } from '../../../src/runtime/partitioner.js';
import type { Runtime } from '../../../src/runtime/runtime.js';
import type { Schema } from '../../../src/runtime/schema.js';
import { padLength, type SequenceCheckOptions } from '../../../src/runtime/testing/sequence-check-processor.js';

export const seqSchema: Schema = { columns: [{ name: 'k', type: 'int32' }, { name: 'pseq', type: 'float64' }] };
export const seqProcessorUrl = new URL('../../../src/runtime/testing/sequence-check-processor.ts', import.meta.url);
export const seqOptions: SequenceCheckOptions = { keyColumn: 'k', seqColumn: 'pseq' };
/** With a string column whose bytes run out before the rows do (8 bytes per row reserved, up to 22 used). */
export const paddedSchema: Schema = { columns: [...seqSchema.columns, { name: 'pad', type: 'string', avgBytes: 8 }] };
export const paddedOptions: SequenceCheckOptions = { ...seqOptions, padColumn: 'pad' };

export interface FeedStats {
  /** Rows sent to each partition. */
  perPartition: number[];
  /** Times scatter() stopped early on a full ring. */
  earlyReturns: number;
}

/**
 * Push `total` rows in staging batches whose sizes come from `nextBatchSize` (1..batchRows),
 * honouring backpressure; keys are `key(i)`.
 */
export async function feed(
  rt: Runtime, total: number, nextBatchSize: () => number, key: (i: number) => number,
): Promise<FeedStats> {
  const staging = rt.newStagingBatch();
  const k = staging.column('k');
  const pseq = staging.column('pseq');
  const pad = staging.layout.byName.has('pad') ? staging.column('pad') : null;
  const next = new Array<number>(rt.partitions).fill(0);
  let earlyReturns = 0;
  for (let i = 0; i < total;) {
    const want = Math.min(total - i, nextBatchSize());
    staging.clear();
    let n = 0;
    for (; n < want; n++, i++) {
      const kv = key(i);
      const p = partitionOfInt32(kv, rt.partitions);
      const q = next[p];
      if (pad !== null) {
        // Staging has as many string bytes as a slot: end this staging batch where they run out.
        let at = pad.offsets![n];
        const len = padLength(q);
        if (at + len > pad.values.length) {
          if (n === 0) throw new Error(`pad of ${len} bytes does not fit an empty batch`);
          break;
        }
        for (let j = 0; j < len; j++) pad.values[at++] = (q + j) & 255;
        pad.offsets![n + 1] = at;
        setValid(pad.validity, n);
      }
      next[p] = q + 1;
      k.values[n] = kv;
      setValid(k.validity, n);
      pseq.values[n] = q;
      setValid(pseq.validity, n);
    }
    staging.rowCount = n;
    for (let at = rt.scatter(staging, 0); at < n; at = rt.scatter(staging, at)) {
      earlyReturns++;
      await rt.whenWritable();
    }
  }
  return { perPartition: next, earlyReturns };
}
