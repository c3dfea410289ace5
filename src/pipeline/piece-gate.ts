/**
 * The late gate over a piece decoded on a decode worker (decode-pool.ts), run on the main thread in
 * input order — the one step of ingest that cannot run in parallel, because each row's `__late`
 * depends on every earlier row of its source partition (ARCHITECTURE.md "Deterministic semantics" 2).
 *
 * Per row: `__line` += the piece's line offset (workers number lines relative to the piece), then
 * `__late` = isLate(ts) before observe(ts) — the same per-row decision, in the same order, as the
 * sequential decoder's gate. A late candidate also needs its original line in `__raw`; the worker left
 * `__raw` empty (all offsets 0), so its bytes are copied here from the piece's input slot:
 *
 *   __raw offsets  rows < first late: 0 0 0 ... | from there: running end of the copied bytes
 *   __raw bytes    [ late row a's line | late row b's line | ... ]
 *
 * Late rows are rare, so finding their lines (a newline scan of the piece) happens only when one
 * occurs. When `__raw` runs out of room, the rows before the late row are scattered first and the
 * column starts over at 0 (`scatterRows` takes a row range).
 */
import { rawCutEnd } from '../kernels/decode/ndjson.js';
import type { WatermarkTracker } from '../kernels/event-time/watermark.js';
import type { BatchView } from '../runtime/batch.js';
import type { BatchLayout } from '../runtime/schema.js';

export type ScatterRows = (batch: BatchView, fromRow: number, toRow: number) => Promise<void>;

export class PieceGate {
  private readonly timeCol: number;
  private readonly lineCol: number;
  private readonly lateCol: number;
  private readonly rawCol: number;
  /** Byte offset of each relative line (index = relative line number) of the current piece; rare path. */
  private lineStarts: number[] = [];

  constructor(layout: BatchLayout, eventTimeField: string) {
    const col = (name: string): number => layout.byName.get(name)!.index;
    this.timeCol = col(eventTimeField);
    this.lineCol = col('__line');
    this.lateCol = col('__late');
    this.rawCol = col('__raw');
  }

  /**
   * Gate rows [0, batch.rowCount) of `batch`; `lineDelta` turns relative line numbers into physical
   * ones. `input[0, inputEnd)` holds the piece the rows were decoded from. Rows before the returned
   * index were already scattered (only when `__raw` overflowed); the caller scatters the rest.
   */
  async run(batch: BatchView, lineDelta: number, watermark: WatermarkTracker, source: number,
    input: Uint8Array, inputEnd: number, scatterRows: ScatterRows): Promise<number> {
    const n = batch.rowCount;
    const cols = batch.columns;
    const line = cols[this.lineCol].values as Float64Array;
    const ts = cols[this.timeCol].values as Float64Array;
    const late = cols[this.lateCol].values as Uint8Array;
    let firstLate = -1;
    for (let r = 0; r < n; r++) {
      line[r] += lineDelta;
      const t = ts[r];
      if (watermark.isLate(t)) {
        late[r] = 1;
        if (firstLate < 0) firstLate = r;
      }
      watermark.observe(source, t);
    }
    if (firstLate < 0) return 0;
    return this.fillRaw(batch, firstLate, lineDelta, input, inputEnd, scatterRows);
  }

  private async fillRaw(batch: BatchView, firstLate: number, lineDelta: number, input: Uint8Array, inputEnd: number,
    scatterRows: ScatterRows): Promise<number> {
    const n = batch.rowCount;
    const cols = batch.columns;
    const line = cols[this.lineCol].values as Float64Array;
    const late = cols[this.lateCol].values as Uint8Array;
    const raw = cols[this.rawCol];
    const offsets = raw.offsets!;
    const bytes = raw.values as Uint8Array;
    this.indexLines(input, inputEnd);
    let at = 0;
    let segmentStart = 0;
    for (let r = firstLate; r < n; r++) {
      if (late[r] !== 0) {
        const ls = this.lineStarts[line[r] - lineDelta];
        let nl = input.indexOf(10, ls);
        if (nl < 0 || nl >= inputEnd) nl = inputEnd; // the final line of the input may lack its '\n'
        const le = nl > ls && input[nl - 1] === 13 ? nl - 1 : nl;
        const cut = rawCutEnd(input, ls, le);
        if (at + (cut - ls) > bytes.length) {
          await scatterRows(batch, segmentStart, r);
          segmentStart = r;
          at = 0;
          offsets[r] = 0;
        }
        for (let k = ls; k < cut; k++) bytes[at++] = input[k];
        raw.validity[r >> 3] |= 1 << (r & 7);
      }
      offsets[r + 1] = at;
    }
    return segmentStart;
  }

  /** lineStarts[k] = byte offset of relative line k (1-based) in input[0, inputEnd). */
  private indexLines(input: Uint8Array, inputEnd: number): void {
    const starts = this.lineStarts;
    starts.length = 0;
    starts.push(-1, 0);
    for (let p = input.indexOf(10, 0); p >= 0 && p + 1 < inputEnd; p = input.indexOf(10, p + 1)) starts.push(p + 1);
  }
}
