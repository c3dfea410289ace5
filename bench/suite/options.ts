/**
 * Command line and presets of `npm run bench`. Three sizes:
 *   --quick   under 2 minutes: small input file, one repeat, smallest sweeps, Flink skipped unless --flink
 *   default   under 10 minutes: the 2M-event file, every peer, small sweeps
 *   --full    heavier: bigger sweeps (more partitions, 10M distinct keys, a 6 h dedupe horizon), more repeats
 * The Kafka section (a broker started here, Java 17) is in every size; --no-kafka skips it.
 */
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { REPO_ROOT } from './child.js';
import type { SectionName } from './results.js';
import { intOption } from '../../src/daemon/cli-options.js';

export const ALL_SECTIONS: SectionName[] = ['kernels', 'runtime', 'replay', 'columnar', 'sweeps', 'latency', 'kafka'];

export interface SuiteOptions {
  mode: 'quick' | 'default' | 'full';
  sections: Set<SectionName>;
  /**
   * Events in the generated NDJSON file of the replay section. Large enough that JIT warm-up (about
   * 0.6 CPU-s of TurboFan compiles per ringflow run; every system pays its own) is a small share; the
   * short-input run below shows the rate with warm-up weighing in.
   */
  replayEvents: number;
  /** Events of one extra ringflow-only replay on a shorter file (0: none). */
  replayShortEvents: number;
  runFlink: boolean;
  /** Rounds of the replay section (each runs ringflow, the Node peer and Flink once) and columnar headline runs. */
  replayRepeats: number;
  flinkParallelism: number;
  /** Events per columnar end-to-end run (headline and sweeps). */
  columnarEvents: number;
  sweepThreads: number[];
  sweepPartitions: number[];
  /** Also sweep threads x partitions for NDJSON replay (not only columnar). */
  sweepReplay: boolean;
  userKeyCardinalities: number[];
  dedupeHorizonsMs: number[];
  latencyRatesPerSec: number[];
  latencySecondsPerRate: number;
  /** Kafka section: messages of one event each, messages of `kafkaEventsPerMessage` events, rounds of (raw, ringflow). */
  kafkaMessages: number;
  kafkaBatchedMessages: number;
  kafkaEventsPerMessage: number;
  kafkaRepeats: number;
  /** Events of the end-to-end Kafka run with every sink on (in messages of kafkaEventsPerMessage). */
  kafkaEndToEndEvents: number;
  kernelTimeMs: number;
  decodeLines: number;
  runtimeRepeats: number;
  runtimeBatchRows: number[];
  runtimeTargetRows: number;
  schedulerBatchRows: number[];
  schedulerRows: number;
  resultsDir: string;
  cacheDir: string;
  writeMarkdown: boolean;
}

const cores = availableParallelism();

/** 1, 2, 4, ... up to `max`, plus `max` itself. */
function powersUpTo(max: number): number[] {
  const out: number[] = [];
  for (let n = 1; n < max; n *= 2) out.push(n);
  out.push(max);
  return [...new Set(out)];
}

function preset(mode: SuiteOptions['mode']): Omit<SuiteOptions, 'sections' | 'resultsDir' | 'cacheDir' | 'writeMarkdown'> {
  const quick = mode === 'quick';
  const full = mode === 'full';
  return {
    mode,
    replayEvents: quick ? 300_000 : full ? 10_000_000 : 6_000_000,
    replayShortEvents: quick ? 0 : 2_000_000,
    runFlink: !quick,
    replayRepeats: quick ? 1 : 3,
    flinkParallelism: Math.max(1, cores),
    columnarEvents: quick ? 1_000_000 : full ? 10_000_000 : 6_000_000,
    // "1 up to the core count, and further where the machine has more cores": full goes to 2 x cores.
    sweepThreads: powersUpTo(full ? 2 * cores : cores),
    sweepPartitions: quick ? [2, 8] : full ? [1, 2, 4, 8, 16, 32, 64] : [1, 2, 4, 8, 16],
    sweepReplay: !quick,
    userKeyCardinalities: quick ? [1_000, 100_000] : full ? [1_000, 10_000, 100_000, 1_000_000, 10_000_000] : [1_000, 100_000, 1_000_000],
    dedupeHorizonsMs: quick ? [300_000] : full ? [300_000, 3_600_000, 6 * 3_600_000] : [300_000, 3_600_000],
    latencyRatesPerSec: quick ? [100_000] : full ? [10_000, 100_000, 300_000, 1_000_000] : [20_000, 100_000, 300_000],
    latencySecondsPerRate: quick ? 4 : full ? 15 : 8,
    // Long enough that thread start-up and JIT warm-up of a fresh daemon are a small share of a run.
    kafkaMessages: quick ? 100_000 : full ? 2_000_000 : 1_000_000,
    kafkaBatchedMessages: quick ? 300 : full ? 5_000 : 2_000,
    kafkaEventsPerMessage: 1000,
    kafkaRepeats: quick ? 1 : full ? 3 : 2,
    kafkaEndToEndEvents: quick ? 200_000 : 2_000_000,
    kernelTimeMs: quick ? 300 : full ? 2000 : 1000,
    decodeLines: quick ? 100_000 : 200_000,
    runtimeRepeats: quick ? 1 : full ? 3 : 2,
    runtimeBatchRows: quick ? [64, 4096] : [4, 64, 1024, 4096, 16384, 65536],
    runtimeTargetRows: quick ? 2_000_000 : full ? 16_000_000 : 8_000_000,
    schedulerBatchRows: quick ? [4096] : [256, 4096],
    schedulerRows: quick ? 1_000_000 : full ? 4_000_000 : 2_000_000,
  };
}


export function parseSuiteOptions(argv: readonly string[]): SuiteOptions {
  const program = new Command()
    .name('npm run bench --')
    .description('ringflow benchmark suite: kernels, runtime, NDJSON replay vs peers, columnar, sweeps, latency, Kafka.')
    .option('--quick', 'under 2 minutes: small file, fewest sweeps, Flink skipped (add --flink to run it)')
    .option('--full', 'heavier sweeps (more partitions and threads, 10M distinct keys, 6 h dedupe horizon)')
    .option('--only <sections>', `comma-separated subset of ${ALL_SECTIONS.join(',')}`)
    .option('--flink', 'run the Flink peer even with --quick')
    .option('--no-flink', 'skip the Flink peer')
    .option('--events <n>', 'events in the generated NDJSON file', intOption('--events', 1000))
    .option('--results-dir <dir>', 'where latest.json and sweep.svg go', resolve(REPO_ROOT, 'bench/results'))
    .option('--cache-dir <dir>', 'where generated input files are kept between runs', resolve(REPO_ROOT, 'bench/results/tmp'))
    .option('--no-kafka', 'skip the Kafka section (starts a broker; needs Java 17)')
    .option('--no-markdown', 'do not rewrite BENCHMARKS.md');
  program.parse([...argv], { from: 'user' });
  const o = program.opts<{
    quick?: boolean; full?: boolean; only?: string; flink?: boolean; events?: number;
    resultsDir: string; cacheDir: string; markdown: boolean; kafka: boolean;
  }>();
  if (o.quick && o.full) throw new InvalidArgumentError('--quick and --full exclude each other');
  const mode = o.quick ? 'quick' : o.full ? 'full' : 'default';
  const p = preset(mode);
  const sections = new Set<SectionName>(ALL_SECTIONS);
  if (o.only) {
    sections.clear();
    for (const s of o.only.split(',').map((x) => x.trim())) {
      if (!(ALL_SECTIONS as string[]).includes(s)) throw new InvalidArgumentError(`--only: unknown section "${s}" (allowed: ${ALL_SECTIONS.join(', ')})`);
      sections.add(s as SectionName);
    }
  }
  if (!o.kafka) sections.delete('kafka');
  // commander sets flink=false for --no-flink and true for --flink; undefined keeps the preset.
  const flinkFlag = argv.includes('--flink') ? true : argv.includes('--no-flink') ? false : undefined;
  return {
    ...p,
    sections,
    replayEvents: o.events ?? p.replayEvents,
    runFlink: flinkFlag ?? p.runFlink,
    resultsDir: resolve(o.resultsDir),
    cacheDir: resolve(o.cacheDir),
    writeMarkdown: o.markdown,
  };
}
