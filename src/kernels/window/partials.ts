/**
 * Main-thread side of window aggregation: combine the partials that partitions hand over when they
 * close windows, and turn merged cells into output rows.
 *
 * Merging is exact for count, min and max; sums are double-double on both sides, so a merged sum is
 * (in practice) the correctly rounded exact sum whatever the partition split; HyperLogLog registers
 * take the max, which gives exactly the sketch of the union.
 *
 * Row shape: { window_start, window_end, <group fields in groupBy order>, <metrics in config order> }
 *   count -> rows; sum -> number; avg -> sum / non-null values (null if none); min / max -> number
 *   (null if no non-null value); distinct -> round(HLL estimate).
 */
import { hllEstimate, hllMerge } from './hyperloglog.js';
import type { ColumnSpec } from '../../runtime/schema.js';
import { buildGroupPlan, decodeGroupKey, type GroupPlan } from './groups.js';
import { accumulatorLayout, addExact, type AccumulatorLayout, type WindowPartials } from './table.js';
import type { WindowRow } from '../../contracts/index.js';

export interface MergedCell {
  windowStartMs: number;
  groupKey: number;
  count: number;
  acc: Float64Array;
  hll: Uint8Array;
}


/** Accumulates partials by (window, group) until their windows are taken for emission. */
export class PartialMerger {
  private readonly cells = new Map<string, MergedCell>();
  private readonly layout: AccumulatorLayout;

  constructor(layout: AccumulatorLayout) {
    this.layout = layout;
  }

  get size(): number { return this.cells.size; }

  add(p: WindowPartials | null): void {
    if (!p) return;
    const slots = this.layout.accSlots;
    const hb = p.hllBytesPerCell;
    if (p.accSlots !== slots) throw new RangeError(`partials have ${p.accSlots} accumulator slots, expected ${slots}`);
    for (let i = 0; i < p.cellCount; i++) {
      const key = `${p.windowStartMs[i]}:${p.groupKey[i]}`;
      let cell = this.cells.get(key);
      if (!cell) {
        cell = {
          windowStartMs: p.windowStartMs[i],
          groupKey: p.groupKey[i],
          count: p.count[i],
          acc: p.acc.slice(i * slots, (i + 1) * slots),
          hll: p.hll.slice(i * hb, (i + 1) * hb),
        };
        this.cells.set(key, cell);
        continue;
      }
      cell.count += p.count[i];
      for (const m of this.layout.metrics) {
        const o = m.accOffset;
        const src = i * slots + o;
        switch (m.op) {
          case 'sum':
            addExact(cell.acc, o, p.acc[src]);
            cell.acc[o + 1] += p.acc[src + 1];
            break;
          case 'avg':
            addExact(cell.acc, o, p.acc[src]);
            cell.acc[o + 1] += p.acc[src + 1];
            cell.acc[o + 2] += p.acc[src + 2];
            break;
          case 'min': if (p.acc[src] < cell.acc[o]) cell.acc[o] = p.acc[src]; break;
          case 'max': if (p.acc[src] > cell.acc[o]) cell.acc[o] = p.acc[src]; break;
          case 'distinct': {
            const bytes = hb / this.layout.hllBlocks;
            hllMerge(cell.hll, m.hllBlock * bytes, p.hll, i * hb + m.hllBlock * bytes, this.layout.hllPrecision);
            break;
          }
          default: break;
        }
      }
    }
  }

  /** Remove and return the merged cells whose window ends at or before endMs, by (start, group key). */
  take(endMs: number, windowSizeMs: number): MergedCell[] {
    const out: MergedCell[] = [];
    for (const [key, cell] of this.cells) {
      if (cell.windowStartMs + windowSizeMs <= endMs) {
        out.push(cell);
        this.cells.delete(key);
      }
    }
    out.sort((a, b) => a.windowStartMs - b.windowStartMs || a.groupKey - b.groupKey);
    return out;
  }
}

/** Merge a list of partials and return every cell (ordered by window start, then group key). */
export function mergePartials(list: readonly (WindowPartials | null)[], layout: AccumulatorLayout): MergedCell[] {
  const merger = new PartialMerger(layout);
  for (const p of list) merger.add(p);
  return merger.take(Infinity, 0);
}

export interface RowPlan {
  windowSizeMs: number;
  groups: GroupPlan;
  layout: AccumulatorLayout;
}

export function cellToRow(cell: MergedCell, plan: RowPlan, dictionaries: ReadonlyMap<string, readonly string[]>): WindowRow {
  const row: WindowRow = { window_start: cell.windowStartMs, window_end: cell.windowStartMs + plan.windowSizeMs };
  Object.assign(row, decodeGroupKey(plan.groups, cell.groupKey, dictionaries));
  const layout = plan.layout;
  const blockBytes = layout.hllBlocks > 0 ? cell.hll.length / layout.hllBlocks : 0;
  for (const m of layout.metrics) {
    const o = m.accOffset;
    switch (m.op) {
      case 'count': row[m.name] = cell.count; break;
      case 'sum': row[m.name] = cell.acc[o] + cell.acc[o + 1]; break;
      case 'avg': row[m.name] = cell.acc[o + 2] > 0 ? (cell.acc[o] + cell.acc[o + 1]) / cell.acc[o + 2] : null; break;
      case 'min': case 'max': row[m.name] = Number.isFinite(cell.acc[o]) ? cell.acc[o] : null; break;
      case 'distinct':
        row[m.name] = Math.round(hllEstimate(cell.hll, m.hllBlock * blockBytes, layout.hllPrecision));
        break;
    }
  }
  return row;
}

export function cellsToRows(cells: readonly MergedCell[], plan: RowPlan,
  dictionaries: ReadonlyMap<string, readonly string[]>): WindowRow[] {
  return cells.map((c) => cellToRow(c, plan, dictionaries));
}

/** The emit plan matching the processors' options, for the main thread. */
export function rowPlanFor(aggregate: {
  window: { sizeMs: number };
  groupBy: string[];
  lookupFields: [string, number][];
  metrics: { name: string; op: AccumulatorLayout['metrics'][number]['op'] }[];
  hllPrecision: number;
}, columns: readonly ColumnSpec[]): RowPlan {
  return {
    windowSizeMs: aggregate.window.sizeMs,
    groups: buildGroupPlan(aggregate.groupBy, columns, new Map(aggregate.lookupFields)),
    layout: accumulatorLayout(aggregate.metrics, aggregate.hllPrecision),
  };
}
