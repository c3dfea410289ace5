/**
 * Main-thread side of window closing: partitions hand over the partial aggregates of the windows they
 * closed, each tagged with the watermark it closed through; a window is complete — and emitted exactly
 * once — when every partition has closed through its end. Partials of the same (window, group) from
 * different partitions are merged first (PartialMerger), so an emitted row covers all partitions.
 */
import type { PipelineTaskOutput } from './processor.js';
import { PartialMerger, type MergedCell, type RowPlan } from '../kernels/window/partials.js';

export class WindowEmitter {
  private readonly closedThroughMs: Float64Array;
  private merger: PartialMerger;
  private emittedThroughMs = Number.NEGATIVE_INFINITY;
  windowsEmitted = 0;
  rowsEmitted = 0;

  constructor(
    partitions: number,
    private readonly plan: RowPlan,
    /** The merged cells of every window ending at or before `throughMs` not emitted before (called on every advance, also with none). */
    private readonly emit: (cells: MergedCell[], throughMs: number) => void,
  ) {
    this.closedThroughMs = new Float64Array(partitions).fill(Number.NEGATIVE_INFINITY);
    this.merger = new PartialMerger(plan.layout);
  }

  /** One finished task of `partition`. Emits every window that all partitions have now closed. */
  onTaskOutput(partition: number, out: PipelineTaskOutput): void {
    this.merger.add(out.partials);
    if (out.closedThroughMs > this.closedThroughMs[partition]) this.closedThroughMs[partition] = out.closedThroughMs;
    let through = Number.POSITIVE_INFINITY;
    for (let p = 0; p < this.closedThroughMs.length; p++) through = Math.min(through, this.closedThroughMs[p]);
    if (through <= this.emittedThroughMs) return;
    this.emittedThroughMs = through;
    const cells = this.merger.take(through, this.plan.windowSizeMs);
    let lastStart = Number.NaN;
    for (const c of cells) {
      if (c.windowStartMs !== lastStart) this.windowsEmitted++;
      lastStart = c.windowStartMs;
    }
    this.rowsEmitted += cells.length;
    this.emit(cells, through);
  }

  /** Back to a fresh run's state (scale-out rebalance, Pipeline.resetState); counters are kept. */
  reset(): void {
    this.closedThroughMs.fill(Number.NEGATIVE_INFINITY);
    this.merger = new PartialMerger(this.plan.layout);
    this.emittedThroughMs = Number.NEGATIVE_INFINITY;
  }

  /** Every window ending at or before this has been handed to `emit` (or had no rows). */
  get emittedThrough(): number { return this.emittedThroughMs; }

  /** Cells still waiting for some partition (0 once everything is closed). */
  get pendingCells(): number { return this.merger.size; }
}
