/**
 * The partition processor of the configured pipeline (enrich -> dedupe -> window aggregate), loaded by
 * the runtime's workers as a ProcessorModule (src/runtime/processor.ts).
 *
 * Per row, in batch order (ARCHITECTURE.md "Deterministic semantics"):
 *   1. enrich: lookup value id of `joinOn` (whole batch at once, into a scratch column);
 *   2. dedupe: Bloom checkAndAdd(key hash, event time) -> seen: duplicate, skip (late candidates are
 *      recorded too, so the first occurrence wins whatever its fate);
 *   3. `__late` set by ingest -> late: counted and handed back as {line, raw};
 *   4. otherwise accepted: counted in every window containing its event time, per group.
 * A row whose window the table handed over more than aggregate.allowedLatenessMs ago (a runtime
 * ordering bug, never expected: ingest flags those late) is reported late and counted in
 * `lateAfterClose`; within allowedLatenessMs it makes a new cell of the closed window, an update.
 *
 * Partition state, one zero-filled SharedArrayBuffer from the runtime (stateBytes):
 *   +---------------------------+-------------------------------------+
 *   | Bloom (dedupe/bloom.ts)   | window table (window/table.ts)      |
 *   +---------------------------+-------------------------------------+
 * The dim table is NOT in the partition state: its SharedArrayBuffers travel inside `options.enrich`
 * (shared, not copied, by structured clone) and are common to all partitions.
 */
import type { BatchView } from '../runtime/batch.js';
import type { PartitionInit, PartitionProcessor, ProcessorModule, TaskControl } from '../runtime/processor.js';
import type { BatchLayout } from '../runtime/schema.js';
import { bloomBytesFor, GenerationalBloom } from '../kernels/dedupe/bloom.js';
import { KeyHasher } from '../kernels/shared/key-hashes.js';
import { EnrichKernel } from '../kernels/enrich/enrich.js';
import { EventSerializer } from '../kernels/events/event-serializer.js';
import type { PipelineProcessorOptions } from './processor-options.js';
import { RowAggregator } from '../kernels/window/update.js';
import { WindowAssigner } from '../kernels/window/assign.js';
import { accumulatorLayout, liveCellsIn, windowTableBytesFor, WindowTable, type WindowPartials } from '../kernels/window/table.js';
import { hash64Into } from '../kernels/shared/xxhash32.js';
import type { EventBatch } from '../contracts/index.js';

export interface PipelineCounters {
  /** Rows processed (each is exactly one of duplicate, late, accepted). */
  rows: number;
  duplicates: number;
  late: number;
  accepted: number;
  /** Included in `late`: rows whose window had already been handed over (should stay 0). */
  lateAfterClose: number;
}

export interface LateRow {
  /** `__line` of the row: the 1-based physical line number (or source offset). */
  line: number;
  /** `__raw` of the row: the original line as ingest cut it. */
  raw: string;
}

export interface PipelineTaskOutput {
  counters: PipelineCounters;
  lateRows: LateRow[];
  /** Cells of windows that closed at this task, or null when none did. */
  partials: WindowPartials | null;
  /** Every window ending at or before this is closed in this partition (the task's control, echoed). */
  closedThroughMs: number;
  /** Accepted rows of this task as NDJSON + keys, in input order (options.events set), else null. */
  events: EventBatch | null;
}

const align8 = (n: number): number => Math.ceil(n / 8) * 8;

function bloomBytes(o: Pick<PipelineProcessorOptions, 'dedupe'>): number {
  return o.dedupe ? align8(bloomBytesFor(o.dedupe.bloom)) : 0;
}

function tableBytes(o: PipelineProcessorOptions): number {
  const a = o.aggregate;
  return windowTableBytesFor(a.maxOpenCells, accumulatorLayout(a.metrics, a.hllPrecision));
}

/** Open (window, group) cells of one partition's table, read from the main thread (metrics). */
export function openWindowCells(state: SharedArrayBuffer, options: Pick<PipelineProcessorOptions, 'dedupe'>): number {
  return liveCellsIn(state, bloomBytes(options));
}

/**
 * Empties one partition's state (Bloom and window table) as a fresh run has it; main thread, only while
 * no task runs (after drain). Processors on the workers keep views of this memory, not copies, so they
 * see the empty state with their next task.
 */
export function resetPartitionState(state: SharedArrayBuffer, options: PipelineProcessorOptions | Omit<PipelineProcessorOptions, 'enrich'>): void {
  new Uint8Array(state).fill(0);
  const a = options.aggregate;
  const assigner = new WindowAssigner(a.window);
  // Constructing the table over zeroed memory sets up its free list and header.
  void new WindowTable(state, bloomBytes(options), a.maxOpenCells, accumulatorLayout(a.metrics, a.hllPrecision), assigner.sizeMs, assigner.slideMs);
}

export function stateBytes(options: PipelineProcessorOptions, _layout?: BatchLayout): number {
  return bloomBytes(options) + tableBytes(options);
}

// ignoreBOM: a late line's leading U+FEFF stays in its raw text, as in the reference.
const textDecoder = new TextDecoder('utf-8', { ignoreBOM: true });

export class PipelineProcessor implements PartitionProcessor<PipelineTaskOutput> {
  private readonly options: PipelineProcessorOptions;
  private readonly bloom: GenerationalBloom | null;
  private readonly enrich: EnrichKernel | null;
  private readonly lookupIds: Int32Array;
  private readonly table: WindowTable;
  private readonly aggregator: RowAggregator;
  private readonly events: EventSerializer | null;
  /** Key hashes filled here, not by the decoder (options.keyHashesOnWorker). */
  private readonly keyHasher: KeyHasher | null;
  /** Per row of the batch: 1 = dedupe saw the key before (filled before the row loop). */
  private readonly duplicateFlags: Uint8Array;
  /** The accepted rows of the batch, in order, for the serializer's one appendRows call after the row loop. */
  private readonly acceptedRows: Int32Array;
  /** Key hashes (lo, hi per row) when the key column carries none; allocated on first need. */
  private keyHashScratch: Uint32Array | null = null;
  private rotationScratch: Float64Array | null = null;
  private noRotation: Float64Array | null = null;
  private counters: PipelineCounters = { rows: 0, duplicates: 0, late: 0, accepted: 0, lateAfterClose: 0 };
  private lateRows: LateRow[] = [];

  constructor(init: PartitionInit<PipelineProcessorOptions>) {
    const o = init.options;
    this.options = o;
    const state = init.state;
    this.bloom = o.dedupe ? new GenerationalBloom(state, 0, o.dedupe.bloom) : null;
    this.keyHasher = o.keyHashesOnWorker ? new KeyHasher(init.layout) : null;
    this.enrich = o.enrich ? new EnrichKernel(o.enrich, init.partition) : null;
    this.lookupIds = new Int32Array(init.layout.rowCapacity);
    this.duplicateFlags = new Uint8Array(o.dedupe ? init.layout.rowCapacity : 0);
    this.acceptedRows = new Int32Array(o.events ? init.layout.rowCapacity : 0);
    const a = o.aggregate;
    const assigner = new WindowAssigner(a.window);
    this.table = new WindowTable(state, bloomBytes(o), a.maxOpenCells, accumulatorLayout(a.metrics, a.hllPrecision),
      assigner.sizeMs, assigner.slideMs);
    this.aggregator = new RowAggregator(o.aggregate, init.layout, this.table, assigner, this.lookupIds);
    this.events = o.events
      ? new EventSerializer(init.layout, {
        keyField: o.events.keyField,
        enriched: o.enrich ? { name: o.enrich.as, dictionary: o.enrich.table.dictionary } : null,
      })
      : null;
  }

  process(batch: BatchView): void {
    const n = batch.rowCount;
    if (n === 0) return;
    if (this.keyHasher !== null) this.keyHasher.fill(batch);
    if (this.enrich) this.enrich.run(batch, this.lookupIds);
    const events = this.events;
    // After enrich.run: every value id in lookupIds was published before the dictionary count bind() reads.
    if (events !== null) events.bind(batch, this.enrich ? this.lookupIds : null);
    const ts = batch.column(this.options.timeField).values as Float64Array;
    const lateCol = batch.layout.byName.has('__late') ? batch.column('__late') : null;
    const late = lateCol ? (lateCol.values as Uint8Array) : null;
    const bloom = this.bloom;
    const duplicate = this.duplicateFlags;
    // Rows the skew guard rejected at ingest (`__late` = 2, already dead-lettered there) are not rows
    // of the pipeline: no dedupe, no count. One byte scan per batch finds whether there is any.
    const skewed = late !== null ? late.subarray(0, n).indexOf(2) : -1;
    // The whole batch at once, rows in order: the batch call overlaps the rows' cache misses (bloom.ts).
    if (bloom !== null) {
      const hashes = this.keyHashesOf(batch);
      const rotation = this.rotationTimes(ts, n);
      if (skewed < 0) bloom.checkAndAddBatch(hashes, rotation, n, duplicate);
      else this.checkAndAddAround(bloom, hashes, rotation, late!, n);
    }
    const agg = this.aggregator;
    agg.bind(batch);
    const closedThrough = this.table.closedThroughMs;
    const allowedLateness = this.options.aggregate.allowedLatenessMs;
    const c = this.counters;
    c.rows += n;
    const accepted = this.acceptedRows;
    let acceptedCount = 0;
    for (let r = 0; r < n; r++) {
      const t = ts[r];
      if (late !== null && late[r] === 2) { c.rows--; continue; }
      if (bloom !== null && duplicate[r] !== 0) { c.duplicates++; continue; }
      if (late !== null && late[r] !== 0) {
        c.late++;
        this.collectLate(batch, r);
        continue;
      }
      // A closed window still takes rows for allowedLatenessMs: they become new cells of it, handed over
      // at the end of this task as an update (window-emitter.ts).
      if (agg.firstWindowEnd(t) + allowedLateness <= closedThrough) {
        c.late++;
        c.lateAfterClose++;
        this.collectLate(batch, r);
        continue;
      }
      c.accepted++;
      agg.add(r, t);
      if (events !== null) accepted[acceptedCount++] = r;
    }
    // One call per batch: the native serializer's call overhead is paid per batch, not per row.
    if (events !== null) events.appendRows(accepted, acceptedCount);
  }

  /**
   * The times the Bloom rotates its generations by: each row's event time, at most the watermark of
   * the last task, so the dedupe horizon counts watermark time and an event ahead of the stream
   * cannot make the filter forget early. Before the first watermark nothing rotates (the Bloom keeps
   * its newest generation across the jump to the first one).
   */
  private rotationTimes(ts: Float64Array, n: number): Float64Array {
    const bloom = this.bloom!;
    const cap = bloom.rotationCapMs;
    // The common case: the cap starts no newer generation, so no row's capped time does either; times
    // that rotate nothing do as well, without a pass over the rows.
    if (cap < bloom.rotatesFromMs) return (this.noRotation ??= new Float64Array(ts.length).fill(Number.NEGATIVE_INFINITY));
    const out = (this.rotationScratch ??= new Float64Array(ts.length));
    for (let r = 0; r < n; r++) out[r] = ts[r] < cap ? ts[r] : cap;
    return out;
  }

  /** checkAndAddBatch over the runs of rows between skew-rejected ones (rare path: a batch holding one). */
  private checkAndAddAround(bloom: GenerationalBloom, hashes: Uint32Array, ts: Float64Array, late: Uint8Array, n: number): void {
    let from = 0;
    for (let r = 0; r <= n; r++) {
      if (r < n && late[r] !== 2) continue;
      if (r > from) bloom.checkAndAddBatch(hashes.subarray(2 * from), ts.subarray(from), r - from, this.duplicateFlags.subarray(from));
      if (r < n) this.duplicateFlags[r] = 0;
      from = r + 1;
    }
  }

  /** The dedupe key's (lo, hi) hash per row: the column's own, or computed from its bytes. */
  private keyHashesOf(batch: BatchView): Uint32Array {
    const col = batch.column(this.options.dedupe!.keyField);
    if (col.hash) return col.hash;
    const out = (this.keyHashScratch ??= new Uint32Array(2 * batch.layout.rowCapacity));
    const bytes = col.values as Uint8Array;
    const offsets = col.offsets!;
    for (let r = 0; r < batch.rowCount; r++) hash64Into(bytes, offsets[r], offsets[r + 1], out, 2 * r);
    return out;
  }

  /** Rare path: the allocation of a string per late row is fine here. */
  private collectLate(batch: BatchView, r: number): void {
    const byName = batch.layout.byName;
    const line = byName.has('__line') ? (batch.column('__line').values as Float64Array)[r] : NaN;
    let raw = '';
    if (byName.has('__raw')) {
      const col = batch.column('__raw');
      const offsets = col.offsets!;
      raw = textDecoder.decode((col.values as Uint8Array).subarray(offsets[r], offsets[r + 1]));
    }
    this.lateRows.push({ line, raw });
  }

  finishTask(control: TaskControl): PipelineTaskOutput {
    const closedThroughMs = control.final ? Infinity : control.closeBeforeMs;
    // The watermark of this task caps the next tasks' rotation times (in the partition's state, so any
    // worker thread sees it); -Infinity after Pipeline.resetState; +Infinity (final) rotates nothing more.
    if (this.bloom !== null && control.closeBeforeMs !== Number.POSITIVE_INFINITY) this.bloom.rotationCapMs = control.closeBeforeMs;
    const partials = this.table.closeBefore(closedThroughMs);
    const events = this.events !== null ? this.events.finish() : null;
    const out: PipelineTaskOutput = { counters: this.counters, lateRows: this.lateRows, partials, closedThroughMs, events };
    this.counters = { rows: 0, duplicates: 0, late: 0, accepted: 0, lateAfterClose: 0 };
    this.lateRows = [];
    return out;
  }
}

export function createProcessor(init: PartitionInit<PipelineProcessorOptions>): PipelineProcessor {
  return new PipelineProcessor(init);
}

/** The event arrays own their ArrayBuffers (exact-size copies): move them to the main thread instead of cloning. */
export function transferList(out: PipelineTaskOutput): ArrayBuffer[] {
  const e = out.events;
  return e ? [e.lines.buffer, e.lineEnds.buffer, e.keys.buffer, e.keyEnds.buffer] as ArrayBuffer[] : [];
}

const pipelineProcessorModule: ProcessorModule<PipelineProcessorOptions, PipelineTaskOutput> = { stateBytes, createProcessor, transferList };
export default pipelineProcessorModule;
