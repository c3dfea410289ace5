/**
 * The partitioner's scatter rate on the main thread alone: 16-byte keyed rows (int32 key, int32 pad,
 * float64 value) from a full staging batch into 8 partition rings. Each published slot is released
 * at once on this thread, so only the partition choice + row copy is measured.
 */
import { Bench } from 'tinybench';
import { BatchView, setValid } from '../../src/runtime/batch.js';
import { Partitioner } from '../../src/runtime/partitioner.js';
import { Ring } from '../../src/runtime/ring.js';
import { computeLayout } from '../../src/runtime/schema.js';
import { keyedSchema, result, type BenchResult } from './bench-schema.js';

export async function scatterRate(partitions: number, batchRows: number, timeMs: number): Promise<BenchResult> {
  const layout = computeLayout(keyedSchema, batchRows);
  const rings = Array.from({ length: partitions }, () => Ring.create(layout, 8));
  const part = new Partitioner(rings, 'k', (p) => { rings[p].peek(); rings[p].release(); });
  const staging = BatchView.standalone(layout);
  staging.clear();
  for (let r = 0; r < batchRows; r++) {
    staging.columns[0].values[r] = Math.imul(r, 0x9e3779b1);
    setValid(staging.columns[0].validity, r);
    staging.columns[2].values[r] = r;
    setValid(staging.columns[2].validity, r);
  }
  staging.rowCount = batchRows;
  const bench = new Bench({ time: timeMs, warmupTime: Math.min(200, timeMs) });
  bench.add('scatter', () => {
    if (part.scatter(staging, 0) !== batchRows) throw new Error('a ring filled up in the scatter bench');
  });
  await bench.run();
  const r = bench.tasks[0].result as unknown as { latency: { mean: number } };
  const secondsPerBatch = r.latency.mean / 1000;
  // Wall time suffers when the cores are shared; CPU time of this (single-threaded) loop does not.
  const c0 = process.cpuUsage();
  let calls = 0;
  const until = performance.now() + timeMs;
  while (performance.now() < until) { part.scatter(staging, 0); calls++; }
  const c = process.cpuUsage(c0);
  const perCpuSecond = (calls * batchRows) / ((c.user + c.system) / 1e6);
  return result(`partitioner scatter -> ${partitions} rings`, batchRows, batchRows, secondsPerBatch,
    `main thread only; wall: batchRows / mean scatter() time; per CPU-second: ${(perCpuSecond / 1e6).toFixed(1)}M rows/s`);
}
