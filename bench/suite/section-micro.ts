/**
 * The micro-benchmark sections.
 * (a) Kernels: tinybench on one core, in events/s:
 *   - decode: bench/kernels/decode-bench.ts (byte scanner + filter rules + key hashes, which the
 *     decoder runs fused per row; next to JSON.parse + the same rules on the same bytes);
 *   - hash: hash64Into over event-id bytes (the 64-bit key hash behind partitioning, Bloom and HLL);
 *   - scatter: the partitioner (partition choice + row copy) from bench/runtime/scatter-rate.ts;
 *   - enrich, Bloom, HyperLogLog, aggregate and the whole partition processor: bench/kernels/state-bench.ts.
 * (b) Runtime (bench/runtime/): one ring vs postMessage of the same 16-byte rows across batch sizes
 *   (rows/s and GB/s; each consumer checks the sum of what it got), the partitioner's scatter rate,
 *   and one piscina task per partition vs pinned workers. Best of `runtimeRepeats` runs each.
 */
import { Bench } from 'tinybench';
import { hash64Into } from '../../src/kernels/shared/xxhash32.js';
import { runDecodeBenchmarks } from '../kernels/decode-bench.js';
import { runStateBenchmarks } from '../kernels/state-bench.js';
import { scatterRate } from '../runtime/scatter-rate.js';
import type { SuiteOptions } from './options.js';
import type { Progress } from './progress.js';
import type { RunRecord } from './results.js';
import { runRuntimeBenchmarks } from '../runtime/index.js';

const HASH_KEYS = 1 << 16;

async function hashBench(timeMs: number): Promise<RunRecord> {
  // "evt-<base36>-<hex>" ids of ~20 bytes, as the clickstream files hold them.
  const enc = new TextEncoder();
  const parts = Array.from({ length: HASH_KEYS }, (_, i) => `evt-${i.toString(36).padStart(8, '0')}-${(i * 2654435761 >>> 12).toString(16)}`);
  const bytes = enc.encode(parts.join(''));
  const offsets = new Int32Array(HASH_KEYS + 1);
  for (let i = 0, at = 0; i < HASH_KEYS; i++) { at += enc.encode(parts[i]).length; offsets[i + 1] = at; }
  const out = new Uint32Array(2 * HASH_KEYS);
  const bench = new Bench({ time: timeMs, warmupTime: Math.min(200, timeMs) });
  bench.add('hash', () => {
    for (let i = 0; i < HASH_KEYS; i++) hash64Into(bytes, offsets[i], offsets[i + 1], out, 2 * i);
  });
  await bench.run();
  const meanMs = bench.tasks[0].result!.latency.mean;
  return {
    section: 'kernels', name: 'hash: 64-bit key hash of event ids (hash64Into)',
    params: { keys_per_task: HASH_KEYS, avg_key_bytes: Number((bytes.length / HASH_KEYS).toFixed(1)), time_ms: timeMs },
    events_per_sec: Math.round(HASH_KEYS / (meanMs / 1000)),
    mb_per_sec: Number((bytes.length / 1e6 / (meanMs / 1000)).toFixed(0)),
  };
}

export async function runKernelSection(o: SuiteOptions, progress: Progress, save: (r: RunRecord) => void): Promise<void> {
  const record = (r: RunRecord): void => { save(r); progress.result(r); };
  progress.begin('kernels', `tinybench, one core, ${o.kernelTimeMs} ms per task`);
  progress.step(`decode: ${o.decodeLines} generated lines (2% invalid) through the decode kernel and JSON.parse`);
  const d = await runDecodeBenchmarks({ lines: o.decodeLines, timeMs: Math.max(o.kernelTimeMs, 500) });
  for (const x of d.results) {
    const ours = x.name.startsWith('decode kernel');
    record({
      section: 'kernels',
      name: ours ? 'decode + filter: NDJSON bytes -> validated columns + key hashes' : 'baseline: JSON.parse per line + the same rules',
      params: { lines: d.lines, bytes_per_line: Number((d.bytes / d.lines).toFixed(1)), accepted: d.acceptedDecoder, samples: x.samples },
      events_per_sec: Math.round(x.eventsPerSec),
      mb_per_sec: Number(x.mbPerSec.toFixed(0)),
      note: ours ? 'filter rules run fused inside the decoder, per row; both sides accepted the same rows' : undefined,
    });
  }
  progress.step('hash');
  record(await hashBench(o.kernelTimeMs));
  progress.step('scatter: partitioner into 8 rings');
  const s = await scatterRate(8, 4096, o.kernelTimeMs);
  record({
    section: 'kernels', name: 'scatter: partition choice + row copy into 8 rings',
    params: { partitions: 8, batch_rows: 4096, row_bytes: 16 }, events_per_sec: Math.round(s.rowsPerSec), note: s.note,
  });
  progress.step('state kernels: Bloom, HyperLogLog, enrich, aggregate, partition processor');
  for (const x of await runStateBenchmarks({ timeMs: o.kernelTimeMs })) {
    record({
      section: 'kernels', name: x.name, params: { samples: x.samples, time_ms: o.kernelTimeMs },
      events_per_sec: Math.round(x.eventsPerSec),
    });
  }
}

export async function runRuntimeSection(o: SuiteOptions, progress: Progress, record: (r: RunRecord) => void): Promise<void> {
  progress.begin('runtime', `ring vs postMessage at batch rows ${o.runtimeBatchRows.join(', ')}; scatter; scheduler (best of ${o.runtimeRepeats})`);
  const results = await runRuntimeBenchmarks({
    batchRows: o.runtimeBatchRows,
    targetRows: o.runtimeTargetRows,
    schedulerRows: o.schedulerRows,
    schedulerBatchRows: o.schedulerBatchRows,
    scatterTimeMs: o.kernelTimeMs,
    repeats: o.runtimeRepeats,
    log: (line) => progress.step(line.replace(/\s+/g, ' ')),
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
