/**
 * Ingest of one source partition (a file, stdin, one Kafka partition, one HTTP producer): NDJSON bytes
 * -> decode kernel (with the filter rules) -> the event-time gate per row (skew guard, late flag,
 * event-time-gate.ts) -> scatter into the partition rings.
 *
 * Two ways through, same result row for row (the gate decides in input order either way):
 *  - parallel (big pushes): the complete lines are cut into pieces of whole lines, each copied into a
 *    decode slot and decoded on the decode pool; the main thread takes the pieces back strictly in
 *    order, gates them and scatters them, while the next pieces are still decoding;
 *
 *      push bytes  [ piece 0 | piece 1 | piece 2 | piece 3 | ... | unterminated tail ]
 *      workers       decode    decode    decode    decode
 *      main                    gate+scatter 0  gate+scatter 1  ...            -> carry
 *
 *  - sequential (small pushes, a line longer than a piece, the end of the input, a piece the gate
 *    could not finish): the decoder runs on the main thread into the batch ctx.openStaging() gives (the
 *    pipeline's staging batch, or with a single partition the ring's open slot itself), then the gate.
 *
 * Each source partition has its own physical line counter and its own carry-over: a line split
 * across pushes, or the lines a skew candidate at the end of a push holds back until the next push
 * (heldSinceMs). The stream, not the decoder, handles the unterminated tail (carry it, or reject it
 * at once when it is already too long and skip the rest of that line), so both ways see only
 * complete lines. Pushes of all streams are serialized by the pipeline: every ring has a single
 * producer and the watermark is decided in input order.
 */
import { rawCutEnd, REASON_LINE_TOO_LONG, type NdjsonDecoder, type RejectHandler } from '../kernels/decode/ndjson.js';
import type { WatermarkTracker } from '../kernels/event-time/watermark.js';
import type { BatchView } from '../runtime/batch.js';
import { computeLayout } from '../runtime/schema.js';
import type { DecodePool, DecodeSlot } from './decode-pool.js';
import type { DecodeTaskResult } from './decode-worker.js';
import { EventTimeGate, GATE_DONE, GATE_HOLD, type GateInput, type GateOutcome, type PeekedTimes, type SkewRejectHandler } from './event-time-gate.js';
import { fillSourceColumn } from '../kernels/input/columns.js';
import type { DeadLetterEntry, IngestCounts } from '../contracts/index.js';
import { LineLedger } from './line-ledger.js';


export interface IngestContext {
  /**
   * The batch to decode into next, rows appended from its rowCount on: the pipeline's staging batch,
   * or with a single partition the ring's open slot itself (no scatter copy). Ask again after every
   * scatterStaging(): the slot may have been published.
   */
  openStaging(): Promise<BatchView>;
  readonly watermark: WatermarkTracker;
  /** Processing-time clock (ms) for how long lines are held (IngestStream.heldSinceMs). */
  now(): number;
  /** A decoder, a batch of its schema and room for the times, for look-ahead only (EventTimeGate's peek); shared, used synchronously. */
  peekDecoder(): { decoder: NdjsonDecoder; batch: BatchView; eventTimesMs: Float64Array };
  /** Null: every push takes the sequential way. */
  readonly decodePool: DecodePool | null;
  /** Pushes with fewer complete-line bytes than this are decoded on the main thread (a task round trip costs more). */
  readonly minParallelBytes: number;
  countLines(input: number, invalid: number, blank: number): void;
  deadLetter(entry: DeadLetterEntry): void;
  serialize<T>(work: () => Promise<T>): Promise<T>;
  /**
   * The staging rows go into the rings (waiting while a ring is full), then windows the watermark
   * passed are closed. `ship`: the batch had no room for the next line, so a slot being decoded into
   * directly is published even though not full.
   */
  scatterStaging(ship?: boolean): Promise<void>;
  /** Rows [fromRow, toRow) of `batch` into the rings, waiting while a ring is full. */
  scatterRows(batch: BatchView, fromRow: number, toRow: number): Promise<void>;
  /** After a batch is in the rings: read the processing-time clock, announce closed windows. */
  afterScatter(): void;
}

// ignoreBOM: a line's leading U+FEFF is part of its raw text (the reference keeps it).
const utf8 = new TextDecoder('utf-8', { ignoreBOM: true });

/** The dead letter's `raw`: the line as text, cut to 4 KiB without splitting a character. */
function rawLine(bytes: Uint8Array, start: number, end: number): string {
  return utf8.decode(bytes.subarray(start, rawCutEnd(bytes, start, end)));
}

/** A piece on the decode pool; `firstLine` is the relative number of the line at `start`. */
interface PieceInFlight {
  slot: DecodeSlot;
  length: number;
  start: number;
  firstLine: number;
  /** Offset of the slot's byte 0 in the push. */
  pushOffset: number;
  /** The piece ends where the push's complete lines end. */
  last: boolean;
  result: Promise<DecodeTaskResult>;
}



const ignore = (): void => undefined;

export class IngestStream {
  private readonly ledger: LineLedger;
  private carry: Uint8Array | null = null;
  /** The rest of an over-long unterminated line is being skipped (it was already rejected). */
  private skipping = false;
  private readonly gate: EventTimeGate;
  private readonly onReject: RejectHandler;
  private readonly onSkewReject: SkewRejectHandler;
  private readonly scatterRows: (batch: BatchView, fromRow: number, toRow: number) => Promise<void>;
  /** Processing time since which lines wait in `carry` for a skew decision (event-time-gate.ts), or null. */
  private heldSince: number | null = null;
  /** The first held line while heldSince is set. */
  private heldLine = -1;
  /** Complete lines in `carry` while heldSince is set. */
  private heldLines = 0;

  constructor(
    private readonly ctx: IngestContext,
    private readonly decoder: NdjsonDecoder,
    readonly sourcePartition: number,
    firstLineNumber: number,
    private readonly maxLineBytes: number,
    private readonly timeField: string,
  ) {
    this.ledger = new LineLedger(ctx, sourcePartition, firstLineNumber);
    // Column indices only: the same in every batch of the decoder's schema, whatever its capacity.
    this.gate = new EventTimeGate(computeLayout(decoder.schema, 1), timeField);
    this.scatterRows = (batch, from, to) => ctx.scatterRows(batch, from, to);
    // Rare path (invalid lines): a string and an object per line are fine here. They wait until the
    // gate has decided the rows of their decode call (a stop re-decodes the lines after it).
    this.onReject = (line, reason, chunk, start, end) => this.ledger.rejectLater(line, reason, rawLine(chunk, start, end));
    this.onSkewReject = (line, reason, bytes, start, end) => this.ledger.reject(line, reason, rawLine(bytes, start, end));
  }

  /** The next physical line number this stream will read. */
  get lineNumber(): number { return this.ledger.nextLine; }

  /**
   * Processing time (ctx.now) since which lines of this stream wait for a skew decision, or null: the
   * events of those lines are neither in the rings nor dead-lettered yet, so their offsets must not be
   * committed (daemon), and a live source decides them after a while (decideHeld).
   */
  get heldSinceMs(): number | null { return this.heldSince; }

  /** The physical line number after the last complete line pushed so far, held lines included. */
  get pushedLinesEnd(): number { return this.ledger.nextLine + (this.heldSince !== null ? this.heldLines : 0); }

  /** Ingest a chunk of NDJSON; resolves when its complete lines are in the rings (or dead-lettered, or held). */
  push(bytes: Uint8Array): Promise<IngestCounts> {
    return this.ctx.serialize(() => this.ingest(bytes, false, false));
  }

  /** End of input: held lines are decided and the unterminated last line, if any, is decoded too. Call inside the pipeline's serialization. */
  async endInput(): Promise<IngestCounts> {
    return this.ingest(new Uint8Array(0), true, true);
  }

  /**
   * Decide held lines with what followed them so far, if they have waited `waitedMs` (a live partition
   * that went quiet); checked again once its turn comes, since a push queued before may have moved the
   * hold. Resolves to whether lines were decided.
   */
  decideHeld(waitedMs = 0): Promise<boolean> {
    return this.ctx.serialize(async () => {
      if (this.heldSince === null || this.ctx.now() - this.heldSince < waitedMs) return false;
      await this.ingest(new Uint8Array(0), false, true);
      return true;
    });
  }

  /** `final`: end of input (the unterminated last line is a line). `decideAll`: no more lines follow for the skew guard. */
  private async ingest(bytes: Uint8Array, final: boolean, decideAll: boolean): Promise<IngestCounts> {
    this.ledger.startPush();
    let buf = bytes;
    if (this.carry) {
      buf = bytes.length === 0 ? this.carry : new Uint8Array(this.carry.length + bytes.length);
      if (buf !== this.carry) {
        buf.set(this.carry, 0);
        buf.set(bytes, this.carry.length);
      }
      this.carry = null;
    }
    const wasHeld = this.heldSince;
    this.heldSince = null;
    let pos = 0;
    if (this.skipping) {
      const nl = buf.indexOf(10);
      if (nl < 0) {
        if (final) this.skipping = false;
        return this.ledger.result;
      }
      pos = nl + 1;
      this.skipping = false;
    }
    const lastNl = buf.length > pos ? buf.lastIndexOf(10, buf.length - 1) : -1;
    const linesEnd = final ? buf.length : lastNl >= pos ? lastNl + 1 : pos;
    // An unterminated tail already too long is rejected below: held lines cannot wait for its end.
    if (buf.length - linesEnd > this.maxLineBytes + 1) decideAll = true;
    let holdAt = -1;
    if (linesEnd > pos) {
      if (!final && !decideAll && this.ctx.decodePool !== null && linesEnd - pos >= this.ctx.minParallelBytes) holdAt = await this.parallel(buf, pos, linesEnd);
      else holdAt = await this.sequential(buf, pos, linesEnd, final, decideAll);
    }
    if (holdAt >= 0) {
      // Lines from a skew candidate on wait for the lines after them (the unterminated tail with them).
      this.carry = buf.slice(holdAt);
      this.heldSince = wasHeld !== null && this.heldLine === this.ledger.nextLine ? wasHeld : this.ctx.now();
      this.heldLine = this.ledger.nextLine;
      let lines = 0;
      for (let p = this.carry.indexOf(10); p >= 0; p = this.carry.indexOf(10, p + 1)) lines++;
      this.heldLines = lines;
      return this.ledger.result;
    }
    pos = linesEnd;
    if (pos < buf.length) {
      if (buf.length - pos > this.maxLineBytes + 1) {
        // Too long whatever follows: reject now instead of buffering a line without bound.
        this.ledger.reject(this.ledger.nextLine, REASON_LINE_TOO_LONG, rawLine(buf, pos, Math.min(buf.length, pos + this.maxLineBytes + 1)));
        this.ledger.count(1, 1, 0, 0, 0);
        this.skipping = true;
      } else this.carry = buf.slice(pos);
    }
    return this.ledger.result;
  }

  /**
   * The decode call's rows [firstRow, stopRow) and lines before the stop row's line stand; the rest is
   * decoded again later. Returns the byte offset of the stop row's line.
   */
  private cutAt(batch: BatchView, firstRow: number, firstLine: number, g: GateOutcome, input: GateInput): number {
    const stopLine = (batch.column('__line').values as Float64Array)[g.stopRow];
    const rejected = this.ledger.flushRejects(stopLine);
    const lines = stopLine - firstLine;
    const rows = g.stopRow - firstRow;
    batch.rowCount = g.stopRow;
    this.ledger.count(lines, rejected, lines - rows - rejected, rows, g.skewRejected);
    return this.gate.lineStart(input, stopLine);
  }

  /**
   * Decode buf[start, end) on this thread into the staging batch or direct slot, then gate it (complete
   * lines, or with `final` everything). Returns the offset from which lines are held, or -1.
   */
  private async sequential(buf: Uint8Array, start: number, end: number, final: boolean, decideAll: boolean): Promise<number> {
    let staging = await this.ctx.openStaging();
    const capacity = staging.layout.rowCapacity;
    let pos = start;
    for (;;) {
      const firstRow = staging.rowCount;
      const firstLine = this.ledger.nextLine;
      const r = this.decoder.decode(buf, pos, end, firstLine, staging, this.onReject, final);
      fillSourceColumn(staging, firstRow, staging.rowCount, this.sourcePartition);
      const exhausted = r.endOffset >= end;
      const input: GateInput = { bytes: buf, start: pos, end: r.endOffset, firstLine, exhausted, ended: decideAll,
        peek: (from) => this.peek(buf, from, end, final) };
      const g = await this.gate.run(staging, firstRow, 0, this.ctx.watermark, this.sourcePartition, input, this.onSkewReject, null);
      if (g.stop !== GATE_DONE) {
        pos = this.cutAt(staging, firstRow, firstLine, g, input);
        if (g.stop === GATE_HOLD) break;
        await this.ctx.scatterStaging(true);
        staging = await this.ctx.openStaging();
        continue;
      }
      this.ledger.flushRejects(Infinity);
      pos = r.endOffset;
      this.ledger.count(r.linesConsumed, r.linesRejected, r.linesBlank, r.rowsWritten, g.skewRejected);
      if (staging.rowCount >= capacity) {
        await this.ctx.scatterStaging();
        staging = await this.ctx.openStaging();
        continue;
      }
      if (pos >= end) break;
      // The batch ran out of string room: ship it and go on.
      if (r.linesConsumed === 0 && staging.rowCount === 0) break;
      if (staging.rowCount > 0) {
        await this.ctx.scatterStaging(true);
        staging = await this.ctx.openStaging();
      }
    }
    // A slot decoded into directly keeps its rows (rowCount counts earlier pushes' too) and stays open.
    if (staging.rowCount > 0) await this.ctx.scatterStaging();
    return pos < end ? pos : -1;
  }

  /**
   * Event times of the valid lines of buf[from, end), up to jumpConfirmEvents + 1 of them (EventTimeGate's
   * look-ahead), decoded aside in as many rounds as the peek batch's string room needs.
   */
  private peek(buf: Uint8Array, from: number, end: number, final: boolean): PeekedTimes {
    const { decoder, batch, eventTimesMs } = this.ctx.peekDecoder();
    const wanted = Math.min(eventTimesMs.length, this.ctx.watermark.jumpConfirmEvents + 1);
    decoder.reset();
    let rows = 0;
    let at = from;
    while (rows < wanted && at < end) {
      batch.rowCount = 0;
      const r = decoder.decode(buf, at, end, 1, batch, ignore, final);
      const times = batch.column(this.timeField).values as Float64Array;
      for (let k = 0; k < batch.rowCount && rows < wanted; k++) eventTimesMs[rows++] = times[k];
      if (r.endOffset <= at) break;
      at = r.endOffset;
    }
    return { eventTimesMs, rows, exhausted: at >= end && rows < wanted };
  }

  /**
   * Complete lines buf[start, end) through the decode pool, pieces taken back in input order. A piece
   * the gate cannot finish alone (a skew candidate near its end, a line longer than a piece) sends the
   * rest of the push the sequential way. Returns the offset from which lines are held, or -1.
   */
  private async parallel(buf: Uint8Array, start: number, end: number): Promise<number> {
    const pool = this.ctx.decodePool!;
    const slots = pool.slots;
    const pieceBytes = pool.options.pieceBytes;
    const inFlight: PieceInFlight[] = [];
    let dispatched = 0;
    let pos = start;
    try {
      while (pos < end) {
        let pieceEnd = pos + pieceBytes;
        if (pieceEnd >= end) pieceEnd = end;
        else {
          const nl = buf.lastIndexOf(10, pieceEnd - 1);
          if (nl >= pos) pieceEnd = nl + 1;
          else {
            // A line longer than a piece: the pieces before it first, then the rest of the push here.
            while (inFlight.length > 0) {
              const at = await this.completePiece(inFlight.shift()!);
              if (at >= 0) return await this.sequentialAfter(inFlight, buf, at, end);
            }
            return await this.sequential(buf, pos, end, false, false);
          }
        }
        // Pieces complete in dispatch order, so round-robin slots are free once the queue has room.
        if (inFlight.length === slots.length) {
          const at = await this.completePiece(inFlight.shift()!);
          if (at >= 0) return await this.sequentialAfter(inFlight, buf, at, end);
        }
        const slot = slots[dispatched++ % slots.length];
        const length = pieceEnd - pos;
        slot.input.set(buf.subarray(pos, pieceEnd), 0);
        const result = pool.run(slot, 0, length, 1, false);
        result.catch(ignore); // awaited in order below; a failure must not surface as unhandled first
        inFlight.push({ slot, length, start: 0, firstLine: 1, pushOffset: pos, last: pieceEnd === end, result });
        pos = pieceEnd;
      }
      while (inFlight.length > 0) {
        const at = await this.completePiece(inFlight.shift()!);
        if (at >= 0) return await this.sequentialAfter(inFlight, buf, at, end);
      }
      return -1;
    } finally {
      // After a failure or a switch to the sequential way: let the other pieces settle before their slots are reused.
      await Promise.allSettled(inFlight.map((p) => p.result));
    }
  }

  /** The rest of the push from `at` the sequential way; the pieces still in flight are dropped unread. */
  private async sequentialAfter(inFlight: PieceInFlight[], buf: Uint8Array, at: number, end: number): Promise<number> {
    await Promise.allSettled(inFlight.map((p) => p.result));
    inFlight.length = 0;
    return this.sequential(buf, at, end, false, false);
  }

  /**
   * Take one decoded piece back: gate, dead letters, counts, scatter; more tasks if its batch filled
   * up. Returns -1, or the push offset from which the rest must go the sequential way.
   */
  private async completePiece(piece: PieceInFlight): Promise<number> {
    const pool = this.ctx.decodePool!;
    const batch = piece.slot.batch;
    for (;;) {
      const res = await piece.result;
      const delta = this.ledger.nextLine - piece.firstLine;
      for (const rj of res.rejects) this.ledger.rejectLater(rj.line + delta, rj.reason, rj.raw);
      const finished = res.endOffset >= piece.length;
      let g: GateOutcome | null = null;
      const input: GateInput = { bytes: piece.slot.input, start: piece.start, end: res.endOffset, firstLine: this.ledger.nextLine,
        exhausted: finished && piece.last, ended: false, peek: null };
      if (res.rowsWritten > 0) {
        fillSourceColumn(batch, 0, batch.rowCount, this.sourcePartition);
        g = await this.gate.run(batch, 0, delta, this.ctx.watermark, this.sourcePartition, input, this.onSkewReject, this.scatterRows);
      }
      if (g !== null && g.stop !== GATE_DONE) {
        const from = g.scatteredUntil;
        const at = this.cutAt(batch, 0, input.firstLine, g, input);
        await this.ctx.scatterRows(batch, from, batch.rowCount);
        this.ctx.afterScatter();
        return piece.pushOffset + at;
      }
      this.ledger.flushRejects(Infinity);
      this.ledger.count(res.linesConsumed, res.linesRejected, res.linesBlank, res.rowsWritten, g?.skewRejected ?? 0);
      if (g !== null) {
        await this.ctx.scatterRows(batch, g.scatteredUntil, batch.rowCount);
        this.ctx.afterScatter();
      }
      if (finished) return -1;
      // The slot's batch filled up before the piece ended: decode the rest now (other pieces wait).
      piece.firstLine += res.linesConsumed;
      piece.start = res.endOffset;
      piece.result = pool.run(piece.slot, piece.start, piece.length, piece.firstLine, false);
    }
  }
}
