/**
 * Scale-out, second stage: merges the first stage's partial cells (one per window, group and source
 * partition, partial-records.ts) into one row per (window, group), final only once every source
 * partition's marker has passed the window's end.
 *
 * The rules that make the result independent of which daemon owned a source partition, and of
 * redelivery (a restarted or newly assigned daemon reads a partition again from its committed offset):
 *  - a partial replaces the earlier partial of the same (window, group, source partition): a cell is
 *    recomputed whole from the committed offset, never added to;
 *  - a partial for a window that its source partition's marker already passed is ignored: the owner
 *    that sent the marker had written the complete partial before it, and a re-read from a later
 *    committed offset can only see part of that window;
 *  - markers only move forward, and a window is emitted once, when the smallest marker over all source
 *    partitions has passed its end; partials for an emitted window are ignored.
 * What the merge needs after a restart (emitted-through and the markers, as of a position of the
 * partials topic) is `restartState()`, stored with that position's commit.
 */
import { cellToRow, mergeCellInto, type MergedCell, type RowPlan } from '../../kernels/window/partials.js';
import type { AccumulatorLayout } from '../../kernels/window/table.js';
import type { WindowRow } from '../../contracts/index.js';
import type { PartialCell } from './source-partition-split.js';
import type { PartialRecord } from './partial-records.js';

export interface MergeShape {
  windowSizeMs: number;
  /** Group field names, in the order of PartialCell.groupValues. */
  groupFields: readonly string[];
  layout: AccumulatorLayout;
}

/** The merge's position-dependent state, for the commit metadata of the partials topic. */
export interface MergeRestartState {
  emittedThroughMs: number;
  /** Marker per source partition (index = dense id); its length is the source partition count. */
  closedThroughMs: number[];
}

export interface MergeCounters {
  partials: number;
  /** Partials that replaced one of the same (window, group, source partition). */
  replaced: number;
  /** Partials ignored: their source partition's marker or the emitted-through had passed their window. */
  ignored: number;
  markers: number;
}

interface PendingCell {
  windowStartMs: number;
  groupValues: PartialCell['groupValues'];
  bySource: Map<number, PartialCell>;
}

export class MergeStage {
  private readonly pending = new Map<string, PendingCell>();
  private closedThrough: number[] = [];
  private sourcePartitions = 0;
  private emittedThrough = Number.NEGATIVE_INFINITY;
  private readonly rowPlan: RowPlan;
  readonly counters: MergeCounters = { partials: 0, replaced: 0, ignored: 0, markers: 0 };

  constructor(private readonly shape: MergeShape) {
    this.rowPlan = { windowSizeMs: shape.windowSizeMs, groups: { fields: [], keySpace: 1 }, layout: shape.layout };
  }

  /** Back to the state stored with a commit (or the empty state): pending cells are dropped. */
  restore(state: MergeRestartState | null): void {
    this.pending.clear();
    this.emittedThrough = state?.emittedThroughMs ?? Number.NEGATIVE_INFINITY;
    this.closedThrough = state ? [...state.closedThroughMs] : [];
    this.sourcePartitions = this.closedThrough.length;
  }

  restartState(): MergeRestartState {
    return { emittedThroughMs: this.emittedThrough, closedThroughMs: [...this.closedThrough] };
  }

  get emittedThroughMs(): number { return this.emittedThrough; }

  /** The latest window end among pending cells (-Infinity when none): what a commit must wait for. */
  get pendingThroughMs(): number {
    let latest = Number.NEGATIVE_INFINITY;
    for (const c of this.pending.values()) latest = Math.max(latest, c.windowStartMs + this.shape.windowSizeMs);
    return latest;
  }

  get pendingCells(): number { return this.pending.size; }

  apply(record: PartialRecord): void {
    if (record.kind === 'marker') {
      const m = record.marker;
      this.counters.markers++;
      this.growTo(Math.max(m.sourcePartitions, m.sourcePartition + 1));
      if (m.closedThroughMs > this.closedThrough[m.sourcePartition]) this.closedThrough[m.sourcePartition] = m.closedThroughMs;
      return;
    }
    const cell = record.cell;
    this.counters.partials++;
    const end = cell.windowStartMs + this.shape.windowSizeMs;
    this.growTo(cell.sourcePartition + 1);
    if (end <= this.emittedThrough || end <= this.closedThrough[cell.sourcePartition]) {
      this.counters.ignored++;
      return;
    }
    const key = `${cell.windowStartMs}|${JSON.stringify(cell.groupValues)}`;
    let p = this.pending.get(key);
    if (!p) {
      p = { windowStartMs: cell.windowStartMs, groupValues: cell.groupValues, bySource: new Map() };
      this.pending.set(key, p);
    }
    if (p.bySource.has(cell.sourcePartition)) this.counters.replaced++;
    p.bySource.set(cell.sourcePartition, cell);
  }

  /**
   * Rows of every window that all source partitions' markers have now passed, ordered by window start
   * and then by group values as the first stage ordered them; empty when none.
   */
  takeFinal(): WindowRow[] {
    let through = this.sourcePartitions === 0 ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
    for (let s = 0; s < this.sourcePartitions; s++) through = Math.min(through, this.closedThrough[s]);
    if (!(through > this.emittedThrough)) return [];
    this.emittedThrough = through;
    const ready: PendingCell[] = [];
    for (const [key, p] of this.pending) {
      if (p.windowStartMs + this.shape.windowSizeMs <= through) {
        ready.push(p);
        this.pending.delete(key);
      }
    }
    ready.sort((a, b) => a.windowStartMs - b.windowStartMs || compareValues(a.groupValues, b.groupValues));
    return ready.map((p) => this.toRow(p));
  }

  private toRow(p: PendingCell): WindowRow {
    const layout = this.shape.layout;
    const sources = [...p.bySource.keys()].sort((a, b) => a - b);
    const first = p.bySource.get(sources[0])!;
    const merged: MergedCell = { windowStartMs: p.windowStartMs, groupKey: 0, count: first.count, acc: first.acc.slice(), hll: first.hll.slice() };
    for (let i = 1; i < sources.length; i++) {
      const c = p.bySource.get(sources[i])!;
      mergeCellInto(merged, layout, c.count, c.acc, 0, c.hll, 0);
    }
    const values: Record<string, PartialCell['groupValues'][number]> = {};
    this.shape.groupFields.forEach((f, i) => { values[f] = p.groupValues[i] ?? null; });
    return cellToRow(merged, this.rowPlan, new Map(), values);
  }

  private growTo(n: number): void {
    while (this.closedThrough.length < n) this.closedThrough.push(Number.NEGATIVE_INFINITY);
    if (n > this.sourcePartitions) this.sourcePartitions = n;
  }
}

function compareValues(a: readonly (string | number | boolean | null)[], b: readonly (string | number | boolean | null)[]): number {
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    const y = b[i];
    if (x === y) continue;
    if (x === null) return 1;
    if (y === null) return -1;
    return x < y ? -1 : 1;
  }
  return 0;
}
