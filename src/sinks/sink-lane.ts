/**
 * One sink's own queue of writes, so that a sink waiting for buffer room (its destination is slow or
 * down and its retries fill the buffer) holds back only its own later writes, never another sink's:
 *
 *   delivery 1 ─┬─► lane clickhouse.windows ──► write ─► write ─► ...
 *   delivery 2 ─┼─► lane redis.windows      ──► write ─► ...
 *               └─► lane kafka.events       ──► write (waiting for room) ┄ later writes wait here only
 *
 * Each lane keeps its sink's writes in delivery order. It retains the delivery's latch while the write
 * waits in the lane (the sink retains it for itself once it accepts), so a delivery is acknowledged only
 * when every sink's part is stored or dead-lettered. What waits in lanes is bounded by the sink thread
 * client's in-flight window (maxInFlightDeliveries, maxInFlightBytes): unacknowledged deliveries stop
 * the sender.
 */
import type { DeliveryLatch, Sink } from './sink.js';

export class SinkLane<T> {
  private tail: Promise<void> = Promise.resolve();
  private queuedWrites = 0;
  /** The first write that failed for good; flush() reports it. */
  private failure: unknown;

  constructor(readonly sink: Sink<T>) {}

  /** Writes queued behind the sink's earlier ones and not yet accepted by it. */
  get queued(): number {
    return this.queuedWrites;
  }

  /**
   * Queues `items` for the sink after everything queued before; returns at once. A write the sink
   * refuses (it failed for good) fails the latch instead of releasing it.
   */
  write(items: readonly T[], latch?: DeliveryLatch): void {
    if (items.length === 0) return;
    latch?.retain();
    this.queuedWrites++;
    const sink = this.sink;
    this.tail = this.tail.then(async () => {
      try {
        // The sink queues concurrent writes in call order (its Batcher's waiters are FIFO).
        await Promise.all(items.map((item) => sink.write(item, latch)));
        latch?.release();
      } catch (err) {
        this.failure ??= err;
        latch?.fail(err);
      } finally {
        this.queuedWrites--;
      }
    });
  }

  /** Resolves when the writes queued so far are accepted by the sink (not yet stored). */
  drained(): Promise<void> {
    return this.tail;
  }

  /** Resolves when everything queued before the call is stored or dead-lettered. */
  async flush(): Promise<void> {
    await this.tail;
    if (this.failure !== undefined) throw this.failure;
    await this.sink.flush();
  }
}
