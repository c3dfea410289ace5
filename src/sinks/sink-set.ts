/**
 * All configured sinks behind one object, as the sink thread uses them:
 *
 *   window rows ─┬─► clickhouse.windows / redis.windows / files.windows
 *                └─► alert engine ─► alerts ─► kafka.alerts / files.alerts / log
 *   event batch ───► clickhouse.events / kafka.events / files.events
 *   partials ──────► kafka.partials (scale-out: the first stage's cells, kafka/partials-sink.ts)
 *
 * One DeliveryLatch per delivery: it is retained by every sink that takes part (alerts included),
 * so the delivery is acknowledged only when everything derived from it is stored or dead-lettered.
 * Every sink has its own lane (sink-lane.ts): a sink that is slow or retrying holds back only its own
 * writes, and window rows never wait behind event batches or the other way round.
 *
 * A dead letter is a durable outcome (the delivery is acknowledged) but never a quiet one: each is
 * logged, reported through `SinkSetHooks.onDeadLetter`, and counted per sink by `deadLetteredRows()`.
 */
import type { Logger } from 'pino';
import type { Alert } from './alerts/alert.js';
import { AlertEngine } from './alerts/engine.js';
import type { SinkEvents } from './buffered-sink.js';
import { createClickHouseSinks } from './clickhouse/sink.js';
import { DeadLetterFile } from './dead-letter-file.js';
import { createFileSinks } from './files/sink.js';
import { createKafkaSinks } from './kafka/sink.js';
import { createPartialsSink, type PartialsSinkOptions } from './kafka/partials-sink.js';
import { createRedisSink } from './redis/sink.js';
import type { ErrorVerdict } from './retry.js';
import type { SinksConfig } from './sink-config.js';
import { SinkLane } from './sink-lane.js';
import type { DeliveryLatch, Sink, SinkCounters } from './sink.js';
import type { EventBatch, WindowRow, WindowShape } from '../contracts/index.js';

export interface SinkSetHooks {
  /** Rows of `sink` went to the dead letter (they are acknowledged, not stored): the owner decides how loud. */
  onDeadLetter?: (sink: string, verdict: ErrorVerdict, rows: number) => void;
}

export class SinkSet {
  private readonly windowLanes: SinkLane<WindowRow>[];
  private readonly eventLanes: SinkLane<EventBatch>[];
  private readonly alertLanes: SinkLane<Alert>[];
  private readonly partialsLane: SinkLane<EventBatch> | null;

  private constructor(
    private readonly windowSinks: Sink<WindowRow>[],
    private readonly eventSinks: Sink<EventBatch>[],
    private readonly alertSinks: Sink<Alert>[],
    private readonly partialsSink: Sink<EventBatch> | null,
    private readonly alerts: AlertEngine,
    private readonly closers: (() => Promise<void>)[],
    private readonly deadLetter: DeadLetterFile,
    private readonly logger: Logger | undefined,
    private readonly logAlerts: boolean,
  ) {
    this.windowLanes = windowSinks.map((s) => new SinkLane(s));
    this.eventLanes = eventSinks.map((s) => new SinkLane(s));
    this.alertLanes = alertSinks.map((s) => new SinkLane(s));
    this.partialsLane = partialsSink ? new SinkLane(partialsSink) : null;
  }

  /** `partials`: scale-out, where the first stage writes its partial cells (null: not scaled out). */
  static async create(config: SinksConfig, shape: WindowShape, logger?: Logger, hooks: SinkSetHooks = {},
    partials: PartialsSinkOptions | null = null): Promise<SinkSet> {
    const deadLetter = new DeadLetterFile(config.deadLetterPath);
    const events: SinkEvents = {
      onRetry: (sink, verdict, attempt, delayMs) =>
        logger?.warn({ sink, code: verdict.code, attempt, delayMs }, `sink ${sink}: ${verdict.message}; retrying`),
      onDeadLetter: (sink, verdict, rows) => {
        logger?.error({ sink, code: verdict.code, rows, deadLetterPath: deadLetter.path }, `sink ${sink}: ${rows} rows dead-lettered: ${verdict.message}`);
        hooks.onDeadLetter?.(sink, verdict, rows);
      },
    };
    const windowSinks: Sink<WindowRow>[] = [];
    const eventSinks: Sink<EventBatch>[] = [];
    const alertSinks: Sink<Alert>[] = [];
    const closers: (() => Promise<void>)[] = [];
    let partialsSink: Sink<EventBatch> | null = null;
    // Rules are checked against the shape before any connection is opened.
    const engine = new AlertEngine(config.alerts, shape);
    try {
      if (partials) {
        const p = await createPartialsSink(partials, deadLetter, events);
        partialsSink = p.sink;
        closers.push(() => p.close());
      }
      if (config.clickhouse) {
        const ch = await createClickHouseSinks(config.clickhouse, shape, deadLetter, events);
        windowSinks.push(ch.windows);
        if (ch.events) eventSinks.push(ch.events);
        closers.push(() => ch.close());
      }
      if (config.redis) {
        const redis = createRedisSink(config.redis, shape, deadLetter, events);
        windowSinks.push(redis);
        closers.push(() => redis.close());
      }
      if (config.kafka) {
        const kafka = createKafkaSinks(config.kafka, deadLetter, events);
        // A fallback to kafkajs's own CRC costs CPU on every produced byte: say which one runs.
        logger?.info({ encoding: kafka.encoding }, 'kafka sink: produce-side encoding');
        if (kafka.events) eventSinks.push(kafka.events);
        if (kafka.alerts) alertSinks.push(kafka.alerts);
        closers.push(() => kafka.close());
      }
      if (config.files) {
        const files = createFileSinks(config.files, deadLetter, events);
        windowSinks.push(files.windows);
        alertSinks.push(files.alerts);
        if (files.events) eventSinks.push(files.events);
        closers.push(() => files.close());
      }
    } catch (err) {
      await Promise.allSettled(closers.map((c) => c()));
      throw err;
    }
    return new SinkSet(windowSinks, eventSinks, alertSinks, partialsSink, engine, closers, deadLetter, logger, config.logAlerts);
  }

  /**
   * Queues the rows (and the alerts they raise) in every sink's lane and returns the alerts at once;
   * `latch` is released when all of it is stored or dead-lettered, failed if a sink failed for good.
   */
  writeWindows(rows: WindowRow[], latch?: DeliveryLatch): Alert[] {
    const alerts = this.alerts.evaluate(rows);
    for (const lane of this.windowLanes) lane.write(rows, latch);
    if (this.logAlerts) {
      for (const alert of alerts) this.logger?.warn({ alert }, `alert ${alert.rule}: ${alert.condition} for ${alert.group_key}`);
    }
    for (const lane of this.alertLanes) lane.write(alerts, latch);
    return alerts;
  }

  /** Queues the batch in every events sink's lane; `latch` as for writeWindows. */
  writeEvents(batch: EventBatch, latch?: DeliveryLatch): void {
    for (const lane of this.eventLanes) lane.write([batch], latch);
  }

  /** Queues the scale-out partials batch; `latch` as for writeWindows. */
  writePartials(batch: EventBatch, latch?: DeliveryLatch): void {
    if (!this.partialsLane) throw new Error('partials written to a sink set without a partials sink');
    this.partialsLane.write([batch], latch);
  }

  /** Resolves when everything written before is stored or dead-lettered; rejects if a sink failed for good. */
  async flush(): Promise<void> {
    await Promise.all(this.lanes().map((l) => l.flush()));
  }

  async close(): Promise<void> {
    // Writes still queued in lanes reach their sinks before the sinks flush and close.
    await Promise.allSettled(this.lanes().map((l) => l.drained()));
    const results = await Promise.allSettled(this.closers.map((c) => c()));
    await this.deadLetter.close();
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  counters(): Record<string, SinkCounters> {
    const out: Record<string, SinkCounters> = {};
    for (const s of this.allSinks()) out[s.name] = s.counters();
    return out;
  }

  /**
   * Rows each sink sent to the dead letter since start (sinks with none included, as 0). Any non-zero
   * entry means acknowledged results that are not in their destination: an owner that must not
   * commit past lost output stops here (see also `deadLetterRecords`, the same total for the file).
   */
  deadLetteredRows(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const s of this.allSinks()) out[s.name] = s.counters().deadLetteredRows;
    return out;
  }

  private lanes(): Pick<SinkLane<unknown>, 'flush' | 'drained'>[] {
    return [...this.windowLanes, ...this.eventLanes, ...this.alertLanes, ...(this.partialsLane ? [this.partialsLane] : [])];
  }

  private allSinks(): Sink<unknown>[] {
    return [...this.windowSinks, ...this.eventSinks, ...this.alertSinks, ...(this.partialsSink ? [this.partialsSink] : [])] as Sink<unknown>[];
  }

  get deadLetterRecords(): number {
    return this.deadLetter.records;
  }
}
