/**
 * Section (c): NDJSON replay of the canonical pipeline on one generated file, next to both peers, in
 * the same run: `ringflow replay`, the hand-written Node pipeline (readline + JSON.parse + Set + Map)
 * and Apache Flink (DataStream job on a local mini-cluster). Each system runs in its own process, so
 * its peak RSS is its own. A peer's speed is reported only after its aggregates (and its summary
 * counters) were found equal to ringflow's: users_approx within the HyperLogLog bound (the peers count
 * distinct users exactly), amount_sum within 1e-9 relative, everything else exact.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { compareAggregates, compareSummaries, type AggregateRow, type ReplaySummary } from '../../test/reference/canonical-reference.js';
import { hllStandardError } from '../../src/kernels/hyperloglog.js';
import { runFlinkPeer } from '../peers/flink-runner.js';
import { runNodeChild } from './child.js';
import { ensureInputFile, type InputFile } from './input-file.js';
import type { SuiteOptions } from './options.js';
import type { Progress } from './progress.js';
import type { CorrectnessCheck, RunRecord, SuiteResults } from './results.js';

/** 4 standard errors of the p = 12 sketch (the bound the differential test uses): 6.5%. */
export const HLL_RELATIVE_BOUND = 4 * hllStandardError(12);
const CONFIG = 'examples/clickstream.json';

interface ReplayJson { input: number; accepted: number; invalid: number; duplicates: number; late: number; failed: number; elapsed_ms: number; events_per_sec: number; peak_rss_mib: number; threads: number; partitions: number }
interface NaiveJson { events: number; elapsed_ms: number; events_per_sec: number; cpu_ms: number; peak_rss_mib: number; summary: ReplaySummary }

function readNdjson<T>(path: string): T[] {
  return readFileSync(path, 'utf8').split('\n').filter((l) => l.length > 0).map((l) => JSON.parse(l) as T);
}

/** `ringflow replay` in a child process; used by the sweeps too. */
export async function runRingflowReplay(input: InputFile, outDir: string, threads?: number, partitions?: number) {
  const args = ['replay', input.path, '-p', CONFIG, '-o', outDir, '--json', '--no-progress'];
  if (threads !== undefined) args.push('--threads', String(threads));
  if (partitions !== undefined) args.push('--partitions', String(partitions));
  return runNodeChild<ReplayJson>('bin/ringflow.js', args);
}

function check(system: string, ours: Record<string, unknown>[], theirs: AggregateRow[], ourSummary: ReplayJson, theirSummary: ReplaySummary): CorrectnessCheck {
  const agg = compareAggregates(ours, theirs, HLL_RELATIVE_BOUND);
  const sum = compareSummaries(ourSummary as unknown as Record<string, unknown>, theirSummary);
  return { system, aggregatesEqual: agg.length === 0, summaryEqual: sum.length === 0, hllRelativeBound: Number(HLL_RELATIVE_BOUND.toFixed(4)), differences: [...agg, ...sum].slice(0, 20) };
}

function javaMissing(): string | null {
  const j = spawnSync('java', ['-version'], { encoding: 'utf8' });
  if (j.error) return `java not runnable: ${j.error.message}`;
  return null;
}

export async function runReplaySection(o: SuiteOptions, progress: Progress, results: SuiteResults, record: (r: RunRecord) => void): Promise<InputFile> {
  progress.begin('replay', `canonical pipeline on a generated ${o.replayEvents.toLocaleString('en-US')}-event NDJSON file`);
  const input = ensureInputFile(o.cacheDir, o.replayEvents);
  progress.step(`input ${input.path}: ${(input.sizeBytes / 2 ** 20).toFixed(0)} MiB, ${input.bytesPerEvent} bytes/event, ${input.invalid} invalid, ${input.duplicates} duplicates${input.generatedMs ? ` (generated in ${input.generatedMs} ms)` : ' (cached)'}`);
  results.input = { path: input.path, events: input.events, size_bytes: input.sizeBytes, bytes_per_event: input.bytesPerEvent, invalid: input.invalid, duplicates: input.duplicates };
  const params = { events: input.events, bytes_per_event: input.bytesPerEvent, invalid: input.invalid, duplicates: input.duplicates };
  const out = join(o.cacheDir, 'out');

  progress.step('ringflow replay (child process)');
  const rf = await runRingflowReplay(input, join(out, 'ringflow'));
  const s = rf.json;
  if (s.failed !== 0) throw new Error(`ringflow replay dead-lettered ${s.failed} rows after kernel failures`);
  const ours = readNdjson<Record<string, unknown>>(join(out, 'ringflow', 'aggregates.ndjson'));
  const rfRecord: RunRecord = {
    section: 'replay', name: 'ringflow replay (NDJSON -> canonical pipeline)',
    params: { ...params, threads: s.threads, partitions: s.partitions },
    events_per_sec: s.events_per_sec, elapsed_ms: s.elapsed_ms, peak_rss_mib: Math.max(rf.peakRssMiB, s.peak_rss_mib),
    note: `elapsed from Pipeline.create to all windows closed (process start and output writing excluded); process wall ${Math.round(rf.wallMs)} ms`,
  };
  record(rfRecord);
  progress.result(rfRecord);
  results.ringflow_replay_events_per_sec = s.events_per_sec;
  results.peak_rss_mib.ringflow_replay = rfRecord.peak_rss_mib!;

  progress.step('hand-written Node pipeline (child process)');
  const nv = await runNodeChild<NaiveJson>('dist/bench/peers/naive-node.js', [input.path, '--out', join(out, 'naive-node')]);
  const naiveCheck = check('naive-node', ours, readNdjson<AggregateRow>(join(out, 'naive-node', 'aggregates.ndjson')), s, nv.json.summary);
  results.correctness.push(naiveCheck);
  const nvRecord: RunRecord = {
    section: 'replay', name: 'hand-written Node pipeline (readline + JSON.parse + Set + Map)',
    params: { ...params, threads: 1 }, events_per_sec: nv.json.events_per_sec, elapsed_ms: nv.json.elapsed_ms,
    peak_rss_mib: Math.max(nv.peakRssMiB, Math.round(nv.json.peak_rss_mib)), cpu_ms: nv.json.cpu_ms,
    note: naiveCheck.aggregatesEqual && naiveCheck.summaryEqual ? 'aggregates and summary equal to ringflow\'s' : 'OUTPUT DIFFERS from ringflow: rate not reported',
  };
  record(nvRecord);
  progress.result(nvRecord);
  if (naiveCheck.aggregatesEqual && naiveCheck.summaryEqual) {
    results.naive_node_events_per_sec = nv.json.events_per_sec;
    results.peak_rss_mib.naive_node = nvRecord.peak_rss_mib!;
  } else {
    results.errors.push({ section: 'replay', what: 'naive-node', reason: `output differs: ${naiveCheck.differences.slice(0, 3).join('; ')}` });
  }

  if (!o.runFlink) {
    results.skipped.push({ section: 'replay', what: 'Apache Flink peer', reason: o.mode === 'quick' ? '--quick skips Flink (JVM + mini-cluster start alone takes ~5 s); add --flink to run it' : '--no-flink' });
    progress.warn('Flink skipped');
    return input;
  }
  const noJava = javaMissing();
  if (noJava) {
    results.skipped.push({ section: 'replay', what: 'Apache Flink peer', reason: noJava });
    progress.warn(`Flink skipped: ${noJava}`);
    return input;
  }
  progress.step(`Apache Flink, parallelism ${o.flinkParallelism} (builds its jar with Maven if needed)`);
  try {
    const fl = await runFlinkPeer({ inputPath: input.path, outDir: join(out, 'flink'), parallelism: o.flinkParallelism });
    const fs = fl.summary;
    const flinkCheck = check('flink', ours, readNdjson<AggregateRow>(fl.aggregatesPath), s, fs);
    results.correctness.push(flinkCheck);
    const equal = flinkCheck.aggregatesEqual && flinkCheck.summaryEqual;
    const flRecord: RunRecord = {
      section: 'replay', name: `Apache Flink ${fs.flink_version} (DataStream, local mini-cluster)`,
      params: { ...params, parallelism: fs.parallelism, watermarks: fs.watermarks, dedupe_expiry: fs.dedupe_expiry, java: fs.java_version },
      events_per_sec: fs.events_per_sec, elapsed_ms: fs.elapsed_ms, peak_rss_mib: fl.peakRssMiB,
      note: `${equal ? 'aggregates and summary equal to ringflow\'s' : 'OUTPUT DIFFERS from ringflow: rate not reported'}; elapsed = job runtime (mini-cluster start excluded); JVM wall ${fl.processWallMs} ms`,
    };
    record(flRecord);
    progress.result(flRecord);
    if (equal) {
      results.flink_events_per_sec = fs.events_per_sec;
      results.peak_rss_mib.flink = fl.peakRssMiB;
    } else {
      results.errors.push({ section: 'replay', what: 'flink', reason: `output differs: ${flinkCheck.differences.slice(0, 3).join('; ')}` });
    }
  } catch (err) {
    const reason = err instanceof Error ? err.message.slice(0, 600) : String(err);
    results.skipped.push({ section: 'replay', what: 'Apache Flink peer', reason: `failed: ${reason}` });
    progress.warn(`Flink failed, reported as skipped: ${reason.slice(0, 200)}`);
  }
  return input;
}
