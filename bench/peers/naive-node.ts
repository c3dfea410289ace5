/**
 * The "hand-written Node pipeline" peer of the benchmark (issue 6): readline + JSON.parse + Set + Map,
 * single thread — what a user writes without ringflow. It is the test reference itself
 * (test/reference/canonical-reference.ts), so the peer and the oracle cannot drift apart.
 *   node dist/bench/peers/naive-node.js <input.ndjson> --out <dir> [--splitter readline|newline]
 * writes aggregates.ndjson, dead-letter.ndjson, summary.json in `ringflow replay`'s formats and prints
 * one JSON line: events/s, CPU time and peak RSS.
 */
import { closeSync, mkdirSync, openSync, realpathSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Command, InvalidArgumentError } from 'commander';
import {
  formatAggregatesNdjson,
  formatDeadLetterLine,
  formatSummaryJson,
  runReferenceOnFile,
  type AggregateRow,
  type LineSplitter,
  type ReplaySummary,
} from '../../test/reference/canonical-reference.js';

export interface NaiveNodePeerResult {
  summary: ReplaySummary;
  aggregates: AggregateRow[];
  /** From opening the input to the three output files written. */
  elapsedMs: number;
  /** summary.input / elapsed seconds. */
  eventsPerSec: number;
  /**
   * User + system CPU time of the process during the run (GC helper threads included): on a busy
   * machine wall time stretches while this stays put, so it tells whether a slow run was starved.
   */
  cpuMs: number;
  /** process.resourceUsage().maxRSS: the peak of the whole process, so run it in its own process to isolate it. */
  peakRssMiB: number;
}

/** Appends text to a file through one string buffer flushed every ~1 MiB (few syscalls, bounded memory). */
class BufferedFileWriter {
  private readonly fd: number;
  private pending = '';
  constructor(path: string) {
    this.fd = openSync(path, 'w');
  }
  write(text: string): void {
    this.pending += text;
    if (this.pending.length >= 1 << 20) this.flush();
  }
  close(): void {
    this.flush();
    closeSync(this.fd);
  }
  private flush(): void {
    if (this.pending.length > 0) writeSync(this.fd, this.pending);
    this.pending = '';
  }
}

export async function runNaiveNodePeer(
  inputPath: string,
  outDir: string,
  options: { splitter?: LineSplitter } = {},
): Promise<NaiveNodePeerResult> {
  const started = performance.now();
  const cpuBefore = process.cpuUsage();
  mkdirSync(outDir, { recursive: true });
  // Dead letters go straight to their file, as a hand-written pipeline would write them.
  const deadLetter = new BufferedFileWriter(join(outDir, 'dead-letter.ndjson'));
  let result;
  try {
    // readline is the point of this peer; generated inputs never hold a lone '\r', where it would split.
    result = await runReferenceOnFile(inputPath, {
      splitter: options.splitter ?? 'readline',
      onDeadLetter: (row) => deadLetter.write(formatDeadLetterLine(row)),
    });
  } finally {
    deadLetter.close();
  }
  writeFileSync(join(outDir, 'aggregates.ndjson'), formatAggregatesNdjson(result.aggregates));
  writeFileSync(join(outDir, 'summary.json'), formatSummaryJson(result.summary));
  const elapsedMs = performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  return {
    summary: result.summary,
    aggregates: result.aggregates,
    elapsedMs,
    eventsPerSec: result.summary.input / (elapsedMs / 1000),
    cpuMs: (cpu.user + cpu.system) / 1000,
    peakRssMiB: process.resourceUsage().maxRSS / 1024,
  };
}

export async function main(argv: readonly string[]): Promise<void> {
  const program = new Command()
    .name('naive-node')
    .description('Canonical clickstream pipeline, single thread: readline + JSON.parse + Set + Map.')
    .argument('<input>', 'NDJSON input file')
    .requiredOption('--out <dir>', 'output directory (aggregates.ndjson, dead-letter.ndjson, summary.json)')
    .option('--splitter <kind>', 'line splitting: readline (default) or newline (exact on lone \\r)', (v: string) => {
      if (v !== 'readline' && v !== 'newline') throw new InvalidArgumentError('--splitter must be readline or newline');
      return v;
    }, 'readline');
  program.parse([...argv], { from: 'user' });
  const opts = program.opts<{ out: string; splitter: LineSplitter }>();
  const run = await runNaiveNodePeer(program.args[0], opts.out, { splitter: opts.splitter });
  process.stdout.write(
    JSON.stringify({
      system: 'naive-node',
      input: program.args[0],
      events: run.summary.input,
      elapsed_ms: Math.round(run.elapsedMs),
      events_per_sec: Math.round(run.eventsPerSec),
      cpu_ms: Math.round(run.cpuMs),
      peak_rss_mib: Number(run.peakRssMiB.toFixed(1)),
      summary: run.summary,
    }) + '\n',
  );
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    process.stderr.write(`naive-node: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  });
}
