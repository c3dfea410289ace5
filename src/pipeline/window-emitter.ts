/**
 * Main-thread side of window closing: partitions hand over the partial aggregates of the windows they
 * closed, each tagged with the watermark it closed through; a window is complete — and emitted exactly
 * once — when every partition has closed through its end. Partials of the same (window, group) from
 * different partitions are merged first (PartialMerger), so an emitted row covers all partitions.
 */
import type { PipelineTaskOutput } from './processor.js';
import { cellsToRows, PartialMerger, type RowPlan } from '../kernels/window/partials.js';
import type { WindowRow } from '../contracts/index.js';

export class WindowEmitter {
  private readonly closedThroughMs: Float64Array;
  private readonly merger: PartialMerger;
  private emittedThroughMs = Number.NEGATIVE_INFINITY;
  windowsEmitted = 0;
  rowsEmitted = 0;

  constructor(
    partitions: number,
    private readonly plan: RowPlan,
    private readonly dictionaries: ReadonlyMap<string, readonly string[]>,
    private readonly emit: (rows: WindowRow[]) => void,
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
    if (cells.length === 0) return;
    const rows = cellsToRows(cells, this.plan, this.dictionaries);
    let lastStart = Number.NaN;
    for (const c of cells) {
      if (c.windowStartMs !== lastStart) this.windowsEmitted++;
      lastStart = c.windowStartMs;
    }
    this.rowsEmitted += rows.length;
    this.emit(rows);
  }

  /** Every window ending at or before this has been handed to `emit` (or had no rows). */
  get emittedThrough(): number { return this.emittedThroughMs; }

  /** Cells still waiting for some partition (0 once everything is closed). */
  get pendingCells(): number { return this.merger.size; }
}
