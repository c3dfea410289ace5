/**
 * The shared-memory runtime: partition rings + partitioner on the main thread, a piscina pool that
 * runs at most one task per partition at a time (partition state lives in shared memory, so any
 * worker can take the partition's next task).
 *
 * Scheduling: a partition gets a task when its ring has published batches, or when the control epoch
 * moved past the last one its tasks saw (setControl), and no task of it is in flight. A task drains
 * the ring (bounded by maxBatchesPerTask) and reports the ring's TAIL as consumedSeq.
 *
 * Failure: the worker writes the seq of the batch it is on into the ring's control block before
 * processing, so a kernel exception or a dead thread is attributed to (partition, seq). The batch is
 * retried once by a fresh processor instance (a dead thread is also replaced by piscina); a second
 * failure of the same batch dead-letters it through onBatchFailed and the main thread releases the
 * slot. A processor that threw mid-batch may have changed partition state before throwing: the retry
 * re-runs process() over that state, so kernels must make re-processing a batch safe (idempotent
 * updates, or state changes committed only at the end of process()). No stronger guarantee is given.
 *
 * Fatal failure: a partition whose task fails twice in a row *outside* process() (the processor
 * module does not load on the worker, createProcessor or finishTask throws) while its ring holds
 * batches can never make progress; re-dispatching it would spin forever. The same holds when piscina
 * is left with no worker thread (it stops replacing threads that die while starting). Then the runtime
 * fails: drain(), whenWritable() and close()'s drain reject with the KernelError, scatter() throws it.
 */
import { randomUUID } from 'node:crypto';
import type { Piscina } from 'piscina';
import { BatchView } from './batch.js';
import { Partitioner } from './partitioner.js';
import type { ProcessorModule, TaskControl } from './processor.js';
import { CONSUMER_WAITING, PRODUCER_WAITING, Ring } from './ring.js';
import type { RuntimeConfig } from './runtime-config.js';
import { computeLayout, type BatchLayout, type Schema } from './schema.js';
import { compiledModuleUrl, fixedThreadPool } from './worker-path.js';
import type { RuntimeDebugState, RuntimeMetrics } from './runtime-state.js';
import { WORKER_LOAD_FAILURE, type PartitionTask, type PartitionTaskResult, type WorkerSetup } from './worker-entry.js';
import { KernelError, ShutdownError } from '../errors.js';

const PAGE_BYTES = 4096;

/**
 * Writes a zero into every page of a fresh (all-zero) buffer, so the kernel backs it now, in address
 * order: left to the kernels, the Bloom generations' pages are first touched in random order by the
 * worker's first batches, and a random first touch faults far slower than one in address order.
 */
function faultInPages(buffer: SharedArrayBuffer): void {
  const bytes = new Uint8Array(buffer);
  for (let at = 0; at < bytes.length; at += PAGE_BYTES) bytes[at] = 0;
}

export interface RuntimeLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface RuntimeOptions<Options = unknown, Output = unknown> {
  /** The validated `runtime` config section (parseRuntimeConfig). */
  config: RuntimeConfig;
  schema: Schema;
  /** Partition key: a hashed string column, or an int32 / int64 / timestamp_ms / float64 column. */
  keyColumn: string;
  /** URL of the ProcessorModule (a src/*.ts URL is mapped to its compiled dist/ twin). */
  processorModuleUrl: string | URL;
  processorOptions: Options;
  /** Every finished task: all batches with seq < consumedSeq of this partition are processed. */
  onResult(partition: number, consumedSeq: number, output: Output): void;
  /** A batch of `rows` rows failed twice (or finishTask failed twice: seq = -1, rows = 0); its slot has been released. */
  onBatchFailed(partition: number, seq: number, error: KernelError, rows: number): void;
  /** A first failure; the batch will be retried by a fresh processor. */
  onBatchRetry?(partition: number, seq: number, error: KernelError): void;
  /** Initial control sent with tasks before the first setControl(). */
  control?: TaskControl;
  logger?: RuntimeLogger;
  /** Batches one task may process before yielding its thread. Default: 2 x ringSlots. */
  maxBatchesPerTask?: number;
}

const NO_FAILURE = Number.NaN;

interface IdleWaiter {
  resolve(): void;
  reject(err: Error): void;
}

export class Runtime<Options = unknown, Output = unknown> {
  readonly config: RuntimeConfig;
  readonly layout: BatchLayout;
  readonly partitions: number;
  /** Upper bound of ring memory: partitions x ringSlots x slotBytes (+ control blocks). */
  readonly ringMemoryBytes: number;
  private readonly rings: Ring[];
  private readonly states: SharedArrayBuffer[];
  private readonly partitioner: Partitioner;
  private readonly pool: Piscina;
  private readonly runId = randomUUID();
  private readonly opts: RuntimeOptions<Options, Output>;
  private control: TaskControl;
  private epoch = 0;
  private readonly inFlight: Uint8Array;
  private inFlightCount = 0;
  private tasksCompleted = 0;
  private busyMs = 0;
  private readonly taskEpoch: Int32Array;
  private readonly generation: Int32Array;
  private readonly failedSeq: Float64Array;
  private readonly forceTask: Uint8Array;
  private idleWaiters: IdleWaiter[] = [];
  private closed = false;
  /** Set once the runtime cannot make progress (see the header); every later wait rejects with it. */
  private failure: KernelError | null = null;
  /** Rejecters of pending whenWritable() calls, so a producer blocked on a dead partition wakes up. */
  private readonly writableWaiters = new Set<(err: Error) => void>();
  /** Why a worker last ended itself over its module (its task fails with only "worker exited"). */
  private workerLoadFailure: string | null = null;

  private constructor(opts: RuntimeOptions<Options, Output>, layout: BatchLayout, stateBytes: number) {
    this.opts = opts;
    const config = opts.config;
    this.config = config;
    this.layout = layout;
    this.partitions = config.partitions;
    this.rings = [];
    this.states = [];
    for (let p = 0; p < config.partitions; p++) {
      this.rings.push(Ring.create(this.layout, config.ringSlots));
      this.states.push(new SharedArrayBuffer(stateBytes));
    }
    this.ringMemoryBytes = this.rings.reduce((s, r) => s + r.sizeBytes, 0);
    this.partitioner = new Partitioner(this.rings, opts.keyColumn, (p) => this.kick(p));
    this.control = opts.control ?? { closeBeforeMs: Number.NEGATIVE_INFINITY, final: false };
    const n = config.partitions;
    this.inFlight = new Uint8Array(n);
    this.taskEpoch = new Int32Array(n);
    this.generation = new Int32Array(n);
    this.failedSeq = new Float64Array(n).fill(NO_FAILURE);
    this.forceTask = new Uint8Array(n);
    const setup: WorkerSetup = {
      runId: this.runId,
      moduleUrl: compiledModuleUrl(opts.processorModuleUrl).href,
      processorOptions: opts.processorOptions,
      schema: opts.schema,
      batchRows: config.batchRows,
      partitions: n,
      rings: this.rings.map((r) => r.buffer),
      states: this.states,
      maxBatchesPerTask: opts.maxBatchesPerTask ?? 2 * config.ringSlots,
    };
    this.pool = fixedThreadPool(import.meta.url, './worker-entry', config.threads, setup);
    // While the worker threads start (loading their modules), and before any task can touch
    // state: no task runs before a batch is published or a control is set.
    for (const state of this.states) faultInPages(state);
    // A worker that dies outside a task (e.g. while loading its module) is an 'error' event; without a
    // listener the EventEmitter would throw it on the main thread. Piscina replaces the thread.
    this.pool.on('error', (err: unknown) => {
      opts.logger?.warn({ err: String(err) }, 'worker thread failed outside a task');
      this.checkWorkersLeft(err);
    });
    this.pool.on('message', (msg: unknown) => {
      const why = (msg as Record<string, unknown> | null)?.[WORKER_LOAD_FAILURE];
      if (typeof why !== 'string') return;
      this.workerLoadFailure = why;
      opts.logger?.warn({ err: why }, 'worker thread could not load the processor module; it exits and is replaced');
    });
    opts.logger?.info(
      {
        partitions: n, ringSlots: config.ringSlots, batchRows: config.batchRows, slotBytes: this.layout.slotBytes,
        ringMemoryBytes: this.ringMemoryBytes, stateBytesPerPartition: stateBytes, threads: config.threads,
      },
      'runtime memory bound: partitions x ringSlots x slotBytes',
    );
  }

  /** Size partition state from the processor module, start the worker pool. */
  static async create<O, Out>(opts: RuntimeOptions<O, Out>): Promise<Runtime<O, Out>> {
    const layout = computeLayout(opts.schema, opts.config.batchRows);
    const imported = (await import(compiledModuleUrl(opts.processorModuleUrl).href)) as ProcessorModule & { default?: ProcessorModule };
    const mod = typeof imported.stateBytes === 'function' ? imported : imported.default!;
    const stateBytes = mod.stateBytes(opts.processorOptions, layout);
    return new Runtime<O, Out>(opts, layout, Math.max(8, Math.ceil(stateBytes / 8) * 8));
  }

  /** A staging batch with the ring slots' layout, for the decode stage to fill. */
  newStagingBatch(): BatchView { return BatchView.standalone(this.layout); }
  /** Batches published so far to `partition` (compare with onResult's consumedSeq). */
  publishedSeq(partition: number): number { return this.rings[partition].head; }
  /** The partition's shared state buffer (read it only while no task runs, e.g. after drain()). */
  stateBuffer(partition: number): SharedArrayBuffer { return this.states[partition]; }
  /** The partition whose full ring stopped the last scatter, or -1. */
  get blockedPartition(): number { return this.partitioner.blockedPartition; }

  /**
   * Copy staging rows [fromRow, rowCount) into partition rings. Returns rowCount when done, else the
   * first row not taken because a ring is full: await whenWritable() and call again from there.
   */
  scatter(staging: BatchView, fromRow = 0): number {
    if (this.failure !== null) throw this.failure;
    if (this.closed) throw new ShutdownError('runtime is closed');
    return this.partitioner.scatter(staging, fromRow);
  }

  /** Single partition: the open ring slot to decode into directly, or null while the ring is full (see Partitioner.directSlot). */
  directSlot(): BatchView | null {
    if (this.failure !== null) throw this.failure;
    if (this.closed) throw new ShutdownError('runtime is closed');
    return this.partitioner.directSlot();
  }

  /** The rows decoded into directSlot() are the slot's; published when full or when `ship`. */
  commitDirect(ship: boolean): void { this.partitioner.commitDirect(ship); }

  /** Publish every partially filled slot. */
  flush(): void { this.partitioner.flush(); }

  /** Resolves when the ring that stopped the last scatter has a free slot (at once if none did). */
  whenWritable(): Promise<void> {
    if (this.failure !== null) return Promise.reject(this.failure);
    const p = this.partitioner.blockedPartition;
    if (p < 0) return Promise.resolve();
    this.kick(p);
    // Only reached on a full ring, so these allocations are not per row. Not Promise.race with one
    // long-lived "failed" promise: every race would leave a reaction on it until the run ends.
    return new Promise<void>((resolve, reject) => {
      this.writableWaiters.add(reject);
      this.rings[p].waitWritable().then(() => {
        this.writableWaiters.delete(reject);
        resolve();
      });
    });
  }

  /** Every partition (idle ones too) runs a task that sees `control`; its onResult follows. */
  setControl(control: TaskControl): void {
    this.control = control;
    this.epoch++;
    for (let p = 0; p < this.partitions; p++) this.kick(p);
  }

  /** Flush, then resolve when every ring is empty and no task is in flight. */
  drain(): Promise<void> {
    if (this.failure !== null) return Promise.reject(this.failure);
    this.flush();
    return new Promise((resolve, reject) => {
      this.idleWaiters.push({ resolve, reject });
      this.checkIdle();
    });
  }

  /** Drain, then stop the worker threads. After a failure (already reported) it only stops them. */
  async close(): Promise<void> {
    if (this.closed) return;
    try {
      if (this.failure === null) await this.drain();
    } finally {
      this.closed = true;
      await this.pool.destroy();
    }
  }

  /**
   * Figures for the metrics: batches waiting in each ring (of ringSlots), tasks completed and the time
   * they ran on their workers (each task measures itself: piscina's run-time summary computes sixteen
   * percentiles per read, too much to read at every scrape).
   */
  metrics(): RuntimeMetrics {
    return {
      ringSlots: this.config.ringSlots,
      pendingBatches: this.rings.map((r) => r.pending),
      tasksCompleted: this.tasksCompleted,
      busySeconds: this.busyMs / 1000,
      threads: this.pool.threads.length,
    };
  }

  /** The scheduler's bookkeeping and every ring's counters, for a watchdog to print when a run stalls. */
  debugState(): RuntimeDebugState {
    return {
      epoch: this.epoch, inFlightCount: this.inFlightCount, idleWaiters: this.idleWaiters.length,
      blockedPartition: this.partitioner.blockedPartition, closed: this.closed, failure: this.failure?.message ?? null,
      poolThreads: this.pool.threads.length, poolQueueSize: this.pool.queueSize,
      partitions: this.rings.map((r, p) => ({
        partition: p, inFlight: this.inFlight[p], head: r.head, tail: r.tail, pending: r.pending, currentSeq: r.currentSeq,
        producerWaiting: Atomics.load(r.control, PRODUCER_WAITING), consumerWaiting: Atomics.load(r.control, CONSUMER_WAITING),
        taskEpoch: this.taskEpoch[p], generation: this.generation[p], failedSeq: this.failedSeq[p], forceTask: this.forceTask[p],
      })),
    };
  }

  private kick(p: number): void {
    if (this.inFlight[p] !== 0 || this.closed || this.failure !== null) return;
    if (this.rings[p].pending === 0 && this.taskEpoch[p] === this.epoch && this.forceTask[p] === 0) return;
    this.forceTask[p] = 0;
    this.inFlight[p] = 1;
    this.inFlightCount++;
    const task: PartitionTask = {
      runId: this.runId, partition: p, generation: this.generation[p], epoch: this.epoch, control: this.control,
    };
    this.pool.run(task).then(
      (r: PartitionTaskResult) => this.taskDone(r),
      (err: unknown) => this.taskFailed(p, task.epoch, err),
    );
  }

  private taskDone(r: PartitionTaskResult): void {
    const p = r.partition;
    this.tasksCompleted++;
    this.busyMs += r.busyMs;
    this.inFlight[p] = 0;
    this.inFlightCount--;
    this.taskEpoch[p] = r.epoch;
    this.failedSeq[p] = NO_FAILURE;
    // A task completed: modules load again (a rebuild finished), so an old load failure explains nothing.
    this.workerLoadFailure = null;
    this.callback(() => this.opts.onResult(p, r.consumedSeq, r.output as Output));
    this.kick(p);
    this.checkIdle();
  }

  private taskFailed(p: number, epoch: number, err: unknown): void {
    this.inFlight[p] = 0;
    this.inFlightCount--;
    // Tasks rejected by pool.destroy(), or by a runtime that already failed: nothing to retry.
    if (this.closed || this.failure !== null) return;
    const ring = this.rings[p];
    // -1: the failure was outside process() (module load, createProcessor, finishTask).
    const seq = ring.currentSeq;
    ring.setCurrentSeq(-1);
    this.generation[p]++;
    const where = seq >= 0 ? `batch ${seq}` : 'task (outside process())';
    const second = this.failedSeq[p] === seq;
    // Kept, not consumed: threads of other partitions fail over the same load problem, and a thread's
    // message may arrive after the failure of its own task (it exits right after posting).
    const loadFailure = seq < 0 && this.workerLoadFailure !== null ? ` (last module-load failure a worker reported: ${this.workerLoadFailure})` : '';
    const error = new KernelError(`partition ${p} ${where} failed${second ? ' again' : ''}: ${(err as Error)?.message ?? err}${loadFailure}`, {
      cause: err, details: { partition: p, seq, attempt: second ? 2 : 1 },
    });
    if (second) {
      this.failedSeq[p] = NO_FAILURE;
      // No task of p is in flight, so the main thread is the ring's only consumer right now.
      let rows = 0;
      if (seq >= 0) {
        rows = ring.peek()?.rowCount ?? 0;
        ring.release();
      } else this.taskEpoch[p] = epoch;
      this.opts.logger?.warn(error.toJSON(), 'batch dead-lettered');
      this.callback(() => this.opts.onBatchFailed(p, seq, error, rows));
      // Twice outside process() with batches waiting: no batch to dead-letter, so the next task would
      // fail the same way, and the one after it, at full speed (seen as a "hung" replay at 87 % CPU).
      if (seq < 0 && ring.pending !== 0) {
        this.fail(error);
        return;
      }
    } else {
      this.failedSeq[p] = seq;
      this.forceTask[p] = 1;
      this.opts.logger?.warn(error.toJSON(), 'batch failed; retrying once');
      if (this.opts.onBatchRetry) this.callback(() => this.opts.onBatchRetry!(p, seq, error));
    }
    this.kick(p);
    this.checkIdle();
    this.checkWorkersLeft(err);
  }

  /**
   * piscina replaces a thread that dies, except one that dies while starting (its module failed to
   * load): after that it replaces none, and queued tasks wait for a thread that never comes.
   */
  private checkWorkersLeft(cause: unknown): void {
    if (this.closed || this.failure !== null || this.pool.threads.length !== 0) return;
    this.fail(new KernelError(`no worker thread left (piscina stopped replacing failed threads): ${(cause as Error)?.message ?? cause}`, {
      cause, details: { partition: -1, seq: -1 },
    }));
  }

  private fail(error: KernelError): void {
    if (this.failure !== null) return;
    this.failure = error;
    this.opts.logger?.warn(error.toJSON(), 'runtime failed: no partition task can make progress');
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w.reject(error);
    for (const reject of this.writableWaiters) reject(error);
    this.writableWaiters.clear();
  }

  /** A throwing user callback must not wedge the scheduler; it is surfaced asynchronously. */
  private callback(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      queueMicrotask(() => { throw e; });
    }
  }

  private checkIdle(): void {
    if (this.idleWaiters.length === 0 || this.inFlightCount !== 0) return;
    for (const r of this.rings) if (r.pending !== 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w.resolve();
  }
}
