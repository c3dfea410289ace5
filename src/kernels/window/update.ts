/** The window aggregate's options, compiled from the `aggregate` config section (structured-cloneable). */
export interface AggregateOptions {
  window: { type: 'tumbling' | 'hopping'; sizeMs: number; slideMs: number };
  groupBy: string[];
  /** Enriched fields and their number of value ids (the group cardinality). */
  lookupFields: [string, number][];
  metrics: { name: string; op: MetricOp; field?: string }[];
  maxOpenCells: number;
  hllPrecision: number;
  /** A row may still count in a window this long after the window was closed (an update of its row). */
  allowedLatenessMs: number;
}

/**
 * The per-row step of the window aggregate: compute the row's dense group key, find the cell of each
 * window containing its event time, and update the cell's count and metric accumulators.
 *
 * Column views are bound once per batch (`bind`); `add` then touches only typed arrays, so the hot
 * loop allocates nothing. Null metric inputs are skipped (sum/avg/min/max/distinct ignore them;
 * count counts rows). Distinct of a string field hashes its bytes unless the column already carries
 * the 64-bit key hash; distinct of a number hashes its float64 bits.
 */
import type { BatchView, ColumnValues } from '../../runtime/batch.js';
import type { BatchLayout } from '../../runtime/schema.js';
import { KernelError } from '../../errors.js';
import { hllAdd } from './hyperloglog.js';
import type { MetricOp } from './table.js';
import type { WindowAssigner } from './assign.js';
import { buildGroupPlan } from './groups.js';
import { compileAdd, type CompiledAdd } from './update-compiled.js';
import { addExact, type WindowTable } from './table.js';
import { hash64Into } from '../shared/xxhash32.js';
import { fmix32 } from '../../runtime/fmix32.js';

const OP_COUNT = 0;
const OP_SUM = 1;
const OP_MIN = 2;
const OP_MAX = 3;
const OP_AVG = 4;
const OP_DISTINCT = 5;
const OP_CODES = { count: OP_COUNT, sum: OP_SUM, min: OP_MIN, max: OP_MAX, avg: OP_AVG, distinct: OP_DISTINCT } as const;

const G_ENUM = 0;
const G_BOOL = 1;
const G_INT32 = 2;
const G_LOOKUP = 3;
const G_SOURCE = 4;
const G_CODES = { enum: G_ENUM, bool: G_BOOL, int32: G_INT32, lookup: G_LOOKUP, source: G_SOURCE } as const;


export class RowAggregator {
  private readonly table: WindowTable;
  private readonly assigner: WindowAssigner;
  private readonly lookupIds: Int32Array;
  private readonly slideMs: number;
  private readonly accSlots: number;
  private readonly hllBytesPerCell: number;
  private readonly hllPrecision: number;
  // Group fields, parallel arrays.
  private readonly gKind: Int32Array;
  private readonly gRadix: Float64Array;
  private readonly gNullCode: Float64Array;
  private readonly gColumn: string[];
  private readonly gValues: (ColumnValues | null)[];
  private readonly gValidity: (Uint8Array | null)[];
  // Metrics, parallel arrays.
  private readonly mOp: Int32Array;
  private readonly mAcc: Int32Array;
  private readonly mHll: Int32Array;
  private readonly mField: (string | null)[];
  private readonly mString: Uint8Array;
  private readonly mValues: (ColumnValues | null)[];
  private readonly mValidity: (Uint8Array | null)[];
  private readonly mOffsets: (Int32Array | null)[];
  private readonly mHash: (Uint32Array | null)[];
  private readonly scratch = new Uint32Array(2);
  private readonly f64 = new Float64Array(1);
  private readonly f64Words = new Uint32Array(this.f64.buffer);

  /** Count row r (event time ts) in every window containing ts: the compiled form (update-compiled.ts) or addReference. */
  readonly add: (r: number, ts: number) => void;
  private readonly compiled: CompiledAdd | null;

  /** `compiled: false` keeps the generic loop (addReference), which the compiled form is tested against. */
  constructor(a: AggregateOptions, layout: BatchLayout, table: WindowTable, assigner: WindowAssigner, lookupIds: Int32Array,
    opts: { compiled?: boolean } = {}) {
    this.table = table;
    this.assigner = assigner;
    this.lookupIds = lookupIds;
    this.slideMs = assigner.slideMs;
    this.accSlots = table.layout.accSlots;
    this.hllBytesPerCell = table.hllBytesPerCell;
    this.hllPrecision = a.hllPrecision;
    const plan = buildGroupPlan(a.groupBy, layout.schema.columns, new Map(a.lookupFields));
    this.gKind = Int32Array.from(plan.fields, (f) => G_CODES[f.kind]);
    this.gRadix = Float64Array.from(plan.fields, (f) => f.radix);
    this.gNullCode = Float64Array.from(plan.fields, (f) => f.cardinality - 1);
    this.gColumn = plan.fields.map((f) => f.name);
    this.gValues = plan.fields.map(() => null);
    this.gValidity = plan.fields.map(() => null);
    const slots = table.layout.metrics;
    const regs = 1 << a.hllPrecision;
    this.mOp = Int32Array.from(slots, (m) => OP_CODES[m.op]);
    this.mAcc = Int32Array.from(slots, (m) => m.accOffset);
    this.mHll = Int32Array.from(slots, (m) => (m.hllBlock >= 0 ? m.hllBlock * regs : -1));
    this.mField = a.metrics.map((m, i) => {
      if (m.op === 'count') return null;
      const col = layout.byName.get(m.field!);
      if (!col) throw new KernelError(`aggregate.metrics[${i}].field: no input column "${m.field}"`);
      if (col.spec.type === 'string' && m.op !== 'distinct') {
        throw new KernelError(`aggregate.metrics[${i}].field: "${m.field}" is a string; only distinct applies`);
      }
      return m.field!;
    });
    this.mString = Uint8Array.from(a.metrics, (m) => (m.field && layout.byName.get(m.field)?.spec.type === 'string' ? 1 : 0));
    this.mValues = slots.map(() => null);
    this.mValidity = slots.map(() => null);
    this.mOffsets = slots.map(() => null);
    this.mHash = slots.map(() => null);
    this.compiled = opts.compiled === false ? null : compileAdd({
      groups: plan.fields.map((f, i) => ({
        kind: f.kind, column: f.kind === 'lookup' ? -1 : layout.byName.get(f.name)!.index, radix: f.radix, nullCode: this.gNullCode[i],
      })),
      metrics: slots.map((m, i) => {
        const col = this.mField[i] === null ? null : layout.byName.get(this.mField[i]!)!;
        return {
          op: m.op, column: col?.index ?? -1, accOffset: m.accOffset, hllOffset: this.mHll[i],
          distinctInput: col === null || col.spec.type !== 'string' ? 'number' : col.hashOffset >= 0 ? 'hash' : 'bytes',
        };
      }),
      sizeMs: assigner.sizeMs, slideMs: assigner.slideMs, accSlots: this.accSlots,
      hllBytesPerCell: this.hllBytesPerCell, hllPrecision: this.hllPrecision,
    }, table, lookupIds);
    const compiled = this.compiled;
    this.add = compiled !== null ? compiled.add : (r, ts) => this.addReference(r, ts);
  }

  bind(batch: BatchView): void {
    if (this.compiled !== null) {
      this.compiled.bind(batch);
      return;
    }
    for (let i = 0; i < this.gColumn.length; i++) {
      if (this.gKind[i] === G_LOOKUP) continue;
      const col = batch.column(this.gColumn[i]);
      this.gValues[i] = col.values;
      this.gValidity[i] = col.validity;
    }
    for (let i = 0; i < this.mField.length; i++) {
      const name = this.mField[i];
      if (name === null) continue;
      const col = batch.column(name);
      this.mValues[i] = col.values;
      this.mValidity[i] = col.validity;
      this.mOffsets[i] = col.offsets;
      this.mHash[i] = col.hash;
    }
  }

  firstWindowEnd(ts: number): number {
    return this.assigner.firstWindowEnd(ts);
  }

  private groupKey(r: number): number {
    let key = 0;
    const bit = 1 << (r & 7);
    const byte = r >> 3;
    for (let i = 0; i < this.gKind.length; i++) {
      const kind = this.gKind[i];
      let code: number;
      if (kind === G_LOOKUP) code = this.lookupIds[r];
      else if ((this.gValidity[i]![byte] & bit) === 0) code = this.gNullCode[i];
      else if (kind === G_INT32) code = this.gValues[i]![r] + 2147483648;
      else code = this.gValues[i]![r]; // enum index, bool 0/1 or source partition
      key += code * this.gRadix[i];
    }
    return key;
  }

  /** Count row r (event time ts) in every window containing ts: the generic loop. */
  addReference(r: number, ts: number): void {
    const table = this.table;
    const key = this.groupKey(r);
    const first = this.assigner.firstWindowStart(ts);
    for (let start = this.assigner.lastWindowStart(ts); start >= first; start -= this.slideMs) {
      const cell = table.cellFor(start, key);
      table.count[cell]++;
      this.updateMetrics(cell, r);
    }
  }

  private updateMetrics(cell: number, r: number): void {
    const acc = this.table.acc;
    const base = cell * this.accSlots;
    const bit = 1 << (r & 7);
    const byte = r >> 3;
    for (let i = 0; i < this.mOp.length; i++) {
      const op = this.mOp[i];
      if (op === OP_COUNT) continue;
      if ((this.mValidity[i]![byte] & bit) === 0) continue;
      if (op === OP_DISTINCT) {
        this.addDistinct(i, cell, r);
        continue;
      }
      const v = this.mValues[i]![r];
      const at = base + this.mAcc[i];
      if (op === OP_SUM) addExact(acc, at, v);
      else if (op === OP_MAX) { if (v > acc[at]) acc[at] = v; }
      else if (op === OP_MIN) { if (v < acc[at]) acc[at] = v; }
      else { addExact(acc, at, v); acc[at + 2]++; }
    }
  }

  private addDistinct(i: number, cell: number, r: number): void {
    let lo: number;
    let hi: number;
    const hash = this.mHash[i];
    if (hash !== null) {
      lo = hash[2 * r];
      hi = hash[2 * r + 1];
    } else if (this.mString[i] === 1) {
      const offsets = this.mOffsets[i]!;
      hash64Into(this.mValues[i] as Uint8Array, offsets[r], offsets[r + 1], this.scratch, 0);
      lo = this.scratch[0];
      hi = this.scratch[1];
    } else {
      this.f64[0] = this.mValues[i]![r];
      lo = fmix32(this.f64Words[0] ^ 0x9e3779b9);
      hi = fmix32(this.f64Words[1] ^ lo);
    }
    hllAdd(this.table.hll, cell * this.hllBytesPerCell + this.mHll[i], this.hllPrecision, lo, hi);
  }
}
