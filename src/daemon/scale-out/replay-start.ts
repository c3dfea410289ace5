/**
 * Scale-out: where a partition's next owner starts reading, so that its dedupe filter knows the keys
 * it would have known had it read the partition all along. A daemon that takes a partition over (or
 * the same daemon after a rebalance) starts with an empty Bloom filter; reading again from the
 * committed position X alone would miss every key seen before X, and a duplicate after X of an event
 * before it would count. So the commit moves back to the start of the last `replayMs` of event time
 * before X, the way Kafka Streams restores a store from its changelog, with the source topic as the
 * changelog: the events between that start and X fill the filter again.
 *
 * Counting those events again is harmless: by the commit rule (offsets.ts) every window they can count
 * in had been emitted before X was committed, together with the partition's marker for it, and the
 * merge ignores a partial of a window its partition's marker has passed (merge-stage.ts). They do cost
 * their reading time, and dead letters and processed events of that range are written again
 * (at-least-once, as after any re-read).
 *
 * Per partition the starts of pushed chunks are kept with the partition's maximum event time once each
 * was in; the replay start of a position with maximum M is the start of the first chunk that brought
 * the maximum to M - replayMs or later: every event before it is older than that.
 */
interface ChunkStart {
  startPosition: number;
  /** The partition's maximum event time once this chunk was in. */
  maxTsMs: number;
}

export class ReplayStarts {
  private readonly partitions = new Map<number, ChunkStart[]>();

  /** `replayMs` 0: no replay, positions are committed as they settle. */
  constructor(private readonly replayMs: number) {}

  pushed(sourcePartition: number, startPosition: number, maxTsMs: number): void {
    if (this.replayMs <= 0) return;
    let q = this.partitions.get(sourcePartition);
    if (!q) this.partitions.set(sourcePartition, (q = []));
    q.push({ startPosition, maxTsMs });
  }

  /** What to commit for settled `position` whose partition maximum was `maxTsMs`; forgets what is older. */
  commitPosition(sourcePartition: number, position: number, maxTsMs: number): number {
    const q = this.partitions.get(sourcePartition);
    if (this.replayMs <= 0 || !q || q.length === 0) return position;
    let drop = 0;
    while (drop < q.length - 1 && q[drop].maxTsMs < maxTsMs - this.replayMs) drop++;
    // The chunk at `drop` is the first that may hold an event of the last replayMs: keep it and what follows.
    if (drop > 0) q.splice(0, drop);
    return Math.min(position, q[0].startPosition);
  }

  forget(sourcePartition: number): void {
    this.partitions.delete(sourcePartition);
  }

  forgetAll(): void {
    this.partitions.clear();
  }
}
