/**
 * Columnar end to end: generated columns (no NDJSON, no decode) through the real Pipeline — its
 * Runtime (partitioner, rings, piscina workers), the canonical partition processor (enrich -> dedupe
 * -> window aggregate), the watermark and the window emitter — exactly as an IngestStream drives it:
 * fill the batch `openStaging()` gives (the staging batch, or with one partition the ring slot itself),
 * count the lines, let the watermark observe the batch, then `scatterStaging()` (scatter or publish,
 * wait while a ring is full, announce window closes).
 *
 * CLI (one measurement per process, so its peak RSS is its own; prints one JSON line):
 *   node dist/bench/columnar/columnar-pipeline.js --events 4000000 --threads 2 --partitions 8 \
 *     [--user-keys 100000] [--dedupe-horizon-ms 3600000] [--batch-rows 4096]
 *
 * Checks before a rate is returned: accepted + duplicates = generated events, duplicates = the
 * generator's repeats (a Bloom false positive at p = 1e-9 would show here), the counts in the emitted
 * windows add up to accepted, and no event was late or failed.
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Command } from 'commander';
import { loadRingflowConfig, type RingflowConfig } from '../../src/daemon/config.js';
import { bloomBytesFor } from '../../src/kernels/dedupe/bloom.js';
import { dedupeConfigSchema, parseSection } from '../../src/kernels/stage-config.js';
import { compileProcessorOptions } from '../../src/pipeline/processor-options.js';
import { Pipeline } from '../../src/pipeline/pipeline.js';
import { parseRuntimeConfig } from '../../src/runtime/runtime-config.js';
import { assertCanonicalLayout, ColumnarClickstream } from './columnar-generator.js';
import { intOption } from '../../src/daemon/cli-options.js';
import { compilePipelinePlan } from '../../src/pipeline/plan.js';

export const CANONICAL_CONFIG_PATH = fileURLToPath(new URL('../../../examples/clickstream.json', import.meta.url));

export interface ColumnarRunOptions {
  events: number;
  threads: number;
  partitions: number;
  batchRows?: number;
  ringSlots?: number;
  /** Distinct user ids. Default: 100,000. */
  userKeys?: number;
  duplicateRate?: number;
  /** Dedupe horizon override (event-time ms); the Bloom is sized for eventsPerSecond x horizon keys. */
  dedupeHorizonMs?: number;
  /** Event-time rate of the generator. Default: 5,000 events/s (as the NDJSON file generator). */
  eventsPerSecond?: number;
  seed?: number;
  configPath?: string;
}

export interface ColumnarRunResult {
  events: number;
  accepted: number;
  duplicates: number;
  late: number;
  failed: number;
  windows: number;
  aggregateRows: number;
  /** Generation + scatter + processing + final drain and window emission; worker start excluded. */
  elapsedMs: number;
  eventsPerSec: number;
  /** Pipeline.create (dim table load, worker pool start), not in elapsedMs. */
  startupMs: number;
  peakRssMiB: number;
  /** Bloom memory over all partitions (both generations). */
  bloomMiB: number;
  threads: number;
  partitions: number;
  batchRows: number;
  userKeys: number;
  dedupeHorizonMs: number;
  expectedKeysPerHorizon: number;
}

/** The canonical config with the run's runtime sizing and dedupe horizon applied (validated again). */
export async function columnarConfig(o: ColumnarRunOptions): Promise<RingflowConfig> {
  const base = await loadRingflowConfig(o.configPath ?? CANONICAL_CONFIG_PATH);
  const runtime = parseRuntimeConfig({
    ...base.runtime, threads: o.threads, partitions: o.partitions,
    ...(o.batchRows ? { batchRows: o.batchRows } : {}), ...(o.ringSlots ? { ringSlots: o.ringSlots } : {}),
  }, 'runtime');
  let dedupe = base.dedupe;
  if (dedupe && o.dedupeHorizonMs !== undefined) {
    const keys = Math.ceil(((o.eventsPerSecond ?? 5000) * o.dedupeHorizonMs) / 1000);
    dedupe = parseSection(dedupeConfigSchema, { ...dedupe, horizonMs: o.dedupeHorizonMs, expectedKeysPerHorizon: keys }, 'dedupe');
  }
  return { ...base, runtime, dedupe };
}

export function bloomMiBOf(config: RingflowConfig): number {
  if (!config.dedupe) return 0;
  const p = config.runtime.partitions;
  const o = compileProcessorOptions({ dedupe: config.dedupe, aggregate: config.aggregate }, 'ts', p, null);
  return (p * bloomBytesFor(o.dedupe!.bloom)) / 2 ** 20;
}

export async function runColumnarPipeline(o: ColumnarRunOptions): Promise<ColumnarRunResult> {
  const config = await columnarConfig(o);
  let aggregateRows = 0;
  let countInWindows = 0;
  const t0 = performance.now();
  const pipeline = await Pipeline.create(compilePipelinePlan(config, { emitEvents: false, ingest: { decodeThreads: 0, keyHashes: 'ingest' } }), {
    onWindowRows: (rows) => {
      aggregateRows += rows.length;
      for (const r of rows) countInWindows += r.count as number;
    },
    onDeadLetter: (e) => { throw new Error(`columnar run: unexpected dead letter ${e.reason} at row ${e.line}`); },
    // Nothing to decode here: no decode pool threads competing for the cores; the generator hashes
    // the keys as it writes them, so the workers need not.
    });
  const startupMs = performance.now() - t0;
  const gen = new ColumnarClickstream({
    seed: o.seed, userKeys: o.userKeys, duplicateRate: o.duplicateRate, eventsPerSecond: o.eventsPerSecond,
  });
  try {
    pipeline.openStream(0); // registers source partition 0 with the watermark, as a file source does
    const started = performance.now();
    while (gen.events < o.events) {
      // The staging batch, or with one partition the ring slot itself (it may hold earlier rows).
      const staging = await pipeline.openStaging();
      assertCanonicalLayout(staging);
      const want = Math.min(staging.layout.rowCapacity, o.events - gen.events);
      const n = gen.fill(staging, want);
      if (n === 0 && staging.rowCount === 0) throw new Error('columnar run: an empty staging batch had no room for a row');
      pipeline.countLines(n, 0, 0);
      // Events are in time order, so observing the batch's last event time equals observing each row.
      pipeline.watermark.observe(0, gen.lastTsMs);
      // Fewer rows than asked for: the batch is full or out of string room, so it ships.
      await pipeline.scatterStaging(n < want);
    }
    const stats = await pipeline.finish();
    const elapsedMs = performance.now() - started;
    const problems: string[] = [];
    if (stats.accepted + stats.duplicates !== o.events) problems.push(`accepted ${stats.accepted} + duplicates ${stats.duplicates} != ${o.events} events`);
    if (stats.duplicates !== gen.duplicates) problems.push(`duplicates ${stats.duplicates} != generated repeats ${gen.duplicates}`);
    if (countInWindows !== stats.accepted) problems.push(`window counts add up to ${countInWindows}, accepted ${stats.accepted}`);
    if (stats.late !== 0 || stats.failed !== 0 || stats.invalid !== 0) problems.push(`late ${stats.late}, failed ${stats.failed}, invalid ${stats.invalid}`);
    if (problems.length > 0) throw new Error(`columnar run failed its checks: ${problems.join('; ')}`);
    return {
      events: o.events,
      accepted: stats.accepted,
      duplicates: stats.duplicates,
      late: stats.late,
      failed: stats.failed,
      windows: stats.windowsEmitted,
      aggregateRows,
      elapsedMs: Math.round(elapsedMs),
      eventsPerSec: Math.round(o.events / (elapsedMs / 1000)),
      startupMs: Math.round(startupMs),
      peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
      bloomMiB: Number(bloomMiBOf(config).toFixed(1)),
      threads: config.runtime.threads,
      partitions: config.runtime.partitions,
      batchRows: config.runtime.batchRows,
      userKeys: o.userKeys ?? 100_000,
      dedupeHorizonMs: config.dedupe?.horizonMs ?? 0,
      expectedKeysPerHorizon: config.dedupe?.expectedKeysPerHorizon ?? 0,
    };
  } finally {
    await pipeline.close();
  }
}


export async function main(argv: readonly string[]): Promise<void> {
  const program = new Command()
    .name('columnar-pipeline')
    .description('Generated columns through the real runtime and canonical partition processor; prints a JSON result.')
    .requiredOption('--events <n>', 'events to generate', intOption('--events', 1, 1e10))
    .requiredOption('--threads <n>', 'worker threads', intOption('--threads', 1, 256))
    .requiredOption('--partitions <n>', 'key-hash partitions', intOption('--partitions', 1, 4096))
    .option('--batch-rows <n>', 'rows per batch slot', intOption('--batch-rows', 1, 1 << 20))
    .option('--ring-slots <n>', 'slots per ring (power of two)', intOption('--ring-slots', 2, 1024))
    .option('--user-keys <n>', 'distinct user ids', intOption('--user-keys', 1, 1e9), 100_000)
    .option('--dedupe-horizon-ms <n>', 'dedupe horizon (Bloom sized for 5000 events/s x horizon)', intOption('--dedupe-horizon-ms', 1000, 30 * 86_400_000))
    .option('--seed <n>', 'PRNG seed', intOption('--seed', 0, 0xffffffff), 1);
  program.parse([...argv], { from: 'user' });
  const o = program.opts<{
    events: number; threads: number; partitions: number; batchRows?: number; ringSlots?: number;
    userKeys: number; dedupeHorizonMs?: number; seed: number;
  }>();
  const result = await runColumnarPipeline(o);
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    process.stderr.write(`columnar-pipeline: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
    process.exitCode = 1;
  });
}
