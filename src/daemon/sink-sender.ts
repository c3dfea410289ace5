/**
 * Hands the pipeline's window rows and processed events to the sink thread in emission order, and
 * tells the ack clock (offsets.ts) which delivery carries what, so an offset is committed only once
 * the deliveries its events reach are acknowledged. Event batches are large: ingest waits while more
 * than `maxQueuedEventBytes` of them wait in front of the sink thread.
 */
import type { EventBatch, WindowRow } from '../contracts/index.js';
import type { Delivery, SinkThread } from '../sinks/thread/client.js';
import type { WindowAckClock } from './offsets.js';

export class SinkSender {
  private sendTail: Promise<void> = Promise.resolve();
  private lastId = 0;
  /** Event bytes handed over and not yet accepted by the sink thread. */
  private queuedEventBytes = 0;
  private readonly roomWaiters: (() => void)[] = [];
  private failed = false;

  constructor(
    private readonly sinks: SinkThread,
    private readonly clock: WindowAckClock,
    /** The pipeline's emitted-through at the moment of a send. */
    private readonly emittedThroughMs: () => number,
    private readonly maxQueuedEventBytes: number,
    private readonly onFailure: (err: Error) => void,
  ) {}

  /** Called synchronously from the pipeline's onWindowRows: the pipeline's emitted-through covers these rows. */
  sendWindows(rows: WindowRow[]): void {
    this.send(() => this.sinks.sendWindows(rows), 0);
  }

  /**
   * Called synchronously from the pipeline's onEvents, before the task's windows are emitted. Same ack
   * clock as windows: the entry enters the FIFO ahead of every window delivery that could settle the
   * chunks these events came from, and its throughMs (what is emitted already) advances nothing by itself.
   */
  sendEvents(batch: EventBatch): void {
    this.send(() => this.sinks.sendEvents(batch), batch.lines.byteLength + batch.keys.byteLength);
  }

  /** Scale-out: the first stage's partials, in place of window rows (same ack clock as sendWindows). */
  sendPartials(batch: EventBatch): void {
    this.send(() => this.sinks.sendPartials(batch), batch.lines.byteLength + batch.keys.byteLength);
  }

  /** Resolves when the event bytes waiting for the sink thread are under the bound (or sending failed). */
  async roomForEvents(): Promise<void> {
    while (this.queuedEventBytes > this.maxQueuedEventBytes && !this.failed) {
      await new Promise<void>((resolve) => this.roomWaiters.push(resolve));
    }
  }

  /** The highest delivery id handed to the sink thread once everything sent so far has been handed over. */
  async lastDeliveryId(): Promise<number> {
    await this.sendTail;
    return this.lastId;
  }

  /** Resolves when everything sent so far is in the sink thread's hands (not yet acknowledged). */
  handedOver(): Promise<void> {
    return this.sendTail;
  }

  /** Sending has failed for good: nobody waits for room any more. */
  fail(): void {
    this.failed = true;
    this.wake();
  }

  private send(deliver: () => Promise<Delivery>, eventBytes: number): void {
    const entry = this.clock.sending(this.emittedThroughMs());
    this.queuedEventBytes += eventBytes;
    this.sendTail = this.sendTail.then(async () => {
      try {
        const d = await deliver();
        this.clock.delivered(entry, d.id);
        this.lastId = Math.max(this.lastId, d.id);
        d.acked.catch((err: Error) => this.onFailure(err));
      } catch (err) {
        this.onFailure(err as Error);
      } finally {
        if (eventBytes > 0) {
          this.queuedEventBytes -= eventBytes;
          this.wake();
        }
      }
    });
  }

  private wake(): void {
    for (const wake of this.roomWaiters.splice(0)) wake();
  }
}
