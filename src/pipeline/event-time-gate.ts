/**
 * The event-time gate of ingest, run on the main thread over decoded rows in input order: the one step
 * that cannot run in parallel, because each row's fate depends on every earlier row of its source
 * partition (ARCHITECTURE.md "Deterministic semantics"). Per row:
 *   1. skew guard (kernels/event-time/skew-guard.ts): a row far ahead of its partition, or one of its
 *      first rows, is decided by the rows after it; a rejected one gets `__late` = 2 (the processor
 *      skips it) and is dead-lettered here as `future_ts` / `past_ts`, like an invalid line;
 *   2. `__late` = 1 when its first window ended at or before the watermark, with its original line
 *      copied into `__raw` (the dead letter is written on the worker, after dedupe);
 *   3. the row advances its partition's maximum event time.
 * Runs of ordinary rows go through WatermarkTracker.observeUntilLate in one call.
 *
 * A skew candidate needs the rows after it. When the batch ends first and more lines of the push follow,
 * their times are decoded aside (`peek`), or without a peek (a decode-pool piece) the gate stops before
 * it (`resume`: the caller decodes again from that row's line). When the push ends first, it stops
 * (`hold`: the stream keeps the lines from there until more input comes). Rows from the stop on are
 * neither observed nor decided, so decoding them again decides them exactly once.
 *
 * `__raw` of late rows, copied from the input the rows were decoded from:
 *
 *   __raw offsets  rows before the first late one: as decoded | from there: running end of the copied bytes
 *   __raw bytes    [ ...as decoded | late row a's line | late row b's line | ... ]
 *
 * When `__raw` runs out of room: with `scatterPrefix` (a decode-pool slot) the rows before are scattered
 * and the column starts over at 0; without (a staging batch or ring slot) the gate stops there (`resume`).
 */
import { rawCutEnd } from '../kernels/decode/ndjson.js';
import {
  decideCandidate, REASON_FUTURE_TS, REASON_PAST_TS, SKEW_ACCEPT, SKEW_NEED_MORE, SKEW_REJECT_FUTURE, SKEW_REJECT_PAST,
} from '../kernels/event-time/skew-guard.js';
import { SKEW_AHEAD_OF_CLOCK, SKEW_NONE, type WatermarkTracker } from '../kernels/event-time/watermark.js';
import type { BatchView } from '../runtime/batch.js';
import type { BatchLayout } from '../runtime/schema.js';

export type ScatterRows = (batch: BatchView, fromRow: number, toRow: number) => Promise<void>;

/** Where the decoded rows came from, and what may follow them. */
export interface GateInput {
  bytes: Uint8Array;
  /** Byte offset of physical line `firstLine` (lines end in '\n'; the last may not). */
  start: number;
  end: number;
  firstLine: number;
  /** No further line of this stream follows the batch's rows in the current push. */
  exhausted: boolean;
  /** No further line follows the push ever (end of input, or a held decision forced by time). */
  ended: boolean;
  /**
   * The event times of the valid lines from byte `from` on (row 0 is the line at `from`), decoded
   * aside, for a candidate whose look-ahead the batch cannot hold. Null: stop with GATE_RESUME instead.
   */
  peek: ((from: number) => PeekedTimes) | null;
}

export interface PeekedTimes {
  eventTimesMs: Float64Array;
  rows: number;
  /** The peek reached the end of the push's lines. */
  exhausted: boolean;
}

export const GATE_DONE = 0;
/** Stopped at `stopRow`: decode again from its line into a fresh batch. */
export const GATE_RESUME = 1;
/** Stopped at `stopRow`, a skew candidate at the end of the push: keep its line and the rest for later. */
export const GATE_HOLD = 2;

export interface GateOutcome {
  stop: typeof GATE_DONE | typeof GATE_RESUME | typeof GATE_HOLD;
  /** First row not gated (the batch's rowCount when done). */
  stopRow: number;
  /** Rows before this were already scattered (scatterPrefix, `__raw` full). */
  scatteredUntil: number;
  /** Rows the skew guard rejected (`__late` = 2), already dead-lettered. */
  skewRejected: number;
}

export type SkewRejectHandler = (line: number, reason: string, bytes: Uint8Array, lineStart: number, lineEnd: number) => void;

export class EventTimeGate {
  private readonly timeCol: number;
  private readonly lineCol: number;
  private readonly lateCol: number;
  private readonly rawCol: number;
  /** Byte offset of each line of the current input (index = line - firstLine); rare path, filled on demand. */
  private readonly lineStarts: number[] = [];
  private indexed: GateInput | null = null;
  private readonly outcome: GateOutcome = { stop: GATE_DONE, stopRow: 0, scatteredUntil: 0, skewRejected: 0 };

  constructor(layout: BatchLayout, eventTimeField: string) {
    const col = (name: string): number => layout.byName.get(name)!.index;
    this.timeCol = col(eventTimeField);
    this.lineCol = col('__line');
    this.lateCol = col('__late');
    this.rawCol = col('__raw');
  }

  /**
   * Gate rows [fromRow, batch.rowCount) of source partition `source`. `lineDelta` is added to each
   * row's `__line` first (a decode-pool piece numbers its lines from 1). The outcome object is reused.
   */
  async run(batch: BatchView, fromRow: number, lineDelta: number, watermark: WatermarkTracker, source: number,
    input: GateInput, onSkewReject: SkewRejectHandler, scatterPrefix: ScatterRows | null): Promise<GateOutcome> {
    const n = batch.rowCount;
    const cols = batch.columns;
    const line = cols[this.lineCol].values as Float64Array;
    const ts = cols[this.timeCol].values as Float64Array;
    const late = cols[this.lateCol].values as Uint8Array;
    const raw = cols[this.rawCol];
    const rawOffsets = raw.offsets!;
    const rawBytes = raw.values as Uint8Array;
    const out = this.outcome;
    out.stop = GATE_DONE;
    out.scatteredUntil = fromRow;
    out.skewRejected = 0;
    this.indexed = null;
    if (lineDelta !== 0) for (let r = fromRow; r < n; r++) line[r] += lineDelta;
    /** -1 until a row gets `__raw` bytes; then every later row's offsets are rewritten from rawAt. */
    let rawAt = -1;
    let r = fromRow;
    while (r < n) {
      const next = watermark.observeUntilLate(source, ts, r, n);
      if (rawAt >= 0) for (let x = r; x < next; x++) rawOffsets[x + 1] = rawAt;
      r = next;
      if (r >= n) break;
      const t = ts[r];
      const skew = watermark.skewCandidate(source, t);
      if (skew !== SKEW_NONE) {
        let decision: number = SKEW_NEED_MORE;
        if (skew === SKEW_AHEAD_OF_CLOCK) decision = SKEW_REJECT_FUTURE;
        else {
          const maxTs = watermark.maxEventTimeOf(source);
          decision = decideCandidate(ts, r, n, maxTs, watermark.maxFutureSkewMs, watermark.jumpConfirmEvents, input.exhausted && input.ended);
          if (decision === SKEW_NEED_MORE && !input.exhausted && input.peek !== null) {
            // The batch ends first but the push goes on: look at the lines after the batch's rows.
            // A peek that is not exhausted holds the candidate and jumpConfirmEvents after it: enough to decide
            // (`true` only matters if the decoder could not go on, which decides with what it read).
            const peeked = input.peek(this.lineStart(input, line[r]));
            decision = decideCandidate(peeked.eventTimesMs, 0, peeked.rows, maxTs, watermark.maxFutureSkewMs, watermark.jumpConfirmEvents,
              peeked.exhausted ? input.ended : true);
            if (decision === SKEW_NEED_MORE) return this.stopAt(out, r, GATE_HOLD);
          }
        }
        if (decision === SKEW_NEED_MORE) return this.stopAt(out, r, input.exhausted ? GATE_HOLD : GATE_RESUME);
        if (decision !== SKEW_ACCEPT) {
          const reason = decision === SKEW_REJECT_PAST ? REASON_PAST_TS : REASON_FUTURE_TS;
          const [ls, le] = this.lineBounds(input, line[r]);
          onSkewReject(line[r], reason, input.bytes, ls, le);
          late[r] = 2;
          if (rawAt >= 0) rawOffsets[r + 1] = rawAt;
          out.skewRejected++;
          r++;
          continue;
        }
      }
      if (watermark.isLateFor(source, t)) {
        const [ls, le] = this.lineBounds(input, line[r]);
        const cut = rawCutEnd(input.bytes, ls, le);
        if (rawAt < 0) rawAt = rawOffsets[r];
        if (rawAt + (cut - ls) > rawBytes.length) {
          if (scatterPrefix === null) return this.stopAt(out, r, GATE_RESUME);
          await scatterPrefix(batch, out.scatteredUntil, r);
          out.scatteredUntil = r;
          rawAt = 0;
          rawOffsets[r] = 0;
        }
        rawBytes.set(input.bytes.subarray(ls, cut), rawAt);
        rawAt += cut - ls;
        rawOffsets[r + 1] = rawAt;
        raw.validity[r >> 3] |= 1 << (r & 7);
        late[r] = 1;
      } else if (rawAt >= 0) rawOffsets[r + 1] = rawAt;
      watermark.observe(source, t);
      r++;
    }
    out.stopRow = n;
    return out;
  }

  private stopAt(out: GateOutcome, row: number, stop: typeof GATE_RESUME | typeof GATE_HOLD): GateOutcome {
    out.stop = stop;
    out.stopRow = row;
    return out;
  }

  /** Byte offset where physical line `lineNumber` of the input starts. */
  lineStart(input: GateInput, lineNumber: number): number {
    if (this.indexed !== input) this.indexLines(input);
    return this.lineStarts[lineNumber - input.firstLine];
  }

  /** [start, end) of a line's content: without its '\n' and one '\r' before it. */
  private lineBounds(input: GateInput, lineNumber: number): [number, number] {
    const ls = this.lineStart(input, lineNumber);
    let nl = input.bytes.indexOf(10, ls);
    if (nl < 0 || nl >= input.end) nl = input.end; // the final line of the input may lack its '\n'
    const le = nl > ls && input.bytes[nl - 1] === 13 ? nl - 1 : nl;
    return [ls, le];
  }

  private indexLines(input: GateInput): void {
    const starts = this.lineStarts;
    starts.length = 0;
    starts.push(input.start);
    const b = input.bytes;
    for (let p = b.indexOf(10, input.start); p >= 0 && p + 1 < input.end; p = b.indexOf(10, p + 1)) starts.push(p + 1);
    this.indexed = input;
  }
}
