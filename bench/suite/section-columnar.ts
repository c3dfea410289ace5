/**
 * Sections (d) and (e): the columnar end-to-end path (bench/columnar/: generated columns -> real
 * Pipeline, no decode) at the default sizing, then the sweeps, each point in its own process:
 *   threads x partitions   columnar, and NDJSON replay on the section (c) file unless --quick
 *   user-key cardinality   distinct user ids (the distinct-count key; HLL cost per event is flat)
 *   dedupe horizon         the Bloom is sized for 5,000 events/s x horizon keys: the memory sweep
 * and (f) the window-close latency at fixed input rates (bench/columnar/latency-run.ts: 250 ms windows,
 * 100 ms lateness instead of the canonical 60 s / 5 s, so a few seconds give tens of windows).
 * Every columnar point checks its own counts (see bench/columnar/columnar-pipeline.ts) before its rate
 * is recorded.
 */
import { join } from 'node:path';
import type { ColumnarRunResult } from '../columnar/columnar-pipeline.js';
import { parseRuntimeConfig } from '../../src/runtime/runtime-config.js';
import { runNodeChild, type ChildRun } from './child.js';
import type { SuiteOptions } from './options.js';
import type { Progress } from './progress.js';
import type { RunRecord, SuiteResults } from './results.js';
import { cpuFields, runRingflowReplay, type InputFile } from './section-replay.js';
import type { LatencyRunResult } from '../columnar/latency-run.js';

/** The runtime's own defaults (threads: cores - 1, partitions: 2 per thread), as a user gets them. */
const RUNTIME_DEFAULTS = parseRuntimeConfig({});
const DEFAULT_THREADS = RUNTIME_DEFAULTS.threads;
const DEFAULT_PARTITIONS = RUNTIME_DEFAULTS.partitions;

/** params.sweep of the threads x partitions points: the SVG chart is drawn from these runs. */
export const SWEEP_THREADS_X_PARTITIONS = 'threads_x_partitions';

async function columnar(events: number, threads: number, partitions: number, extra: string[] = []) {
  return runNodeChild<ColumnarRunResult>('dist/bench/columnar/columnar-pipeline.js', [
    '--events', String(events), '--threads', String(threads), '--partitions', String(partitions), ...extra,
  ]);
}

function columnarRecord(section: 'columnar' | 'sweeps', name: string, c: ColumnarRunResult, peakRssMiB: number, usage: Pick<ChildRun<unknown>, 'cpuMs' | 'mainThreadCpuMs'>): RunRecord {
  return {
    section, name,
    params: {
      events: c.events, threads: c.threads, partitions: c.partitions, batch_rows: c.batchRows, user_keys: c.userKeys,
      dedupe_horizon_ms: c.dedupeHorizonMs, expected_keys_per_horizon: c.expectedKeysPerHorizon, bloom_mib: c.bloomMiB,
      duplicates: c.duplicates, windows: c.windows,
    },
    events_per_sec: c.eventsPerSec, elapsed_ms: c.elapsedMs, peak_rss_mib: Math.max(peakRssMiB, c.peakRssMiB), ...cpuFields(c.events, usage),
    note: `worker pool start (${c.startupMs} ms) excluded; counts checked: accepted + duplicates = events, window counts = accepted`,
  };
}

/** Best of `replayRepeats` runs, like the replay headline (every run is recorded). */
export async function runColumnarSection(o: SuiteOptions, progress: Progress, results: SuiteResults, record: (r: RunRecord) => void): Promise<void> {
  const threads = DEFAULT_THREADS;
  progress.begin('columnar', `${o.columnarEvents.toLocaleString('en-US')} generated events as columns -> runtime -> enrich/dedupe/aggregate, ${threads} threads, ${DEFAULT_PARTITIONS} partitions, ${o.replayRepeats} run(s)`);
  for (let round = 1; round <= o.replayRepeats; round++) {
    const c = await columnar(o.columnarEvents, threads, DEFAULT_PARTITIONS);
    const r = columnarRecord('columnar', 'ringflow columnar end to end (generator -> runtime -> canonical processor)', c.json, c.peakRssMiB, c);
    r.params.round = round;
    record(r);
    progress.result(r);
    results.ringflow_columnar_events_per_sec = Math.max(results.ringflow_columnar_events_per_sec ?? 0, c.json.eventsPerSec);
    results.peak_rss_mib.ringflow_columnar = Math.max(results.peak_rss_mib.ringflow_columnar ?? 0, r.peak_rss_mib!);
    if (r.events_per_cpu_sec !== undefined) {
      results.events_per_cpu_sec.ringflow_columnar = Math.max(results.events_per_cpu_sec.ringflow_columnar ?? 0, r.events_per_cpu_sec);
    }
  }
}

export async function runSweepSection(o: SuiteOptions, input: InputFile | null, progress: Progress, record: (r: RunRecord) => void): Promise<void> {
  const combos = o.sweepThreads.flatMap((t) => o.sweepPartitions.filter((p) => p >= t).map((p) => [t, p] as const));
  progress.begin('sweeps', `threads x partitions (${combos.length} points${o.sweepReplay && input ? ', columnar and replay' : ', columnar'}), user keys ${o.userKeyCardinalities.join('/')}, dedupe horizons ${o.dedupeHorizonsMs.map((h) => `${h / 60_000} min`).join('/')}`);
  for (const [t, p] of combos) {
    const c = await columnar(o.columnarEvents, t, p);
    const r = columnarRecord('sweeps', `columnar, ${t} threads x ${p} partitions`, c.json, c.peakRssMiB, c);
    r.params.sweep = SWEEP_THREADS_X_PARTITIONS;
    r.params.system = 'columnar';
    record(r);
    progress.result(r);
  }
  if (o.sweepReplay && input) {
    for (const [t, p] of combos) {
      const rf = await runRingflowReplay(input, join(o.cacheDir, 'out', 'sweep-replay'), o.cacheDir, t, p);
      const r: RunRecord = {
        section: 'sweeps', name: `replay, ${t} threads x ${p} partitions`,
        params: { events: input.events, threads: t, partitions: p, sweep: SWEEP_THREADS_X_PARTITIONS, system: 'replay' },
        events_per_sec: rf.json.events_per_sec, elapsed_ms: rf.json.elapsed_ms, peak_rss_mib: Math.max(rf.peakRssMiB, rf.json.peak_rss_mib),
        ...cpuFields(rf.json.input, rf),
      };
      record(r);
      progress.result(r);
    }
  }
  const threads = DEFAULT_THREADS;
  for (const keys of o.userKeyCardinalities) {
    const c = await columnar(o.columnarEvents, threads, DEFAULT_PARTITIONS, ['--user-keys', String(keys)]);
    const r = columnarRecord('sweeps', `columnar, ${keys.toLocaleString('en-US')} distinct user keys`, c.json, c.peakRssMiB, c);
    record(r);
    progress.result(r);
  }
  for (const horizonMs of o.dedupeHorizonsMs) {
    const c = await columnar(o.columnarEvents, threads, DEFAULT_PARTITIONS, ['--dedupe-horizon-ms', String(horizonMs)]);
    const r = columnarRecord('sweeps', `columnar, dedupe horizon ${horizonMs / 60_000} min (${c.json.bloomMiB} MiB Bloom)`, c.json, c.peakRssMiB, c);
    record(r);
    progress.result(r);
  }
}


export async function runLatencySection(o: SuiteOptions, progress: Progress, record: (r: RunRecord) => void): Promise<void> {
  const threads = DEFAULT_THREADS;
  progress.begin('latency', `window close -> rows in the files sink, at ${o.latencyRatesPerSec.map((r) => r.toLocaleString('en-US')).join(' / ')} events/s, ${o.latencySecondsPerRate} s each`);
  for (const rate of o.latencyRatesPerSec) {
    const c = await runNodeChild<LatencyRunResult>('dist/bench/columnar/latency-run.js', [
      '--rate', String(rate), '--seconds', String(o.latencySecondsPerRate), '--threads', String(threads), '--partitions', String(DEFAULT_PARTITIONS),
    ]);
    const j = c.json;
    const kept = j.achievedRatePerSec >= 0.95 * rate;
    const r: RunRecord = {
      section: 'latency',
      name: `window close -> sink ack at ${rate.toLocaleString('en-US')} events/s`,
      params: {
        target_rate: rate, achieved_rate: j.achievedRatePerSec, seconds: o.latencySecondsPerRate, threads, partitions: DEFAULT_PARTITIONS,
        window_ms: j.windowMs, out_of_orderness_ms: j.outOfOrdernessMs, sink: 'files', sink_max_delay_ms: j.sinkMaxDelayMs,
        emit_p50_ms: j.emitP50Ms, emit_p99_ms: j.emitP99Ms,
      },
      p50_ms: j.p50Ms, p99_ms: j.p99Ms, max_ms: j.maxMs, samples: j.windows, peak_rss_mib: c.peakRssMiB,
      note: `${kept ? '' : 'INPUT RATE NOT KEPT UP; '}close = watermark passed the window end; ack = rows appended + fdatasync'ed by the sink thread; emit = rows merged on the main thread`,
    };
    record(r);
    progress.result(r);
  }
}
