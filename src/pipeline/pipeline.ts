/**
 * The configured pipeline on the shared-memory runtime: the one place where ingest (decode + filter +
 * event time, main thread), the partition processors (enrich + dedupe + aggregate, workers) and window
 * emission meet. Sources push NDJSON bytes through `openStream(sourcePartition)`; results leave through
 * the callbacks: window rows, dead-letter entries, and counters in `stats()`.
 *
 * Ingest is serialized: one chunk at a time goes through decode -> scatter, because the rings are
 * single-producer and the watermark is decided in input order. A push resolves once its rows are in
 * the rings (not processed): that await is the backpressure a source feels.
 */
import { KernelError } from '../errors.js';
import { createDimTableShared, type DimTableShared } from '../kernels/enrich/dim-table.js';
import { DimTableLoader } from '../kernels/enrich/dim-table-loader.js';
import { withDimTable, type PipelineProcessorOptions } from './processor-options.js';
import type { PipelinePlan } from './plan.js';
import { openWindowCells, resetPartitionState, type PipelineTaskOutput } from './processor.js';
import { WatermarkTracker } from '../kernels/event-time/watermark.js';
import { WindowAssigner } from '../kernels/window/assign.js';
import { cellsToRows, rowPlanFor } from '../kernels/window/partials.js';
import { SourcePartitionSplit, type PartialCell } from './scale-out/source-partition-split.js';
import { createNdjsonDecoder, type NdjsonDecoder } from '../kernels/decode/ndjson.js';
import { BatchView } from '../runtime/batch.js';
import { computeLayout } from '../runtime/schema.js';
import { DecodePool } from './decode-pool.js';
import { IngestStream, type IngestContext } from './ingest-stream.js';
import { Runtime, type RuntimeLogger } from '../runtime/runtime.js';
import { WindowEmitter } from './window-emitter.js';
import { compiledSiblingUrl } from '../runtime/worker-path.js';
import type { DeadLetterEntry, EventBatch, WindowRow } from '../contracts/index.js';


export interface PipelineCallbacks {
  onWindowRows(rows: WindowRow[]): void;
  /**
   * Scale-out (plan.sourcePartitionCells): closed cells per source partition, instead of rows, for a
   * second stage to merge (scale-out/partial-records.ts); `throughMs` as emittedThroughMs.
   */
  onWindowPartials?(cells: PartialCell[], throughMs: number): void;
  /**
   * Processed events (accepted rows, enriched) of one task, in each partition's input order; set it only
   * when a sink wants them (it switches the serializer on). Called before that task's windows can be
   * emitted, so an event delivery always precedes the window delivery whose ack settles its offsets.
   */
  onEvents?(batch: EventBatch): void;
  onDeadLetter(entry: DeadLetterEntry): void;
  logger?: RuntimeLogger;
}

export interface PipelineStats {
  /** Non-blank input lines: accepted + invalid + duplicates + late + failed. */
  input: number;
  accepted: number;
  invalid: number;
  duplicates: number;
  late: number;
  /** Rows of batches a kernel failed on twice (dead-lettered with reason `kernel_failed`). */
  failed: number;
  blankLines: number;
  windowsEmitted: number;
  windowRowsEmitted: number;
  watermarkMs: number;
}

export class Pipeline implements IngestContext {
  readonly runtime: Runtime<PipelineProcessorOptions, PipelineTaskOutput>;
  /** Replaced by resetState(): read it each time, do not keep it. */
  watermark: WatermarkTracker;
  private readonly emitter: WindowEmitter;
  /**
   * The batch decoders fill before the scatter, or null with a single partition: rows are then
   * decoded straight into its ring's open slot (openStaging), which saves the scatter's copy of every
   * row, a large share of the main thread's CPU (ARCHITECTURE.md, Measurements).
   */
  private readonly staging: BatchView | null;
  private readonly assigner: WindowAssigner;
  private readonly dimLoader: DimTableLoader | null;
  readonly decodePool: DecodePool | null;
  readonly minParallelBytes: number;
  private readonly streams = new Map<number, IngestStream>();
  private peeking: { decoder: NdjsonDecoder; batch: BatchView; eventTimesMs: Float64Array } | null = null;
  private ingestQueue: Promise<unknown> = Promise.resolve();
  /** Windows ending at or before this were announced to the partitions as closed. */
  private controlThroughMs = Number.NEGATIVE_INFINITY;
  private readonly counts = { input: 0, accepted: 0, invalid: 0, duplicates: 0, late: 0, failed: 0, blankLines: 0 };

  private constructor(
    readonly plan: PipelinePlan,
    readonly callbacks: PipelineCallbacks,
    runtime: Runtime<PipelineProcessorOptions, PipelineTaskOutput>,
    dimLoader: DimTableLoader | null,
    emitter: WindowEmitter,
    decodePool: DecodePool | null,
  ) {
    this.decodePool = decodePool;
    this.minParallelBytes = plan.ingest.minParallelBytes;
    this.runtime = runtime;
    this.dimLoader = dimLoader;
    this.staging = runtime.partitions === 1 ? null : runtime.newStagingBatch();
    this.assigner = new WindowAssigner(plan.aggregate.window);
    this.watermark = this.newWatermark();
    this.emitter = emitter;
  }

  /** Loads the dim table, starts the workers and the decode pool: everything the plan describes. */
  static async create(plan: PipelinePlan, callbacks: PipelineCallbacks): Promise<Pipeline> {
    const partitions = plan.runtime.partitions;
    let dimShared: DimTableShared | null = null;
    let dimLoader: DimTableLoader | null = null;
    const e = plan.enrich;
    if (e) {
      dimShared = createDimTableShared(e.maxRows, e.maxValues, partitions);
      dimLoader = new DimTableLoader(dimShared, { path: e.table, keyColumn: e.keyColumn, valueColumn: e.valueColumn, defaultValue: e.default });
      await dimLoader.load();
    }
    let pipeline: Pipeline | null = null;
    const runtime = await Runtime.create<PipelineProcessorOptions, PipelineTaskOutput>({
      config: plan.runtime,
      schema: plan.schema,
      keyColumn: plan.partitionKeyField,
      processorModuleUrl: compiledSiblingUrl(import.meta.url, './processor'),
      processorOptions: withDimTable(plan.processor, dimShared),
      onResult: (p, _seq, out) => pipeline!.onTaskOutput(p, out),
      onBatchFailed: (p, seq, err, rows) => pipeline!.onBatchFailed(p, seq, err, rows),
      logger: callbacks.logger,
    });
    const rowPlan = rowPlanFor(plan.processor.aggregate, plan.schema.columns);
    const dictionaries = new Map<string, readonly string[]>();
    if (e && dimLoader) dictionaries.set(e.as, dimLoader.dictionary);
    const split = plan.sourcePartitionCells ? new SourcePartitionSplit(plan.processor.aggregate, plan.schema.columns, dictionaries) : null;
    const emitter = new WindowEmitter(runtime.partitions, rowPlan, (cells, throughMs) => {
      if (split === null) {
        if (cells.length > 0) callbacks.onWindowRows(cellsToRows(cells, rowPlan, dictionaries));
      }
      else if (!callbacks.onWindowPartials) throw new Error('a pipeline with sourcePartitionCells needs onWindowPartials');
      else callbacks.onWindowPartials(split.cells(cells), throughMs);
    }, plan.aggregate.allowedLatenessMs);
    const ingest = plan.ingest;
    const decodePool = ingest.decodeThreads > 0
      ? new DecodePool(plan.input, plan.schema, {
        threads: ingest.decodeThreads,
        slots: ingest.decodeSlots,
        pieceBytes: ingest.pieceBytes,
        rowsPerSlot: ingest.rowsPerSlot,
      })
      : null;
    pipeline = new Pipeline(plan, callbacks, runtime, dimLoader, emitter, decodePool);
    if (dimLoader && e) {
      dimLoader.watch(e.reloadIntervalMs,
        (version) => callbacks.logger?.info({ table: e.table, version }, 'dimension table reloaded'),
        (err) => callbacks.logger?.warn({ table: e.table, err: String(err) }, 'dimension table reload failed; keeping the previous one'));
    }
    return pipeline;
  }

  /** A fresh watermark of this plan (at the start, and when Pipeline.resetState forgets the old one). */
  private newWatermark(): WatermarkTracker {
    return new WatermarkTracker({ ...this.plan.aggregate, wallClockSkew: this.plan.wallClockSkew }, this.assigner);
  }

  /** The ingest stream of one source partition (a file, a Kafka partition), created on first use. */
  openStream(sourcePartition: number, firstLineNumber = 1): IngestStream {
    let s = this.streams.get(sourcePartition);
    if (!s) {
      const decoder = createNdjsonDecoder(this.plan.input);
      decoder.setNativeKeyHashes(this.plan.keyHashOwner !== 'worker');
      s = new IngestStream(this, decoder, sourcePartition, firstLineNumber, this.plan.input.maxLineBytes, this.plan.timeField);
      this.streams.set(sourcePartition, s);
      this.watermark.register(sourcePartition);
    }
    return s;
  }

  /**
   * A source partition was assigned: it holds the watermark back from now on, before its first record
   * arrives, and while `caughtUp` is false it never counts as idle.
   */
  assignStream(sourcePartition: number, caughtUp: boolean): void {
    this.openStream(sourcePartition);
    this.watermark.setCaughtUp(sourcePartition, caughtUp);
  }

  /**
   * Scale-out: `parts` are this member's source partitions after a join; every other one stops holding
   * the watermark (a restart restored the watermark of every committed partition, owned or not).
   */
  closeStreamsBut(parts: readonly number[]): void {
    const keep = new Set(parts);
    for (let s = 0; s < this.watermark.sourceCount; s++) if (!keep.has(s)) this.closeStream(s);
  }

  /** Whether a source partition has read all of its input known so far (see WatermarkTracker.setCaughtUp). */
  setCaughtUp(sourcePartition: number, caughtUp: boolean): void {
    this.watermark.setCaughtUp(sourcePartition, caughtUp);
  }

  /**
   * Processing time moved on without input: idle partitions stop holding the watermark, and windows it
   * passed are closed. `closeThroughMs` (optional) also moves the watermark there, for closing the
   * windows of a stream that paused (events in them arriving later are late).
   */
  advanceWithoutInput(closeThroughMs = Number.NEGATIVE_INFINITY): Promise<void> {
    return this.serialize(async () => {
      this.watermark.advanceTo(closeThroughMs);
      this.afterScatter();
    });
  }

  /** The end of the last window that contains `ts` (-Infinity for -Infinity). */
  windowEndAfter(ts: number): number {
    return Number.isFinite(ts) ? this.assigner.lastWindowStart(ts) + this.assigner.sizeMs : ts;
  }

  /**
   * Decides the held lines (IngestStream.heldSinceMs) that have waited `waitedMs` of processing time or
   * more, with what followed them so far: a live partition that went quiet must not keep its last
   * events back. Returns the source partitions decided.
   */
  async decideHeldLines(waitedMs: number): Promise<number[]> {
    const decided: number[] = [];
    const now = this.now();
    for (const [p, s] of this.streams) {
      const since = s.heldSinceMs;
      if (since === null || now - since < waitedMs) continue;
      if (await s.decideHeld(waitedMs)) decided.push(p);
    }
    return decided;
  }

  /** Whether some stream holds lines back for a skew decision (a checkpoint waits until none does). */
  get holdsLines(): boolean {
    for (const s of this.streams.values()) if (s.heldSinceMs !== null) return true;
    return false;
  }

  /** A source partition went away (revoked): it stops holding the watermark back. */
  closeStream(sourcePartition: number): void {
    this.streams.delete(sourcePartition);
    this.watermark.unregister(sourcePartition);
  }

  // IngestContext: what an IngestStream needs from the pipeline.
  async openStaging(): Promise<BatchView> {
    if (this.staging !== null) return this.staging;
    for (;;) {
      const slot = this.runtime.directSlot();
      if (slot !== null) return slot;
      await this.runtime.whenWritable();
    }
  }
  countLines(input: number, invalid: number, blank: number): void {
    this.counts.input += input;
    this.counts.invalid += invalid;
    this.counts.blankLines += blank;
  }
  deadLetter(entry: DeadLetterEntry): void { this.callbacks.onDeadLetter(entry); }
  now(): number { return Date.now(); }
  peekDecoder(): { decoder: NdjsonDecoder; batch: BatchView; eventTimesMs: Float64Array } {
    if (this.peeking === null) {
      const decoder = createNdjsonDecoder(this.plan.input);
      // Room for a candidate and the events that decide it (in rounds, when long lines fill its strings first).
      const rows = this.plan.aggregate.jumpConfirmEvents + 1;
      this.peeking = { decoder, batch: BatchView.standalone(computeLayout(decoder.schema, rows)), eventTimesMs: new Float64Array(rows) };
    }
    return this.peeking;
  }
  serialize<T>(work: () => Promise<T>): Promise<T> {
    const next = this.ingestQueue.then(work, work);
    this.ingestQueue = next.catch(() => undefined);
    return next;
  }

  async scatterStaging(ship = false): Promise<void> {
    const staging = this.staging;
    if (staging === null) {
      this.runtime.commitDirect(ship);
    } else {
      await this.scatterRows(staging, 0, staging.rowCount);
      staging.clear();
    }
    this.afterScatter();
  }

  async scatterRows(batch: BatchView, fromRow: number, toRow: number): Promise<void> {
    // The partitioner scatters up to rowCount: narrowed for the call, restored after.
    const rows = batch.rowCount;
    batch.rowCount = toRow;
    try {
      let from = fromRow;
      while ((from = this.runtime.scatter(batch, from)) < toRow) await this.runtime.whenWritable();
    } finally {
      batch.rowCount = rows;
    }
  }

  afterScatter(): void {
    this.watermark.tick();
    this.announceWatermark();
  }

  private announceWatermark(): void {
    const w = this.watermark.watermark;
    // Only when a window end was crossed: flushing partly filled slots on every batch would shrink them.
    if (!(w >= this.nextWindowEnd())) return;
    this.controlThroughMs = w;
    this.runtime.flush();
    this.runtime.setControl({ closeBeforeMs: w, final: false });
  }

  private nextWindowEnd(): number {
    if (this.controlThroughMs === Number.NEGATIVE_INFINITY) return Number.NEGATIVE_INFINITY;
    const { sizeMs, slideMs } = this.assigner;
    // Smallest window end (k * slide + size) strictly after controlThroughMs.
    return (Math.floor((this.controlThroughMs - sizeMs) / slideMs) + 1) * slideMs + sizeMs;
  }

  /** End of input: process everything, close every window, and stop the workers. */
  async finish(): Promise<PipelineStats> {
    await this.serialize(async () => {
      for (const s of this.streams.values()) await s.endInput();
      this.runtime.flush();
      this.runtime.setControl({ closeBeforeMs: Number.POSITIVE_INFINITY, final: true });
      await this.runtime.drain();
    });
    return this.stats();
  }

  /**
   * Scale-out rebalance: back to the state of a fresh run — every partition's Bloom and open windows
   * emptied, streams and watermark forgotten, no window announced closed — after the rows already in
   * the rings are processed. Cells not emitted are dropped: the source reads their events again from the
   * committed offsets (ARCHITECTURE.md, "Scale-out"). Counters are kept.
   */
  resetState(): Promise<void> {
    return this.serialize(async () => {
      this.runtime.flush();
      await this.runtime.drain();
      // Every partition runs one task with this control: none closes anything with the old watermark after the reset.
      this.runtime.setControl({ closeBeforeMs: Number.NEGATIVE_INFINITY, final: false });
      await this.runtime.drain();
      for (let p = 0; p < this.runtime.partitions; p++) resetPartitionState(this.runtime.stateBuffer(p), this.plan.processor);
      this.streams.clear();
      this.watermark = this.newWatermark();
      this.controlThroughMs = Number.NEGATIVE_INFINITY;
      this.emitter.reset();
    });
  }

  /** Open (window, group) cells per partition, read from the shared state while workers run (metrics). */
  openWindowCells(): number[] {
    return Array.from({ length: this.runtime.partitions }, (_, p) => openWindowCells(this.runtime.stateBuffer(p), this.plan.processor));
  }

  async close(): Promise<void> {
    this.dimLoader?.unwatch();
    await this.decodePool?.close();
    await this.runtime.close();
  }

  /**
   * Every window ending at or before this has been passed to onWindowRows (or was empty). Read inside
   * onWindowRows it already includes the rows being emitted. The daemon's offset commits key on it.
   */
  get emittedThroughMs(): number { return this.emitter.emittedThrough; }

  stats(): PipelineStats {
    return {
      ...this.counts,
      windowsEmitted: this.emitter.windowsEmitted,
      windowRowsEmitted: this.emitter.rowsEmitted,
      watermarkMs: this.watermark.watermark,
    };
  }

  private onTaskOutput(partition: number, out: PipelineTaskOutput): void {
    const c = out.counters;
    this.counts.accepted += c.accepted;
    this.counts.duplicates += c.duplicates;
    this.counts.late += c.late;
    for (const r of out.lateRows) this.callbacks.onDeadLetter({ reason: 'late', line: r.line, raw: r.raw });
    if (out.events) this.callbacks.onEvents?.(out.events);
    this.emitter.onTaskOutput(partition, out);
  }

  /** The rows of a batch that failed twice are counted as `failed`, so input still reconciles. */
  private onBatchFailed(partition: number, seq: number, err: KernelError, rows: number): void {
    this.callbacks.logger?.warn(err.toJSON(), 'batch dead-lettered after a retry');
    this.callbacks.onDeadLetter({ reason: `kernel_failed:${err.code}`, line: -1, raw: `partition ${partition} batch ${seq} (${rows} rows): ${err.message}` });
    this.counts.failed += rows;
  }
}
