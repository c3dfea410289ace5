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
  /** With aggregate.allowedLatenessMs: 0 at the row's first emission, +1 at each update (window-emitter.ts). */
  revision?: number;
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
      const cell = this.cells.get(key);
      if (!cell) {
        this.cells.set(key, {
          windowStartMs: p.windowStartMs[i],
          groupKey: p.groupKey[i],
          count: p.count[i],
          acc: p.acc.slice(i * slots, (i + 1) * slots),
          hll: p.hll.slice(i * hb, (i + 1) * hb),
        });
        continue;
      }
      mergeCellInto(cell, this.layout, p.count[i], p.acc, i * slots, p.hll, i * hb);
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

/**
 * dst += one source cell (count, its accumulators at src[srcBase ..], its register blocks at
 * hll[hllBase ..]): count / sum / avg add, min / max combine, registers take the max.
 */
export function mergeCellInto(dst: MergedCell, layout: AccumulatorLayout, count: number,
  src: Float64Array, srcBase: number, hll: Uint8Array, hllBase: number): void {
  dst.count += count;
  const blockBytes = layout.hllBlocks > 0 ? dst.hll.length / layout.hllBlocks : 0;
  for (const m of layout.metrics) {
    const o = m.accOffset;
    const at = srcBase + o;
    switch (m.op) {
      case 'sum':
        addExact(dst.acc, o, src[at]);
        dst.acc[o + 1] += src[at + 1];
        break;
      case 'avg':
        addExact(dst.acc, o, src[at]);
        dst.acc[o + 1] += src[at + 1];
        dst.acc[o + 2] += src[at + 2];
        break;
      case 'min': if (src[at] < dst.acc[o]) dst.acc[o] = src[at]; break;
      case 'max': if (src[at] > dst.acc[o]) dst.acc[o] = src[at]; break;
      case 'distinct':
        hllMerge(dst.hll, m.hllBlock * blockBytes, hll, hllBase + m.hllBlock * blockBytes, layout.hllPrecision);
        break;
      default: break;
    }
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

/** `groupValues`, when given, are the row's group fields instead of the decoded cell.groupKey (scale-out merge). */
export function cellToRow(cell: MergedCell, plan: RowPlan, dictionaries: ReadonlyMap<string, readonly string[]>,
  groupValues?: Readonly<Record<string, string | number | boolean | null>>): WindowRow {
  const row: WindowRow = { window_start: cell.windowStartMs, window_end: cell.windowStartMs + plan.windowSizeMs };
  Object.assign(row, groupValues ?? decodeGroupKey(plan.groups, cell.groupKey, dictionaries));
  const layout = plan.layout;
  const blockBytes = layout.hllBlocks > 0 ? cell.hll.length / layout.hllBlocks : 0;
  if (cell.revision !== undefined) row.revision = cell.revision;
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
