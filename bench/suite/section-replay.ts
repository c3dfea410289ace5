/**
 * Section (c): NDJSON replay of the canonical pipeline on one generated file, next to both peers, in
 * the same run: `ringflow replay`, the hand-written Node pipeline (readline + JSON.parse + Set + Map)
 * and Apache Flink (DataStream job on a local mini-cluster). Each system runs in its own process, so
 * its peak RSS is its own. A peer's speed is reported only after its aggregates (and its summary
 * counters) were found equal to ringflow's: users_approx within the HyperLogLog bound (the peers count
 * distinct users exactly), amount_sum within 1e-9 relative, everything else exact.
 *
 * The input file is generated once per (events, seed) into the cache directory and reused; the
 * generator's counts are kept next to it (<file>.json), so a cached file still reports them.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { makeClickstreamFile } from '../gen/make-clickstream-file.js';
import { spawnSync } from 'node:child_process';
import { compareAggregates, compareSummaries, type AggregateRow, type ReplaySummary } from '../../test/reference/canonical-reference.js';
import { hllStandardError } from '../../src/kernels/window/hyperloglog.js';
import { runFlinkPeer } from '../peers/flink-runner.js';
import { REPO_ROOT, runNodeChild, type ChildRun } from './child.js';
import type { SuiteOptions } from './options.js';
import type { Progress } from './progress.js';
import type { CorrectnessCheck, RunRecord, SuiteResults } from './results.js';

export interface InputFile {
  path: string;
  events: number;
  sizeBytes: number;
  bytesPerEvent: number;
  invalid: number;
  duplicates: number;
  blankLines: number;
  /** Milliseconds spent generating it in this run (0 when it came from the cache). */
  generatedMs: number;
}

/** The canonical benchmark input of issue 4: ~100 bytes per event, 2% invalid, 5% duplicates. */
export const INPUT_SHAPE = { seed: 1, invalidRate: 0.02, duplicateRate: 0.05, lateRate: 0, variantRate: 0.01, eventsPerSecond: 5000, userCardinality: 100_000 };

const GENERATOR_SRC_DIR = resolve(REPO_ROOT, 'src/sources/generators');

/** Newest source of the generator (not its dist/ output, which every build rewrites). */
function generatorSourceMtimeMs(): number {
  return Math.max(0, ...readdirSync(GENERATOR_SRC_DIR).filter((f) => f.endsWith('.ts')).map((f) => statSync(join(GENERATOR_SRC_DIR, f)).mtimeMs));
}

export function ensureInputFile(cacheDir: string, events: number): InputFile {
  mkdirSync(cacheDir, { recursive: true });
  const path = join(cacheDir, `clickstream-${events}-seed${INPUT_SHAPE.seed}.ndjson`);
  const meta = `${path}.json`;
  // Regenerated when the generator's code is newer than the cached file (its output may have changed).
  const generatorMs = generatorSourceMtimeMs();
  if (existsSync(path) && existsSync(meta) && statSync(path).mtimeMs > generatorMs) {
    const m = JSON.parse(readFileSync(meta, 'utf8')) as InputFile;
    if (statSync(path).size === m.sizeBytes) return { ...m, generatedMs: 0 };
  }
  const r = makeClickstreamFile(path, events, INPUT_SHAPE);
  const info: InputFile = {
    path,
    events: r.events,
    sizeBytes: r.sizeBytes,
    bytesPerEvent: Number(r.bytesPerEvent.toFixed(1)),
    invalid: r.stats.invalid,
    duplicates: r.stats.duplicates,
    blankLines: r.stats.blankLines,
    generatedMs: Math.round(r.elapsedMs),
  };
  writeFileSync(meta, `${JSON.stringify(info)}\n`);
  return info;
}

/** 4 standard errors of the p = 12 sketch (the bound the differential test uses): 6.5%. */
export const HLL_RELATIVE_BOUND = 4 * hllStandardError(12);
const CONFIG = 'examples/clickstream.json';

interface ReplayJson { input: number; accepted: number; invalid: number; duplicates: number; late: number; failed: number; elapsed_ms: number; events_per_sec: number; peak_rss_mib: number; threads: number; partitions: number }
interface NaiveJson { events: number; elapsed_ms: number; events_per_sec: number; cpu_ms: number; peak_rss_mib: number; summary: ReplaySummary }

function readNdjson<T>(path: string): T[] {
  return readFileSync(path, 'utf8').split('\n').filter((l) => l.length > 0).map((l) => JSON.parse(l) as T);
}

/**
 * `ringflow replay` in a child process; used by the sweeps too. Threads and partitions go into a copy
 * of the canonical config (enrich table made absolute) rather than through --threads/--partitions,
 * whose override currently merges every CLI option into the runtime section (rejected as unknown keys).
 */
export async function runRingflowReplay(input: InputFile, outDir: string, cacheDir: string, threads?: number, partitions?: number) {
  let config = resolve(REPO_ROOT, CONFIG);
  if (threads !== undefined || partitions !== undefined) {
    const raw = JSON.parse(readFileSync(config, 'utf8')) as { enrich?: { table: string }; runtime?: object };
    if (raw.enrich) raw.enrich.table = resolve(dirname(config), raw.enrich.table);
    raw.runtime = { ...raw.runtime, ...(threads !== undefined ? { threads } : {}), ...(partitions !== undefined ? { partitions } : {}) };
    config = join(cacheDir, `clickstream-t${threads ?? 'd'}-p${partitions ?? 'd'}.json`);
    writeFileSync(config, `${JSON.stringify(raw, null, 2)}\n`);
  }
  return runNodeChild<ReplayJson>('bin/ringflow.js', ['replay', input.path, '-p', config, '-o', outDir, '--json', '--no-progress']);
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

type Headline = 'ringflow_replay' | 'naive_node' | 'flink';

/** Keeps the fastest run per system (only runs whose output checked equal) and the highest peak RSS. */
function keep(results: SuiteResults, system: Headline, r: RunRecord): void {
  const field = `${system}_events_per_sec` as 'ringflow_replay_events_per_sec' | 'naive_node_events_per_sec' | 'flink_events_per_sec';
  results[field] = Math.max(results[field] ?? 0, r.events_per_sec!);
  results.peak_rss_mib[system] = Math.max(results.peak_rss_mib[system] ?? 0, r.peak_rss_mib!);
  if (r.events_per_cpu_sec !== undefined) results.events_per_cpu_sec[system] = Math.max(results.events_per_cpu_sec[system] ?? 0, r.events_per_cpu_sec);
}

/** CPU fields of a child run (each absent when it could not be read). */
export function cpuFields(events: number, usage: Pick<ChildRun<unknown>, 'cpuMs' | 'mainThreadCpuMs'>): Pick<RunRecord, 'cpu_ms' | 'events_per_cpu_sec' | 'main_thread_cpu_ms' | 'main_thread_events_per_cpu_sec'> {
  const out: Pick<RunRecord, 'cpu_ms' | 'events_per_cpu_sec' | 'main_thread_cpu_ms' | 'main_thread_events_per_cpu_sec'> = {};
  const { cpuMs, mainThreadCpuMs } = usage;
  if (Number.isFinite(cpuMs) && cpuMs > 0) Object.assign(out, { cpu_ms: cpuMs, events_per_cpu_sec: Math.round(events / (cpuMs / 1000)) });
  if (Number.isFinite(mainThreadCpuMs) && mainThreadCpuMs > 0) {
    Object.assign(out, { main_thread_cpu_ms: Math.round(mainThreadCpuMs), main_thread_events_per_cpu_sec: Math.round(events / (mainThreadCpuMs / 1000)) });
  }
  return out;
}

function noteCheck(results: SuiteResults, c: CorrectnessCheck): boolean {
  results.correctness.push(c);
  const equal = c.aggregatesEqual && c.summaryEqual;
  if (!equal) results.errors.push({ section: 'replay', what: c.system, reason: `output differs: ${c.differences.slice(0, 3).join('; ')}` });
  return equal;
}

/**
 * Every system runs `replayRepeats` times, interleaved (ringflow, Node, Flink, ringflow, ...), so a
 * burst of load on the shared machine hits all of them alike; every run is recorded, the headline
 * keeps each system's fastest checked run. Each peer run is compared with ringflow's run of its round.
 */
export async function runReplaySection(o: SuiteOptions, progress: Progress, results: SuiteResults, record: (r: RunRecord) => void): Promise<InputFile> {
  progress.begin('replay', `canonical pipeline on a generated ${o.replayEvents.toLocaleString('en-US')}-event NDJSON file, ${o.replayRepeats} round(s)`);
  const input = ensureInputFile(o.cacheDir, o.replayEvents);
  progress.step(`input ${input.path}: ${(input.sizeBytes / 2 ** 20).toFixed(0)} MiB, ${input.bytesPerEvent} bytes/event, ${input.invalid} invalid, ${input.duplicates} duplicates${input.generatedMs ? ` (generated in ${input.generatedMs} ms)` : ' (cached)'}`);
  results.input = { path: input.path, events: input.events, size_bytes: input.sizeBytes, bytes_per_event: input.bytesPerEvent, invalid: input.invalid, duplicates: input.duplicates };
  const params = { events: input.events, bytes_per_event: input.bytesPerEvent, invalid: input.invalid, duplicates: input.duplicates };
  const out = join(o.cacheDir, 'out');
  const save = (r: RunRecord): void => { record(r); progress.result(r); };
  let flinkOff: string | null = !o.runFlink
    ? (o.mode === 'quick' ? '--quick skips Flink (JVM + mini-cluster start alone takes ~5 s); add --flink to run it' : '--no-flink')
    : javaMissing();
  if (flinkOff) {
    results.skipped.push({ section: 'replay', what: 'Apache Flink peer', reason: flinkOff });
    progress.warn(`Flink skipped: ${flinkOff}`);
  }

  for (let round = 1; round <= o.replayRepeats; round++) {
    const tag = { ...params, round };
    progress.step(`round ${round}: ringflow replay (child process)`);
    const rf = await runRingflowReplay(input, join(out, 'ringflow'), o.cacheDir);
    const s = rf.json;
    const rfRecord = replayRecord('ringflow replay (NDJSON -> canonical pipeline)', tag, rf,
      `elapsed from Pipeline.create to all windows closed (process start and output writing excluded); process wall ${Math.round(rf.wallMs)} ms`);
    const ours = readNdjson<Record<string, unknown>>(join(out, 'ringflow', 'aggregates.ndjson'));
    save(rfRecord);
    keep(results, 'ringflow_replay', rfRecord);

    progress.step(`round ${round}: hand-written Node pipeline (child process)`);
    const nv = await runNodeChild<NaiveJson>('dist/bench/peers/naive-node.js', [input.path, '--out', join(out, 'naive-node')]);
    const nvEqual = noteCheck(results, check('naive-node', ours, readNdjson<AggregateRow>(join(out, 'naive-node', 'aggregates.ndjson')), s, nv.json.summary));
    const nvRecord: RunRecord = {
      section: 'replay', name: 'hand-written Node pipeline (readline + JSON.parse + Set + Map)',
      params: { ...tag, threads: 1 }, events_per_sec: nv.json.events_per_sec, elapsed_ms: nv.json.elapsed_ms,
      peak_rss_mib: Math.max(nv.peakRssMiB, Math.round(nv.json.peak_rss_mib)), ...cpuFields(nv.json.events, nv),
      note: nvEqual ? 'aggregates and summary equal to ringflow\'s' : 'OUTPUT DIFFERS from ringflow: rate not reported',
    };
    save(nvRecord);
    if (nvEqual) keep(results, 'naive_node', nvRecord);

    if (flinkOff) continue;
    progress.step(`round ${round}: Apache Flink, parallelism ${o.flinkParallelism} (builds its jar with Maven if needed)`);
    try {
      const fl = await runFlinkPeer({ inputPath: input.path, outDir: join(out, 'flink'), parallelism: o.flinkParallelism });
      const fs = fl.summary;
      const equal = noteCheck(results, check('flink', ours, readNdjson<AggregateRow>(fl.aggregatesPath), s, fs));
      const flRecord: RunRecord = {
        section: 'replay', name: `Apache Flink ${fs.flink_version} (DataStream, local mini-cluster)`,
        params: { ...tag, parallelism: fs.parallelism, watermarks: fs.watermarks, dedupe_expiry: fs.dedupe_expiry, java: fs.java_version },
        events_per_sec: fs.events_per_sec, elapsed_ms: fs.elapsed_ms, peak_rss_mib: fl.peakRssMiB,
        note: `${equal ? 'aggregates and summary equal to ringflow\'s' : 'OUTPUT DIFFERS from ringflow: rate not reported'}; elapsed = job runtime (mini-cluster start excluded); JVM wall ${fl.processWallMs} ms; JVM CPU time not measured`,
      };
      save(flRecord);
      if (equal) keep(results, 'flink', flRecord);
    } catch (err) {
      flinkOff = (err instanceof Error ? err.message : String(err)).split('\n').slice(0, 4).join(' | ').slice(0, 600);
      results.skipped.push({ section: 'replay', what: 'Apache Flink peer', reason: `failed: ${flinkOff}` });
      progress.warn(`Flink failed, reported as skipped: ${flinkOff.slice(0, 200)}`);
    }
  }
  if (o.replayShortEvents > 0) await runShortReplay(o, out, save);
  return input;
}

/** ringflow alone on a shorter file: the same pipeline with start-up and JIT warm-up a larger share (not a headline). */
async function runShortReplay(o: SuiteOptions, out: string, save: (r: RunRecord) => void): Promise<void> {
  const short = ensureInputFile(o.cacheDir, o.replayShortEvents);
  const rf = await runRingflowReplay(short, join(out, 'ringflow-short'), o.cacheDir);
  save(replayRecord('ringflow replay, short input (warm-up included)', { events: short.events, bytes_per_event: short.bytesPerEvent }, rf,
    'not a headline: the same pipeline on a shorter file, where TurboFan compiles in every thread (~0.6 CPU-s) weigh more'));
}

/** A `ringflow replay` run as a record; a run whose kernels failed has no rate of the whole pipeline. */
function replayRecord(name: string, params: RunRecord['params'], rf: ChildRun<ReplayJson>, note: string): RunRecord {
  const s = rf.json;
  if (s.failed !== 0) throw new Error(`ringflow replay dead-lettered ${s.failed} rows after kernel failures`);
  return {
    section: 'replay', name, params: { ...params, threads: s.threads, partitions: s.partitions },
    events_per_sec: s.events_per_sec, elapsed_ms: s.elapsed_ms, peak_rss_mib: Math.max(rf.peakRssMiB, s.peak_rss_mib), ...cpuFields(s.input, rf), note,
  };
}
