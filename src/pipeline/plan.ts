/**
 * The pipeline plan: every decision about how a configured pipeline is wired, made once from the
 * validated config sections and frozen. Pipeline.create builds from a plan and decides nothing itself,
 * so the decoder tier, who hashes the keys and the processor options are the same for every stream,
 * worker and restart of one run, and a test or a benchmark can read them without starting anything.
 */
import { availableParallelism } from 'node:os';
import { NativeBlockDecoder } from '../kernels/decode/native.js';
import { eventTimeField, inputSchemaToBatchSchema, partitionKeyField, type InputConfig } from '../kernels/input/config.js';
import type { AggregateConfig, DedupeConfig, EnrichConfig } from '../kernels/stage-config.js';
import { SOURCE_COLUMN } from '../kernels/input/columns.js';
import { loadNativeModule } from '../runtime/native-module.js';
import type { RuntimeConfig } from '../runtime/runtime-config.js';
import { computeLayout, type BatchLayout, type Schema } from '../runtime/schema.js';
import { compileProcessorPlan, type ProcessorPlan } from './processor-options.js';

/** The config sections a pipeline is built from (validated). */
export interface PipelineSections {
  input: InputConfig;
  enrich?: EnrichConfig | null;
  dedupe?: DedupeConfig | null;
  aggregate: AggregateConfig;
  runtime: RuntimeConfig;
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

export interface PipelinePlan {
  readonly input: InputConfig;
  readonly enrich: EnrichConfig | null;
  readonly aggregate: AggregateConfig;
  readonly runtime: RuntimeConfig;
  /** The columnar batch every decoder writes and every kernel reads, and its layout in a ring slot. */
  readonly schema: Schema;
  readonly layout: BatchLayout;
  readonly timeField: string;
  readonly partitionKeyField: string;
  /** 'native': the Rust block decoder takes the lines it can (the JS tiers the rest); 'js': JS tiers only. */
  readonly decoderTier: 'native' | 'js';
  /** Who fills the key hash columns: the workers (one partition, native tier) or the decoding thread. */
  readonly keyHashOwner: 'worker' | 'ingest';
  /** The partition processor's options, without the dim table the pipeline loads when it starts. */
  readonly processor: ProcessorPlan;
  readonly ingest: Readonly<Required<Omit<IngestOptions, 'keyHashes'>>>;
  /**
   * Scale-out: rows carry their source partition (`__source`), a hidden last group field, so window
   * cells are per source partition and the pipeline hands them out as partials (onWindowPartials)
   * instead of rows. Off: cells of all source partitions merge as before.
   */
  readonly sourcePartitionCells: boolean;
  /** A live source (Kafka, HTTP): the skew guard also rejects events ahead of the wall clock. */
  readonly wallClockSkew: boolean;
}

/**
 * Parallel decode moves decode off the main thread but adds CPU (task round trips, two more isolates,
 * decoded batches crossing cores), so with every core busy it is a loss (BENCHMARKS.md, ARCHITECTURE.md's
 * measurements). With more cores the main thread is the bound and the pool pays: on only then.
 */
export function defaultDecodeThreads(runtimeThreads: number): number {
  return availableParallelism() > 2 ? runtimeThreads : 0;
}

const DEFAULT_PIECE_BYTES = 256 * 1024;
const DEFAULT_ROWS_PER_SLOT = 8192;
const DEFAULT_MIN_PARALLEL_BYTES = 64 * 1024;

/**
 * Compiles the plan. `emitEvents`: some sink stores processed events, so the workers serialize them.
 * The result is deeply frozen.
 */
export function compilePipelinePlan(sections: PipelineSections,
  opts: { emitEvents: boolean; ingest?: IngestOptions; sourcePartitionCells?: boolean; wallClockSkew?: boolean }): PipelinePlan {
  const ingest = opts.ingest ?? {};
  const { input, runtime } = sections;
  const sourcePartitionCells = opts.sourcePartitionCells ?? false;
  const schema = inputSchemaToBatchSchema(input, { sourceColumn: sourcePartitionCells });
  const layout = computeLayout(schema, runtime.batchRows);
  const timeField = eventTimeField(input);
  const keyField = partitionKeyField(input);
  const native = loadNativeModule();
  const decoderTier = input.decoder === 'auto' && native !== null && NativeBlockDecoder.unsupportedReason(input, layout) === null
    ? 'native' : 'js';
  // With one partition no row is routed by its key hash on the decoding thread, so the workers can
  // hash the keys instead. Only when the native tier runs with a native hash: the JS tiers hash anyway,
  // and the workers would hash every row a second time.
  const workerCanHash = decoderTier === 'native' && native?.hashColumn !== undefined;
  const keyHashOwner = runtime.partitions === 1 && (ingest.keyHashes ?? (workerCanHash ? 'worker' : 'ingest')) === 'worker'
    ? 'worker' : 'ingest';
  const decodeThreads = ingest.decodeThreads ?? defaultDecodeThreads(runtime.threads);
  const processor = compileProcessorPlan(sections, timeField, runtime.partitions, opts.emitEvents ? keyField : null, keyHashOwner === 'worker');
  if (sourcePartitionCells) processor.aggregate.groupBy.push(SOURCE_COLUMN);
  return deepFreeze({
    input,
    enrich: sections.enrich ?? null,
    aggregate: sections.aggregate,
    runtime,
    schema,
    layout,
    timeField,
    partitionKeyField: keyField,
    decoderTier,
    keyHashOwner,
    processor,
    ingest: {
      decodeThreads,
      pieceBytes: ingest.pieceBytes ?? DEFAULT_PIECE_BYTES,
      decodeSlots: ingest.decodeSlots ?? decodeThreads + 2,
      rowsPerSlot: ingest.rowsPerSlot ?? DEFAULT_ROWS_PER_SLOT,
      minParallelBytes: ingest.minParallelBytes ?? DEFAULT_MIN_PARALLEL_BYTES,
    },
    sourcePartitionCells,
    wallClockSkew: opts.wallClockSkew ?? false,
  });
}

/** Freezes plain objects and arrays all the way down (typed arrays and Maps are left as they are). */
export function deepFreeze<T>(value: T): T {
  if (value === null || typeof value !== 'object' || Object.isFrozen(value) || ArrayBuffer.isView(value) || value instanceof Map) return value;
  for (const v of Object.values(value)) deepFreeze(v);
  return Object.freeze(value);
}
