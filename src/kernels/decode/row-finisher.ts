/**
 * The decoder's last step for an accepted row, whichever tier decoded it: the system columns
 * (`__line`, `__late`, `__raw`), the late gate, the 64-bit key hashes of hashed string columns, then
 * publishing the row (rowCount + 1). The arrays it writes are looked up once per batch (bind), not
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

/**
 * The watermark gate of ingest, consulted for every accepted row in input order (ARCHITECTURE.md,
 * "Deterministic semantics" 2): `__late` = isLate(ts) decided *before* observe(ts) counts the row.
 */
export interface LateGate {
  /** True when the row is a late candidate: its window already ended at or before the watermark. */
  isLate(eventTimeMs: number): boolean;
  /** Advances the source partition's max event time with this valid row. */
  observe(eventTimeMs: number): void;
  /**
   * Optional batch form: observe() for eventTimesMs[from..to) in order, stopping before the first row
   * isLate() would flag (not observed); returns that row, or `to`. Same decisions as per row.
   */
  observeUntilLate?(eventTimesMs: Float64Array, from: number, to: number): number;
}

/** LateGate.observeUntilLate for a gate without it: isLate, then observe, per row. */
function observeUntilLate(gate: LateGate, times: Float64Array, from: number, to: number): number {
  for (let r = from; r < to; r++) {
    if (gate.isLate(times[r])) return r;
    gate.observe(times[r]);
  }
  return to;
}

export class RowFinisher {
  private readonly lineCol: number;
  private readonly lateCol: number;
  private readonly rawCol: number;
  private readonly eventTimeCol: number;
  private readonly hashedColumns: Int32Array;
  /** hashedRequired[i] = 1 when hashedColumns[i] is a required field's column. */
  private readonly hashedRequired: Uint8Array;
  /** The batch whose arrays are cached below (a BatchView's arrays never change). */
  private bound: BatchView | null = null;
  private lineValues: Float64Array<ArrayBufferLike> = new Float64Array(0);
  private lateValues: Uint8Array<ArrayBufferLike> = new Uint8Array(0);
  private rawBytes: Uint8Array<ArrayBufferLike> = new Uint8Array(0);
  private rawOffsets: Int32Array<ArrayBufferLike> = new Int32Array(0);
  private rawValid: Uint8Array<ArrayBufferLike> = new Uint8Array(0);
  private eventTimes: Float64Array<ArrayBufferLike> = new Float64Array(0);
  private hashedCols: ColumnView[] = [];
  /** Validity bitmaps set for every accepted row: `__line`, `__late` and the required fields'. */
  private alwaysValid: Uint8Array<ArrayBufferLike>[] = [];
  private readonly alwaysValidColumns: Int32Array;

  /**
   * `layout` is the decoder's batch layout; eventTimeCol the index of the event-time column;
   * requiredColumns the columns of required fields (valid in every accepted row).
   */
  constructor(layout: BatchLayout, eventTimeCol: number, requiredColumns: readonly number[]) {
    this.lineCol = layout.byName.get('__line')!.index;
    this.lateCol = layout.byName.get('__late')!.index;
    this.rawCol = layout.byName.get('__raw')!.index;
    this.eventTimeCol = eventTimeCol;
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
    this.rawBytes = cols[this.rawCol].values as Uint8Array;
    this.rawOffsets = cols[this.rawCol].offsets!;
    this.rawValid = cols[this.rawCol].validity;
    this.eventTimes = cols[this.eventTimeCol].values as Float64Array;
    this.hashedCols = Array.from(this.hashedColumns, (i) => cols[i]);
    this.alwaysValid = Array.from(this.alwaysValidColumns, (i) => cols[i].validity);
    this.bound = out;
  }

  /**
   * finish() of rows row0 .. row0 + rows - 1 (hashes done: the native tier's rows), k-th row from line
   * firstLineNumber + lineIndex[k] at b[starts[k], ends[k]). Returns the rows finished: fewer when a
   * late row's line did not fit `__raw` (that row and the ones after it are not published or observed).
   * Runs of rows that are not late candidates are gated in one call (LateGate.observeUntilLate) and
   * get their empty `__raw` spans and flags in tight loops instead of a finish() call per row.
   */
  finishRows(out: BatchView, row0: number, rows: number, firstLineNumber: number, lineIndex: Int32Array,
    gate: LateGate | null, b: Uint8Array, starts: Int32Array, ends: Int32Array): number {
    const lineValues = this.lineValues;
    const lateValues = this.lateValues;
    const rawOffsets = this.rawOffsets;
    const times = this.eventTimes;
    for (let k = 0; k < rows; k++) lineValues[row0 + k] = firstLineNumber + lineIndex[k];
    const end = row0 + rows;
    let row = row0;
    while (row < end) {
      const lateRow = gate === null ? end : gate.observeUntilLate !== undefined
        ? gate.observeUntilLate(times, row, end) : observeUntilLate(gate, times, row, end);
      // Rows row .. lateRow - 1: kept, not late, an empty (null) `__raw` span.
      const at = rawOffsets[row];
      for (let r = row; r < lateRow; r++) {
        rawOffsets[r + 1] = at;
        lateValues[r] = 0;
      }
      clearValidRange(this.rawValid, row, lateRow);
      row = lateRow;
      if (row === end) break;
      const k = row - row0;
      if (!this.keepLateLine(row, b, starts[k], ends[k])) {
        out.rowCount = row;
        return k;
      }
      gate!.observe(times[row]);
      row++;
    }
    out.rowCount = end;
    return rows;
  }

  /** A late candidate's line (cut to MAX_RAW_BYTES) into `__raw` of `row`; false when it does not fit. */
  private keepLateLine(row: number, b: Uint8Array, ls: number, le: number): boolean {
    const rawOffsets = this.rawOffsets;
    const rawBytes = this.rawBytes;
    const cut = rawCutEnd(b, ls, le);
    const at = rawOffsets[row];
    if (at + (cut - ls) > rawBytes.length) return false;
    for (let k = ls; k < cut; k++) rawBytes[at + k - ls] = b[k];
    rawOffsets[row + 1] = at + (cut - ls);
    this.rawValid[row >> 3] |= 1 << (row & 7);
    this.lateValues[row] = 1;
    return true;
  }

  /**
   * System columns and (unless hashesDone) key hashes of the accepted row `row` (line b[ls, le)),
   * then publish it. A late candidate also keeps its line (cut to MAX_RAW_BYTES) in `__raw`, because
   * the dead letter is written on the worker, after dedupe. False when `__raw` has no room: the row
   * goes to the next batch.
   */
  finish(out: BatchView, row: number, lineNumber: number, gate: LateGate | null, b: Uint8Array, ls: number, le: number, hashesDone: boolean): boolean {
    const bit = 1 << (row & 7);
    const byte = row >> 3;
    this.lineValues[row] = lineNumber;
    const rawOffsets = this.rawOffsets;
    if (gate === null) {
      rawOffsets[row + 1] = rawOffsets[row];
      this.rawValid[byte] &= ~bit;
      this.lateValues[row] = 0;
    } else {
      const ts = this.eventTimes[row];
      if (gate.isLate(ts)) {
        if (!this.keepLateLine(row, b, ls, le)) return false;
      } else {
        rawOffsets[row + 1] = rawOffsets[row];
        this.rawValid[byte] &= ~bit;
        this.lateValues[row] = 0;
      }
      // Observed only once the row is sure to be kept, so a retried row is never counted twice.
      gate.observe(ts);
    }
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
    return true;
  }
}
