/**
 * Typed-array views over one batch slot (see schema.ts for the layout). Views are built once per slot
 * and reused for every batch that passes through it, so reading or writing a batch allocates nothing.
 */
import {
  BATCH_HEADER_FIELDS,
  H_ROW_COUNT,
  H_SEQ,
  H_WATERMARK_MS,
  type BatchLayout,
  type ColumnLayout,
} from './schema.js';

export type ColumnValues = Int32Array | Float64Array | Uint8Array | Uint16Array;

export interface ColumnView {
  layout: ColumnLayout;
  /** int32: Int32Array; int64/timestamp_ms/float64: Float64Array; bool: Uint8Array; enum: Uint16Array; string: the UTF-8 bytes. */
  values: ColumnValues;
  /** string only: row r's bytes are values[offsets[r] .. offsets[r+1]). */
  offsets: Int32Array | null;
  /** hashed string only: hash[2r] = low 32 bits, hash[2r+1] = high 32 bits. */
  hash: Uint32Array | null;
  /** bit r set = row r has a value (null/absent otherwise). */
  validity: Uint8Array;
}

export class BatchView {
  readonly layout: BatchLayout;
  readonly buffer: SharedArrayBuffer | ArrayBuffer;
  readonly byteOffset: number;
  readonly header: Float64Array;
  readonly columns: readonly ColumnView[];

  private bytesView: Uint8Array | null = null;

  constructor(layout: BatchLayout, buffer: SharedArrayBuffer | ArrayBuffer, byteOffset: number) {
    this.layout = layout;
    this.buffer = buffer;
    this.byteOffset = byteOffset;
    this.header = new Float64Array(buffer, byteOffset, BATCH_HEADER_FIELDS);
    const n = layout.rowCapacity;
    this.columns = layout.columns.map((c): ColumnView => {
      const base = byteOffset;
      let values: ColumnValues;
      switch (c.spec.type) {
        case 'int32': values = new Int32Array(buffer, base + c.valuesOffset, n); break;
        case 'bool': values = new Uint8Array(buffer, base + c.valuesOffset, n); break;
        case 'enum': values = new Uint16Array(buffer, base + c.valuesOffset, n); break;
        case 'string': values = new Uint8Array(buffer, base + c.valuesOffset, c.stringBytes); break;
        default: values = new Float64Array(buffer, base + c.valuesOffset, n);
      }
      return {
        layout: c,
        values,
        offsets: c.offsetsOffset >= 0 ? new Int32Array(buffer, base + c.offsetsOffset, n + 1) : null,
        hash: c.hashOffset >= 0 ? new Uint32Array(buffer, base + c.hashOffset, n * 2) : null,
        validity: new Uint8Array(buffer, base + c.validityOffset, Math.ceil(n / 8)),
      };
    });
  }

  /** The whole slot as bytes, made once: what native code addresses with the layout's offsets. */
  get bytes(): Uint8Array {
    return (this.bytesView ??= new Uint8Array(this.buffer, this.byteOffset, this.layout.slotBytes));
  }

  /** A batch in ordinary (non-shared) memory, for tests and staging. */
  static standalone(layout: BatchLayout): BatchView {
    return new BatchView(layout, new ArrayBuffer(layout.slotBytes), 0);
  }

  column(name: string): ColumnView {
    const c = this.layout.byName.get(name);
    if (!c) throw new Error(`no column "${name}" in batch schema`);
    return this.columns[c.index];
  }

  get rowCount(): number { return this.header[H_ROW_COUNT]; }
  set rowCount(n: number) { this.header[H_ROW_COUNT] = n; }
  get seq(): number { return this.header[H_SEQ]; }
  set seq(n: number) { this.header[H_SEQ] = n; }
  get watermarkMs(): number { return this.header[H_WATERMARK_MS]; }
  set watermarkMs(n: number) { this.header[H_WATERMARK_MS] = n; }

  /** Reset for reuse: row count zero, string offsets at zero, validity cleared. O(columns + bitmap bytes). */
  clear(): void {
    this.header.fill(0);
    for (const c of this.columns) {
      c.validity.fill(0);
      if (c.offsets) c.offsets[0] = 0;
    }
  }
}

export function isValid(validity: Uint8Array, row: number): boolean {
  return (validity[row >> 3] & (1 << (row & 7))) !== 0;
}

export function setValid(validity: Uint8Array, row: number): void {
  validity[row >> 3] |= 1 << (row & 7);
}

/** Sets validity bits [from, to): whole bytes at once, single bits only at the edges. */
export function setValidRange(validity: Uint8Array, from: number, to: number): void {
  let r = from;
  for (; r < to && (r & 7) !== 0; r++) validity[r >> 3] |= 1 << (r & 7);
  for (; r + 8 <= to; r += 8) validity[r >> 3] = 0xff;
  for (; r < to; r++) validity[r >> 3] |= 1 << (r & 7);
}

/** Clears validity bits [from, to): whole bytes at once, single bits only at the edges. */
export function clearValidRange(validity: Uint8Array, from: number, to: number): void {
  let r = from;
  for (; r < to && (r & 7) !== 0; r++) validity[r >> 3] &= ~(1 << (r & 7));
  for (; r + 8 <= to; r += 8) validity[r >> 3] = 0;
  for (; r < to; r++) validity[r >> 3] &= ~(1 << (r & 7));
}

/** True when every bit of [from, to) is set. */
export function allValid(validity: Uint8Array, from: number, to: number): boolean {
  let r = from;
  for (; r < to && (r & 7) !== 0; r++) if ((validity[r >> 3] & (1 << (r & 7))) === 0) return false;
  for (; r + 8 <= to; r += 8) if (validity[r >> 3] !== 0xff) return false;
  for (; r < to; r++) if ((validity[r >> 3] & (1 << (r & 7))) === 0) return false;
  return true;
}

/** Copy row `from` of `src` into row `to` of `dst` (same layout). Strings are appended; false if `dst` has no room. */
export function copyRow(src: BatchView, from: number, dst: BatchView, to: number): boolean {
  const cols = src.columns;
  for (let i = 0; i < cols.length; i++) {
    const s = cols[i];
    const d = dst.columns[i];
    if (s.offsets) {
      const start = s.offsets[from];
      const len = s.offsets[from + 1] - start;
      const at = d.offsets![to];
      if (at + len > d.values.length) return false;
      // A byte loop, not set(subarray()): keys are short and subarray() allocates a view per row.
      const sb = s.values as Uint8Array;
      const db = d.values as Uint8Array;
      for (let k = 0; k < len; k++) db[at + k] = sb[start + k];
      d.offsets![to + 1] = at + len;
      if (s.hash) {
        d.hash![2 * to] = s.hash[2 * from];
        d.hash![2 * to + 1] = s.hash[2 * from + 1];
      }
    } else {
      d.values[to] = s.values[from];
    }
    if (isValid(s.validity, from)) setValid(d.validity, to);
    else d.validity[to >> 3] &= ~(1 << (to & 7));
  }
  return true;
}

/**
 * One DataView per byte array, made on first use and kept with it: copies and hashes read 4 bytes at
 * a time through it (unaligned is fine). The last array asked for is checked first, because callers
 * hash or copy many ranges of the same column in a row.
 */
const byteViews = new WeakMap<Uint8Array, DataView>();
let lastBytes: Uint8Array | null = null;
let lastView: DataView | null = null;

export function dataViewOf(bytes: Uint8Array): DataView {
  if (bytes === lastBytes) return lastView!;
  let v = byteViews.get(bytes);
  if (v === undefined) {
    v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    byteViews.set(bytes, v);
  }
  lastBytes = bytes;
  lastView = v;
  return v;
}
