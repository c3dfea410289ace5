/**
 * `ringflow run`: start the daemon, print status, and end it on SIGTERM / SIGINT, --duration-ms,
 * --max-events, the end of a finite input or, with --until-caught-up, once every assigned partition is
 * read to its end (then like a finite input: every window closed). Returns the process exit code:
 *   0  ended cleanly (drained, sinks flushed, offsets committed)
 *   1  a runtime failure (a source or sink failed for good, or shutdown exceeded daemon.shutdownTimeoutMs)
 * Configuration errors never get here: the caller validates first and exits 2.
 */
import type { RingflowConfig } from './config.js';
import { Daemon, type DaemonSummary, type EndMode } from './daemon.js';
import type { DaemonLogger } from './logger.js';
import { compileRunPlan } from './plan.js';
import { StatusLine } from './status-line.js';
import { ConfigError } from '../errors.js';
import { createDaemonMetrics } from './metrics/daemon-metrics.js';
import { MetricsServer } from './metrics/metrics-server.js';

export interface RunOptions {
  config: RingflowConfig;
  logger: DaemonLogger;
  /** Stop after this many input lines (a generator ends there and every window is closed). */
  maxEvents?: number;
  /** Stop after this long, like SIGTERM. */
  durationMs?: number;
  /** End like a finite input (every window closed) once every assigned partition is read to its end. */
  untilCaughtUp?: boolean;
  /** Signals that stop the daemon. Default: SIGTERM and SIGINT. */
  signals?: NodeJS.Signals[];
}

/** How long the last commit after an overdue shutdown may take before the process exits anyway. */
const FINAL_COMMIT_TIMEOUT_MS = 5_000;

type EndReason = { kind: 'signal'; signal: string } | { kind: 'duration' } | { kind: 'max-events' } | { kind: 'input-ended' } | { kind: 'caught-up' } | { kind: 'failed'; err: Error };

export async function runDaemon(opts: RunOptions): Promise<{ exitCode: number; summary?: DaemonSummary }> {
  const log = opts.logger;
  const plan = compileRunPlan(opts.config, { maxEvents: opts.maxEvents });
  const bearerToken = metricsToken(plan.daemon.metrics.bearerTokenEnv);
  // Before the daemon: /healthz answers while the source connects (a Kafka group join takes seconds).
  const listen = plan.daemon.metrics.listen;
  const metrics = listen === null ? null : await MetricsServer.start({ listen, bearerToken });
  if (metrics) log.info({ address: metrics.address, endpoints: ['/', '/metrics', '/healthz', '/readyz'] }, 'metrics listening');
  let daemon: Daemon;
  try {
    daemon = await Daemon.start({ plan, logger: log });
  } catch (err) {
    await metrics?.close();
    throw err;
  }
  if (metrics) {
    const view = daemon.metricsView();
    metrics.attach({ registry: createDaemonMetrics(view, opts.config.name, metrics.served), readiness: view.readiness, lastWindow: view.lastWindow });
  }
  const status = new StatusLine(plan.daemon.statusIntervalMs, () => daemon.status());
  const signals = opts.signals ?? ['SIGTERM', 'SIGINT'];
  let resolveEnd!: (r: EndReason) => void;
  const ended = new Promise<EndReason>((resolve) => (resolveEnd = resolve));
  const onSignal = (signal: NodeJS.Signals): void => resolveEnd({ kind: 'signal', signal });
  for (const s of signals) process.on(s, onSignal);
  const timer = opts.durationMs ? setTimeout(() => resolveEnd({ kind: 'duration' }), opts.durationMs) : null;
  daemon.sourceEnded().then(
    () => resolveEnd({ kind: 'input-ended' }),
    (err: Error) => resolveEnd({ kind: 'failed', err }),
  );
  daemon.onFatal((err) => resolveEnd({ kind: 'failed', err }));
  daemon.onStopRequested(() => resolveEnd({ kind: 'max-events' }));
  if (opts.untilCaughtUp) daemon.onAllCaughtUp(() => resolveEnd({ kind: 'caught-up' }));

  const reason = await ended;
  if (timer) clearTimeout(timer);
  // A second signal while shutting down: the operator insists; exit at once (offsets stay where they are).
  for (const s of signals) {
    process.off(s, onSignal);
    process.once(s, () => {
      log.warn({ signal: s }, 'second signal during shutdown: exiting without finishing it');
      process.exit(1);
    });
  }
  const mode: EndMode = reason.kind === 'input-ended' || reason.kind === 'caught-up' ? 'finish' : 'stop';
  log.info({ reason: reason.kind === 'failed' ? `failed: ${reason.err.message}` : reason.kind, mode }, 'shutting down');
  const deadline = setTimeout(() => {
    // Past the limit: commit what the sinks acknowledged so far (a next run re-reads the rest), then go.
    log.error({ shutdownTimeoutMs: plan.daemon.shutdownTimeoutMs }, 'shutdown took too long; committing what the sinks acknowledged and exiting');
    const giveUp = new Promise((resolve) => setTimeout(resolve, FINAL_COMMIT_TIMEOUT_MS).unref());
    void Promise.race([daemon.commitSettled(), giveUp]).catch(() => undefined).finally(() => process.exit(1));
  }, plan.daemon.shutdownTimeoutMs);
  deadline.unref();
  try {
    const summary = await daemon.shutdown(mode);
    status.stop();
    if (plan.daemon.statusIntervalMs > 0) process.stderr.write(`ringflow: stopped (${mode}); committed ${JSON.stringify(summary.committed)}; `
      + `input ${summary.stats.input} = accepted ${summary.stats.accepted} + invalid ${summary.stats.invalid} + dups ${summary.stats.duplicates} + late ${summary.stats.late};`
      + ` ${summary.stats.windowsEmitted} windows emitted\n`);
    log.info({ ...summary, stats: { ...summary.stats } }, 'ringflow stopped');
    return { exitCode: reason.kind === 'failed' ? 1 : 0, summary };
  } catch (err) {
    status.stop();
    log.error({ err: (err as Error).message }, 'shutdown failed');
    return { exitCode: 1 };
  } finally {
    clearTimeout(deadline);
    await metrics?.close();
  }
}

function metricsToken(envName: string | null): string | null {
  if (envName === null) return null;
  const token = process.env[envName];
  if (!token) throw new ConfigError('daemon.metrics.bearerTokenEnv', `environment variable ${envName} is not set or empty`);
  return token;
}
