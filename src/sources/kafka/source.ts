/**
 * Kafka source: a kafkajs consumer group on one topic or several, run on a dedicated consumer thread
 * (consumer-thread.ts) so fetching and record-batch decoding overlap with the pipeline's work
 * on the main thread. Each fetched partition batch becomes one chunk (chunk.ts) whose buffer
 * moves to this thread; this class hands chunks to the handler — one at a time per partition, at
 * most partitionsConsumedConcurrently at once, none while paused — and moves each buffer back
 * once the handler settled. A few chunks may wait here (the consumer thread fetches ahead).
 *
 * Offsets, three of them per partition:
 *   resolved  (kafkajs, consumer thread) = where the next fetch starts; moved once a chunk is posted
 *   delivered (here)                     = end of the last chunk whose handler call settled
 *   committed (broker)                   = what the pipeline confirmed through commit(); a restart resumes here
 * Nothing is committed by kafkajs itself: only commit(), called once the sinks acked.
 *
 * Heartbeats: the consumer thread heartbeats while it waits for chunks to come back (a handler
 * held on ring backpressure, a paused source), so the member is not evicted (tulios/kafkajs#387).
 *
 * Rebalances: kafkajs uses the eager protocol, so every rebalance revokes all partitions. Before
 * the consumer re-joins — however kafkajs noticed the rebalance — it asks this thread to settle:
 * queued chunks are dropped, in-flight handler calls finish, hooks.onRevoke(all owned partitions)
 * runs to completion, and only then is the JoinGroup sent, so the next owner starts from offsets
 * the pipeline committed. Chunks dropped here are fetched again after the join; messages below the
 * delivered position of a partition kept are skipped, so the handler never sees an offset twice.
 *
 * Several topics: every partition of every topic is one source partition with its own number
 * (topic-partitions.ts), so watermarks, commits and checkpoints work per partition as with one topic.
 */
import { RingflowError, SourceError } from '../../errors.js';
import { KafkaConsumerClient, type ConsumerThreadListener } from './consumer-client.js';
import { readCommittedOffsets } from './committed-offsets.js';
import { MemberIdFile } from './member-id-file.js';
import type { ChunkMessage, CommitOffset, KafkaSourceOptions, ResolvedKafkaSourceOptions } from './thread-protocol.js';
import { SourceBase, deferred, type Deferred } from '../source-base.js';
import { isPromiseLike, type ChunkHandler, type CommittedPosition, type PartitionLag, type Source, type SourceChunk, type SourceGroupState, type SourceHooks } from '../source.js';

export type { KafkaSourceOptions } from './thread-protocol.js';

/** Group membership counters, for tests and metrics. */
export type KafkaGroupState = SourceGroupState;

/** kafkajs error types of a group coordinator not ready yet: start() waits for kafkajs's restart. */
const COORDINATOR_NOT_READY = new Set(['COORDINATOR_LOAD_IN_PROGRESS', 'COORDINATOR_NOT_AVAILABLE', 'NOT_COORDINATOR']);
const MAX_RESTARTS_WHILE_STARTING = 10;

/** Chunks fetched ahead of the pipeline, besides one per partition in flight: enough to overlap fetch and handling. */
const CHUNKS_AHEAD = 2;

export class KafkaSource extends SourceBase implements Source {
  readonly kind = 'kafka' as const;
  private readonly opts: ResolvedKafkaSourceOptions;
  private thread: KafkaConsumerClient | null = null;
  private started: Deferred<void> | null = null;
  private assigned: number[] = [];
  private memberId = '';
  private recordBlockDecoder = false;
  private joins = 0;
  private rebalances = 0;
  private restartedCrashes = 0;
  private droppedCommits = 0;
  /** Chunks received and not yet handed to the handler, in arrival order. */
  private queue: ChunkMessage[] = [];
  /** Partitions with a handler call in flight. */
  private readonly busy = new Set<number>();
  private readonly inflight = new Set<Promise<void>>();
  /** A settle for a re-join in progress; no delivery starts meanwhile. */
  private settling: Promise<void> | null = null;
  /** joins count at the last onRevoke, so one rebalance settles once. */
  private revokedAtJoin = -1;
  private readonly wantCommit = new Map<number, number>();
  private readonly wantMetadata = new Map<number, string>();
  private commitTail: Promise<void> = Promise.resolve();
  private readonly memberFile: MemberIdFile | null;

  constructor(options: KafkaSourceOptions) {
    super();
    this.opts = {
      clientId: options.clientId ?? `ringflow-${options.groupId}`,
      brokers: options.brokers,
      topics: typeof options.topic === 'string' ? [options.topic] : [...options.topic],
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
      memberIdFile: options.memberIdFile ?? null,
    };
    this.memberFile = this.opts.memberIdFile === null ? null : new MemberIdFile(this.opts.memberIdFile, this.opts.groupId);
  }

  /** Resolves once the consumer joined its group; rejects with a SourceError when it cannot start. */
  async start(handler: ChunkHandler, hooks: SourceHooks = {}): Promise<void> {
    if (this.handler) throw new SourceError('kafka', 'start() called twice');
    this.handler = handler;
    this.hooks = hooks;
    this.started = deferred<void>();
    const maxOutstandingChunks = this.opts.partitionsConsumedConcurrently + CHUNKS_AHEAD;
    const rejoinAsMemberId = (await this.memberFile?.previous()) ?? null;
    this.thread = KafkaConsumerClient.start({ options: this.opts, maxOutstandingChunks, rejoinAsMemberId }, this.listener());
    if (this.isPaused()) this.thread.post({ t: 'pause' });
    try {
      await this.started.promise;
    } catch (err) {
      this.stopping = true;
      await this.thread.close().catch(() => undefined);
      throw err instanceof SourceError ? err : new SourceError('kafka', `cannot start consumer for ${this.opts.topics.join(', ')}: ${(err as Error).message}`, { cause: err, retriable: true });
    }
  }

  /** The group's committed offsets with their metadata (an admin request; call before start()). */
  override committedPositions(): Promise<CommittedPosition[]> {
    return readCommittedOffsets(this.opts);
  }

  override groupState(): KafkaGroupState {
    return {
      memberId: this.memberId,
      assigned: [...this.assigned],
      joins: this.joins,
      rebalances: this.rebalances,
      droppedCommits: this.droppedCommits,
      restartedCrashes: this.restartedCrashes,
      recordBlockDecoder: this.recordBlockDecoder,
    };
  }

  /** Fault injection for tests: ends the consumer thread as a crash would. */
  async killConsumerThreadForTest(): Promise<void> {
    await this.thread?.kill();
  }

  private listener(): ConsumerThreadListener {
    return {
      chunk: (m) => this.onChunk(m),
      joined: (memberId, partitions, recordBlockDecoder) => {
        this.recordBlockDecoder = recordBlockDecoder;
        this.onGroupJoin(memberId, partitions);
      },
      rebalancing: () => void this.rebalances++,
      revoke: (id) => void this.settleForRejoin().then(() => this.thread?.settled(id, [...this.delivered])),
      startFailed: (err) => this.started?.reject(err),
      crash: (err, restart) => {
        if (restart) this.restartedCrashes++;
        // kafkajs restarts the consumer from a retriable crash itself (and logs it). Once running, it
        // goes on. While starting, start() waits for the join that follows only when the cause is the
        // group coordinator not being ready yet (right after a broker starts, seen in CI), a bounded
        // number of times; any other crash fails start() at once, as before.
        const type = (err.cause as { type?: unknown } | undefined)?.type;
        const transientWhileStarting = typeof type === 'string' && COORDINATOR_NOT_READY.has(type) && this.restartedCrashes <= MAX_RESTARTS_WHILE_STARTING;
        if (restart && (this.joins > 0 || transientWhileStarting)) return;
        this.started?.reject(err);
        if (!restart) this.fail(err);
      },
      died: (err) => {
        this.started?.reject(err);
        this.fail(err);
      },
    };
  }

  private onGroupJoin(memberId: string, partitions: number[]): void {
    const kept = new Set(partitions);
    for (const p of this.assigned) {
      // Another member owns it now and starts from the committed offset.
      if (!kept.has(p)) this.delivered.delete(p);
    }
    this.dropQueued((m) => !kept.has(m.partition));
    this.memberId = memberId;
    this.assigned = [...partitions].sort((a, b) => a - b);
    this.joins++;
    this.memberFile?.joined(memberId).catch(() => undefined);
    this.hooks.onAssign?.(this.assigned);
    this.started?.resolve();
  }

  private onChunk(m: ChunkMessage): void {
    if (this.stopping) return this.thread!.chunkDone(m.buffer);
    this.queue.push(m);
    this.pump();
  }

  /** Starts handler calls for queued chunks of idle partitions, in arrival order. */
  private pump(): void {
    if (this.stopping || this.settling || this.isPaused()) return;
    for (let i = 0; i < this.queue.length && this.busy.size < this.opts.partitionsConsumedConcurrently; ) {
      const m = this.queue[i];
      if (this.busy.has(m.partition)) {
        i++;
        continue;
      }
      this.queue.splice(i, 1);
      this.deliver(m);
      if (this.stopping || this.isPaused()) return;
    }
  }

  private deliver(m: ChunkMessage): void {
    const p = m.partition;
    const chunk: SourceChunk = {
      bytes: new Uint8Array(m.buffer, 0, m.length),
      sourcePartition: p,
      startPosition: m.startOffset,
      endPosition: m.endOffset,
      lineCount: -1,
    };
    this.busy.add(p);
    let out: ReturnType<ChunkHandler>;
    try {
      out = this.handler!(chunk);
    } catch (err) {
      return this.failHandler(m, err);
    }
    if (!isPromiseLike(out)) return this.handled(m, false);
    const pending = Promise.resolve(out).then(
      () => this.handled(m, true),
      (err) => this.failHandler(m, err),
    );
    this.inflight.add(pending);
    void pending.finally(() => this.inflight.delete(pending));
  }

  /** The pipeline holds the chunk's events now: count it, hand the buffer back, go on. */
  private handled(m: ChunkMessage, repump: boolean): void {
    this.busy.delete(m.partition);
    this.countDelivery(m.partition, m.endOffset, m.length);
    this.thread!.chunkDone(m.buffer);
    if (repump) this.pump();
  }

  /** The pipeline refused a chunk: stop this source (the contract); the chunk stays uncommitted. */
  private failHandler(m: ChunkMessage, err: unknown): void {
    this.busy.delete(m.partition);
    this.thread!.chunkDone(m.buffer);
    this.fail(new SourceError('kafka', `handler failed on partition ${m.partition}: ${(err as Error)?.message ?? err}`, { cause: err }));
  }

  private fail(err: RingflowError): void {
    this.halt();
    this.finish(err);
  }

  /** Stop delivering: the consumer thread stops fetching, queued chunks go back unhandled. */
  private halt(): void {
    if (this.stopping) return;
    this.stopping = true;
    this.releasePauseGate();
    this.thread?.post({ t: 'stop' });
    this.dropQueued(() => true);
  }

  private dropQueued(which: (m: ChunkMessage) => boolean): void {
    const keep: ChunkMessage[] = [];
    for (const m of this.queue) {
      if (which(m)) this.thread?.chunkDone(m.buffer);
      else keep.push(m);
    }
    this.queue = keep;
  }

  /**
   * Before the consumer re-joins: queued chunks are dropped (fetched again after the join), in-flight
   * ones finish, and hooks.onRevoke settles every owned partition once per join.
   */
  private settleForRejoin(): Promise<void> {
    if (this.settling) return this.settling;
    const settle = (async () => {
      this.dropQueued(() => true);
      await Promise.allSettled([...this.inflight]);
      if (this.revokedAtJoin === this.joins || !this.hooks.onRevoke || this.assigned.length === 0) return;
      this.revokedAtJoin = this.joins;
      await this.hooks.onRevoke([...this.assigned]);
      // The handler dropped its state: nothing counts as delivered, kept partitions resume at their commits.
      if (this.hooks.redeliverKeptPartitions) this.delivered.clear();
    })()
      .catch((err: unknown) => this.fail(err instanceof RingflowError ? err : new SourceError('kafka', `onRevoke failed: ${(err as Error)?.message ?? err}`, { cause: err })))
      .finally(() => {
        this.settling = null;
        this.pump();
      });
    this.settling = settle;
    return settle;
  }

  protected override onPause(): void {
    this.thread?.post({ t: 'pause' });
  }

  protected override onResume(): void {
    this.thread?.post({ t: 'resume' });
    this.pump();
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
    const batch: CommitOffset[] = [];
    for (const [partition, position] of this.wantCommit) {
      if (position <= (this.committed.get(partition) ?? -1)) continue;
      const metadata = this.wantMetadata.get(partition);
      batch.push({ partition, offset: String(position), ...(metadata !== undefined ? { metadata } : {}) });
    }
    this.wantCommit.clear();
    this.wantMetadata.clear();
    if (batch.length === 0) return;
    if (!this.thread || this.closed) throw new SourceError('kafka', 'commit after close()');
    try {
      await this.thread.request('offset commit failed', { t: 'commit', offsets: batch });
    } catch (err) {
      for (const { partition, offset, metadata } of batch) {
        if (Number(offset) > (this.wantCommit.get(partition) ?? -1)) {
          this.wantCommit.set(partition, Number(offset));
          if (metadata !== undefined) this.wantMetadata.set(partition, metadata);
        }
      }
      const cause = (err as Error).cause ?? err;
      throw new SourceError('kafka', `offset commit failed: ${(cause as Error).message}`, { cause, retriable: true, details: { offsets: batch } });
    }
    for (const { partition, offset } of batch) this.committed.set(partition, Number(offset));
  }

  /** Per partition: high watermark, the group's committed offset on the broker, what was delivered. */
  override async lag(): Promise<PartitionLag[]> {
    if (!this.thread) return [];
    const reply = await this.thread.request('lag', { t: 'lag' });
    return (reply.lag ?? [])
      .map((e) => ({
        sourcePartition: e.partition,
        endPosition: e.high,
        committedPosition: e.committed,
        deliveredPosition: this.delivered.get(e.partition) ?? -1,
        lag: e.high - Math.max(e.committed, e.low),
      }))
      .sort((a, b) => a.sourcePartition - b.sourcePartition);
  }

  /** Stops fetching and waits for in-flight handler calls; the group stays joined so commit() works. */
  async stop(): Promise<void> {
    this.halt();
    await Promise.allSettled([...this.inflight]);
    this.finish();
  }

  async close(): Promise<void> {
    await this.stop();
    if (this.closed) return;
    await this.commitTail.catch(() => undefined);
    this.closed = true;
    // The consumer thread leaves the group as it closes: a next run joins as a new member.
    const left = await this.thread?.close().then(() => true, () => false);
    if (left) await this.memberFile?.left().catch(() => undefined);
  }
}
