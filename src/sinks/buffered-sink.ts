/**
 * Turns a destination driver (one `writeBatch` that throws on failure) into a Sink: batching and
 * backpressure (Batcher), retries with backoff (runWithRetry), row isolation for row-level errors,
 * and the dead letter after the budget. Every row ends stored or dead-lettered; the counters say which.
 */
import { SinkError } from '../errors.js';
import { Batcher } from './batcher.js';
import type { DeadLetterFile } from './dead-letter-file.js';
import { runWithRetry, type ErrorClassifier, type ErrorVerdict, type RetryPolicy } from './retry.js';
import { newCounters, recordWriteLatency, type DeliveryLatch, type Sink, type SinkCounters } from './sink.js';

export interface SinkDriver<T> {
  /** e.g. `clickhouse.windows`; names the sink in dead letters, logs and counters. */
  readonly name: string;
  rowsOf(item: T): number;
  /** With BatchingOptions.maxBatchBytes: the bytes `item` adds to a request (an upper bound is fine). */
  bytesOf?(item: T): number;
  /** Two halves of an item that holds several rows, to isolate what a row-level error refused; else undefined. */
  split?(item: T): [T, T] | undefined;
  /**
   * Stores the whole batch or throws; storing the same batch twice must be harmless (idempotent).
   * Resolves to the bytes written when the driver produces them itself (files), else nothing.
   */
  writeBatch(items: readonly T[]): Promise<number | void>;
  classify: ErrorClassifier;
  /** One dead-letter payload fragment per row of `item` (see dead-letter-file.ts). */
  deadLetterFragments(item: T): string[];
  close(): Promise<void>;
}

export interface BatchingOptions {
  maxRows: number;
  maxDelayMs: number;
  maxBufferedRows: number;
  /** Bytes per delivered batch, measured by the driver's bytesOf and read per batch; unbounded when unset. */
  maxBatchBytes?: () => number;
  retry: RetryPolicy;
}

export interface SinkEvents {
  onRetry?: (sink: string, verdict: ErrorVerdict, attempt: number, delayMs: number) => void;
  onDeadLetter?: (sink: string, verdict: ErrorVerdict, rows: number) => void;
}

export class BufferedSink<T> implements Sink<T> {
  readonly name: string;
  private readonly batcher: Batcher<T>;
  private readonly stats: SinkCounters = newCounters();

  constructor(
    private readonly driver: SinkDriver<T>,
    private readonly options: BatchingOptions,
    private readonly deadLetter: DeadLetterFile,
    private readonly events: SinkEvents = {},
  ) {
    this.name = driver.name;
    this.batcher = new Batcher<T>({
      maxRows: options.maxRows,
      maxDelayMs: options.maxDelayMs,
      maxBufferedRows: options.maxBufferedRows,
      rowsOf: (item) => driver.rowsOf(item),
      maxBatchBytes: options.maxBatchBytes,
      bytesOf: driver.bytesOf ? (item) => driver.bytesOf!(item) : undefined,
      deliver: (items) => this.deliver(items),
    });
  }

  write(batch: T, latch?: DeliveryLatch): Promise<void> {
    return this.batcher.add(batch, latch);
  }

  flush(): Promise<void> {
    return this.batcher.flush();
  }

  /**
   * Flushes, then closes the driver. A destination that is down at shutdown keeps close() waiting
   * until its rows are stored or the retry budget sends them to the dead letter: never dropped.
   */
  async close(): Promise<void> {
    try {
      await this.batcher.close();
    } finally {
      await this.driver.close();
    }
  }

  counters(): SinkCounters {
    return { ...this.stats, writeLatencyCounts: [...this.stats.writeLatencyCounts], bufferedRows: this.batcher.bufferedRows };
  }

  private rowsIn(items: readonly T[]): number {
    let rows = 0;
    for (const item of items) rows += this.driver.rowsOf(item);
    return rows;
  }

  /** Settles every row of `items`: stored, or dead-lettered. Rejects only if the dead letter fails. */
  private async deliver(items: T[]): Promise<void> {
    let writtenBytes: number | void = undefined;
    const attempt = async (): Promise<void> => {
      const startedMs = performance.now();
      try {
        writtenBytes = await this.driver.writeBatch(items);
      } finally {
        recordWriteLatency(this.stats, (performance.now() - startedMs) / 1000);
      }
    };
    const outcome = await runWithRetry(attempt, this.options.retry, this.driver.classify, {
      onRetry: (verdict, attempt, delayMs) => {
        this.stats.retriedAttempts++;
        this.stats.failing = true;
        this.events.onRetry?.(this.name, verdict, attempt, delayMs);
      },
    });
    if (outcome.ok) {
      this.stats.writtenRows += this.rowsIn(items);
      this.stats.writtenBatches++;
      this.stats.failing = false;
      if (typeof writtenBytes === 'number') this.stats.writtenBytes += writtenBytes;
      else if (this.driver.bytesOf) for (const item of items) this.stats.writtenBytes += this.driver.bytesOf(item);
      return;
    }
    const verdict = outcome.verdict!;
    // A row-level error fails the whole insert; halving isolates the bad rows in O(bad * log n)
    // requests so the good ones are still stored. Batches are all-or-nothing on the server, so a
    // retried half never duplicates rows (and the destinations are idempotent anyway). A single item
    // of several rows (a slice of events) is halved by the driver.
    if (verdict.rowLevel) {
      const halves = this.halves(items);
      if (halves) {
        await this.deliver(halves[0]);
        await this.deliver(halves[1]);
        return;
      }
    }
    await this.deadLetterItems(items, verdict, outcome.attempts);
  }

  private halves(items: T[]): [T[], T[]] | undefined {
    if (items.length > 1) {
      const mid = items.length >>> 1;
      return [items.slice(0, mid), items.slice(mid)];
    }
    const split = this.driver.split?.(items[0]);
    return split && [[split[0]], [split[1]]];
  }

  private async deadLetterItems(items: readonly T[], verdict: ErrorVerdict, attempts: number): Promise<void> {
    const fragments: string[] = [];
    for (const item of items) for (const f of this.driver.deadLetterFragments(item)) fragments.push(f);
    try {
      await this.deadLetter.append({ sink: this.name, verdict, attempts, payloadFragments: fragments });
    } catch (err) {
      throw new SinkError(this.name, `cannot write ${fragments.length} rows to the dead letter ${this.deadLetter.path}`, {
        cause: err,
        details: { lastError: verdict.code },
      });
    }
    this.stats.deadLetteredRows += fragments.length;
    this.events.onDeadLetter?.(this.name, verdict, fragments.length);
  }
}
