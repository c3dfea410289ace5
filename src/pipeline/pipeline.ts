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
import { availableParallelism } from 'node:os';
import { KernelError } from '../errors.js';
import { createDimTableShared, type DimTableShared } from '../kernels/enrich/dim-table.js';
import { DimTableLoader } from '../kernels/enrich/dim-table-loader.js';
import { eventTimeField, partitionKeyField } from '../kernels/input/config.js';
import { compileProcessorOptions, type PipelineProcessorOptions } from './processor-options.js';
import type { PipelineTaskOutput } from './processor.js';
import { WatermarkTracker } from '../kernels/event-time/watermark.js';
import { WindowAssigner } from '../kernels/window/assign.js';
import { rowPlanFor, type OutputRow } from '../kernels/window/partials.js';
import type { RingflowConfig } from '../daemon/config.js';
import { createNdjsonDecoder } from '../kernels/decode/ndjson.js';
import { NativeBlockDecoder } from '../kernels/decode/native.js';
import { loadNativeModule } from '../runtime/native-module.js';
import type { EventBatch } from '../sinks/sink.js';
import type { BatchView } from '../runtime/batch.js';
import { DecodePool } from './decode-pool.js';
import { IngestStream, type DeadLetterEntry, type IngestContext } from './ingest-stream.js';
import { Runtime, type RuntimeLogger } from '../runtime/runtime.js';
import { computeLayout } from '../runtime/schema.js';
import { WindowEmitter } from './window-emitter.js';
import { compiledSiblingUrl } from '../runtime/worker-path.js';

export type { DeadLetterEntry } from './ingest-stream.js';

export interface PipelineCallbacks {
  onWindowRows(rows: OutputRow[]): void;
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

/** Sizing of the parallel decode (decode-pool.ts); the defaults suit ~100-byte events. */
export interface IngestOptions {
  /** Decode pool threads; 0 = decode on the main thread only. Default: see defaultDecodeThreads. */
  decodeThreads?: number;
  /** Input bytes per decode piece. Default: 256 KiB. */
  pieceBytes?: number;
  /** Pieces in flight. Default: decode threads + 2. */
  decodeSlots?: number;
  /** Rows per decode slot batch. Default: 8192. */
  rowsPerSlot?: number;
  /** Pushes with fewer bytes of complete lines are decoded on the main thread. Default: 64 KiB. */
  minParallelBytes?: number;
  /**
   * Who writes the key hashes with a single partition: 'worker' (the native decoder leaves them out,
   * key-hashes.ts) or 'ingest' (whatever fills the batches, e.g. a columnar generator that hashes as it
   * writes). Default: 'worker' when the native module is built and the decoder may use it.
   */
  keyHashes?: 'worker' | 'ingest';
}

/**
 * Parallel decode moves decode off the main thread but adds CPU (task round trips, two more isolates,
 * decoded batches crossing cores): on the 2-core box, 2M clickstream events took 5.0-5.4 CPU-s with it
 * and 4.2-4.7 CPU-s without, so with every core busy it is a loss, and at best a tie (the main thread
 * alone needs ~2.6 s, the total over 2 cores ~2.6 s too). With more cores the main thread is the
 * bound and the pool pays. Hence: on only when there are more than 2 cores.
 */
export function defaultDecodeThreads(runtimeThreads: number): number {
  return availableParallelism() > 2 ? runtimeThreads : 0;
}

const DEFAULT_PIECE_BYTES = 256 * 1024;
const DEFAULT_ROWS_PER_SLOT = 8192;
const DEFAULT_MIN_PARALLEL_BYTES = 64 * 1024;

export class Pipeline implements IngestContext {
  readonly runtime: Runtime<PipelineProcessorOptions, PipelineTaskOutput>;
  readonly watermark: WatermarkTracker;
  private readonly emitter: WindowEmitter;
  /**
   * The batch decoders fill before the scatter, or null with a single partition: rows are then
   * decoded straight into its ring's open slot (openStaging), which saves the scatter's copy of every
   * row (6M-event replay, main thread: ~23% of its CPU).
   */
  private readonly staging: BatchView | null;
  private readonly assigner: WindowAssigner;
  private readonly dimLoader: DimTableLoader | null;
  readonly decodePool: DecodePool | null;
  readonly minParallelBytes: number;
  private readonly streams = new Map<number, IngestStream>();
  private ingestQueue: Promise<unknown> = Promise.resolve();
  /** Windows ending at or before this were announced to the partitions as closed. */
  private controlThroughMs = Number.NEGATIVE_INFINITY;
  private readonly counts = { input: 0, accepted: 0, invalid: 0, duplicates: 0, late: 0, failed: 0, blankLines: 0 };

  private constructor(
    readonly config: RingflowConfig,
    readonly callbacks: PipelineCallbacks,
    runtime: Runtime<PipelineProcessorOptions, PipelineTaskOutput>,
    dimLoader: DimTableLoader | null,
    emitter: WindowEmitter,
    decodePool: DecodePool | null,
    minParallelBytes: number,
    /** The workers compute the key hashes: the stream decoders' native tier leaves them out. */
    private readonly keyHashesOnWorker: boolean,
  ) {
    this.decodePool = decodePool;
    this.minParallelBytes = minParallelBytes;
    this.runtime = runtime;
    this.dimLoader = dimLoader;
    this.staging = runtime.partitions === 1 ? null : runtime.newStagingBatch();
    this.assigner = new WindowAssigner(config.aggregate.window);
    this.watermark = new WatermarkTracker(config.aggregate, this.assigner);
    this.emitter = emitter;
  }

  static async create(config: RingflowConfig, callbacks: PipelineCallbacks, ingest: IngestOptions = {}): Promise<Pipeline> {
    const partitions = config.runtime.partitions;
    let dimShared: DimTableShared | null = null;
    let dimLoader: DimTableLoader | null = null;
    if (config.enrich) {
      const e = config.enrich;
      dimShared = createDimTableShared(e.maxRows, e.maxValues, partitions);
      dimLoader = new DimTableLoader(dimShared, { path: e.table, keyColumn: e.keyColumn, valueColumn: e.valueColumn, defaultValue: e.default });
      await dimLoader.load();
    }
    const timeField = eventTimeField(config.input);
    const schema = createNdjsonDecoder(config.input).schema;
    // With one partition no row is routed by its key hash on this thread: the workers compute the key
    // hashes (key-hashes.ts) and the native decoder leaves them out. Only when the native tier runs for
    // this config: the JS tiers hash anyway, and the workers would hash every row a second time.
    const nativeTier = config.input.decoder === 'auto' && loadNativeModule()?.hashColumn !== undefined &&
      NativeBlockDecoder.unsupportedReason(config.input, computeLayout(schema, config.runtime.batchRows)) === null;
    const keyHashesOnWorker = partitions === 1 && (ingest.keyHashes ?? (nativeTier ? 'worker' : 'ingest')) === 'worker';
    const options: PipelineProcessorOptions = {
      ...compileProcessorOptions(config, timeField, partitions, dimShared, callbacks.onEvents ? partitionKeyField(config.input) : null),
      keyHashesOnWorker,
    };
    let pipeline: Pipeline | null = null;
    const runtime = await Runtime.create<PipelineProcessorOptions, PipelineTaskOutput>({
      config: config.runtime,
      schema,
      keyColumn: partitionKeyField(config.input),
      processorModuleUrl: compiledSiblingUrl(import.meta.url, './processor'),
      processorOptions: options,
      onResult: (p, _seq, out) => pipeline!.onTaskOutput(p, out),
      onBatchFailed: (p, seq, err, rows) => pipeline!.onBatchFailed(p, seq, err, rows),
      logger: callbacks.logger,
    });
    const plan = rowPlanFor(options.aggregate, schema.columns);
    const dictionaries = new Map<string, readonly string[]>();
    if (config.enrich && dimLoader) dictionaries.set(config.enrich.as, dimLoader.dictionary);
    const emitter = new WindowEmitter(runtime.partitions, plan, dictionaries, (rows) => callbacks.onWindowRows(rows));
    const decodeThreads = ingest.decodeThreads ?? defaultDecodeThreads(runtime.config.threads);
    const decodePool = decodeThreads > 0
      ? new DecodePool(config.input, schema, {
        threads: decodeThreads,
        slots: ingest.decodeSlots ?? decodeThreads + 2,
        pieceBytes: ingest.pieceBytes ?? DEFAULT_PIECE_BYTES,
        rowsPerSlot: ingest.rowsPerSlot ?? DEFAULT_ROWS_PER_SLOT,
      })
      : null;
    pipeline = new Pipeline(config, callbacks, runtime, dimLoader, emitter, decodePool, ingest.minParallelBytes ?? DEFAULT_MIN_PARALLEL_BYTES,
      keyHashesOnWorker);
    if (dimLoader && config.enrich) {
      dimLoader.watch(config.enrich.reloadIntervalMs,
        (version) => callbacks.logger?.info({ table: config.enrich!.table, version }, 'dimension table reloaded'),
        (err) => callbacks.logger?.warn({ table: config.enrich!.table, err: String(err) }, 'dimension table reload failed; keeping the previous one'));
    }
    return pipeline;
  }

  /** The ingest stream of one source partition (a file, a Kafka partition), created on first use. */
  openStream(sourcePartition: number, firstLineNumber = 1): IngestStream {
    let s = this.streams.get(sourcePartition);
    if (!s) {
      const decoder = createNdjsonDecoder(this.config.input);
      decoder.setNativeKeyHashes(!this.keyHashesOnWorker);
      s = new IngestStream(this, decoder, sourcePartition, firstLineNumber,
        this.config.input.maxLineBytes, eventTimeField(this.config.input));
      this.streams.set(sourcePartition, s);
      this.watermark.register(sourcePartition);
    }
    return s;
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
