/** Bench processor: sums column v and counts rows into the partition's shared state. */
import type { PartitionInit, PartitionProcessor } from '../../src/runtime/processor.js';
import type { BatchView } from '../../src/runtime/batch.js';

export function stateBytes(): number {
  return 16;
}

export function createProcessor(init: PartitionInit): PartitionProcessor<number> {
  const s = new Float64Array(init.state, 0, 2);
  const vIndex = init.layout.byName.get('v')!.index;
  return {
    process(batch: BatchView): void {
      const v = batch.columns[vIndex].values;
      const n = batch.rowCount;
      let sum = 0;
      for (let i = 0; i < n; i++) sum += v[i];
      s[0] += n;
      s[1] += sum;
    },
    finishTask(): number {
      return s[0];
    },
  };
}
