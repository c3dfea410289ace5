/**
 * Scale-out, first stage: with `__source` as the hidden last group field (plan.sourcePartitionCells),
 * a merged cell's group key is `baseKey + sourcePartition * baseKeySpace`. This splits it back into
 * the source partition and the group's field values, so a cell can travel to the merging stage as
 * (window, group values, source partition, accumulators).
 *
 * Group values travel decoded, not as the dense key: an enriched field's value ids are given out by
 * each daemon's own dictionary, so the same id can name different values in two daemons.
 */
import { SOURCE_COLUMN } from '../../kernels/input/columns.js';
import { buildGroupPlan, decodeGroupKey, type GroupPlan } from '../../kernels/window/groups.js';
import type { MergedCell } from '../../kernels/window/partials.js';
import type { ColumnSpec } from '../../runtime/schema.js';

export type GroupValue = string | number | boolean | null;

/** One source partition's closed (window, group) cell. */
export interface PartialCell {
  windowStartMs: number;
  sourcePartition: number;
  /** Group field values in `aggregate.groupBy` order (the hidden field left out). */
  groupValues: GroupValue[];
  count: number;
  /** Accumulator slots of table.ts's layout (min / max of no values are -/+Infinity). */
  acc: Float64Array;
  /** The cell's HyperLogLog register blocks, one per distinct metric. */
  hll: Uint8Array;
}

export class SourcePartitionSplit {
  private readonly basePlan: GroupPlan;

  constructor(
    aggregate: { groupBy: readonly string[]; lookupFields: readonly (readonly [string, number])[] },
    columns: readonly ColumnSpec[],
    private readonly dictionaries: ReadonlyMap<string, readonly string[]>,
  ) {
    const groupBy = aggregate.groupBy;
    if (groupBy[groupBy.length - 1] !== SOURCE_COLUMN) throw new RangeError(`the last group field must be ${SOURCE_COLUMN}`);
    this.basePlan = buildGroupPlan(groupBy.slice(0, -1), columns, new Map(aggregate.lookupFields.map(([n, c]) => [n, c])));
  }

  /** The group field names, in the order of PartialCell.groupValues. */
  get groupFields(): string[] {
    return this.basePlan.fields.map((f) => f.name);
  }

  cells(merged: readonly MergedCell[]): PartialCell[] {
    const space = this.basePlan.keySpace;
    const fields = this.basePlan.fields;
    return merged.map((c) => {
      const sourcePartition = Math.floor(c.groupKey / space);
      const values = decodeGroupKey(this.basePlan, c.groupKey - sourcePartition * space, this.dictionaries);
      return {
        windowStartMs: c.windowStartMs,
        sourcePartition,
        groupValues: fields.map((f) => values[f.name] ?? null),
        count: c.count,
        acc: c.acc,
        hll: c.hll,
      };
    });
  }
}
