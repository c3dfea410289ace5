/**
 * CLI: writes a generated clickstream NDJSON file for benchmarks and tests.
 *   node dist/bench/gen/make-clickstream-file.js --events 2000000 --out /tmp/click.ndjson \
 *     [--seed 1] [--invalid-rate 0.02] [--duplicate-rate 0.05] [--late-rate 0] [--variant-rate 0.01]
 * Prints one JSON line: file size, bytes per event, and the generator's counts (which predict the
 * canonical pipeline's summary: invalid, duplicates, late exactly).
 */
import { closeSync, openSync, realpathSync, writeSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { Command } from 'commander';
import {
  ClickstreamGenerator,
  MAX_GENERATED_LINE_BYTES,
  type ClickstreamGeneratorOptions,
  type ClickstreamStats,
} from '../../src/sources/generators/clickstream-events.js';
import { numberOption } from '../../src/daemon/cli-options.js';

export interface MakeClickstreamFileResult {
  outPath: string;
  sizeBytes: number;
  events: number;
  bytesPerEvent: number;
  elapsedMs: number;
  stats: ClickstreamStats;
}

/** Buffer of a few MiB, written with one writeSync per fill: the generator, not the syscalls, sets the pace. */
const WRITE_BUFFER_BYTES = 4 << 20;

export function makeClickstreamFile(
  outPath: string,
  eventCount: number,
  options: ClickstreamGeneratorOptions = {},
): MakeClickstreamFileResult {
  const started = performance.now();
  const generator = new ClickstreamGenerator(options);
  const buffer = Buffer.allocUnsafe(WRITE_BUFFER_BYTES);
  const fd = openSync(outPath, 'w');
  let sizeBytes = 0;
  try {
    while (generator.stats.events < eventCount) {
      let offset = 0;
      while (generator.stats.events < eventCount && buffer.length - offset >= MAX_GENERATED_LINE_BYTES) {
        offset = generator.writeNdjson(buffer, offset);
      }
      for (let written = 0; written < offset; ) written += writeSync(fd, buffer, written, offset - written);
      sizeBytes += offset;
    }
  } finally {
    closeSync(fd);
  }
  const events = generator.stats.events;
  return {
    outPath,
    sizeBytes,
    events,
    bytesPerEvent: events === 0 ? 0 : sizeBytes / events,
    elapsedMs: performance.now() - started,
    stats: generator.stats,
  };
}


export async function main(argv: readonly string[]): Promise<void> {
  const program = new Command()
    .name('make-clickstream-file')
    .description('Write a deterministic clickstream NDJSON file (canonical pipeline input).')
    .requiredOption('--events <n>', 'number of events (non-blank lines)', numberOption('--events', 0, 1e10))
    .requiredOption('--out <file>', 'output file path')
    .option('--seed <n>', 'PRNG seed', numberOption('--seed', 0, 0xffffffff), 1)
    .option('--invalid-rate <f>', 'fraction of invalid lines', numberOption('--invalid-rate', 0, 1), 0.02)
    .option('--duplicate-rate <f>', 'fraction of duplicate event ids', numberOption('--duplicate-rate', 0, 1), 0.05)
    .option('--late-rate <f>', 'fraction of late events', numberOption('--late-rate', 0, 1), 0)
    .option('--variant-rate <f>', 'fraction of valid events in unusual JSON spellings', numberOption('--variant-rate', 0, 1), 0.01)
    .option('--events-per-second <n>', 'event-time rate', numberOption('--events-per-second', 1e-3, 1e9), 5000)
    .option('--users <n>', 'distinct user ids', numberOption('--users', 1, 1e9), 100000);
  program.parse([...argv], { from: 'user' });
  const o = program.opts<{
    events: number; out: string; seed: number; invalidRate: number; duplicateRate: number;
    lateRate: number; variantRate: number; eventsPerSecond: number; users: number;
  }>();
  const result = makeClickstreamFile(o.out, Math.floor(o.events), {
    seed: o.seed,
    invalidRate: o.invalidRate,
    duplicateRate: o.duplicateRate,
    lateRate: o.lateRate,
    variantRate: o.variantRate,
    eventsPerSecond: o.eventsPerSecond,
    userCardinality: o.users,
  });
  const { stats } = result;
  process.stdout.write(
    JSON.stringify({
      out: result.outPath,
      events: result.events,
      size_bytes: result.sizeBytes,
      size_mib: Number((result.sizeBytes / 1048576).toFixed(1)),
      bytes_per_event: Number(result.bytesPerEvent.toFixed(1)),
      blank_lines: stats.blankLines,
      invalid: stats.invalid,
      duplicates: stats.duplicates,
      late: stats.late,
      elapsed_ms: Math.round(result.elapsedMs),
    }) + '\n',
  );
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    process.stderr.write(`make-clickstream-file: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  });
}
