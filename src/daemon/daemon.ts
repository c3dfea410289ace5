/**
 * The daemon: one configured source -> the pipeline -> the sink thread, with offsets committed only
 * once the sinks acknowledged everything derived from the events before them (offsets.ts), and the
 * watermark state stored with each Kafka commit (restart-state.ts).
 *
 *   source chunk --push--> pipeline (rings, workers) --onWindowRows--> SinkSender -> SinkThread
 *        |                        |                                        | acked (delivery id)
 *        +--(end, bound)--> OffsetTracker <--acked-through event time-- WindowAckClock
 *                                 | every commitIntervalMs: settled positions
 *                                 +--> dead letters fsync'ed --> source.commit(p, position, metadata)
 *
 * How it ends (finish, stop) and restarts after a crash (default, checkpoint mode): ARCHITECTURE.md,
 * "Ending and restarting"; with several daemons in one group: "Scale-out".
 * Re-emitted windows overwrite the stored ones (ReplacingMergeTree + FINAL, Redis HSET/ZADD); dead
 * letters and alerts of the re-read range are written again (at-least-once; alert_id is stable).
 */
import type { DaemonLogger } from './logger.js';
import type { RunPlan } from './plan.js';
import { isRetriable, SinkError } from '../errors.js';
import { CaughtUpWatch } from './caught-up.js';
import { SinkSender } from './sink-sender.js';
import { Checkpointer } from './checkpointer.js';
import { InputDeadLetterFile } from './input-dead-letter.js';
import { decideHeldLines, OffsetTracker, recordPush, WindowAckClock } from './offsets.js';
import { encodeCommitMetadata, restartStateFrom, restoredMaxTsMs } from './restart-state.js';
import { WindowAssigner } from '../kernels/window/assign.js';
import { Pipeline, type PipelineStats } from '../pipeline/pipeline.js';
import { SinkThread } from '../sinks/thread/client.js';
import { createSource } from '../sources/create-source.js';
import type { Source, SourceChunk, SourceGroupState } from '../sources/source.js';
import type { IngestCounts } from '../contracts/index.js';
import { LastWindow } from './metrics/last-window.js';
import type { MetricsView } from './metrics/daemon-metrics.js';
import { oncePerScrape } from './metrics/once-per-scrape.js';
import { readiness } from './metrics/readiness.js';
import { LineTerminators } from './line-terminators.js';
import { partialsSinkOptions, ScaleOut } from './scale-out/scale-out.js';

export interface DaemonOptions {
  plan: RunPlan;
  logger: DaemonLogger;
  /** Log level of the sink thread. Default: the logger's level. */
  sinkLogLevel?: string;
}

export type EndMode = 'finish' | 'stop';

export interface DaemonSummary {
  mode: EndMode;
  stats: PipelineStats;
  /** Last committed position per source partition. */
  committed: Record<number, number>;
  deadLetterRecords: number;
  /** Chunks whose windows were not all emitted and acked; re-read after a restart. */
  unsettledChunks: number;
}

export class Daemon {
  private readonly offsets = new OffsetTracker();
  private readonly clock = new WindowAckClock();
  private readonly assigner: WindowAssigner;
  private commitTail: Promise<void> = Promise.resolve();
  private readonly committed = new Map<number, number>();
  /** Settled positions whose commit failed with a retriable error; the next round commits them. */
  private readonly uncommitted: { sourcePartition: number; position: number; maxTsMs: number }[] = [];
  private readonly commitTimer: NodeJS.Timeout;
  private readonly checkpointTimer: NodeJS.Timeout | null = null;
  /** End position of the last chunk handed to push(), per source partition. */
  private readonly queuedEnd = new Map<number, number>();
  private readonly terminators = new LineTerminators();
  /** Moves at every revoke and assignment, NaN during a revoke: a caught-up poll overlapping one decides nothing (caught-up.ts). */
  private membershipEpoch = 0;
  private revokes = 0;
  private assigns = 0;
  private readonly checkpointer: Checkpointer | null = null;
  private readonly caughtUp: CaughtUpWatch;
  private readonly sender: SinkSender;
  private fatal: Error | undefined;
  private readonly fatalListeners: ((err: Error) => void)[] = [];
  private stopRequested = false;
  private shuttingDown = false;
  private readonly lastWindow = new LastWindow();
  private readonly stopListeners: (() => void)[] = [];
  /** Scale-out (plan.scaleOut): partials instead of window rows, and the merge; null when off. */
  readonly scaleOut: ScaleOut | null = null;

  private constructor(
    readonly plan: RunPlan,
    private readonly logger: DaemonLogger,
    readonly pipeline: Pipeline,
    private readonly sinks: SinkThread,
    private readonly deadLetters: InputDeadLetterFile,
    readonly source: Source,
  ) {
    this.assigner = new WindowAssigner(plan.pipeline.aggregate.window);
    this.sender = new SinkSender(sinks, this.clock, () => pipeline.emittedThroughMs, plan.sinks.maxInFlightBytes, (err) => this.setFatal(err));
    this.commitTimer = setInterval(() => void this.commitSettled(), plan.daemon.commitIntervalMs);
    this.commitTimer.unref();
    this.caughtUp = new CaughtUpWatch(source, pipeline, {
      pollIntervalMs: plan.daemon.caughtUpPollMs,
      idleCloseMs: plan.daemon.idleCloseMs,
      epoch: () => this.membershipEpoch,
      onError: (err) => logger.warn({ err: err.message }, 'cannot read the source\'s end positions; partitions stay not caught up'),
    });
    const cp = plan.daemon.checkpoint;
    if (cp.dir !== null) {
      this.checkpointer = new Checkpointer(cp.dir, pipeline, {
        queuedPositions: () => new Map(this.queuedEnd),
        lastDeliveryId: () => this.sender.lastDeliveryId(),
        ackedThrough: () => this.sinks.ackedThrough,
        commit: (positions, n) => this.commitPositions(positions, Number.NEGATIVE_INFINITY, n),
      }, logger);
      this.checkpointTimer = setInterval(() => void this.checkpointer!.take().catch((err: Error) => this.setFatal(err)), cp.intervalMs);
      this.checkpointTimer.unref();
    }
    if (plan.scaleOut) {
      this.scaleOut = new ScaleOut(plan, plan.scaleOut, this.sender, source, sinks, logger,
        (rows) => this.lastWindow.note(rows), (err) => this.setFatal(err));
    }
  }

  static async start(opts: DaemonOptions): Promise<Daemon> {
    const plan = opts.plan;
    const log = opts.logger;
    const source = createSource(plan.source);
    // Read before the source starts: the restored watermark must be in place before the first chunk.
    const restart = restartStateFrom(await source.committedPositions());
    const deadLetters = new InputDeadLetterFile(plan.daemon.deadLetterPath);
    const sinks = await SinkThread.start({
      config: plan.sinks,
      shape: plan.windowShape,
      logLevel: opts.sinkLogLevel ?? log.level,
      partials: partialsSinkOptions(plan),
    });
    let daemon: Daemon | undefined;
    let pipeline: Pipeline;
    try {
      pipeline = await Pipeline.create(plan.pipeline, {
        onWindowRows: (rows) => {
          daemon!.lastWindow.note(rows);
          daemon!.sender.sendWindows(rows);
        },
        onWindowPartials: (cells, throughMs) => daemon!.scaleOut!.writePartials(cells, throughMs),
        onEvents: plan.pipeline.processor.events ? (batch) => daemon!.sender.sendEvents(batch) : undefined,
        onDeadLetter: (entry) => deadLetters.add(entry),
        logger: log,
      });
    } catch (err) {
      await sinks.close().catch(() => undefined);
      await deadLetters.close().catch(() => undefined);
      await source.close().catch(() => undefined);
      throw err;
    }
    daemon = new Daemon(plan, log, pipeline, sinks, deadLetters, source);
    // Dead-lettered results are not in their destination: committing past them would lose them for good.
    sinks.onDeadLetter((e) => daemon!.setFatal(new SinkError(e.sink,
      `${e.rows} rows went to the sinks' dead letter (${e.code}: ${e.message}); offsets are no longer committed`)));
    try {
      // Before the source starts: no task has run, so the state buffers can still be loaded.
      const fromCheckpoint = daemon.checkpointer ? await daemon.checkpointer.restore(restart) : null;
      // Scale-out re-reads from the replay start, whose windows the merge has: no watermark to restore.
      if (fromCheckpoint === null && restart.length > 0 && !plan.scaleOut) {
        for (const s of restart) pipeline.watermark.observe(s.sourcePartition, restoredMaxTsMs(s, plan.outOfOrdernessMs));
        log.info({ partitions: restart, watermarkMs: pipeline.watermark.watermark }, 'restored the watermark from the committed offsets');
      }
      await source.start((chunk) => daemon!.onChunk(chunk), {
        onRevoke: (parts) => daemon!.onRevoke(parts),
        onAssign: (parts) => daemon!.onAssign(parts),
        redeliverKeptPartitions: daemon.scaleOut !== null,
      });
      await daemon.scaleOut?.merge.start();
    } catch (err) {
      await daemon.closeAll();
      throw err;
    }
    log.info({ source: plan.source.type, sinks: plan.sinkNames }, 'ringflow running');
    return daemon;
  }

  /** Resolves when the source ended on its own (finite input); rejects when it failed. */
  sourceEnded(): Promise<void> {
    return this.source.finished();
  }

  /** A failure that must end the daemon (a sink failed for good, a commit failed). */
  onFatal(listener: (err: Error) => void): void {
    this.fatalListeners.push(listener);
    if (this.fatal) listener(this.fatal);
  }

  /** Every assigned source partition has read to its end (polled; see caught-up.ts). */
  onAllCaughtUp(listener: () => void): void {
    this.caughtUp.onAllCaughtUp(listener);
  }

  /** --max-events reached on a source that does not end by itself. */
  onStopRequested(listener: () => void): void {
    this.stopListeners.push(listener);
  }

  private async onChunk(chunk: SourceChunk): Promise<IngestCounts> {
    // Workers produce events faster than a sink may take them: hold ingest (and so the source) while the
    // queue in front of the sink thread holds more than its own in-flight bound.
    await this.sender.roomForEvents();
    if (this.scaleOut) await this.scaleOut.ready();
    const p = chunk.sourcePartition;
    this.queuedEnd.set(p, chunk.endPosition);
    const stream = this.pipeline.openStream(p);
    const counts = await stream.push(this.terminators.terminated(p, chunk.bytes));
    const maxTs = recordPush(this.offsets, p, chunk.endPosition, stream, this.pipeline.watermark, this.assigner, this.plan.allowedLatenessMs);
    this.scaleOut?.pushed(p, chunk.startPosition, maxTs);
    const maxEvents = this.plan.maxEvents;
    if (maxEvents > 0 && !this.stopRequested && this.pipeline.stats().input >= maxEvents && this.plan.source.type !== 'generator') {
      this.stopRequested = true;
      for (const l of this.stopListeners) l();
    }
    return counts;
  }

  private setFatal(err: Error): void {
    if (this.fatal) return;
    this.fatal = err;
    this.logger.error({ err: err.message }, 'fatal: results can no longer be delivered; offsets are no longer committed');
    for (const l of this.fatalListeners) l(err);
    this.sender.fail();
  }

  /** Commits every settled position (one commit round at a time). */
  commitSettled(): Promise<void> {
    const next = this.commitTail.then(() => this.commitRound());
    this.commitTail = next.catch(() => undefined);
    return next;
  }

  private async commitRound(): Promise<void> {
    if (this.fatal) return;
    // Not while shutting down: held lines then stay uncommitted and are read again.
    if (!this.shuttingDown) await decideHeldLines(this.pipeline, this.offsets, this.assigner, this.plan.allowedLatenessMs);
    const ackedMs = this.clock.ackedThroughMs(this.pipeline.emittedThroughMs, this.sinks.ackedThrough);
    // Positions a retriable failure left uncommitted go first (the source keeps the highest per partition).
    const settled = [...this.uncommitted.splice(0), ...this.offsets.settle(ackedMs)];
    try {
      // Checkpoint mode commits checkpoint positions only (the settled ones would outrun the state).
      if (this.checkpointer) await this.checkpointer.commitReady();
      else if (settled.length > 0) await this.commitPositions(settled, ackedMs, null);
    } catch (err) {
      // A broker restart or a coordinator moving is retriable: the next round commits these again.
      if (!isRetriable(err)) return this.setFatal(err as Error);
      if (!this.checkpointer) this.uncommitted.push(...settled);
      this.logger.warn({ err: (err as Error).message }, 'offset commit failed; retrying with the next commit round');
    }
  }

  /** Dead letters to disk first, then every partition's position in one commit request. */
  private async commitPositions(positions: { sourcePartition: number; position: number; maxTsMs: number }[], floorMs: number, checkpoint: number | null): Promise<void> {
    await this.deadLetters.flush();
    const source = this.source;
    // Scale-out commits the dedupe replay start instead (scale-out/replay-start.ts).
    const at = positions.map((s) => ({ ...s, position: this.scaleOut?.commitPosition(s.sourcePartition, s.position, s.maxTsMs) ?? s.position }));
    await Promise.all(at.map((s) => source.commit(s.sourcePartition, s.position, encodeCommitMetadata(s.maxTsMs, floorMs, checkpoint))));
    for (const s of at) this.committed.set(s.sourcePartition, s.position);
  }

  /**
   * Partitions leave this member: commit what is settled; their unsettled chunks are read again by the
   * next owner. One daemon per group: events of those chunks in open windows are still emitted here.
   * Scale-out: the pipeline starts over from the committed offsets (ARCHITECTURE.md, "Scale-out").
   */
  private async onRevoke(parts: readonly number[]): Promise<void> {
    this.membershipEpoch = Number.NaN;
    try {
      await this.settleRevoked(parts);
    } finally {
      this.membershipEpoch = ++this.revokes;
    }
  }

  private async settleRevoked(parts: readonly number[]): Promise<void> {
    // Scale-out, shutting down: this may be the last commit these partitions get from here (the source drops
    // later ones of partitions moved away), so it waits for the finish's positions; the state stays as it is.
    if (this.scaleOut && this.shuttingDown) await this.scaleOut.finalFlush();
    await this.commitSettled();
    if (this.scaleOut && this.shuttingDown) return;
    // Scale-out: start over from the committed offsets, kept partitions too (see ARCHITECTURE.md, "Scale-out").
    if (this.scaleOut) {
      await this.pipeline.resetState();
      this.clock.reset();
      this.scaleOut.revoked();
    }
    for (const p of parts) {
      this.offsets.forget(p);
      this.queuedEnd.delete(p);
      this.checkpointer?.forget(p);
      this.pipeline.closeStream(p);
    }
    const kept = this.uncommitted.filter((u) => !parts.includes(u.sourcePartition));
    this.uncommitted.splice(0, this.uncommitted.length, ...kept);
  }

  /**
   * Partitions assigned to this member (the full set after each join): each holds the watermark back
   * from now on, as not caught up until the next poll of the end offsets says otherwise.
   */
  private onAssign(parts: readonly number[]): void {
    this.membershipEpoch = -++this.assigns;
    // Scale-out, shutting down: partitions handed over now are not read here (their markers are frozen).
    if (this.scaleOut && this.shuttingDown) return;
    if (this.scaleOut) {
      this.logger.info({ partitions: parts }, 'scale-out: assigned source partitions');
      this.pipeline.closeStreamsBut(parts);
      this.scaleOut.assigned(parts);
    }
    for (const p of parts) this.pipeline.assignStream(p, false);
    void this.caughtUp.poll();
  }

  status(): { stats: PipelineStats; unsettledChunks: number; committed: Record<number, number>; outstandingWindowDeliveries: number; group: SourceGroupState | null } {
    return {
      stats: this.pipeline.stats(),
      unsettledChunks: this.offsets.unsettledChunks,
      committed: Object.fromEntries(this.committed),
      outstandingWindowDeliveries: this.clock.outstanding,
      group: this.source.groupState(),
    };
  }

  /** What the metrics endpoints read (metrics/daemon-metrics.ts), all at scrape time. */
  metricsView(): MetricsView {
    // The sink metrics and the readiness of one scrape share one request to the sink thread.
    const sinkCounters = oncePerScrape(async () => (await this.sinks.counters()).sinks);
    return {
      status: () => this.status(),
      lag: () => this.source.lag(),
      sinkCounters,
      deadLettersByReason: () => this.deadLetters.byReason,
      runtime: () => ({ ...this.pipeline.runtime.metrics(), openWindowCells: this.pipeline.openWindowCells() }),
      checkpoint: () => this.checkpointer?.stats ?? null,
      ...(this.scaleOut ? { scaleOut: () => this.scaleOut!.merge.status() } : {}),
      lastWindow: (limit) => this.lastWindow.top(limit),
      readiness: () => readiness({ fatal: this.fatal, shuttingDown: this.shuttingDown, group: this.source.groupState() }, sinkCounters),
    };
  }

  /** Ends the daemon (see the header for the two modes); closes everything. */
  async shutdown(mode: EndMode): Promise<DaemonSummary> {
    this.shuttingDown = true;
    await this.scaleOut?.freeze();
    try {
      await this.caughtUp.stop();
      await this.source.stop();
      if (mode === 'finish') {
        this.scaleOut?.finishing();
        await this.pipeline.finish();
        // finish() decided every held line: their chunks settle with the final windows.
        this.offsets.releasedAll((p) => ({ boundMs: Number.POSITIVE_INFINITY, maxTsMs: this.pipeline.watermark.maxEventTimeOf(p) }));
      }
      else await this.pipeline.serialize(() => this.pipeline.runtime.drain());
      await this.sender.handedOver();
      await this.sinks.flush();
      this.scaleOut?.flushed();
      if (this.checkpointer && mode === 'stop' && !this.fatal) {
        if (this.checkpointTimer) clearInterval(this.checkpointTimer);
        await this.commitTail;
        await this.checkpointer.final();
      } else {
        await this.commitSettled();
      }
      // Scale-out: leave the group before waiting for the merge, so no partition is handed to a daemon that stopped reading.
      if (this.scaleOut) await this.source.close();
      const mergeFailure = await this.scaleOut?.end(mode, this.plan.daemon.shutdownTimeoutMs);
      if (mergeFailure) this.setFatal(mergeFailure);
      if (this.fatal) throw this.fatal;
      return {
        mode,
        stats: this.pipeline.stats(),
        committed: Object.fromEntries(this.committed),
        deadLetterRecords: this.deadLetters.records,
        unsettledChunks: this.offsets.unsettledChunks,
      };
    } finally {
      await this.closeAll();
    }
  }

  private async closeAll(): Promise<void> {
    clearInterval(this.commitTimer);
    await this.scaleOut?.merge.close().catch(() => undefined);
    if (this.checkpointTimer) clearInterval(this.checkpointTimer);
    await this.caughtUp.stop();
    const results = await Promise.allSettled([
      this.source.close(),
      this.sinks.close(),
      this.deadLetters.close(),
    ]);
    await this.pipeline.close().catch(() => undefined);
    for (const r of results) if (r.status === 'rejected') this.logger.warn({ err: String(r.reason) }, 'error while closing');
  }
}
