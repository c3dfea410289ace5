/**
 * Which source partitions have read all of their input, polled from the source's lag() (Kafka: the
 * end offsets) every pollIntervalMs. The pipeline's watermark lets a partition go idle only while it
 * is caught up, so a partition with a backlog holds back the windows it has not delivered yet. The
 * same poll advances processing time when no input arrives (idle partitions stop holding the
 * watermark without waiting for the next record), and tells `--until-caught-up` when to finish.
 */
import type { Pipeline } from '../pipeline/pipeline.js';
import type { PartitionLag, Source } from '../sources/source.js';

export interface CaughtUpOptions {
  pollIntervalMs: number;
  /**
   * Close every window that holds events once all assigned partitions are caught up and no event
   * arrived for this long; null = never (windows close only when later events move the watermark).
   */
  idleCloseMs: number | null;
  onError(err: Error): void;
  /**
   * Moves on at every revoke and assignment. A poll during which it moved decides nothing: its end
   * offsets and delivered positions may belong to the assignment before, and a scale-out daemon that
   * emptied its pipeline at the revoke must not finish on them.
   */
  epoch?: () => number;
}

/** True when the partition's position (delivered, committed or the log start) is at its end. */
export function isCaughtUp(e: PartitionLag): boolean {
  if (e.endPosition < 0) return true;
  return e.deliveredPosition >= e.endPosition || e.lag <= 0;
}

export class CaughtUpWatch {
  private readonly timer: NodeJS.Timeout;
  private polling: Promise<void> | null = null;
  private lastInputCount = -1;
  private quietSinceMs = Date.now();
  private closedThroughMs = Number.NEGATIVE_INFINITY;
  private readonly listeners: (() => void)[] = [];
  private stopped = false;
  /** Assigned partitions all caught up at the last poll (false until a poll saw at least one). */
  private allCaughtUp = false;

  constructor(private readonly source: Source, private readonly pipeline: Pipeline, private readonly opts: CaughtUpOptions) {
    this.timer = setInterval(() => void this.poll(), opts.pollIntervalMs);
    this.timer.unref();
  }

  /** Called once every assigned partition has read to its end (each poll that finds it so). */
  onAllCaughtUp(listener: () => void): void {
    this.listeners.push(listener);
  }

  /** One poll now (also run by the timer); concurrent calls share one. */
  poll(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    this.polling ??= this.pollOnce().catch((err: Error) => {
      // A source whose end positions cannot be read is not known to be caught up, nor quiet: idleCloseMs
      // counts again from when it can be read.
      this.allCaughtUp = false;
      this.quietSinceMs = Date.now();
      this.opts.onError(err);
    }).finally(() => { this.polling = null; });
    return this.polling;
  }

  private async pollOnce(): Promise<void> {
    const epoch = this.opts.epoch?.();
    const lag = await this.source.lag();
    if (this.stopped || this.opts.epoch?.() !== epoch) return;
    const group = this.source.groupState();
    const owned = group ? new Set(group.assigned) : null;
    let all = true;
    let seen = 0;
    for (const e of lag) {
      if (owned && !owned.has(e.sourcePartition)) continue;
      const up = isCaughtUp(e);
      this.pipeline.setCaughtUp(e.sourcePartition, up);
      all &&= up;
      seen++;
    }
    this.allCaughtUp = all && seen > 0;
    const input = this.pipeline.stats().input;
    const now = Date.now();
    if (input !== this.lastInputCount) {
      this.lastInputCount = input;
      this.quietSinceMs = now;
    }
    let closeThroughMs = Number.NEGATIVE_INFINITY;
    const idleCloseMs = this.opts.idleCloseMs;
    if (idleCloseMs !== null && this.allCaughtUp && now - this.quietSinceMs >= idleCloseMs) {
      // Past the end of every window holding an event seen so far.
      closeThroughMs = this.pipeline.windowEndAfter(this.pipeline.watermark.maxEventTime());
      if (!(closeThroughMs > this.closedThroughMs)) closeThroughMs = Number.NEGATIVE_INFINITY;
      else this.closedThroughMs = closeThroughMs;
    }
    await this.pipeline.advanceWithoutInput(closeThroughMs);
    if (this.allCaughtUp) for (const l of this.listeners) l();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.polling;
  }
}
