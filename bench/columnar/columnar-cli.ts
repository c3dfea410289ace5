/**
 * CLI of the columnar end-to-end run, so the suite can run each measurement in its own process (its
 * own peak RSS, no JIT or heap state carried over from another measurement):
 *   node dist/bench/columnar/columnar-cli.js --events 4000000 --threads 2 --partitions 8 \
 *     [--user-keys 100000] [--dedupe-horizon-ms 3600000] [--batch-rows 4096]
 * Prints one JSON line (ColumnarRunResult).
 */
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { Command, InvalidArgumentError } from 'commander';
import { runColumnarPipeline } from './columnar-pipeline.js';

function intOption(name: string, min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`${name} must be an integer in [${min}, ${max}]`);
    return n;
  };
}

export async function main(argv: readonly string[]): Promise<void> {
  const program = new Command()
    .name('columnar-cli')
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
    process.stderr.write(`columnar-cli: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
    process.exitCode = 1;
  });
}
