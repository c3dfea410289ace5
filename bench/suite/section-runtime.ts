/**
 * Section (b): the shared-memory runtime (bench/runtime/): one ring vs postMessage of the same 16-byte
 * rows across batch sizes (rows/s and GB/s, each consumer checks the sum of what it got), the
 * partitioner's scatter rate, and the scheduler comparison (one piscina task per partition vs pinned
 * workers). Each figure is the best of `runtimeRepeats` runs, since the box may be shared.
 */
import { runRuntimeBenchmarks } from '../runtime/index.js';
import type { SuiteOptions } from './options.js';
import type { Progress } from './progress.js';
import type { RunRecord } from './results.js';

export async function runRuntimeSection(o: SuiteOptions, progress: Progress, record: (r: RunRecord) => void): Promise<void> {
  progress.begin('runtime', `ring vs postMessage at batch rows ${o.runtimeBatchRows.join(', ')}; scatter; scheduler (best of ${o.runtimeRepeats})`);
  const results = await runRuntimeBenchmarks({
    batchRows: o.runtimeBatchRows,
    targetRows: o.runtimeTargetRows,
    schedulerRows: o.schedulerRows,
    schedulerBatchRows: o.schedulerBatchRows,
    scatterTimeMs: o.kernelTimeMs,
    repeats: o.runtimeRepeats,
  });
  for (const b of results) {
    const r: RunRecord = {
      section: 'runtime',
      name: b.name,
      params: { batch_rows: b.batchRows, rows: b.rows, row_bytes: 16, repeats: o.runtimeRepeats },
      rows_per_sec: Math.round(b.rowsPerSec),
      gb_per_sec: Number(b.gbPerSec.toFixed(3)),
      note: b.note,
    };
    record(r);
  }
}
