/**
 * All configured sinks behind one object, as the sink thread uses them:
 *
 *   window rows ─┬─► clickhouse.windows / redis.windows / files.windows
 *                └─► alert engine ─► alerts ─► kafka.alerts / files.alerts / log
 *   event batch ───► clickhouse.events / kafka.events / files.events
 *
 * One DeliveryLatch per delivery: it is retained by every sink that takes part (alerts included),
 * so the delivery is acknowledged only when everything derived from it is stored or dead-lettered.
 */
import type { Logger } from 'pino';
import type { Alert } from './alerts/alert.js';
import { AlertEngine } from './alerts/engine.js';
import type { SinkEvents } from './buffered-sink.js';
import { createClickHouseSinks } from './clickhouse/sink.js';
import { DeadLetterFile } from './dead-letter-file.js';
import { createFileSinks } from './files/sink.js';
import { createKafkaSinks } from './kafka/sink.js';
import { createRedisSink } from './redis/sink.js';
import type { SinksConfig } from './sink-config.js';
import type { DeliveryLatch, Sink, SinkCounters } from './sink.js';
import type { EventBatch, WindowRow, WindowShape } from '../contracts/index.js';

export class SinkSet {
  private constructor(
    private readonly windowSinks: Sink<WindowRow>[],
    private readonly eventSinks: Sink<EventBatch>[],
    private readonly alertSinks: Sink<Alert>[],
    private readonly alerts: AlertEngine,
    private readonly closers: (() => Promise<void>)[],
    private readonly deadLetter: DeadLetterFile,
    private readonly logger: Logger | undefined,
    private readonly logAlerts: boolean,
  ) {}

  static async create(config: SinksConfig, shape: WindowShape, logger?: Logger): Promise<SinkSet> {
    const deadLetter = new DeadLetterFile(config.deadLetterPath);
    const events: SinkEvents = {
      onRetry: (sink, verdict, attempt, delayMs) =>
        logger?.warn({ sink, code: verdict.code, attempt, delayMs }, `sink ${sink}: ${verdict.message}; retrying`),
      onDeadLetter: (sink, verdict, rows) =>
        logger?.error({ sink, code: verdict.code, rows, deadLetterPath: deadLetter.path }, `sink ${sink}: ${rows} rows dead-lettered: ${verdict.message}`),
    };
    const windowSinks: Sink<WindowRow>[] = [];
    const eventSinks: Sink<EventBatch>[] = [];
    const alertSinks: Sink<Alert>[] = [];
    const closers: (() => Promise<void>)[] = [];
    // Rules are checked against the shape before any connection is opened.
    const engine = new AlertEngine(config.alerts, shape);
    try {
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
    return new SinkSet(windowSinks, eventSinks, alertSinks, engine, closers, deadLetter, logger, config.logAlerts);
  }

  /** Resolves when every sink has buffered the rows (and the alerts they raised). */
  async writeWindows(rows: WindowRow[], latch?: DeliveryLatch): Promise<Alert[]> {
    const alerts = this.alerts.evaluate(rows);
    const writes: Promise<void>[] = [];
    for (const s of this.windowSinks) for (const row of rows) writes.push(s.write(row, latch));
    for (const alert of alerts) {
      if (this.logAlerts) this.logger?.warn({ alert }, `alert ${alert.rule}: ${alert.condition} for ${alert.group_key}`);
      for (const s of this.alertSinks) writes.push(s.write(alert, latch));
    }
    await Promise.all(writes);
    return alerts;
  }

  async writeEvents(batch: EventBatch, latch?: DeliveryLatch): Promise<void> {
    await Promise.all(this.eventSinks.map((s) => s.write(batch, latch)));
  }

  async flush(): Promise<void> {
    await Promise.all([...this.windowSinks, ...this.eventSinks, ...this.alertSinks].map((s) => s.flush()));
  }

  async close(): Promise<void> {
    const results = await Promise.allSettled(this.closers.map((c) => c()));
    await this.deadLetter.close();
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  counters(): Record<string, SinkCounters> {
    const out: Record<string, SinkCounters> = {};
    for (const s of [...this.windowSinks, ...this.eventSinks, ...this.alertSinks]) out[s.name] = s.counters();
    return out;
  }

  get deadLetterRecords(): number {
    return this.deadLetter.records;
  }
}
