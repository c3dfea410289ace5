/**
 * Kafka source: a kafkajs consumer group on one topic, `eachBatch` with auto-resolve and
 * auto-commit off. Each fetched partition batch becomes one chunk (kafka-chunk.ts).
 *
 * Offsets, three of them per partition:
 *   resolved  (kafkajs, in memory) = where the next fetch starts; moved after the handler took a chunk
 *   delivered (here)               = end of the last chunk handed over
 *   committed (broker)             = what the pipeline confirmed through commit(); a restart resumes here
 * Nothing is committed by kafkajs itself: only commit(), called once the sinks acked.
 *
 * Heartbeats: kafkajs heartbeats only between batches, so a handler that waits on ring
 * backpressure for longer than the session timeout would get the member evicted and trigger a
 * rebalance loop (tulios/kafkajs#387, #1527). While a handler promise is pending, and while the
 * source is paused inside a batch, this source calls `heartbeat()` every heartbeatIntervalMs.
 *
 * Rebalances: kafkajs uses the eager protocol, so every rebalance revokes all partitions. When a
 * heartbeat in our wait loop reports the rebalance, the in-flight chunk is finished, then
 * hooks.onRevoke(all owned partitions) runs to completion *before* the error is rethrown and
 * kafkajs rejoins — the group's next owner starts from offsets the pipeline committed. When kafkajs
 * notices the rebalance elsewhere (between batches), onRevoke starts on the REBALANCING event while
 * kafkajs rejoins; the next delivery waits for it, and messages below the delivered position of a
 * partition we keep are skipped, so this consumer never hands the same offset to the pipeline twice.
 * Known limit of that second path: kafkajs offers no pre-revoke hook, so another member may fetch a
 * partition before our settle has committed it and re-process the uncommitted tail (at-least-once;
 * the sinks are idempotent). A busy consumer notices rebalances in its wait loop (the first path).
 */
import { Kafka, logLevel as KafkaLogLevel, type Admin, type Consumer, type EachBatchPayload } from 'kafkajs';
import { SourceError } from '../errors.js';
import { KafkaChunkBuilder } from './kafka-chunk.js';
import { SourceBase, deferred } from './source-base.js';
import { isPromiseLike, type ChunkHandler, type PartitionLag, type Source, type SourceChunk, type SourceHooks } from './source.js';

export interface KafkaSourceOptions {
  brokers: string[];
  topic: string;
  groupId: string;
  clientId?: string;
  /** Where a group without committed offsets starts. */
  fromBeginning?: boolean;
  sessionTimeoutMs?: number;
  heartbeatIntervalMs?: number;
  rebalanceTimeoutMs?: number;
  /** Fetch response size limit (all partitions). */
  maxBytes?: number;
  maxBytesPerPartition?: number;
  minBytes?: number;
  maxWaitTimeMs?: number;
  partitionsConsumedConcurrently?: number;
  connectionTimeoutMs?: number;
  requestTimeoutMs?: number;
  logLevel?: 'nothing' | 'error' | 'warn' | 'info' | 'debug';
}

/** Group membership counters, for tests and metrics. */
export interface KafkaGroupState {
  memberId: string;
  assigned: number[];
  /** GROUP_JOIN events seen (1 after a clean start; each rebalance adds one). */
  joins: number;
  /** REBALANCING events seen. */
  rebalances: number;
  /** commit() calls ignored because the partition had moved to another member. */
  droppedCommits: number;
}

const REBALANCE_ERRORS = new Set(['REBALANCE_IN_PROGRESS', 'ILLEGAL_GENERATION', 'UNKNOWN_MEMBER_ID', 'NOT_COORDINATOR_FOR_GROUP']);
const LOG_LEVELS = { nothing: KafkaLogLevel.NOTHING, error: KafkaLogLevel.ERROR, warn: KafkaLogLevel.WARN, info: KafkaLogLevel.INFO, debug: KafkaLogLevel.DEBUG };

const isRebalanceError = (err: unknown): boolean => REBALANCE_ERRORS.has((err as { type?: string })?.type ?? '');
/** A wait that does not keep the process alive on its own. */
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms).unref());

export class KafkaSource extends SourceBase implements Source {
  readonly kind = 'kafka' as const;
  private readonly opts: Required<Omit<KafkaSourceOptions, 'clientId'>> & { clientId: string };
  private consumer: Consumer | null = null;
  private admin: Admin | null = null;
  private readonly chunks = new KafkaChunkBuilder();
  private assigned: number[] = [];
  private memberId = '';
  private joins = 0;
  private rebalances = 0;
  private droppedCommits = 0;
  /** onRevoke in progress; deliveries wait for it. */
  private settling: Promise<void> | null = null;
  /** joins count at the last onRevoke, so one rebalance settles once. */
  private revokedAtJoin = -1;
  private readonly inflight = new Set<Promise<unknown>>();
  private readonly wantCommit = new Map<number, number>();
  private readonly wantMetadata = new Map<number, string>();
  private commitTail: Promise<void> = Promise.resolve();

  constructor(options: KafkaSourceOptions) {
    super();
    this.opts = {
      clientId: options.clientId ?? `ringflow-${options.groupId}`,
      brokers: options.brokers,
      topic: options.topic,
      groupId: options.groupId,
      fromBeginning: options.fromBeginning ?? true,
      sessionTimeoutMs: options.sessionTimeoutMs ?? 30_000,
      heartbeatIntervalMs: options.heartbeatIntervalMs ?? 3_000,
      rebalanceTimeoutMs: options.rebalanceTimeoutMs ?? 60_000,
      maxBytes: options.maxBytes ?? 10 * 1024 * 1024,
      maxBytesPerPartition: options.maxBytesPerPartition ?? 2 * 1024 * 1024,
      minBytes: options.minBytes ?? 1,
      maxWaitTimeMs: options.maxWaitTimeMs ?? 500,
      partitionsConsumedConcurrently: options.partitionsConsumedConcurrently ?? 1,
      connectionTimeoutMs: options.connectionTimeoutMs ?? 3_000,
      requestTimeoutMs: options.requestTimeoutMs ?? 30_000,
      logLevel: options.logLevel ?? 'warn',
    };
  }

  async start(handler: ChunkHandler, hooks: SourceHooks = {}): Promise<void> {
    if (this.handler) throw new SourceError('kafka', 'start() called twice');
    this.handler = handler;
    this.hooks = hooks;
    const o = this.opts;
    const kafka = new Kafka({
      clientId: o.clientId,
      brokers: o.brokers,
      connectionTimeout: o.connectionTimeoutMs,
      requestTimeout: o.requestTimeoutMs,
      logLevel: LOG_LEVELS[o.logLevel],
    });
    const consumer = kafka.consumer({
      groupId: o.groupId,
      sessionTimeout: o.sessionTimeoutMs,
      heartbeatInterval: o.heartbeatIntervalMs,
      rebalanceTimeout: o.rebalanceTimeoutMs,
      maxBytes: o.maxBytes,
      maxBytesPerPartition: o.maxBytesPerPartition,
      minBytes: o.minBytes,
      maxWaitTimeInMs: o.maxWaitTimeMs,
      allowAutoTopicCreation: false,
    });
    this.consumer = consumer;
    this.admin = kafka.admin();
    const joined = deferred<void>();
    consumer.on(consumer.events.GROUP_JOIN, (e) => {
      this.onGroupJoin(e.payload.memberId, e.payload.memberAssignment[o.topic] ?? []);
      joined.resolve();
    });
    consumer.on(consumer.events.REBALANCING, () => {
      this.rebalances++;
      void this.revokeAll().catch((err) => this.finish(err));
    });
    consumer.on(consumer.events.CRASH, (e) => {
      const err = new SourceError('kafka', `consumer crashed: ${e.payload.error.message}`, { cause: e.payload.error, retriable: e.payload.restart });
      joined.reject(err);
      if (!e.payload.restart) this.finish(err);
    });
    try {
      await consumer.connect();
      await this.admin.connect();
      await consumer.subscribe({ topics: [o.topic], fromBeginning: o.fromBeginning });
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: o.partitionsConsumedConcurrently,
        eachBatch: (payload) => this.eachBatch(payload),
      });
      await joined.promise;
    } catch (err) {
      await this.disconnectQuietly();
      throw err instanceof SourceError ? err : new SourceError('kafka', `cannot start consumer for ${o.topic}: ${(err as Error).message}`, { cause: err, retriable: true });
    }
  }

  groupState(): KafkaGroupState {
    return { memberId: this.memberId, assigned: [...this.assigned], joins: this.joins, rebalances: this.rebalances, droppedCommits: this.droppedCommits };
  }

  private onGroupJoin(memberId: string, partitions: number[]): void {
    const kept = new Set(partitions);
    for (const p of this.assigned) {
      if (!kept.has(p)) {
        // Another member owns it now and starts from the committed offset.
        this.delivered.delete(p);
        this.chunks.forget(p);
      }
    }
    this.memberId = memberId;
    this.assigned = [...partitions].sort((a, b) => a - b);
    this.joins++;
    if (this.isPaused()) this.consumer?.pause([{ topic: this.opts.topic }]);
    this.hooks.onAssign?.(this.assigned);
  }

  /** Settle every owned partition once per rebalance; concurrent callers share the promise. */
  private revokeAll(): Promise<void> {
    if (this.settling) return this.settling;
    if (this.revokedAtJoin === this.joins || !this.hooks.onRevoke || this.assigned.length === 0) return Promise.resolve();
    this.revokedAtJoin = this.joins;
    const settle = this.hooks.onRevoke([...this.assigned]).finally(() => {
      this.settling = null;
    });
    this.settling = settle;
    return settle;
  }

  private async eachBatch({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> {
    if (this.stopping || !isRunning() || isStale() || batch.messages.length === 0) return;
    while (this.settling) await this.settling;
    const paused = this.waitWhilePaused();
    if (paused) {
      const failure = await this.waitWithHeartbeats(paused, heartbeat);
      if (failure !== null) return this.afterHeartbeatFailure(failure);
      if (this.stopping) return;
    }
    const p = batch.partition;
    const built = this.chunks.build(p, batch.messages, this.delivered.get(p) ?? -1);
    const lastOffset = batch.messages[batch.messages.length - 1].offset;
    if (built === null) {
      resolveOffset(lastOffset);
      return;
    }
    const chunk: SourceChunk = {
      bytes: built.bytes,
      sourcePartition: p,
      startPosition: built.startOffset,
      endPosition: built.endOffset,
      lineCount: -1,
    };
    let out: ReturnType<ChunkHandler>;
    try {
      out = this.handler!(chunk);
    } catch (err) {
      return this.failHandler(p, err);
    }
    let failure: unknown = null;
    if (isPromiseLike(out)) {
      const pending = Promise.resolve(out);
      this.inflight.add(pending);
      try {
        failure = await this.waitWithHeartbeats(pending, heartbeat);
        await pending;
      } catch (err) {
        return this.failHandler(p, err);
      } finally {
        this.inflight.delete(pending);
      }
    }
    // The pipeline holds the chunk now: move the fetch position past it (this is not a commit).
    resolveOffset(lastOffset);
    this.countDelivery(p, built.endOffset, built.bytes.length);
    if (failure !== null) return this.afterHeartbeatFailure(failure);
  }

  /** The pipeline refused a chunk: stop this source (the contract), leaving the batch unresolved. */
  private failHandler(partition: number, err: unknown): void {
    this.stopping = true;
    this.consumer?.pause([{ topic: this.opts.topic }]);
    this.finish(new SourceError('kafka', `handler failed on partition ${partition}: ${(err as Error).message}`, { cause: err }));
  }

  /**
   * Waits for `pending` while heartbeating. Returns null, or the heartbeat error — after `pending`
   * settled, so the caller can account for the chunk before kafkajs rejoins.
   */
  private async waitWithHeartbeats(pending: Promise<unknown>, heartbeat: () => Promise<void>): Promise<unknown> {
    let settled = false;
    const done = pending.then(
      () => (settled = true),
      () => (settled = true),
    );
    while (!settled) {
      await Promise.race([done, sleep(this.opts.heartbeatIntervalMs)]);
      if (settled) break;
      try {
        await heartbeat();
      } catch (err) {
        await done;
        return err;
      }
    }
    return null;
  }

  private async afterHeartbeatFailure(err: unknown): Promise<void> {
    if (isRebalanceError(err)) await this.revokeAll();
    throw err;
  }

  protected override onPause(): void {
    if (this.joins > 0) this.consumer?.pause([{ topic: this.opts.topic }]);
  }

  protected override onResume(): void {
    if (this.joins > 0) this.consumer?.resume([{ topic: this.opts.topic }]);
  }

  /**
   * Commits `position` (next offset to read) for a partition. A commit for a partition this member
   * no longer owns is dropped: the new owner's progress must not be overwritten by a late commit.
   */
  override async commit(sourcePartition: number, position: number, metadata?: string): Promise<void> {
    if (position <= (this.committed.get(sourcePartition) ?? -1)) return;
    if (!this.assigned.includes(sourcePartition)) {
      this.droppedCommits++;
      return;
    }
    if (position > (this.wantCommit.get(sourcePartition) ?? -1)) {
      this.wantCommit.set(sourcePartition, position);
      // Stored by the broker next to the offset (the daemon keeps its watermark state there).
      if (metadata !== undefined) this.wantMetadata.set(sourcePartition, metadata);
    }
    // One OffsetCommit at a time; calls made meanwhile are folded into the next one.
    const next = this.commitTail.catch(() => undefined).then(() => this.flushCommits());
    this.commitTail = next;
    return next;
  }

  private async flushCommits(): Promise<void> {
    const batch: { topic: string; partition: number; offset: string; metadata?: string }[] = [];
    for (const [partition, position] of this.wantCommit) {
      if (position <= (this.committed.get(partition) ?? -1)) continue;
      const metadata = this.wantMetadata.get(partition);
      batch.push({ topic: this.opts.topic, partition, offset: String(position), ...(metadata !== undefined ? { metadata } : {}) });
    }
    this.wantCommit.clear();
    this.wantMetadata.clear();
    if (batch.length === 0) return;
    if (!this.consumer || this.closed) throw new SourceError('kafka', 'commit after close()');
    try {
      await this.consumer.commitOffsets(batch);
    } catch (err) {
      for (const { partition, offset, metadata } of batch) {
        if (Number(offset) > (this.wantCommit.get(partition) ?? -1)) {
          this.wantCommit.set(partition, Number(offset));
          if (metadata !== undefined) this.wantMetadata.set(partition, metadata);
        }
      }
      throw new SourceError('kafka', `offset commit failed: ${(err as Error).message}`, { cause: err, retriable: true, details: { offsets: batch } });
    }
    for (const { partition, offset } of batch) this.committed.set(partition, Number(offset));
  }

  /** Per partition: high watermark, the group's committed offset on the broker, what was delivered. */
  override async lag(): Promise<PartitionLag[]> {
    if (!this.admin) return [];
    const [ends, groupOffsets] = await Promise.all([
      this.admin.fetchTopicOffsets(this.opts.topic),
      this.admin.fetchOffsets({ groupId: this.opts.groupId, topics: [this.opts.topic] }),
    ]);
    const committedByPartition = new Map<number, number>();
    for (const t of groupOffsets) for (const p of t.partitions) committedByPartition.set(p.partition, Number(p.offset));
    return ends
      .map((e) => {
        const end = Number(e.high);
        const committed = committedByPartition.get(e.partition) ?? -1;
        return {
          sourcePartition: e.partition,
          endPosition: end,
          committedPosition: committed,
          deliveredPosition: this.delivered.get(e.partition) ?? -1,
          lag: end - Math.max(committed, Number(e.low)),
        };
      })
      .sort((a, b) => a.sourcePartition - b.sourcePartition);
  }

  /** Stops fetching and waits for in-flight handler calls; the group stays joined so commit() works. */
  async stop(): Promise<void> {
    if (!this.stopping) {
      this.stopping = true;
      this.releasePauseGate();
      if (this.joins > 0) this.consumer?.pause([{ topic: this.opts.topic }]);
    }
    await Promise.allSettled([...this.inflight]);
    this.finish();
  }

  async close(): Promise<void> {
    await this.stop();
    if (this.closed) return;
    await this.commitTail.catch(() => undefined);
    this.closed = true;
    await this.disconnectQuietly();
  }

  private async disconnectQuietly(): Promise<void> {
    await Promise.allSettled([this.consumer?.disconnect(), this.admin?.disconnect()]);
  }
}
