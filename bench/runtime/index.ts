/**
 * Runtime benchmarks: ring vs postMessage transfer across batch sizes, partitioner scatter rate, and
 * the one-task-per-partition scheduler vs pinned workers. `runRuntimeBenchmarks` is what the
 * `npm run bench` suite calls; running this file prints a table (node dist/bench/runtime/index.js).
 */
import { cpus } from 'node:os';
import { pathToFileURL } from 'node:url';
import type { BenchResult } from './bench-schema.js';
import { batchesFor, messageTransfer, ringTransfer } from './ring-transfer.js';
import { piscinaPerPartition, pinnedWorkers } from './scheduler-compare.js';
import { scatterRate } from './scatter-rate.js';

export interface RuntimeBenchOptions {
  /** Batch sizes (rows) for the transfer comparison. */
  batchRows?: number[];
  /** Rows per transfer measurement (bounded to 200..50,000 batches). */
  targetRows?: number;
  /** Rows for each scheduler measurement. */
  schedulerRows?: number;
  /** Batch sizes for the scheduler comparison. */
  schedulerBatchRows?: number[];
  scatterTimeMs?: number;
  /** Run every measurement this many times and keep the fastest (the box is shared). Default 3. */
  repeats?: number;
  log?: (line: string) => void;
}

export type { BenchResult };

export async function runRuntimeBenchmarks(opts: RuntimeBenchOptions = {}): Promise<BenchResult[]> {
  const log = opts.log ?? (() => {});
  const out: BenchResult[] = [];
  const repeats = opts.repeats ?? 3;
  const push = async (run: () => Promise<BenchResult>) => {
    let best: BenchResult | null = null;
    for (let i = 0; i < repeats; i++) {
      const r = await run();
      if (best === null || r.rowsPerSec > best.rowsPerSec) best = r;
    }
    best!.note = [best!.note, `best of ${repeats}`].filter(Boolean).join('; ');
    out.push(best!);
    log(format(best!));
  };
  for (const n of opts.batchRows ?? [4, 64, 1024, 4096, 16384, 65536]) {
    const batches = batchesFor(n, opts.targetRows ?? 16_000_000);
    await push(() => ringTransfer(n, batches, 0));
    await push(() => ringTransfer(n, batches, 4096));
    await push(() => messageTransfer(n, batches));
  }
  await push(() => scatterRate(8, 4096, opts.scatterTimeMs ?? 1000));
  for (const n of opts.schedulerBatchRows ?? [64, 256, 4096]) {
    const o = { partitions: 8, threads: 2, batchRows: n, ringSlots: 8, rows: opts.schedulerRows ?? 4_000_000 };
    await push(() => piscinaPerPartition(o));
    await push(() => pinnedWorkers(o));
  }
  return out;
}

export function format(r: BenchResult): string {
  const rate = r.rowsPerSec >= 1e6 ? `${(r.rowsPerSec / 1e6).toFixed(1)}M rows/s` : `${(r.rowsPerSec / 1e3).toFixed(0)}K rows/s`;
  return `${r.name.padEnd(62)} batch ${String(r.batchRows).padStart(6)}  ${rate.padStart(15)}  ${r.gbPerSec.toFixed(2)} GB/s${r.note ? `  (${r.note})` : ''}`;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  console.log(`ringflow runtime benchmarks on ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}`);
  runRuntimeBenchmarks({ log: (l) => console.log(l) }).catch((e) => { console.error(e); process.exit(1); });
}
