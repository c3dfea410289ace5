/**
 * `npm run bench`: the whole benchmark suite in one run (see bench/suite/options.ts for the sizes).
 *   (a) kernels   (b) runtime   (c) NDJSON replay vs the hand-written Node pipeline and Flink
 *   (d) columnar end to end   (e) sweeps   (f) window-close latency
 *   (g) Kafka -> ringflow -> sinks next to raw kafkajs on the same topic (starts a broker; --no-kafka skips it)
 * Progress goes to stderr while it runs; the table to stdout at the end. Writes bench/results/latest.json,
 * bench/results/sweep.svg and BENCHMARKS.md (with --quick: bench/results/tmp/quick/ only, BENCHMARKS.md
 * untouched, so a quick check never replaces the figures of a full run). A section that fails or
 * cannot run (no Java for Flink or Kafka) is listed as skipped or failed with its reason; no figure is invented.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { REPO_ROOT } from './suite/child.js';
import { writeBenchmarksMarkdown } from './suite/benchmarks-md.js';

import { ensureInputFile, runReplaySection, type InputFile } from './suite/section-replay.js';
import { describeMachine, loadAverage, machineInfo } from './suite/machine.js';
import { parseSuiteOptions } from './suite/options.js';
import { Progress, renderTable } from './suite/progress.js';
import { emptyResults, finishResults, writeResultsJson, type RunRecord, type SectionName } from './suite/results.js';
import { runColumnarSection, runLatencySection, runSweepSection } from './suite/section-columnar.js';
import { runKafkaSection } from './suite/section-kafka.js';
import { runKernelSection, runRuntimeSection } from './suite/section-micro.js';

import { sweepChartOf } from './suite/svg-chart.js';

async function main(argv: string[]): Promise<void> {
  const o = parseSuiteOptions(argv);
  const machine = machineInfo();
  const results = emptyResults(o.mode, argv, machine);
  const progress = new Progress();
  const record = (r: RunRecord): void => { results.runs.push(r); };
  const outDir = o.mode === 'quick' ? join(o.cacheDir, 'quick') : o.resultsDir;
  process.stderr.write(`ringflow bench (${o.mode}) on ${describeMachine(machine)}; load average ${machine.load_average_start.one}/${machine.load_average_start.five}/${machine.load_average_start.fifteen}\n`);

  const guarded = async <T>(section: SectionName, run: () => Promise<T>): Promise<T | null> => {
    if (!o.sections.has(section)) return null;
    try {
      return await run();
    } catch (err) {
      // One line: the first lines of the message are the useful part (a child's stderr tail follows).
      const reason = (err instanceof Error ? err.message : String(err)).split('\n').slice(0, 4).join(' | ').slice(0, 800);
      results.errors.push({ section, what: 'section', reason });
      progress.warn(`section failed: ${reason.slice(0, 300)}`);
      return null;
    }
  };

  await guarded('kernels', () => runKernelSection(o, progress, record));
  await guarded('runtime', () => runRuntimeSection(o, progress, record));
  let input: InputFile | null = await guarded('replay', () => runReplaySection(o, progress, results, record));
  await guarded('columnar', () => runColumnarSection(o, progress, results, record));
  if (input === null && o.sections.has('sweeps') && o.sweepReplay) input = ensureInputFile(o.cacheDir, o.replayEvents);
  await guarded('sweeps', () => runSweepSection(o, input, progress, record));
  await guarded('latency', () => runLatencySection(o, progress, record));
  await guarded('kafka', () => runKafkaSection(o, progress, results, record));

  machine.load_average_end = loadAverage();
  finishResults(results);
  mkdirSync(outDir, { recursive: true });
  writeResultsJson(join(outDir, 'latest.json'), results);
  writeFileSync(join(outDir, 'sweep.svg'), sweepChartOf(results));
  const written = [join(outDir, 'latest.json'), join(outDir, 'sweep.svg')];
  if (o.mode !== 'quick' && o.writeMarkdown) {
    const md = resolve(REPO_ROOT, 'BENCHMARKS.md');
    writeBenchmarksMarkdown(md, results);
    written.push(md);
  }
  process.stdout.write(renderTable(results));
  process.stdout.write(`\nload average at end: ${machine.load_average_end.one}/${machine.load_average_end.five}/${machine.load_average_end.fifteen}; ${results.duration_s} s in all\nwrote ${written.join(', ')}\n`);
  if (results.errors.length > 0) process.exitCode = 1;
}

main(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`bench: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exitCode = 2;
});
