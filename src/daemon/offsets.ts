/**
 * When may a source offset be committed? Position P of a source partition is committable once every
 * window that an event before P can count in has been emitted AND the sink thread acknowledged the
 * delivery that carried it. Windows are emitted long after their events arrive (when the watermark
 * passes their end), so commits trail ingest by about one window.
 *
 * Two pieces of bookkeeping, both on the main thread, O(1) per chunk and per window delivery:
 *
 *   WindowAckClock   emitted-through (event time) -> delivery id -> "acked through" event time
 *
 *       deliveries  | d7 through 12:01 | d9 through 12:02 | d12 through 12:04 |
 *       acked?      |       yes        |       yes        |        no         |
 *                                       ^ ackedThroughMs = 12:02
 *
 *   OffsetTracker    per source partition, a FIFO of pushed chunks (endPosition, boundMs):
 *
 *       partition 3 | end 100, bound 12:01 | end 250, bound 12:02 | end 400, bound 12:03 |
 *                                            ^ settled through here: commit 250
 *
 * A chunk's bound is the latest window end its events can touch, taken when the chunk is in the
 * rings: the end of the last window containing the partition's max event time so far (no event of
 * the chunk is later), and at least the first window end after the watermark at that moment (so the
 * emission that settles it comes from a control issued after the chunk was scattered — its rows,
 * late ones included, were processed and dead-lettered before).
 */
import type { WindowAssigner } from '../kernels/window/assign.js';
import type { Pipeline } from '../pipeline/pipeline.js';
import type { IngestStream } from '../pipeline/ingest-stream.js';
import type { WatermarkTracker } from '../kernels/event-time/watermark.js';

/** Lines held for a skew decision wait at most about this long (plus a commit interval) for more lines. */
const HOLD_DECIDE_MS = 2000;

/** Smallest window end strictly after `ms` (windows end at k * slide + size). */
export function windowEndAfter(assigner: Pick<WindowAssigner, 'sizeMs' | 'slideMs'>, ms: number): number {
  if (!Number.isFinite(ms)) return ms;
  const { sizeMs, slideMs } = assigner;
  return (Math.floor((ms - sizeMs) / slideMs) + 1) * slideMs + sizeMs;
}

/**
 * The bound of a chunk just pushed: the latest window end any of its events can be counted in, and
 * at least the next window end after the current watermark; plus `allowedLatenessMs`, since a window
 * takes updates until the watermark is that far past its end (a restart must recompute it whole).
 */
export function chunkBoundMs(assigner: WindowAssigner, partitionMaxTsMs: number, watermarkMs: number, allowedLatenessMs = 0): number {
  const lastEnd = Number.isFinite(partitionMaxTsMs) ? assigner.lastWindowStart(partitionMaxTsMs) + assigner.sizeMs : Number.NEGATIVE_INFINITY;
  return Math.max(lastEnd, windowEndAfter(assigner, watermarkMs)) + allowedLatenessMs;
}

/** A chunk of `sourcePartition` is in its stream (pushed, or held back): queue it. Returns the partition's max event time. */
export function recordPush(offsets: OffsetTracker, sourcePartition: number, endPosition: number, stream: IngestStream,
  wm: WatermarkTracker, assigner: WindowAssigner, allowedLatenessMs: number): number {
  const { boundMs, maxTsMs } = boundNow(wm, assigner, sourcePartition, allowedLatenessMs);
  offsets.pushed(sourcePartition, {
    endPosition, boundMs, maxTsMs,
    endLine: stream.pushedLinesEnd, heldFromLine: stream.heldSinceMs !== null ? stream.lineNumber : undefined,
  });
  return maxTsMs;
}

/** The partition's chunk bound and max event time at this moment (a chunk just pushed, or held lines just decided). */
function boundNow(wm: WatermarkTracker, assigner: WindowAssigner, sourcePartition: number, allowedLatenessMs: number): { boundMs: number; maxTsMs: number } {
  const maxTsMs = wm.maxEventTimeOf(sourcePartition);
  return { boundMs: chunkBoundMs(assigner, maxTsMs, wm.watermark, allowedLatenessMs), maxTsMs };
}

/**
 * Lines held for a skew decision (IngestStream.heldSinceMs) in a partition that went quiet are decided
 * with what followed them, and their chunks settle from then on like any other.
 */
export async function decideHeldLines(pipeline: Pipeline, offsets: OffsetTracker, assigner: WindowAssigner, allowedLatenessMs: number): Promise<void> {
  for (const p of await pipeline.decideHeldLines(HOLD_DECIDE_MS)) {
    const { boundMs, maxTsMs } = boundNow(pipeline.watermark, assigner, p, allowedLatenessMs);
    offsets.released(p, boundMs, maxTsMs);
  }
}

interface WindowDelivery {
  throughMs: number;
  /** Filled once the sink thread accepted the send (sendWindows can wait for room). */
  deliveryId: number;
}

/** Event time through which emitted windows are acknowledged by the sinks. */
export class WindowAckClock {
  private readonly deliveries: WindowDelivery[] = [];
  private head = 0;
  private ackedMs = Number.NEGATIVE_INFINITY;

  /**
   * Window rows emitted through `throughMs` are being sent; call synchronously from onWindowRows, then
   * `delivered(entry, id)` when the sink thread assigned the delivery id.
   */
  sending(throughMs: number): WindowDelivery {
    const entry: WindowDelivery = { throughMs, deliveryId: -1 };
    this.deliveries.push(entry);
    return entry;
  }

  delivered(entry: WindowDelivery, deliveryId: number): void {
    entry.deliveryId = deliveryId;
  }

  /**
   * @param emittedThroughMs the pipeline's emitted-through now (windows up to it were handed over or empty)
   * @param sinkAckedThrough the sink thread's ackedThrough (deliveries 1..N all acknowledged)
   */
  ackedThroughMs(emittedThroughMs: number, sinkAckedThrough: number): number {
    const d = this.deliveries;
    while (this.head < d.length && d[this.head].deliveryId >= 0 && d[this.head].deliveryId <= sinkAckedThrough) {
      this.ackedMs = Math.max(this.ackedMs, d[this.head].throughMs);
      this.head++;
    }
    if (this.head === d.length) {
      // Nothing outstanding: windows emitted since the last delivery were empty, so acked through now.
      this.ackedMs = Math.max(this.ackedMs, emittedThroughMs);
      d.length = 0;
      this.head = 0;
    } else if (this.head > 1024) {
      d.splice(0, this.head);
      this.head = 0;
    }
    return this.ackedMs;
  }

  /** Scale-out rebalance: the pipeline starts over, so nothing emitted before counts for later chunks. */
  reset(): void {
    this.deliveries.length = 0;
    this.head = 0;
    this.ackedMs = Number.NEGATIVE_INFINITY;
  }

  /** Window deliveries not yet acknowledged. */
  get outstanding(): number {
    return this.deliveries.length - this.head;
  }
}

/** One pushed chunk, what a commit of its end needs. */
export interface PushedChunk {
  endPosition: number;
  boundMs: number;
  /** Max event time of the partition once the chunk was in: restored after a restart (commit metadata). */
  maxTsMs: number;
  /** Physical line number after the chunk's last complete line (IngestStream.pushedLinesEnd). */
  endLine?: number;
  /**
   * The first line the partition's ingest stream holds back for a skew decision once the chunk was
   * pushed (IngestStream.heldSinceMs), or absent: a chunk ending after it stays unsettled until a later
   * push or released() finds it no longer held.
   */
  heldFromLine?: number;
}

interface QueuedChunk extends PushedChunk {
  held: boolean;
}

/** The position to commit for one partition, with the watermark state that goes along with it. */
export interface SettledOffset {
  sourcePartition: number;
  position: number;
  maxTsMs: number;
}

class ChunkQueue {
  private items: QueuedChunk[] = [];
  private head = 0;
  lastEnd = -1;

  push(c: PushedChunk): void {
    const heldFrom = c.heldFromLine ?? Number.POSITIVE_INFINITY;
    this.release(c.boundMs, c.maxTsMs, heldFrom);
    const held = (c.endLine ?? Number.NEGATIVE_INFINITY) > heldFrom;
    // NaN compares false with everything: a held chunk never settles, not even at +Infinity.
    this.items.push({ ...c, held, boundMs: held ? Number.NaN : c.boundMs });
    this.lastEnd = c.endPosition;
  }

  /**
   * Held chunks ending at or before line `heldFrom` (all of them by default: the held lines were
   * decided) are processed now: they take the bound and max event time of this moment.
   */
  release(boundMs: number, maxTsMs: number, heldFrom = Number.POSITIVE_INFINITY): void {
    for (let i = this.head; i < this.items.length; i++) {
      const c = this.items[i];
      if (!c.held) continue;
      if ((c.endLine ?? Number.NEGATIVE_INFINITY) > heldFrom) break;
      this.items[i] = { endPosition: c.endPosition, endLine: c.endLine, boundMs, maxTsMs, held: false };
    }
  }

  /** Pops every chunk with bound <= throughMs; returns the last popped, or null. */
  settle(throughMs: number): PushedChunk | null {
    let last: QueuedChunk | null = null;
    while (this.head < this.items.length && this.items[this.head].boundMs <= throughMs) last = this.items[this.head++];
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head > 1024) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return last;
  }

  get size(): number {
    return this.items.length - this.head;
  }
}

/** Per source partition: pushed chunks in order, and which prefix is settled. */
export class OffsetTracker {
  private readonly queues = new Map<number, ChunkQueue>();

  /** A chunk's rows are in the rings. Positions of one partition must increase. */
  pushed(sourcePartition: number, chunk: PushedChunk): void {
    let q = this.queues.get(sourcePartition);
    if (!q) {
      q = new ChunkQueue();
      this.queues.set(sourcePartition, q);
    }
    if (chunk.endPosition < q.lastEnd) {
      throw new RangeError(`source partition ${sourcePartition}: chunk end ${chunk.endPosition} is before the previous one (${q.lastEnd})`);
    }
    q.push(chunk);
  }

  /** Chunks whose bound <= ackedThroughMs are settled; returns the new commit position per partition that advanced. */
  settle(ackedThroughMs: number): SettledOffset[] {
    const out: SettledOffset[] = [];
    for (const [p, q] of this.queues) {
      const last = q.settle(ackedThroughMs);
      if (last) out.push({ sourcePartition: p, position: last.endPosition, maxTsMs: last.maxTsMs });
    }
    return out;
  }

  /** The partition's held lines were decided without a new chunk (IngestStream.decideHeld, the end of a finish). */
  released(sourcePartition: number, boundMs: number, maxTsMs: number): void {
    this.queues.get(sourcePartition)?.release(boundMs, maxTsMs);
  }

  /** Every partition's held lines were decided (Pipeline.finish): bound and max event time per partition. */
  releasedAll(at: (sourcePartition: number) => { boundMs: number; maxTsMs: number }): void {
    for (const [p, q] of this.queues) {
      const { boundMs, maxTsMs } = at(p);
      q.release(boundMs, maxTsMs);
    }
  }

  /** The partition was revoked: its unsettled chunks will be read again by the next owner. */
  forget(sourcePartition: number): void {
    this.queues.delete(sourcePartition);
  }

  /** Chunks pushed and not yet settled, all partitions. */
  get unsettledChunks(): number {
    let n = 0;
    for (const q of this.queues.values()) n += q.size;
    return n;
  }
}
