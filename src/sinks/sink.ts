/**
 * The small contract every sink implements, and the shapes of what flows into the sinks.
 *
 * `write` takes ownership of a batch and resolves once the batch sits in the sink's bounded buffer —
 * not when it is stored. That promise is the backpressure: a caller that awaits it never holds more
 * than the buffer's capacity in flight. Storage completion is reported through the DeliveryLatch the
 * caller passes along: the sink releases it once every row of the batch is written *or* dead-lettered
 * (a dead letter is a durable outcome; nothing is dropped silently).
 */
import type { EventBatch, WindowRow, WindowShape } from '../contracts/index.js';

/** The canonical clickstream pipeline's window rows. */
export const CANONICAL_WINDOW_SHAPE: WindowShape = {
  groupFields: ['type', 'region'],
  metrics: [
    { name: 'count', kind: 'integer' },
    { name: 'amount_sum', kind: 'float' },
    { name: 'amount_max', kind: 'float' },
    { name: 'users_approx', kind: 'integer' },
  ],
};

/**
 * Counts outstanding work for one delivery (a window batch or an event batch sent by the pipeline).
 * Each sink that takes part `retain()`s before accepting and `release()`s when its part is durable;
 * the owner holds one reference while dispatching so the count cannot reach zero early.
 * `fail()` reports that some part can never become durable (a sink failed for good): the delivery
 * then never settles, and `onFailed` tells the owner once.
 */
export class DeliveryLatch {
  private outstanding = 1;
  private failed = false;
  constructor(
    private readonly onSettled: () => void,
    private readonly onFailed?: (err: unknown) => void,
  ) {}

  retain(): void {
    this.outstanding++;
  }

  release(): void {
    if (this.outstanding <= 0 || this.failed) return;
    if (--this.outstanding === 0) this.onSettled();
  }

  fail(err: unknown): void {
    if (this.failed || this.outstanding <= 0) return;
    this.failed = true;
    this.onFailed?.(err);
  }
}

export interface SinkCounters {
  /** Rows stored by the destination. */
  writtenRows: number;
  /** Failed attempts that were retried (per batch attempt, not per row). */
  retriedAttempts: number;
  /** Rows written to the dead-letter file after a non-retriable error or an exhausted retry budget. */
  deadLetteredRows: number;
  /** Rows accepted by write() and not yet settled. */
  bufferedRows: number;
  /** Batches stored, and their bytes when the sink can tell them (else 0). */
  writtenBatches: number;
  writtenBytes: number;
  /** The last write attempt failed and no write has succeeded since (readiness: the destination is unreachable). */
  failing: boolean;
  /** Write requests to the destination (each attempt, retried ones included). */
  writeAttempts: number;
  /** Attempts per latency bucket: index i counts those that took at most WRITE_LATENCY_BUCKETS_S[i] (the last: longer). */
  writeLatencyCounts: number[];
  writeLatencySumSeconds: number;
}

/** Upper bounds (seconds) of the write latency histogram's buckets, Prometheus-style. */
export const WRITE_LATENCY_BUCKETS_S: readonly number[] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Counts one write attempt that took `seconds`. */
export function recordWriteLatency(c: SinkCounters, seconds: number): void {
  let i = 0;
  while (i < WRITE_LATENCY_BUCKETS_S.length && seconds > WRITE_LATENCY_BUCKETS_S[i]) i++;
  c.writeLatencyCounts[i]++;
  c.writeLatencySumSeconds += seconds;
  c.writeAttempts++;
}

export interface Sink<T> {
  readonly name: string;
  /** Resolves once `batch` is buffered (there was room); `latch` is released when it is durable. */
  write(batch: T, latch?: DeliveryLatch): Promise<void>;
  /** Resolves when everything written before this call is stored or dead-lettered. */
  flush(): Promise<void>;
  /** Flushes, then releases connections. */
  close(): Promise<void>;
  counters(): SinkCounters;
}

export function newCounters(): SinkCounters {
  return {
    writtenRows: 0, retriedAttempts: 0, deadLetteredRows: 0, bufferedRows: 0, writtenBatches: 0, writtenBytes: 0, failing: false,
    writeAttempts: 0, writeLatencyCounts: new Array<number>(WRITE_LATENCY_BUCKETS_S.length + 1).fill(0), writeLatencySumSeconds: 0,
  };
}

/** Number of events in an EventBatch, for batching by rows. */
export const eventBatchRows = (b: EventBatch): number => b.rowCount;

/** The group values of a window row joined into one stable member/key string. */
export function groupKeyOf(row: WindowRow, groupFields: readonly string[], separator = '|'): string {
  let key = '';
  for (let i = 0; i < groupFields.length; i++) {
    if (i > 0) key += separator;
    key += String(row[groupFields[i]]);
  }
  return key;
}
