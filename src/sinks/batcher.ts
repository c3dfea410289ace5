/**
 * Groups items into batches by row count (and bytes, when the destination limits request size) and age,
 * with a bounded buffer that pushes back.
 *
 *   add() ──► pending [e e e e] ──(rows >= maxRows or bytes >= maxBatchBytes, or oldest waited maxDelayMs,
 *                                  or flush())──► deliver(batch)
 *     ▲                                                                                       │ one at a time,
 *     └── waits while pending + in-flight rows would exceed maxBufferedRows ◄── room freed ───┘ in order
 *
 * One delivery is in flight at a time: the destination sees batches in the order they were added, and
 * a slow or failing destination stops the buffer from draining, which is exactly what makes add()
 * block the caller (backpressure) instead of growing memory.
 * `deliver` must settle every row itself (stored or dead-lettered); if it rejects, the failure is
 * fatal for the batcher: later add() and flush() calls reject with it and latches stay held, so the
 * caller never acknowledges rows that were not stored.
 */
import { ShutdownError } from '../errors.js';
import type { DeliveryLatch } from './sink.js';

export interface BatcherOptions<T> {
  maxRows: number;
  maxDelayMs: number;
  /** Rows buffered or in flight before add() waits. An item larger than this is admitted alone. */
  maxBufferedRows: number;
  rowsOf: (item: T) => number;
  /** With bytesOf: a batch holds at most this many bytes, except a single item larger than that. Read per batch. */
  maxBatchBytes?: () => number;
  bytesOf?: (item: T) => number;
  deliver: (items: T[]) => Promise<void>;
}

interface Waiter {
  rows: number;
  resolve: () => void;
  reject: (err: unknown) => void;
}

export class Batcher<T> {
  private pendingItems: T[] = [];
  private pendingLatches: (DeliveryLatch | undefined)[] = [];
  private pendingRows = 0;
  private pendingBytes = 0;
  private inFlightRows = 0;
  private delivering = false;
  private timer: NodeJS.Timeout | undefined;
  private flushRequested = false;
  private readonly waiters: Waiter[] = [];
  private readonly idleWaiters: (() => void)[] = [];
  private fatal: unknown;
  private closed = false;

  constructor(private readonly options: BatcherOptions<T>) {}

  /** Rows accepted and not yet settled. */
  get bufferedRows(): number {
    return this.pendingRows + this.inFlightRows;
  }

  /** Resolves when the item is buffered. The latch (retained here) is released once it is delivered. */
  add(item: T, latch?: DeliveryLatch): Promise<void> {
    if (this.fatal !== undefined) return Promise.reject(this.fatal);
    if (this.closed) return Promise.reject(new ShutdownError('sink is closed'));
    const rows = this.options.rowsOf(item);
    latch?.retain();
    if (this.waiters.length === 0 && this.hasRoomFor(rows)) {
      this.enqueue(item, rows, latch);
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      this.waiters.push({
        rows,
        resolve: () => {
          this.enqueue(item, rows, latch);
          resolve();
        },
        reject,
      });
    });
  }

  /** Delivers everything added so far; resolves when it is settled. */
  flush(): Promise<void> {
    if (this.fatal !== undefined) return Promise.reject(this.fatal);
    if (this.bufferedRows === 0 && this.waiters.length === 0 && !this.delivering) return Promise.resolve();
    this.flushRequested = true;
    const idle = new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    this.pump();
    return idle.then(() => {
      if (this.fatal !== undefined) throw this.fatal;
    });
  }

  /** Flushes and refuses further items. */
  async close(): Promise<void> {
    await this.flush();
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
  }

  private hasRoomFor(rows: number): boolean {
    const used = this.bufferedRows;
    return used === 0 || used + rows <= this.options.maxBufferedRows;
  }

  private enqueue(item: T, rows: number, latch: DeliveryLatch | undefined): void {
    this.pendingItems.push(item);
    this.pendingLatches.push(latch);
    this.pendingRows += rows;
    if (this.options.bytesOf) this.pendingBytes += this.options.bytesOf(item);
    if (this.batchIsFull()) {
      this.pump();
    } else if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.flushRequested = true;
        this.pump();
      }, this.options.maxDelayMs);
    }
  }

  private pump(): void {
    if (this.delivering || this.fatal !== undefined) return;
    if (this.pendingRows === 0) {
      this.admitWaiters();
      // Admitting can start a delivery through enqueue(); that delivery's completion pumps again.
      if (this.delivering) return;
      if (this.pendingRows === 0) {
        this.flushRequested = false;
        for (const resolve of this.idleWaiters.splice(0)) resolve();
        return;
      }
    }
    if (!this.batchIsFull() && !this.flushRequested) return;
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    const { items, latches, rows } = this.takeBatch();
    this.delivering = true;
    this.inFlightRows = rows;
    this.options.deliver(items).then(
      () => {
        this.delivering = false;
        this.inFlightRows = 0;
        for (const latch of latches) latch?.release();
        this.admitWaiters();
        this.pump();
      },
      (err: unknown) => this.fail(err),
    );
  }

  private batchIsFull(): boolean {
    return this.pendingRows >= this.options.maxRows || this.pendingBytes >= this.maxBatchBytes();
  }

  private maxBatchBytes(): number {
    const { bytesOf, maxBatchBytes } = this.options;
    return bytesOf && maxBatchBytes ? maxBatchBytes() : Number.POSITIVE_INFINITY;
  }

  /** Takes up to maxRows rows and maxBatchBytes bytes (at least one item) from the head of the pending queue. */
  private takeBatch(): { items: T[]; latches: (DeliveryLatch | undefined)[]; rows: number } {
    const { rowsOf, bytesOf, maxRows } = this.options;
    let count = 0;
    let rows = 0;
    let bytes = 0;
    const maxBytes = this.maxBatchBytes();
    while (count < this.pendingItems.length) {
      const item = this.pendingItems[count];
      const itemRows = rowsOf(item);
      const itemBytes = bytesOf ? bytesOf(item) : 0;
      if (count > 0 && (rows + itemRows > maxRows || bytes + itemBytes > maxBytes)) break;
      rows += itemRows;
      bytes += itemBytes;
      count++;
    }
    const items = this.pendingItems.splice(0, count);
    const latches = this.pendingLatches.splice(0, count);
    this.pendingRows -= rows;
    this.pendingBytes -= bytes;
    if (this.pendingRows > 0 && !this.timer && !this.flushRequested) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.flushRequested = true;
        this.pump();
      }, this.options.maxDelayMs);
    }
    return { items, latches, rows };
  }

  private admitWaiters(): void {
    while (this.waiters.length > 0 && this.hasRoomFor(this.waiters[0].rows)) {
      this.waiters.shift()!.resolve();
    }
  }

  private fail(err: unknown): void {
    this.fatal = err;
    this.delivering = false;
    if (this.timer) clearTimeout(this.timer);
    for (const waiter of this.waiters.splice(0)) waiter.reject(err);
    for (const resolve of this.idleWaiters.splice(0)) resolve();
  }
}
