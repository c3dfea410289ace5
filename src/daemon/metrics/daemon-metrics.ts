/**
 * The daemon's Prometheus metrics (prom-client), read at scrape time from what the daemon already
 * counts: nothing here runs per event, so keeping metrics costs the hot path nothing. Counters that
 * the pipeline keeps as running totals are exported through `collect()` by setting the counter to
 * the total (a reset plus one inc), which keeps Prometheus counter semantics because the totals only
 * grow within a process.
 *
 * Names follow Prometheus conventions: `ringflow_` prefix, `_total` for counters, base units
 * (seconds, bytes), and label sets bounded by the config (outcomes, dead-letter reasons, source
 * partitions) — never by event values.
 */
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import type { PipelineStats } from '../../pipeline/pipeline.js';
import type { PartitionLag, SourceGroupState } from '../../sources/source.js';
import { registerSinkMetrics, type SinkCountersRead } from './sink-metrics.js';
import { registerScaleOutMetrics, type MergeFigures } from './scale-out-metrics.js';
import { oncePerScrape, oncePerScrapeSync } from './once-per-scrape.js';
import type { RuntimeMetrics } from '../../runtime/runtime-state.js';
import type { WindowRow } from '../../contracts/index.js';

export interface CheckpointStats {
  taken: number;
  lastDurationMs: number;
  lastTakenAtMs: number;
  lastCommittedAtMs: number;
  lastBytes: number;
}

/** What the metrics read from a running daemon. */
export interface MetricsView {
  status(): {
    stats: PipelineStats;
    unsettledChunks: number;
    committed: Record<number, number>;
    outstandingWindowDeliveries: number;
    group: SourceGroupState | null;
  };
  /** Per source partition positions and lag; read once per scrape. */
  lag(): Promise<PartitionLag[]>;
  /** Each sink's counters, from the sink thread. */
  sinkCounters: SinkCountersRead;
  /** Dead-lettered input lines so far, by reason (`bad_type:ts`, `late`, ...). */
  deadLettersByReason(): ReadonlyMap<string, number>;
  /** Rings and workers. */
  runtime(): RuntimeMetrics;
  /** Checkpoint figures in checkpoint mode, else null. */
  checkpoint(): CheckpointStats | null;
  /** Scale-out: the merge's figures (scale-out-metrics.ts); absent or null when not scaled out. */
  scaleOut?(): MergeFigures | null;
  /** The newest emitted window's rows, at most `limit`, largest count first (the dashboard). */
  lastWindow(limit: number): WindowRow[];
  /**
   * Ready to serve: not failed, not shutting down, the source connected (Kafka: joined its group) and
   * no sink failing; `reasons` says what is not.
   */
  readiness(): Promise<{ ready: boolean; reasons: string[] }>;
  /** Processing-time clock in ms (Date.now; injectable for tests). */
  now?: () => number;
}

/** Sets a counter to a running total (see the header). */
function setTotal(counter: Counter, labels: Record<string, string>, total: number): void {
  counter.inc(labels, Math.max(0, total));
}

export function createDaemonMetrics(source: MetricsView, daemonName: string, served?: { seconds: number; requests: number }): Registry {
  // Many collectors read the status and the runtime figures: one snapshot of each per scrape.
  const view: MetricsView = { ...source, status: oncePerScrapeSync(() => source.status()), runtime: oncePerScrapeSync(() => source.runtime()) };
  const registry = new Registry();
  registry.setDefaultLabels({ daemon: daemonName });
  const registers = [registry];
  const now = view.now ?? Date.now;

  new Counter({
    name: 'ringflow_input_events_total',
    help: 'Non-blank input lines ingested: accepted + invalid + duplicate + late + failed.',
    registers,
    collect() { this.reset(); setTotal(this, {}, view.status().stats.input); },
  });
  new Counter({
    name: 'ringflow_events_total',
    help: 'Input lines by their outcome (accepted, invalid, duplicate, late, failed); in-flight lines have none yet.',
    labelNames: ['outcome'],
    registers,
    collect() {
      const s = view.status().stats;
      this.reset();
      setTotal(this, { outcome: 'accepted' }, s.accepted);
      setTotal(this, { outcome: 'invalid' }, s.invalid);
      setTotal(this, { outcome: 'duplicate' }, s.duplicates);
      setTotal(this, { outcome: 'late' }, s.late);
      setTotal(this, { outcome: 'failed' }, s.failed);
    },
  });
  new Counter({
    name: 'ringflow_dead_letter_lines_total',
    help: 'Input lines written to the dead letter, by reason (rule:field, malformed_json, late, future_ts, past_ts, kernel_failed:code, ...).',
    labelNames: ['reason'],
    registers,
    collect() {
      this.reset();
      for (const [reason, n] of view.deadLettersByReason()) setTotal(this, { reason }, n);
    },
  });
  new Counter({
    name: 'ringflow_windows_emitted_total',
    help: 'Windows closed and handed to the sinks.',
    registers,
    collect() { this.reset(); setTotal(this, {}, view.status().stats.windowsEmitted); },
  });
  new Counter({
    name: 'ringflow_window_rows_emitted_total',
    help: 'Aggregate rows (one per window and group) handed to the sinks.',
    registers,
    collect() { this.reset(); setTotal(this, {}, view.status().stats.windowRowsEmitted); },
  });
  new Gauge({
    name: 'ringflow_watermark_seconds',
    help: 'Event-time watermark, in seconds since the Unix epoch; absent before the first event.',
    registers,
    collect() {
      this.reset();
      const wm = view.status().stats.watermarkMs;
      if (Number.isFinite(wm)) this.set(wm / 1000);
    },
  });
  new Gauge({
    name: 'ringflow_watermark_lag_seconds',
    help: 'Wall clock minus the event-time watermark; absent before the first event.',
    registers,
    collect() {
      this.reset();
      const wm = view.status().stats.watermarkMs;
      if (Number.isFinite(wm)) this.set((now() - wm) / 1000);
    },
  });
  new Gauge({
    name: 'ringflow_unsettled_chunks',
    help: 'Source chunks whose windows are not all emitted and acknowledged yet (their offsets are not committed).',
    registers,
    collect() { this.set(view.status().unsettledChunks); },
  });
  new Gauge({
    name: 'ringflow_window_deliveries_outstanding',
    help: 'Window deliveries handed to the sink thread and not acknowledged yet.',
    registers,
    collect() { this.set(view.status().outstandingWindowDeliveries); },
  });
  new Gauge({
    name: 'ringflow_ready',
    help: '1 while the daemon is ready (not failed or shutting down, source connected, no sink failing: /readyz), else 0.',
    registers,
    async collect() { this.set((await view.readiness()).ready ? 1 : 0); },
  });
  if (served) {
    new Counter({
      name: 'ringflow_metrics_serve_seconds_total',
      help: 'Time spent answering /metrics, /dashboard.json and /last-window.json (collecting and serializing): the cost of being watched.',
      registers,
      collect() { this.reset(); setTotal(this, {}, served.seconds); },
    });
    new Counter({
      name: 'ringflow_metrics_requests_total',
      help: 'Requests answered on /metrics, /dashboard.json and /last-window.json.',
      registers,
      collect() { this.reset(); setTotal(this, {}, served.requests); },
    });
  }
  registerSourceMetrics(view, registers);
  registerRuntimeMetrics(view, registers, now);
  registerSinkMetrics(registry, () => view.sinkCounters());
  if (view.scaleOut) registerScaleOutMetrics(registers, () => view.scaleOut?.() ?? null);
  collectDefaultMetrics({ register: registry, prefix: 'ringflow_' });
  return registry;
}

/** Per source partition positions: one lag() call per scrape feeds the four gauges. */
function registerSourceMetrics(view: MetricsView, registers: Registry[]): void {
  const lagOnce = oncePerScrape(() => view.lag());
  const positionGauge = (name: string, help: string, pick: (l: PartitionLag) => number): void => {
    new Gauge({
      name,
      help,
      labelNames: ['source_partition'],
      registers,
      async collect() {
        this.reset();
        let lags: PartitionLag[];
        try {
          lags = await lagOnce();
        } catch {
          return; // the source cannot tell right now (a broker restarting): the series are absent
        }
        for (const l of lags) {
          const v = pick(l);
          if (v >= 0) this.set({ source_partition: String(l.sourcePartition) }, v);
        }
      },
    });
  };
  positionGauge('ringflow_source_end_position', 'End of the input known now, per source partition (Kafka: the high watermark offset).', (l) => l.endPosition);
  positionGauge('ringflow_source_committed_position', 'Last committed position per source partition (Kafka: the group offset).', (l) => l.committedPosition);
  positionGauge('ringflow_source_delivered_position', 'Position after the last chunk handed to the pipeline, per source partition.', (l) => l.deliveredPosition);
  positionGauge('ringflow_source_lag', 'End position minus committed position per source partition (Kafka: consumer lag in messages).', (l) => l.lag);
}

/** Rings, workers and checkpoints. */
function registerRuntimeMetrics(view: MetricsView, registers: Registry[], now: () => number): void {
  new Gauge({
    name: 'ringflow_ring_pending_batches',
    help: 'Batches waiting in each key-hash partition\'s ring (ringflow_ring_slots is the most a ring holds).',
    labelNames: ['partition'],
    registers,
    collect() {
      this.reset();
      view.runtime().pendingBatches.forEach((n, p) => this.set({ partition: String(p) }, n));
    },
  });
  new Gauge({
    name: 'ringflow_window_open_cells',
    help: 'Open (window, group) cells in each partition\'s window table: the windows and keys held in memory.',
    labelNames: ['partition'],
    registers,
    collect() {
      this.reset();
      (view.runtime().openWindowCells ?? []).forEach((n, p) => this.set({ partition: String(p) }, n));
    },
  });
  new Gauge({ name: 'ringflow_ring_slots', help: 'Batch slots of each ring.', registers, collect() { this.set(view.runtime().ringSlots); } });
  new Gauge({ name: 'ringflow_worker_threads', help: 'Worker threads of the pool.', registers, collect() { this.set(view.runtime().threads); } });
  new Counter({
    name: 'ringflow_worker_tasks_total',
    help: 'Partition tasks the workers completed (one task drains part of one ring).',
    registers,
    collect() { this.reset(); setTotal(this, {}, view.runtime().tasksCompleted); },
  });
  new Counter({
    name: 'ringflow_worker_busy_seconds_total',
    help: 'Time the worker threads spent running tasks (mean task time x tasks, from piscina).',
    registers,
    collect() { this.reset(); setTotal(this, {}, view.runtime().busySeconds); },
  });
  new Counter({
    name: 'ringflow_checkpoints_total',
    help: 'Checkpoints written (checkpoint mode only).',
    registers,
    collect() { this.reset(); const c = view.checkpoint(); if (c) setTotal(this, {}, c.taken); },
  });
  new Gauge({
    name: 'ringflow_checkpoint_duration_seconds',
    help: 'Duration of the last checkpoint (drain, copy of the state, write and fsync).',
    registers,
    collect() { this.reset(); const c = view.checkpoint(); if (c && Number.isFinite(c.lastDurationMs)) this.set(c.lastDurationMs / 1000); },
  });
  new Gauge({
    name: 'ringflow_checkpoint_age_seconds',
    help: 'Time since the last checkpoint was written.',
    registers,
    collect() { this.reset(); const c = view.checkpoint(); if (c && Number.isFinite(c.lastTakenAtMs)) this.set((now() - c.lastTakenAtMs) / 1000); },
  });
  new Gauge({
    name: 'ringflow_checkpoint_bytes',
    help: 'State bytes in the last checkpoint.',
    registers,
    collect() { this.reset(); const c = view.checkpoint(); if (c && c.taken > 0) this.set(c.lastBytes); },
  });
}
