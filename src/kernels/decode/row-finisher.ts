/**
 * The decoder's last step for an accepted row, whichever tier decoded it: the system columns
 * (`__line`; `__late` 0 and `__raw` empty: the event-time gate after decoding sets them,
 * pipeline/event-time-gate.ts), the 64-bit key hashes of hashed string columns, then publishing the
 * row (rowCount + 1). The arrays it writes are looked up once per batch (bind), not
 * through out.columns per row. Validity bits that every accepted row has (`__line`, `__late`,
 * required fields) are set once per decode call for the rows it added (setAlwaysValid).
 */
import { clearValidRange, type BatchView, type ColumnView } from '../../runtime/batch.js';
import type { BatchLayout } from '../../runtime/schema.js';
import { MAX_RAW_BYTES } from '../input/columns.js';
import { hash64Into } from '../shared/xxhash32.js';

/** End of the dead letter's `raw` for the line b[ls, le): at most MAX_RAW_BYTES, never inside a character. */
export function rawCutEnd(b: Uint8Array, ls: number, le: number): number {
  if (le - ls <= MAX_RAW_BYTES) return le;
  let cut = ls + MAX_RAW_BYTES;
  // 0b10xxxxxx is a continuation byte: the character it belongs to started earlier.
  while (cut > ls && (b[cut] & 0xc0) === 0x80) cut--;
  return cut;
}

export class RowFinisher {
  private readonly lineCol: number;
  private readonly lateCol: number;
  private readonly rawCol: number;
  private readonly hashedColumns: Int32Array;
  /** hashedRequired[i] = 1 when hashedColumns[i] is a required field's column. */
  private readonly hashedRequired: Uint8Array;
  /** The batch whose arrays are cached below (a BatchView's arrays never change). */
  private bound: BatchView | null = null;
  private lineValues: Float64Array<ArrayBufferLike> = new Float64Array(0);
  private lateValues: Uint8Array<ArrayBufferLike> = new Uint8Array(0);
  private rawOffsets: Int32Array<ArrayBufferLike> = new Int32Array(0);
  private rawValid: Uint8Array<ArrayBufferLike> = new Uint8Array(0);
  private hashedCols: ColumnView[] = [];
  /** Validity bitmaps set for every accepted row: `__line`, `__late` and the required fields'. */
  private alwaysValid: Uint8Array<ArrayBufferLike>[] = [];
  private readonly alwaysValidColumns: Int32Array;

  /**
   * `layout` is the decoder's batch layout; requiredColumns the columns of required fields (valid in
   * every accepted row).
   */
  constructor(layout: BatchLayout, requiredColumns: readonly number[]) {
    this.lineCol = layout.byName.get('__line')!.index;
    this.lateCol = layout.byName.get('__late')!.index;
    this.rawCol = layout.byName.get('__raw')!.index;
    this.hashedColumns = Int32Array.from(layout.columns.filter((c) => c.hashOffset >= 0).map((c) => c.index));
    this.hashedRequired = Uint8Array.from(this.hashedColumns, (c) => (requiredColumns.includes(c) ? 1 : 0));
    this.alwaysValidColumns = Int32Array.from([this.lineCol, this.lateCol, ...requiredColumns]);
  }

  /**
   * Sets the validity bits of rows [from, to) — rows accepted by one decode call — in the columns every
   * accepted row has a value in, a byte at a time: cheaper than a read-modify-write per row and column.
   */
  setAlwaysValid(from: number, to: number): void {
    if (to <= from) return;
    const maps = this.alwaysValid;
    const firstFull = (from + 7) >> 3;
    const lastFull = to >> 3;
    for (let i = 0; i < maps.length; i++) {
      const v = maps[i];
      if (firstFull > lastFull) {
        // from and to in the same byte
        for (let r = from; r < to; r++) v[r >> 3] |= 1 << (r & 7);
        continue;
      }
      for (let r = from; r < firstFull << 3; r++) v[r >> 3] |= 1 << (r & 7);
      for (let k = firstFull; k < lastFull; k++) v[k] = 0xff;
      for (let r = lastFull << 3; r < to; r++) v[r >> 3] |= 1 << (r & 7);
    }
  }

  /** Call before finishing rows of `out` (cheap when `out` is the batch of the last call). */
  bind(out: BatchView): void {
    if (out === this.bound) return;
    const cols = out.columns;
    this.lineValues = cols[this.lineCol].values as Float64Array;
    this.lateValues = cols[this.lateCol].values as Uint8Array;
    this.rawOffsets = cols[this.rawCol].offsets!;
    this.rawValid = cols[this.rawCol].validity;
    this.hashedCols = Array.from(this.hashedColumns, (i) => cols[i]);
    this.alwaysValid = Array.from(this.alwaysValidColumns, (i) => cols[i].validity);
    this.bound = out;
  }

  /**
   * finish() of rows row0 .. row0 + rows - 1 (hashes done: the native tier's rows), k-th row from line
   * firstLineNumber + lineIndex[k], in tight loops instead of a finish() call per row.
   */
  finishRows(out: BatchView, row0: number, rows: number, firstLineNumber: number, lineIndex: Int32Array): void {
    const lineValues = this.lineValues;
    const lateValues = this.lateValues;
    const rawOffsets = this.rawOffsets;
    const end = row0 + rows;
    for (let k = 0; k < rows; k++) lineValues[row0 + k] = firstLineNumber + lineIndex[k];
    // Not late, an empty (null) `__raw` span: the event-time gate decides after decoding.
    const at = rawOffsets[row0];
    for (let r = row0; r < end; r++) {
      rawOffsets[r + 1] = at;
      lateValues[r] = 0;
    }
    clearValidRange(this.rawValid, row0, end);
    out.rowCount = end;
  }

  /** System columns and (unless hashesDone) key hashes of the accepted row `row`, then publish it. */
  finish(out: BatchView, row: number, lineNumber: number, hashesDone: boolean): void {
    const bit = 1 << (row & 7);
    const byte = row >> 3;
    this.lineValues[row] = lineNumber;
    this.rawOffsets[row + 1] = this.rawOffsets[row];
    this.rawValid[byte] &= ~bit;
    this.lateValues[row] = 0;
    const hashed = this.hashedCols;
    // The compiled tier hashes keys while the bytes are at hand (hashesDone); the general path not.
    for (let i = 0; !hashesDone && i < hashed.length; i++) {
      const c = hashed[i];
      const offsets = c.offsets!;
      const hash = c.hash!;
      // A required column's bit is set later (setAlwaysValid): it always has a value here.
      if (this.hashedRequired[i] === 1 || (c.validity[byte] & bit) !== 0) hash64Into(c.values as Uint8Array, offsets[row], offsets[row + 1], hash, 2 * row);
      else { hash[2 * row] = 0; hash[2 * row + 1] = 0; }
    }
    out.rowCount = row + 1;
  }
}
