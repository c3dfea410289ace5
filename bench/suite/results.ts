/**
 * What one `npm run bench` run records, and bench/results/latest.json. Every measurement is a RunRecord
 * with its parameters; the headline fields are copied from the runs, never computed anywhere else, so
 * BENCHMARKS.md (generated from this file) always shows figures of one real run.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { MachineInfo } from './machine.js';

import type { ScaleOutRun } from './section-kafka-scale-out.js';

export type SectionName = 'kernels' | 'runtime' | 'replay' | 'columnar' | 'sweeps' | 'latency' | 'kafka';

export interface RunRecord {
  section: SectionName;
  name: string;
  /** Everything needed to repeat the measurement (sizes, threads, partitions, batch rows, ...). */
  params: Record<string, string | number | boolean | null>;
  events_per_sec?: number;
  rows_per_sec?: number;
  gb_per_sec?: number;
  mb_per_sec?: number;
  elapsed_ms?: number;
  peak_rss_mib?: number;
  /** CPU time of the whole measured process (all threads, start-up included). */
  cpu_ms?: number;
  events_per_cpu_sec?: number;
  /** CPU time of the main thread alone (it decodes and scatters: when it is busy all the time, it is the bound). */
  main_thread_cpu_ms?: number;
  main_thread_events_per_cpu_sec?: number;
  p50_ms?: number;
  p99_ms?: number;
  max_ms?: number;
  samples?: number;
  note?: string;
}

export interface Skip { section: string; what: string; reason: string }

export interface TargetCheck {
  target: string;
  /** Where the target comes from (issue number). */
  source: string;
  required: number;
  measured: number | null;
  unit: string;
  met: boolean | null;
}

export interface CorrectnessCheck {
  system: string;
  /** Aggregates compared with ringflow's; users_approx within the HLL bound. */
  aggregatesEqual: boolean;
  summaryEqual: boolean;
  hllRelativeBound: number;
  differences: string[];
}

/** One topic shape of the Kafka section: best raw kafkajs and best ringflow run on the same topic. */
export interface KafkaShapeHeadline {
  messages: number;
  events_per_message: number;
  raw_kafkajs_events_per_sec: number | null;
  ringflow_events_per_sec: number | null;
  /** The same daemon with the processed-events Kafka sink on as well (absent in older runs). */
  ringflow_with_events_sink_events_per_sec?: number | null;
  /** The files-sink run with the metrics server on and read every second (same round), best of the rounds. */
  ringflow_with_metrics_events_per_sec?: number | null;
  /** ringflow / raw kafkajs. */
  ratio: number | null;
}

export interface SuiteResults {
  schema_version: 1;
  mode: 'quick' | 'default' | 'full';
  argv: string[];
  started_at: string;
  finished_at: string;
  duration_s: number;
  machine: MachineInfo;
  input: { path: string; events: number; size_bytes: number; bytes_per_event: number; invalid: number; duplicates: number } | null;
  ringflow_replay_events_per_sec: number | null;
  ringflow_columnar_events_per_sec: number | null;
  naive_node_events_per_sec: number | null;
  flink_events_per_sec: number | null;
  peak_rss_mib: { ringflow_replay: number | null; ringflow_columnar: number | null; naive_node: number | null; flink: number | null };
  /**
   * Input events / CPU seconds of the whole process (all threads, start-up included): on a shared
   * machine this moves much less than events/s. null where not measured (Flink's JVM).
   */
  events_per_cpu_sec: { ringflow_replay: number | null; ringflow_columnar: number | null; naive_node: number | null; flink: number | null };
  ratios: { replay_vs_naive_node: number | null; replay_vs_flink: number | null; columnar_vs_naive_node: number | null; columnar_vs_flink: number | null };
  correctness: CorrectnessCheck[];
  /** Kafka -> ringflow -> sinks next to raw kafkajs (issue 5); absent in files of older runs. */
  kafka?: {
    topic_partitions: number;
    single: KafkaShapeHeadline | null;
    batched: KafkaShapeHeadline | null;
    /** Every sink on, first read to the last row in ClickHouse (absent in older runs). */
    end_to_end?: {
      events: number; partitions: number; events_per_sec: number;
      /** CPU seconds over the run (absent in older runs): ringflow's process and the broker's. */
      ringflow_cpu_s?: number; broker_cpu_s?: number | null;
    } | null;
    /** 1 daemon without scale-out, then 1, 2 and 3 daemons with it, on one topic (absent in older runs). */
    scale_out?: { partitions: number; events: number; runs: ScaleOutRun[] } | null;
  } | null;
  targets: TargetCheck[];
  skipped: Skip[];
  errors: Skip[];
  runs: RunRecord[];
}

export function emptyResults(mode: SuiteResults['mode'], argv: string[], machine: MachineInfo): SuiteResults {
  return {
    schema_version: 1,
    mode,
    argv,
    started_at: new Date().toISOString(),
    finished_at: '',
    duration_s: 0,
    machine,
    input: null,
    ringflow_replay_events_per_sec: null,
    ringflow_columnar_events_per_sec: null,
    naive_node_events_per_sec: null,
    flink_events_per_sec: null,
    peak_rss_mib: { ringflow_replay: null, ringflow_columnar: null, naive_node: null, flink: null },
    events_per_cpu_sec: { ringflow_replay: null, ringflow_columnar: null, naive_node: null, flink: null },
    ratios: { replay_vs_naive_node: null, replay_vs_flink: null, columnar_vs_naive_node: null, columnar_vs_flink: null },
    correctness: [],
    kafka: null,
    targets: [],
    skipped: [],
    errors: [],
    runs: [],
  };
}

const ratio = (a: number | null, b: number | null): number | null =>
  a === null || b === null || b === 0 ? null : Number((a / b).toFixed(2));

function target(t: Omit<TargetCheck, 'met'>): TargetCheck {
  return { ...t, met: t.measured === null ? null : t.measured >= t.required };
}

/** Ratios and the issues' targets, from the headline fields and the runs. */
export function finishResults(r: SuiteResults): void {
  r.finished_at = new Date().toISOString();
  r.duration_s = Math.round((Date.parse(r.finished_at) - Date.parse(r.started_at)) / 100) / 10;
  r.ratios = {
    replay_vs_naive_node: ratio(r.ringflow_replay_events_per_sec, r.naive_node_events_per_sec),
    replay_vs_flink: ratio(r.ringflow_replay_events_per_sec, r.flink_events_per_sec),
    columnar_vs_naive_node: ratio(r.ringflow_columnar_events_per_sec, r.naive_node_events_per_sec),
    columnar_vs_flink: ratio(r.ringflow_columnar_events_per_sec, r.flink_events_per_sec),
  };
  const runtimeRuns = r.runs.filter((x) => x.section === 'runtime' && x.rows_per_sec !== undefined);
  const ringBest = bestOf(runtimeRuns.filter((x) => x.name.startsWith('ring')));
  // ring / postMessage per batch size (the faster ring variant); the target is checked at the best size.
  let ratioBest: { ratio: number; batchRows: unknown } | null = null;
  for (const pm of runtimeRuns.filter((x) => x.name.startsWith('postMessage'))) {
    const ring = bestOf(runtimeRuns.filter((x) => x.name.startsWith('ring') && x.params.batch_rows === pm.params.batch_rows));
    const ratio = ring ? ring.rows_per_sec! / pm.rows_per_sec! : 0;
    if (ring && (ratioBest === null || ratio > ratioBest.ratio)) ratioBest = { ratio, batchRows: pm.params.batch_rows };
  }
  r.targets = [
    target({ target: 'NDJSON replay vs hand-written Node pipeline', source: 'issue 6, issue 4', required: 10, measured: r.ratios.replay_vs_naive_node, unit: 'x' }),
    target({ target: 'NDJSON replay vs Apache Flink', source: 'issue 6', required: 20, measured: r.ratios.replay_vs_flink, unit: 'x' }),
    target({ target: 'NDJSON replay rate', source: 'issue 4', required: 3_000_000, measured: r.ringflow_replay_events_per_sec, unit: 'events/s' }),
    target({ target: 'columnar end to end rate', source: 'issue 6', required: 15_000_000, measured: r.ringflow_columnar_events_per_sec, unit: 'events/s' }),
    target({ target: `one ring, 16-byte rows (best batch size${ringBest ? `: ${ringBest.params.batch_rows} rows` : ''})`, source: 'issue 3', required: 50_000_000, measured: ringBest?.rows_per_sec ?? null, unit: 'rows/s' }),
    target({ target: `ring vs postMessage (batch size where the ring wins most${ratioBest ? `: ${ratioBest.batchRows} rows` : ''})`, source: 'issue 3', required: 10, measured: ratioBest === null ? null : Number(ratioBest.ratio.toFixed(2)), unit: 'x' }),
    target({ target: 'Kafka -> ringflow -> sinks vs raw kafkajs consume, 1 event/message, same topic', source: 'issue 5', required: 0.9, measured: r.kafka?.single?.ratio ?? null, unit: 'x' }),
    target({ target: `Kafka -> ringflow -> sinks, ${r.kafka?.batched?.events_per_message ?? 1000} events/message`, source: 'issue 5', required: 1_000_000, measured: r.kafka?.batched?.ringflow_events_per_sec ?? null, unit: 'events/s' }),
    target({ target: `Kafka end to end, ${r.kafka?.topic_partitions ?? 4} partitions, every sink (first read to the last row in ClickHouse)`, source: 'issue 13', required: 1_000_000, measured: r.kafka?.end_to_end?.events_per_sec ?? null, unit: 'events/s' }),
  ];
}

function bestOf(runs: RunRecord[]): RunRecord | null {
  let best: RunRecord | null = null;
  for (const x of runs) if (x.rows_per_sec !== undefined && (best === null || x.rows_per_sec > best.rows_per_sec!)) best = x;
  return best;
}

export function writeResultsJson(path: string, r: SuiteResults): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify(r, null, 2)}\n`);
}
