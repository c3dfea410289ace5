/**
 * The daemon's side of scale-out (ARCHITECTURE.md, "Scale-out"), in one object: the first stage's
 * writer of partials, the second stage's merge, and the order of things at a join. The daemon calls
 * it at the points where it would otherwise send window rows or settle a rebalance.
 */
import type { DaemonLogger } from '../logger.js';
import type { RunPlan, ScaleOutPlan } from '../plan.js';
import type { SinkSender } from '../sink-sender.js';
import { MergeRunner } from './merge-runner.js';
import { SinkError } from '../../errors.js';
import { PartialsWriter } from './partials-writer.js';
import { ReplayStarts } from './replay-start.js';
import type { PartialsSinkOptions } from '../../sinks/kafka/partials-sink.js';
import type { SinkThread } from '../../sinks/thread/client.js';
import type { Source } from '../../sources/source.js';
import type { WindowRow } from '../../contracts/index.js';
import type { PartialCell } from '../../pipeline/scale-out/source-partition-split.js';

/** Where the sink thread writes the partials, or null when the plan does not scale out. */
export function partialsSinkOptions(plan: RunPlan): PartialsSinkOptions | null {
  const s = plan.scaleOut;
  return s ? { brokers: [...s.brokers], clientId: `${s.clientId}-partials`, topic: s.partialsTopic, path: 'daemon.scaleOut.partialsTopic' } : null;
}

/** Longest a revoke during a shutdown waits for the shutdown's flush (well inside a rebalance timeout). */
const FINAL_FLUSH_WAIT_MS = 10_000;

export class ScaleOut {
  private readonly writer: PartialsWriter;
  readonly merge: MergeRunner;
  private assignReady: Promise<void> = Promise.resolve();
  private readonly replay: ReplayStarts;
  private markFlushed: () => void = () => undefined;
  private readonly flushedPromise = new Promise<void>((r) => { this.markFlushed = r; });
  /** The input ended: positions are committed as they are (nothing will take the partitions over to go on). */
  private final = false;

  constructor(plan: RunPlan, scaleOut: ScaleOutPlan, sender: SinkSender, source: Source, sinks: SinkThread,
    logger: DaemonLogger, onRows: (rows: WindowRow[]) => void, onFatal: (err: Error) => void) {
    this.writer = new PartialsWriter(sender, source);
    this.merge = new MergeRunner(plan, scaleOut, sinks, logger, onRows, onFatal);
    this.replay = new ReplayStarts(scaleOut.dedupeReplayMs);
  }

  /** A chunk of `sourcePartition` is in the pipeline; `maxTsMs`: the partition's maximum event time since. */
  pushed(sourcePartition: number, startPosition: number, maxTsMs: number): void {
    this.replay.pushed(sourcePartition, startPosition, maxTsMs);
  }

  /** The position to commit for a settled one: back by the dedupe replay span (replay-start.ts), unless the input ended. */
  commitPosition(sourcePartition: number, position: number, maxTsMs: number): number {
    return this.final ? position : this.replay.commitPosition(sourcePartition, position, maxTsMs);
  }

  /** Every partition was revoked (the pipeline starts over). */
  revoked(): void {
    this.replay.forgetAll();
  }

  /**
   * The daemon stops reading: a rebalance from now on may hand it partitions it will never read, and a
   * marker naming them would tell the merge they are complete.
   */
  async freeze(): Promise<void> {
    // The last markers need the partition count: wait for the assignment's read of it first.
    await this.assignReady;
    this.writer.freeze();
  }

  /** The shutdown's last rows and partials are acknowledged: its positions can be committed. */
  flushed(): void {
    this.markFlushed();
  }

  /**
   * Resolves once the shutdown flushed (or after FINAL_FLUSH_WAIT_MS, so a failed shutdown does not hold a
   * rebalance): a revoke during the shutdown commits the positions of the finish, not earlier ones.
   */
  finalFlush(): Promise<void> {
    return Promise.race([this.flushedPromise, new Promise<void>((r) => setTimeout(r, FINAL_FLUSH_WAIT_MS).unref())]);
  }

  /** The input ended (finish): the last commits are the positions themselves. */
  finishing(): void {
    this.final = true;
  }

  /** The pipeline's onWindowPartials. */
  writePartials(cells: PartialCell[], throughMs: number): void {
    this.writer.write(cells, throughMs);
  }

  /** A join gave this member `parts`; chunks wait for ready() (the partition count must be known). */
  assigned(parts: readonly number[]): void {
    this.assignReady = this.writer.assigned(parts);
  }

  ready(): Promise<void> {
    return this.assignReady;
  }

  /**
   * The daemon ends: after a finish, the merge (if this daemon runs it) emits every window first, for
   * at most `timeoutMs`; after a stop it commits what is acknowledged. Returns the failure, if any.
   */
  async end(mode: 'finish' | 'stop', timeoutMs: number): Promise<Error | null> {
    if (mode === 'stop') {
      await this.merge.stop();
      return null;
    }
    if (await this.merge.finish(timeoutMs)) return null;
    return new SinkError('scale-out', 'the merge did not hear that every source partition ended within daemon.shutdownTimeoutMs');
  }
}
