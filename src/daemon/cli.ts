/**
 * The `ringflow` command line: `replay` (a finite file, outputs to a folder) and `run` (the daemon, run.ts).
 * Exit codes: 0 done, 1 runtime failure, 2 bad usage or configuration.
 */
import { Command, CommanderError } from 'commander';
import { ConfigError, RingflowError } from '../errors.js';
import { loadRingflowConfig, type RingflowConfig } from './config.js';
import { parseRuntimeConfig } from '../runtime/runtime-config.js';
import { replay } from './replay.js';
import { loadDefaultConfig } from './default-config.js';
import { createDaemonLogger } from './logger.js';
import { runDaemon } from './run.js';
import { runTop } from './top/top-command.js';
import { secretsOfConfig } from '../logging.js';
import { RINGFLOW_VERSION } from './version.js';
import { intOption } from './cli-options.js';


/** Command-line overrides of the `runtime` section, validated again by the config schema. */
export interface RuntimeOverrides {
  threads?: number;
  partitions?: number;
}

export async function withOverrides(path: string, o: RuntimeOverrides): Promise<RingflowConfig> {
  const cfg = await loadRingflowConfig(path);
  if (o.threads === undefined && o.partitions === undefined) return cfg;
  const runtime = { ...cfg.runtime };
  if (o.threads !== undefined) runtime.threads = o.threads;
  if (o.partitions !== undefined) runtime.partitions = o.partitions;
  // Keep partitions >= threads when only threads was raised.
  if (o.partitions === undefined && o.threads !== undefined) runtime.partitions = Math.max(cfg.runtime.partitions, o.threads);
  return { ...cfg, runtime: parseRuntimeConfig(runtime, 'runtime') };
}

export function buildProgram(): Command {
  const program = new Command('ringflow')
    .description('Single-box, high-throughput stream processing on shared-memory rings and worker threads.')
    .version(RINGFLOW_VERSION, '-v, --version')
    .showHelpAfterError()
    // Throw instead of exiting, so a usage error gets the documented code 2 (set before the
    // subcommands are added: they copy it when created).
    .exitOverride();

  program
    .command('replay')
    .description('Process a finite NDJSON file to its end through the pipeline, closing every window at the end of input.')
    .argument('<input>', 'NDJSON input file, one event per line')
    .requiredOption('-p, --pipeline <config>', 'pipeline config file (JSON), e.g. examples/clickstream.json')
    .requiredOption('-o, --out <dir>', 'output folder for aggregates.ndjson, dead-letter.ndjson and summary.json (created if missing)')
    .option('-t, --threads <n>', 'worker threads (overrides runtime.threads)', intOption('--threads'))
    .option('--partitions <n>', 'key-hash partitions (overrides runtime.partitions)', intOption('--partitions'))
    .option('--progress', 'show rate and percent done on stderr (default: when stderr is a terminal)')
    .option('--no-progress', 'never show progress')
    .option('--json', 'print the summary as JSON on stdout instead of a sentence')
    .action(async (input: string, o: { pipeline: string; out: string; threads?: number; partitions?: number; progress?: boolean; json?: boolean }) => {
      const config = await withOverrides(o.pipeline, o);
      const s = await replay({ inputPath: input, config, outDir: o.out, progress: o.progress });
      if (o.json) process.stdout.write(`${JSON.stringify(s)}\n`);
      else {
        process.stdout.write(
          `ringflow replay: ${s.input} events (${s.accepted} accepted, ${s.invalid} invalid, ${s.duplicates} duplicates, ${s.late} late)` +
          ` -> ${s.aggregate_rows} aggregate rows in ${s.windows} windows; ${s.elapsed_ms} ms, ${s.events_per_sec} events/s,` +
          ` peak RSS ${s.peak_rss_mib} MiB; outputs in ${o.out}\n`,
        );
      }
      if (s.failed > 0) process.exitCode = 1;
    });

  program
    .command('run')
    .description('Run the pipeline as a daemon until SIGTERM/SIGINT: source -> pipeline -> sinks, offsets committed after the sinks acknowledge. '
      + 'Without --config: the canonical clickstream pipeline on the built-in generator, writing to ./ringflow-out/.')
    .option('-c, --config <file>', 'pipeline config file (JSON); validated before anything starts (default: examples/clickstream.json of the package, generator source, local files)')
    .option('--max-events <n>', 'stop after this many input lines (a generator ends there and every window is closed)', intOption('--max-events'))
    .option('--duration-ms <ms>', 'stop after this many milliseconds, like SIGTERM', intOption('--duration-ms'))
    .option('--until-caught-up', 'a backfill: once every assigned partition has been read to its end offset, close every window, flush the sinks, commit and exit 0')
    .action(async (o: { config?: string; maxEvents?: number; durationMs?: number; untilCaughtUp?: boolean }) => {
      // Validation first: a bad setting exits 2 before any thread, socket or file exists.
      const config = o.config ? await loadRingflowConfig(o.config) : await loadDefaultConfig();
      const metricsTokenEnv = config.daemon.metrics.bearerTokenEnv;
      const logger = createDaemonLogger(config.name, undefined, {
        secrets: [...secretsOfConfig(config), ...(metricsTokenEnv && process.env[metricsTokenEnv] ? [process.env[metricsTokenEnv]!] : [])],
      });
      const { exitCode } = await runDaemon({ config, logger, maxEvents: o.maxEvents, durationMs: o.durationMs, untilCaughtUp: o.untilCaughtUp });
      process.exitCode = exitCode;
    });

  program
    .command('top')
    .description('Show the figures of a running daemon in the terminal (read from its /metrics: set daemon.metrics.listen); q quits.')
    .option('-u, --url <url>', 'the daemon\'s metrics server', 'http://127.0.0.1:9464')
    .option('--interval-ms <ms>', 'refresh interval', intOption('--interval-ms'), 1000)
    .option('--token-env <name>', 'environment variable holding the bearer token of /metrics (daemon.metrics.bearerTokenEnv)')
    .option('--once', 'print one frame (two scrapes one interval apart, for the rates) and exit')
    .action(async (o: { url: string; intervalMs: number; tokenEnv?: string; once?: boolean }) => {
      const token = o.tokenEnv === undefined ? null : process.env[o.tokenEnv] ?? null;
      if (o.tokenEnv !== undefined && !token) throw new ConfigError('--token-env', `environment variable ${o.tokenEnv} is not set or empty`);
      process.exitCode = await runTop({ url: o.url, intervalMs: o.intervalMs, token, once: o.once === true });
    });

  return program;
}

export async function main(argv: string[]): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version arrive here too, with exit code 0; commander already printed the message.
      process.exitCode = err.exitCode === 0 ? 0 : 2;
      return;
    }
    if (err instanceof RingflowError) {
      // A wrapped cause (e.g. a kernel failure under "file: reading ... failed") is the reason a user needs.
      let because = '';
      let said = err.message;
      if (!(err instanceof ConfigError)) {
        for (let c: unknown = err.cause; c instanceof Error; c = c.cause) {
          if (!said.includes(c.message)) because += `\n  caused by: ${c.message}`;
          said += c.message;
        }
      }
      process.stderr.write(`ringflow: ${err.message}${err instanceof ConfigError ? '' : ` [${err.code}]`}${because}\n`);
      process.exitCode = err instanceof ConfigError ? 2 : 1;
      return;
    }
    throw err;
  }
}
