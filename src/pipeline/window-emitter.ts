/**
 * Main-thread side of window closing: partitions hand over the partial aggregates of the windows they
 * closed, each tagged with the watermark it closed through; a window is complete — and first emitted —
 * when every partition has closed through its end. Partials of the same (window, group) from
 * different partitions are merged first (PartialMerger), so an emitted row covers all partitions.
 *
 * With aggregate.allowedLatenessMs, an emitted window's cells are kept until the watermark is that far
 * past its end: a partition's cells for a window already emitted are late events counted after the
 * emission (processor.ts); they are merged into the kept cell and the cell is emitted again, whole, as
 * the next `revision` of its row (0 at the first emission): ClickHouse keeps the highest version,
 * Redis and the files sink the last written (ARCHITECTURE.md "Deterministic semantics").
 */
import type { PipelineTaskOutput } from './processor.js';
import { mergeCellInto, PartialMerger, type MergedCell, type RowPlan } from '../kernels/window/partials.js';

export class WindowEmitter {
  private readonly closedThroughMs: Float64Array;
  private merger: PartialMerger;
  private emittedThroughMs = Number.NEGATIVE_INFINITY;
  /** Emitted cells of windows still open for updates: window start -> group key -> cell. */
  private kept = new Map<number, Map<number, MergedCell>>();
  windowsEmitted = 0;
  rowsEmitted = 0;
  /** Rows emitted again because late events updated their window (included in rowsEmitted). */
  rowsUpdated = 0;

  constructor(
    partitions: number,
    private readonly plan: RowPlan,
    /** The merged cells of every window ending at or before `throughMs` not emitted before (called on every advance, also with none). */
    private readonly emit: (cells: MergedCell[], throughMs: number) => void,
    private readonly allowedLatenessMs = 0,
  ) {
    this.closedThroughMs = new Float64Array(partitions).fill(Number.NEGATIVE_INFINITY);
    this.merger = new PartialMerger(plan.layout);
  }

  /** One finished task of `partition`. Emits every window that all partitions have now closed. */
  onTaskOutput(partition: number, out: PipelineTaskOutput): void {
    this.merger.add(out.partials);
    if (this.allowedLatenessMs > 0 && this.emittedThroughMs > Number.NEGATIVE_INFINITY) this.emitUpdates();
    if (out.closedThroughMs > this.closedThroughMs[partition]) this.closedThroughMs[partition] = out.closedThroughMs;
    let through = Number.POSITIVE_INFINITY;
    for (let p = 0; p < this.closedThroughMs.length; p++) through = Math.min(through, this.closedThroughMs[p]);
    if (through <= this.emittedThroughMs) return;
    this.emittedThroughMs = through;
    const size = this.plan.windowSizeMs;
    const cells = this.merger.take(through, size);
    let lastStart = Number.NaN;
    for (const c of cells) {
      if (c.windowStartMs !== lastStart) this.windowsEmitted++;
      lastStart = c.windowStartMs;
    }
    this.rowsEmitted += cells.length;
    if (this.allowedLatenessMs > 0) {
      const final = (start: number): boolean => start + size + this.allowedLatenessMs <= through;
      for (const start of this.kept.keys()) if (final(start)) this.kept.delete(start);
      for (const c of cells) {
        c.revision = 0;
        if (!final(c.windowStartMs)) this.keptWindow(c.windowStartMs).set(c.groupKey, c);
      }
    }
    this.emit(cells, through);
  }

  /** Cells of windows already emitted: late events' counts, merged into the kept cells and emitted again whole. */
  private emitUpdates(): void {
    const deltas = this.merger.take(this.emittedThroughMs, this.plan.windowSizeMs);
    if (deltas.length === 0) return;
    const layout = this.plan.layout;
    const updated: MergedCell[] = [];
    for (const d of deltas) {
      // A window only late events fell in is emitted for the first time.
      if (!this.kept.has(d.windowStartMs)) this.windowsEmitted++;
      const window = this.keptWindow(d.windowStartMs);
      const kept = window.get(d.groupKey);
      if (kept === undefined) {
        // A group the window did not have at its first emission.
        d.revision = 0;
        window.set(d.groupKey, d);
        updated.push(d);
      } else {
        mergeCellInto(kept, layout, d.count, d.acc, 0, d.hll, 0);
        kept.revision = (kept.revision ?? 0) + 1;
        updated.push(kept);
      }
    }
    this.rowsEmitted += updated.length;
    this.rowsUpdated += updated.length;
    this.emit(updated, this.emittedThroughMs);
  }

  private keptWindow(startMs: number): Map<number, MergedCell> {
    let window = this.kept.get(startMs);
    if (window === undefined) {
      window = new Map();
      this.kept.set(startMs, window);
    }
    return window;
  }

  /** Back to a fresh run's state (scale-out rebalance, Pipeline.resetState); counters are kept. */
  reset(): void {
    this.closedThroughMs.fill(Number.NEGATIVE_INFINITY);
    this.merger = new PartialMerger(this.plan.layout);
    this.kept = new Map();
    this.emittedThroughMs = Number.NEGATIVE_INFINITY;
  }

  /** Every window ending at or before this has been handed to `emit` (or had no rows). */
  get emittedThrough(): number { return this.emittedThroughMs; }

  /** Cells still waiting for some partition (0 once everything is closed). */
  get pendingCells(): number { return this.merger.size; }
}
