/**
 * ClickHouse sinks: window rows into the ReplacingMergeTree table, processed events (optionally)
 * into their own table. Both are drivers for BufferedSink, which batches, retries and dead-letters.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import { BufferedSink, type SinkDriver, type SinkEvents } from '../buffered-sink.js';
import type { DeadLetterFile } from '../dead-letter-file.js';
import { rowFragment } from '../dead-letter-file.js';
import { eventDeadLetterFragments } from '../event-batch.js';
import { networkErrorCode } from '../retry.js';
import type { Sink } from '../sink.js';
import type { ClickHouseSinkConfig } from './config.js';
import { classifyClickHouseError } from './errors.js';
import { ClickHouseService } from './service.js';
import { VERSION_COLUMN } from './sql.js';
import type { EventBatch, WindowRow, WindowShape } from '../../contracts/index.js';

/**
 * Versions are emit times in ms, bumped to stay strictly increasing within the process, so the last
 * write of a window wins under FINAL even when two writes fall in the same millisecond.
 */
class VersionClock {
  private last = 0;
  next(): number {
    const now = Date.now();
    this.last = now > this.last ? now : this.last + 1;
    return this.last;
  }
}

class WindowRowsDriver implements SinkDriver<WindowRow> {
  readonly name = 'clickhouse.windows';
  private readonly versions = new VersionClock();
  private readonly groupFields: readonly string[];
  private readonly metricColumns: string[];

  constructor(
    private readonly service: ClickHouseService,
    shape: WindowShape,
    private readonly ensureTables: () => Promise<void>,
  ) {
    this.groupFields = shape.groupFields;
    this.metricColumns = shape.metrics.map((m) => m.name);
  }

  rowsOf(): number {
    return 1;
  }

  async writeBatch(rows: readonly WindowRow[]): Promise<void> {
    const version = this.versions.next();
    // Only the table's columns (an extra field fails the insert with Code 117 on 18.16), and group
    // values as strings (a number into a String column fails with Code 26).
    const out = rows.map((row) => {
      const o: WindowRow = { window_start: row.window_start, window_end: row.window_end };
      for (const g of this.groupFields) o[g] = String(row[g]);
      for (const m of this.metricColumns) o[m] = row[m];
      o[VERSION_COLUMN] = version;
      return o;
    });
    await this.service.insertWindowRows(out);
  }

  classify = (err: unknown) => classifyClickHouseError(err, this.ensureTables);

  deadLetterFragments(row: WindowRow): string[] {
    return [rowFragment(row)];
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

class EventLinesDriver implements SinkDriver<EventBatch> {
  readonly name = 'clickhouse.events';

  constructor(
    private readonly service: ClickHouseService,
    private readonly ensureTables: () => Promise<void>,
  ) {}

  rowsOf(batch: EventBatch): number {
    return batch.rowCount;
  }

  writeBatch(batches: readonly EventBatch[]): Promise<void> {
    return this.service.insertEventLines(batches);
  }

  classify = (err: unknown) => classifyClickHouseError(err, this.ensureTables);

  deadLetterFragments(batch: EventBatch): string[] {
    return eventDeadLetterFragments(batch);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

export interface ClickHouseSinks {
  windows: Sink<WindowRow>;
  events: Sink<EventBatch> | undefined;
  service: ClickHouseService;
  close(): Promise<void>;
}

/**
 * Creates the sinks and tries to create the tables once. An unreachable server is not fatal here:
 * the first insert retries, and a missing table (Code 60/81) is created before the next attempt.
 */
export async function createClickHouseSinks(
  config: ClickHouseSinkConfig,
  shape: WindowShape,
  deadLetter: DeadLetterFile,
  events: SinkEvents = {},
  client?: ClickHouseClient,
): Promise<ClickHouseSinks> {
  const service = new ClickHouseService(config, shape, client);
  const ensureTables = () => service.ensureTables();
  try {
    await ensureTables();
  } catch (err) {
    if (!networkErrorCode(err)) {
      await service.close();
      throw err;
    }
  }
  const batching = {
    maxRows: config.maxRows,
    maxDelayMs: config.maxDelayMs,
    maxBufferedRows: config.maxBufferedRows,
    retry: config.retry,
  };
  const windows = new BufferedSink(new WindowRowsDriver(service, shape, ensureTables), batching, deadLetter, events);
  const eventSink = config.eventsTable
    ? new BufferedSink(new EventLinesDriver(service, ensureTables), batching, deadLetter, events)
    : undefined;
  return {
    windows,
    events: eventSink,
    service,
    async close() {
      try {
        await windows.close();
        await eventSink?.close();
      } finally {
        await service.close();
      }
    },
  };
}
