/**
 * Scale-out, second stage, run by every daemon of the group and active in the one that owns the
 * partials topic's only partition in the consumer group `<groupId>.merge`: Kafka picks it, and hands
 * the merge to another daemon when it leaves or dies.
 *
 *   partials topic --chunk--> MergeStage.apply --takeFinal--> rows --SinkSender--> sink thread
 *        ^                                                                             | acked
 *        +---- commit(position, restart state) <--- chunks whose windows are acked ----+
 *
 * A position of the partials topic is committed once every partial before it is in an emitted and
 * acknowledged row, with the merge's restart state for that position (merge-commits.ts) in the
 * commit's metadata; the owner after a restart or a rebalance restores it and reads on from there.
 */
import type { DaemonLogger } from '../logger.js';
import type { RunPlan, ScaleOutPlan } from '../plan.js';
import { SinkSender } from '../sink-sender.js';
import { WindowAckClock } from '../offsets.js';
import { isRetriable } from '../../errors.js';
import { MergeStage } from '../../pipeline/scale-out/merge-stage.js';
import { decodeMergeState, encodeMergeState, MergeCommits } from '../../pipeline/scale-out/merge-commits.js';
import { decodePartialRecord } from '../../pipeline/scale-out/partial-records.js';
import { accumulatorLayout } from '../../kernels/window/table.js';
import { createSource } from '../../sources/create-source.js';
import type { Source, SourceChunk } from '../../sources/source.js';
import type { SinkThread } from '../../sinks/thread/client.js';
import type { WindowRow } from '../../contracts/index.js';
import type { MergeFigures } from '../metrics/scale-out-metrics.js';

/** The partials topic has one partition: source partition 0 of the merge's source. */
const PARTITION = 0;

export class MergeRunner {
  private readonly stage: MergeStage;
  private readonly clock = new WindowAckClock();
  private readonly sender: SinkSender;
  private readonly source: Source;
  private readonly commits = new MergeCommits();
  private restored: Promise<void> = Promise.resolve();
  private owned = false;
  private commitTail: Promise<void> = Promise.resolve();
  private readonly timer: NodeJS.Timeout;
  private readonly decoder = new TextDecoder();
  private rowsEmitted = 0;

  constructor(
    plan: RunPlan,
    scaleOut: ScaleOutPlan,
    private readonly sinks: SinkThread,
    private readonly logger: DaemonLogger,
    private readonly onRows: (rows: WindowRow[]) => void,
    private readonly onFatal: (err: Error) => void,
  ) {
    const a = plan.pipeline.aggregate;
    this.stage = new MergeStage({ windowSizeMs: a.window.sizeMs, groupFields: a.groupBy, layout: accumulatorLayout(a.metrics, a.hllPrecision) });
    this.sender = new SinkSender(sinks, this.clock, () => this.stage.emittedThroughMs, plan.sinks.maxInFlightBytes, onFatal);
    if (plan.source.type !== 'kafka') throw new Error('scale-out needs a Kafka source');
    const k = plan.source.kafka;
    this.source = createSource({
      type: 'kafka',
      kafka: {
        ...k,
        topic: scaleOut.partialsTopic,
        groupId: scaleOut.mergeGroupId,
        fromBeginning: true,
        memberIdFile: k.memberIdFile === null ? null : `${k.memberIdFile}.merge`,
      },
    });
    this.timer = setInterval(() => void this.commitSettled(), plan.daemon.commitIntervalMs);
    this.timer.unref();
  }

  start(): Promise<void> {
    return this.source.start((chunk) => this.onChunk(chunk), {
      onAssign: (parts) => this.onAssign(parts),
      onRevoke: () => this.onRevoke(),
      // onRevoke drops the merge's state, so a kept partition must be read again from its commit too.
      redeliverKeptPartitions: true,
    });
  }

  /** Whether this daemon runs the merge now, and what it did. */
  status(): MergeFigures {
    return { owned: this.owned, emittedThroughMs: this.stage.emittedThroughMs, pendingCells: this.stage.pendingCells,
      rowsEmitted: this.rowsEmitted, counters: this.stage.counters };
  }

  private onAssign(parts: readonly number[]): void {
    this.owned = parts.includes(PARTITION);
    this.commits.clear();
    this.restored = this.owned ? this.restore() : Promise.resolve(this.stage.restore(null));
  }

  private async restore(): Promise<void> {
    const committed = await this.source.committedPositions();
    const mine = committed.find((c) => c.sourcePartition === PARTITION);
    const state = decodeMergeState(mine?.metadata ?? null);
    this.stage.restore(state);
    this.logger.info({ position: mine?.position ?? null, emittedThroughMs: state?.emittedThroughMs ?? null }, 'scale-out: this daemon runs the merge');
  }

  private async onRevoke(): Promise<void> {
    await this.commitSettled();
    this.commits.clear();
    this.stage.restore(null);
    // What was acknowledged before counts for no chunk read after the restore.
    this.clock.reset();
    this.owned = false;
  }

  private async onChunk(chunk: SourceChunk): Promise<void> {
    await this.restored;
    try {
      for (const line of this.decoder.decode(chunk.bytes).split('\n')) {
        if (line.trim() !== '') this.stage.apply(decodePartialRecord(line));
      }
    } catch (err) {
      // The partials topic is ringflow's own: a record it cannot read means a foreign writer or a bug.
      this.onFatal(err as Error);
      throw err;
    }
    const rows = this.stage.takeFinal();
    if (rows.length > 0) {
      this.rowsEmitted += rows.length;
      this.onRows(rows);
      this.sender.sendWindows(rows);
    }
    this.commits.read(chunk.endPosition, this.stage);
  }

  /** Commits the last position whose partials are all in acknowledged rows (one round at a time). */
  commitSettled(): Promise<void> {
    const next = this.commitTail.then(() => this.commitRound());
    this.commitTail = next.catch(() => undefined);
    return next;
  }

  private async commitRound(): Promise<void> {
    const settled = this.commits.settle(this.clock.ackedThroughMs(this.stage.emittedThroughMs, this.sinks.ackedThrough));
    if (settled === null) return;
    try {
      await this.source.commit(PARTITION, settled.position, encodeMergeState(settled.state));
    } catch (err) {
      if (!isRetriable(err)) return this.onFatal(err as Error);
      // A later round commits a later position with its own state.
      this.logger.warn({ err: (err as Error).message }, 'merge offset commit failed; retrying with the next round');
    }
  }

  /**
   * Finite input: resolves true once the merge's committed state says every window is emitted (the
   * owner, this daemon or another, merged through +Infinity, had the rows acknowledged and committed),
   * false after `timeoutMs`. Every daemon waits for it, so no daemon's leaving sets off a rebalance of
   * the source partitions while another one still reads them.
   */
  async finish(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.owned && this.stage.emittedThroughMs === Infinity) {
        await this.sender.handedOver();
        await this.commitSettled();
      }
      const committed = await this.source.committedPositions().catch(() => []);
      const state = decodeMergeState(committed.find((c) => c.sourcePartition === PARTITION)?.metadata ?? null);
      if (state?.emittedThroughMs === Infinity) return true;
      await new Promise((r) => setTimeout(r, 200));
    }
    return false;
  }

  /** Stops reading; commits what is acknowledged. */
  async stop(): Promise<void> {
    await this.source.stop();
    await this.sender.handedOver();
    await this.commitSettled();
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.source.close();
  }
}
