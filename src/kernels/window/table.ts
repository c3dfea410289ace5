/**
 * Open window aggregates of one partition: a fixed-capacity table of (window, group) cells in a byte
 * range of a (Shared)ArrayBuffer, so the state survives a move to another worker thread.
 *
 *   region (all parts 8-byte aligned)
 *   +-------------------+--------------------------------------------------------------+
 *   | header Float64 x4 | initialized, freeTop, liveCells, closedThroughMs             |
 *   | windowStart       | Float64[cap]   start of the cell's window, epoch ms          |
 *   | groupKey          | Float64[cap]   dense group id (groups.ts)                    |
 *   | count             | Float64[cap]   rows aggregated into the cell                 |
 *   | acc               | Float64[cap * accSlots]  metric accumulators (see below)     |
 *   | freeList          | Int32[cap]     stack of free cell numbers                    |
 *   | index             | Int32[2^k >= 2 cap]  open addressing: cell + 1, 0 = empty   |
 *   | hll               | Uint8[cap * hllBlocks * 2^p]  one register block per distinct |
 *   +-------------------+--------------------------------------------------------------+
 *
 * Accumulators per metric: sum = (hi, lo) double-double, so the result is (in practice) the
 * correctly rounded exact sum whatever the order of the rows and partitions; avg = (hi, lo, n);
 * min / max = one value (+/-Infinity when empty); count uses the cell count; distinct = an HLL block.
 * The index is rebuilt after each close, which is O(cap) and keeps it free of tombstones.
 */
import { KernelError } from '../../errors.js';
import { hllRegisterCount } from './hyperloglog.js';

export type MetricOp = 'count' | 'sum' | 'min' | 'max' | 'avg' | 'distinct';

export interface MetricSlots {
  name: string;
  op: MetricOp;
  /** First accumulator slot of this metric in a cell's acc row (-1 for count / distinct). */
  accOffset: number;
  /** distinct only: which HLL block of the cell (-1 otherwise). */
  hllBlock: number;
}

export interface AccumulatorLayout {
  metrics: MetricSlots[];
  accSlots: number;
  hllBlocks: number;
  hllPrecision: number;
}

export function accumulatorLayout(metrics: { name: string; op: MetricOp }[], hllPrecision: number): AccumulatorLayout {
  let acc = 0;
  let hll = 0;
  const out = metrics.map((m): MetricSlots => {
    const slots: MetricSlots = { name: m.name, op: m.op, accOffset: -1, hllBlock: -1 };
    if (m.op === 'sum') { slots.accOffset = acc; acc += 2; }
    else if (m.op === 'avg') { slots.accOffset = acc; acc += 3; }
    else if (m.op === 'min' || m.op === 'max') { slots.accOffset = acc; acc += 1; }
    else if (m.op === 'distinct') { slots.hllBlock = hll; hll += 1; }
    return slots;
  });
  return { metrics: out, accSlots: acc, hllBlocks: hll, hllPrecision };
}

/** Closed cells handed from a partition to the main thread (structured-cloneable, typed arrays copied). */
export interface WindowPartials {
  cellCount: number;
  accSlots: number;
  hllBytesPerCell: number;
  windowStartMs: Float64Array;
  groupKey: Float64Array;
  count: Float64Array;
  acc: Float64Array;
  hll: Uint8Array;
}

const HEADER_FIELDS = 4;

/** Open cells of the table at `byteOffset` of `buffer`, read from another thread (a gauge: may be a moment old). */
export function liveCellsIn(buffer: SharedArrayBuffer, byteOffset: number): number {
  return new Float64Array(buffer, byteOffset, HEADER_FIELDS)[H_LIVE];
}
const H_INIT = 0;
const H_FREE_TOP = 1;
const H_LIVE = 2;
const H_CLOSED_THROUGH = 3;

const align8 = (n: number): number => Math.ceil(n / 8) * 8;
const indexSizeFor = (cap: number): number => 2 ** Math.ceil(Math.log2(Math.max(2, cap * 2)));

export function windowTableBytesFor(maxOpenCells: number, layout: AccumulatorLayout): number {
  const cap = maxOpenCells;
  const hllPerCell = layout.hllBlocks * hllRegisterCount(layout.hllPrecision);
  return HEADER_FIELDS * 8 + cap * 8 * 3 + cap * 8 * layout.accSlots + align8(cap * 4)
    + indexSizeFor(cap) * 4 + align8(cap * hllPerCell);
}

export class WindowTable {
  readonly capacity: number;
  readonly layout: AccumulatorLayout;
  readonly hllBytesPerCell: number;
  readonly windowStart: Float64Array;
  readonly groupKey: Float64Array;
  readonly count: Float64Array;
  readonly acc: Float64Array;
  readonly hll: Uint8Array;
  private readonly header: Float64Array;
  private readonly freeList: Int32Array;
  private readonly index: Int32Array;
  private readonly indexMask: number;
  private readonly windowSizeMs: number;
  private readonly slideMs: number;

  constructor(buffer: SharedArrayBuffer | ArrayBuffer, byteOffset: number, maxOpenCells: number,
    layout: AccumulatorLayout, windowSizeMs: number, slideMs: number) {
    const cap = maxOpenCells;
    this.capacity = cap;
    this.layout = layout;
    this.windowSizeMs = windowSizeMs;
    this.slideMs = slideMs;
    this.hllBytesPerCell = layout.hllBlocks * hllRegisterCount(layout.hllPrecision);
    let at = byteOffset;
    this.header = new Float64Array(buffer, at, HEADER_FIELDS); at += HEADER_FIELDS * 8;
    this.windowStart = new Float64Array(buffer, at, cap); at += cap * 8;
    this.groupKey = new Float64Array(buffer, at, cap); at += cap * 8;
    this.count = new Float64Array(buffer, at, cap); at += cap * 8;
    this.acc = new Float64Array(buffer, at, cap * layout.accSlots); at += cap * 8 * layout.accSlots;
    this.freeList = new Int32Array(buffer, at, cap); at += align8(cap * 4);
    const indexSize = indexSizeFor(cap);
    this.index = new Int32Array(buffer, at, indexSize); at += indexSize * 4;
    this.indexMask = indexSize - 1;
    this.hll = new Uint8Array(buffer, at, cap * this.hllBytesPerCell);
    if (this.header[H_INIT] === 0) {
      // Zero-filled memory is a valid empty table except for the free list; set it up once.
      for (let i = 0; i < cap; i++) this.freeList[i] = cap - 1 - i;
      this.header[H_FREE_TOP] = cap;
      this.header[H_CLOSED_THROUGH] = -Infinity;
      this.header[H_INIT] = 1;
    }
  }

  get liveCells(): number { return this.header[H_LIVE]; }
  /** Every window ending at or before this was closed and handed over. */
  get closedThroughMs(): number { return this.header[H_CLOSED_THROUGH]; }

  private slotOf(windowStartMs: number, groupKey: number): number {
    const w = (windowStartMs / this.slideMs) | 0;
    const g = groupKey >>> 0;
    const gh = (groupKey / 4294967296) | 0;
    let h = Math.imul(w ^ Math.imul(g, 0x9e3779b1) ^ Math.imul(gh, 0x85ebca77), 0xc2b2ae35);
    h ^= h >>> 15;
    return h & this.indexMask;
  }

  /** The cell of (window, group), allocated on first use. Throws when the table is full (never drops). */
  cellFor(windowStartMs: number, groupKey: number): number {
    const index = this.index;
    const mask = this.indexMask;
    let slot = this.slotOf(windowStartMs, groupKey);
    for (;;) {
      const entry = index[slot];
      if (entry === 0) break;
      const cell = entry - 1;
      if (this.windowStart[cell] === windowStartMs && this.groupKey[cell] === groupKey) return cell;
      slot = (slot + 1) & mask;
    }
    const header = this.header;
    if (header[H_FREE_TOP] === 0) {
      throw new KernelError(`window table full: ${this.capacity} open (window, group) cells; raise aggregate.maxOpenCells`, {
        details: { maxOpenCells: this.capacity, windowStartMs, groupKey },
      });
    }
    const top = header[H_FREE_TOP] - 1;
    header[H_FREE_TOP] = top;
    const cell = this.freeList[top];
    header[H_LIVE]++;
    index[slot] = cell + 1;
    this.windowStart[cell] = windowStartMs;
    this.groupKey[cell] = groupKey;
    this.count[cell] = 0;
    const acc = this.acc;
    const base = cell * this.layout.accSlots;
    for (const m of this.layout.metrics) {
      if (m.op === 'min') acc[base + m.accOffset] = Infinity;
      else if (m.op === 'max') acc[base + m.accOffset] = -Infinity;
      else if (m.op === 'sum') { acc[base + m.accOffset] = 0; acc[base + m.accOffset + 1] = 0; }
      else if (m.op === 'avg') { acc[base + m.accOffset] = 0; acc[base + m.accOffset + 1] = 0; acc[base + m.accOffset + 2] = 0; }
    }
    if (this.hllBytesPerCell > 0) this.hll.fill(0, cell * this.hllBytesPerCell, (cell + 1) * this.hllBytesPerCell);
    return cell;
  }

  /**
   * Hand over every cell whose window ends at or before `endMs` (all cells when endMs is +Infinity)
   * and free them. Returns null when nothing closed.
   */
  closeBefore(endMs: number): WindowPartials | null {
    const header = this.header;
    if (endMs > header[H_CLOSED_THROUGH]) header[H_CLOSED_THROUGH] = endMs;
    const live = header[H_LIVE];
    if (live === 0) return null;
    const size = this.windowSizeMs;
    const cap = this.capacity;
    const inUse = new Uint8Array(cap);
    for (let s = 0; s <= this.indexMask; s++) if (this.index[s] !== 0) inUse[this.index[s] - 1] = 1;
    let closing = 0;
    for (let c = 0; c < cap; c++) if (inUse[c] === 1 && this.windowStart[c] + size <= endMs) closing++;
    if (closing === 0) return null;
    const slots = this.layout.accSlots;
    const hb = this.hllBytesPerCell;
    const out: WindowPartials = {
      cellCount: closing,
      accSlots: slots,
      hllBytesPerCell: hb,
      windowStartMs: new Float64Array(closing),
      groupKey: new Float64Array(closing),
      count: new Float64Array(closing),
      acc: new Float64Array(closing * slots),
      hll: new Uint8Array(closing * hb),
    };
    let n = 0;
    for (let c = 0; c < cap; c++) {
      if (inUse[c] !== 1 || this.windowStart[c] + size > endMs) continue;
      out.windowStartMs[n] = this.windowStart[c];
      out.groupKey[n] = this.groupKey[c];
      out.count[n] = this.count[c];
      for (let k = 0; k < slots; k++) out.acc[n * slots + k] = this.acc[c * slots + k];
      if (hb > 0) out.hll.set(this.hll.subarray(c * hb, (c + 1) * hb), n * hb);
      n++;
      this.freeList[header[H_FREE_TOP]] = c;
      header[H_FREE_TOP]++;
      header[H_LIVE]--;
      inUse[c] = 0;
    }
    this.rebuildIndex(inUse);
    return out;
  }

  private rebuildIndex(inUse: Uint8Array): void {
    const index = this.index;
    index.fill(0);
    const mask = this.indexMask;
    for (let c = 0; c < this.capacity; c++) {
      if (inUse[c] !== 1) continue;
      let slot = this.slotOf(this.windowStart[c], this.groupKey[c]);
      while (index[slot] !== 0) slot = (slot + 1) & mask;
      index[slot] = c + 1;
    }
  }
}

/** Add x to the double-double (acc[i], acc[i + 1]) with Knuth's TwoSum: no rounding error is lost. */
export function addExact(acc: Float64Array, i: number, x: number): void {
  const hi = acc[i];
  const s = hi + x;
  const bp = s - hi;
  const err = (hi - (s - bp)) + (x - bp);
  acc[i] = s;
  acc[i + 1] += err;
}
