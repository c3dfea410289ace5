/**
 * Checkpoint mode of the daemon (daemon.checkpoint.dir set; Kafka source): offsets are committed only
 * at checkpoint positions, and each commit names its checkpoint in the offset metadata.
 *
 *   take():   positions = end of every chunk handed to push() so far
 *             pipeline.serialize( drain the rings and tasks -> copy partition states + max event times )
 *             write checkpoint-<n>.bin (tmp + fsync + rename); remember the last window delivery sent
 *   commit(): once the sinks acked that delivery and the dead letters are on disk: commit the
 *             positions with {"ckpt": n}; remove checkpoints below n
 *   restore(): committed metadata names n -> load checkpoint-<n>.bin into the state buffers (before
 *             any task ran) and the max event times into the watermark; the offsets must match.
 *
 * Why this gives exact results after SIGKILL: the state at n holds exactly the effect of the events
 * before the positions (dedupe keys, open windows); windows closed before n were emitted and acked
 * before the commit; events after the positions are read again and processed from that same state,
 * in the same order (per source partition), so re-emitted windows equal the ones already stored
 * (the sinks overwrite idempotently). Ingest pauses for the drain and the copy of the state
 * (partitions x stateBytes): the price, paid every intervalMs.
 */
import { CheckpointError, ShutdownError } from '../errors.js';
import type { Pipeline } from '../pipeline/pipeline.js';
import { lastCheckpointNumber, pruneCheckpoints, readCheckpoint, writeCheckpoint, type CheckpointHeader } from './checkpoint-file.js';
import type { DaemonLogger } from './logger.js';
import type { PartitionRestartState } from './restart-state.js';

interface TakenCheckpoint {
  n: number;
  positions: Map<number, number>;
  maxTsMs: Map<number, number>;
  /** Window deliveries up to this id carry everything emitted before the checkpoint. */
  deliveryId: number;
}

export interface CheckpointerHooks {
  /** End position of the last chunk handed to push(), per source partition. */
  queuedPositions(): Map<number, number>;
  /** Resolves once every window send queued so far has its delivery id; returns the highest id. */
  lastDeliveryId(): Promise<number>;
  ackedThrough(): number;
  /** Dead letters on disk, then the commit of all positions in one request. */
  commit(positions: { sourcePartition: number; position: number; maxTsMs: number }[], checkpoint: number): Promise<void>;
}

export class Checkpointer {
  private next = 1;
  private readonly taken: TakenCheckpoint[] = [];
  private lastPositions = new Map<number, number>();
  private tail: Promise<void> = Promise.resolve();

  constructor(
    readonly dir: string,
    private readonly pipeline: Pipeline,
    private readonly hooks: CheckpointerHooks,
    private readonly logger: DaemonLogger,
  ) {}

  /** Loads the checkpoint the committed offsets name, if any. Call before the source starts. */
  async restore(restart: readonly PartitionRestartState[]): Promise<number | null> {
    this.next = (await lastCheckpointNumber(this.dir)) + 1;
    const named = restart.map((r) => r.checkpoint).filter((n): n is number => n !== null);
    if (named.length === 0) return null;
    const n = Math.max(...named);
    const cp = await readCheckpoint(this.dir, n);
    const h = cp.header;
    const rt = this.pipeline.runtime;
    const stateBytes = rt.stateBuffer(0).byteLength;
    if (h.partitions !== rt.partitions || h.stateBytes !== stateBytes) {
      throw new CheckpointError(`checkpoint ${n} in ${this.dir} was written with ${h.partitions} partitions of ${h.stateBytes} state bytes; `
        + `this pipeline has ${rt.partitions} of ${stateBytes}. Restore the old runtime/dedupe/aggregate settings, or move the folder away to start without state`);
    }
    const committed = new Map(restart.map((r) => [r.sourcePartition, r.offset]));
    for (const [sp, pos] of Object.entries(h.positions)) {
      if (committed.get(Number(sp)) !== pos) {
        throw new CheckpointError(`checkpoint ${n} holds partition ${sp} up to offset ${pos}, but the group committed ${committed.get(Number(sp)) ?? 'nothing'}; `
          + 'state and offsets disagree, refusing to resume');
      }
    }
    for (let p = 0; p < rt.partitions; p++) new Uint8Array(rt.stateBuffer(p)).set(cp.states[p]);
    for (const [sp, ts] of Object.entries(h.maxTsMs)) if (ts !== null) this.pipeline.watermark.observe(Number(sp), ts);
    this.lastPositions = new Map(Object.entries(h.positions).map(([sp, pos]) => [Number(sp), pos]));
    this.logger.info({ checkpoint: n, positions: h.positions, watermarkMs: this.pipeline.watermark.watermark }, 'restored partition state from a checkpoint');
    return n;
  }

  /** For the metrics: checkpoints written, the last one's duration and time, the last commit's time. */
  readonly stats = { taken: 0, lastDurationMs: Number.NaN, lastTakenAtMs: Number.NaN, lastCommittedAtMs: Number.NaN, lastBytes: 0 };

  /** Takes a checkpoint unless nothing was ingested since the last one. One at a time. */
  take(): Promise<void> {
    const next = this.tail.then(() => this.takeNow());
    this.tail = next.catch(() => undefined);
    return next;
  }

  private async takeNow(): Promise<void> {
    // Read synchronously before serialize(): every push queued before is processed when the work runs.
    // Partitions without a chunk since the restore keep their checkpointed position: every checkpoint
    // names every partition, so committing it never leaves one behind on an older (pruned) checkpoint.
    const positions = new Map([...this.lastPositions, ...this.hooks.queuedPositions()]);
    if (positions.size === 0 || samePositions(positions, this.lastPositions)) return;
    const rt = this.pipeline.runtime;
    const startedMs = performance.now();
    const states: Uint8Array[] = [];
    const maxTsMs = new Map<number, number>();
    let held = false;
    await this.pipeline.serialize(async () => {
      // Held lines are in no state and past the positions: such a checkpoint would lose them.
      held = this.pipeline.holdsLines;
      if (held) return;
      await rt.drain();
      for (let p = 0; p < rt.partitions; p++) states.push(new Uint8Array(rt.stateBuffer(p)).slice());
      for (const sp of positions.keys()) maxTsMs.set(sp, this.pipeline.watermark.maxEventTimeOf(sp));
    });
    if (held) return;
    const deliveryId = await this.hooks.lastDeliveryId();
    const n = this.next++;
    const header: CheckpointHeader = {
      version: 1, n, createdAtMs: Date.now(), partitions: rt.partitions, stateBytes: states[0]?.byteLength ?? 0,
      positions: Object.fromEntries(positions),
      maxTsMs: Object.fromEntries([...maxTsMs].map(([sp, ts]) => [sp, Number.isFinite(ts) ? ts : null])),
    };
    await writeCheckpoint(this.dir, { header, states });
    this.lastPositions = positions;
    this.taken.push({ n, positions, maxTsMs, deliveryId });
    this.stats.taken++;
    this.stats.lastDurationMs = performance.now() - startedMs;
    this.stats.lastTakenAtMs = header.createdAtMs;
    this.stats.lastBytes = states.reduce((a, s) => a + s.byteLength, 0);
  }

  /** Commits the newest checkpoint whose window deliveries are all acknowledged. */
  async commitReady(): Promise<void> {
    const acked = this.hooks.ackedThrough();
    let ready: TakenCheckpoint | undefined;
    while (this.taken.length > 0 && this.taken[0].deliveryId <= acked) ready = this.taken.shift();
    if (!ready) return;
    const r = ready;
    await this.hooks.commit([...r.positions].map(([sourcePartition, position]) => ({ sourcePartition, position, maxTsMs: r.maxTsMs.get(sourcePartition)! })), r.n);
    this.stats.lastCommittedAtMs = Date.now();
    // The broker names r.n now; newer ones are kept until they are committed in turn.
    await pruneCheckpoints(this.dir, r.n);
  }

  /** Final checkpoint of a graceful stop, committed once the sinks acked everything (they were flushed). */
  async final(): Promise<void> {
    await this.take();
    await this.commitReady();
    if (this.taken.length > 0) throw new ShutdownError(`checkpoint ${this.taken[0].n} could not be committed: its window deliveries are not acknowledged`);
  }

  /** The partition was revoked: later checkpoints leave it out (its next owner resumes it). */
  forget(sourcePartition: number): void {
    this.lastPositions.delete(sourcePartition);
  }

  get pending(): number {
    return this.taken.length;
  }
}

function samePositions(a: Map<number, number>, b: Map<number, number>): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) if (b.get(k) !== v) return false;
  return true;
}
