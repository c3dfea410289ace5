/**
 * Ingest of one source partition (a file, stdin, one Kafka partition, one HTTP producer): NDJSON bytes
 * -> decode kernel (with the filter rules) -> event time and late flag per row (the watermark gate)
 * -> scatter into the partition rings.
 *
 * Two ways through, same result row for row (the gate decides in input order either way):
 *  - parallel (big pushes): the complete lines are cut into pieces of whole lines, each copied into a
 *    decode slot and decoded on the decode pool with the gate off; the main thread takes the pieces
 *    back strictly in order, gates them (piece-gate.ts) and scatters them, while the next pieces are
 *    still decoding;
 *
 *      push bytes  [ piece 0 | piece 1 | piece 2 | piece 3 | ... | unterminated tail ]
 *      workers       decode    decode    decode    decode
 *      main                    gate+scatter 0  gate+scatter 1  ...            -> carry
 *
 *  - sequential (small pushes, a line longer than a piece, the final unterminated line): the decoder
 *    runs on the main thread with the gate on, into the batch ctx.openStaging() gives: the pipeline's
 *    staging batch, or with a single partition the ring's open slot itself.
 *
 * Each source partition has its own physical line counter and its own carry-over of a line split
 * across pushes. The stream, not the decoder, handles the unterminated tail (carry it, or reject it
 * at once when it is already too long and skip the rest of that line), so both ways see only
 * complete lines. Pushes of all streams are serialized by the pipeline: every ring has a single
 * producer and the watermark is decided in input order.
 */
import { rawCutEnd, REASON_LINE_TOO_LONG, type LateGate, type NdjsonDecoder, type RejectHandler } from '../kernels/decode/ndjson.js';
import type { WatermarkTracker } from '../kernels/event-time/watermark.js';
import type { BatchView } from '../runtime/batch.js';
import type { DecodePool, DecodeSlot } from './decode-pool.js';
import type { DecodeTaskResult } from './decode-worker.js';
import { PieceGate } from './piece-gate.js';
import { SOURCE_COLUMN } from '../kernels/input/columns.js';
import type { DeadLetterEntry, IngestCounts } from '../contracts/index.js';

/** One line that ends as invalid or late: the dead letter. `raw` is the line cut to 4 KiB. */
const FIRST_REASONS = 5;

export interface IngestContext {
  /**
   * The batch to decode into next, rows appended from its rowCount on: the pipeline's staging batch,
   * or with a single partition the ring's open slot itself (no scatter copy). Ask again after every
   * scatterStaging(): the slot may have been published.
   */
  openStaging(): Promise<BatchView>;
  readonly watermark: WatermarkTracker;
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
  result: Promise<DecodeTaskResult>;
}

const ignore = (): void => undefined;

/**
 * Scale-out: rows [from, to) of `batch` get their source partition in `__source` (plan.ts,
 * sourcePartitionCells), which the decoders leave alone. A no-op when the layout has no such column.
 */
function fillSourceColumn(batch: BatchView, from: number, to: number, sourcePartition: number): void {
  const spec = batch.layout.byName.get(SOURCE_COLUMN);
  if (spec === undefined || to <= from) return;
  const col = batch.columns[spec.index];
  (col.values as Int32Array).fill(sourcePartition, from, to);
  const valid = col.validity;
  for (let r = from; r < to; r++) valid[r >> 3] |= 1 << (r & 7);
}

export class IngestStream {
  private nextLine: number;
  private carry: Uint8Array | null = null;
  /** The rest of an over-long unterminated line is being skipped (it was already rejected). */
  private skipping = false;
  private readonly gate: LateGate;
  private readonly pieceGate: PieceGate | null;
  private result: IngestCounts = { acceptedLines: 0, invalidLines: 0, firstReasons: [] };
  private readonly onReject: RejectHandler;
  private readonly scatterRows: (batch: BatchView, fromRow: number, toRow: number) => Promise<void>;

  constructor(
    private readonly ctx: IngestContext,
    private readonly decoder: NdjsonDecoder,
    readonly sourcePartition: number,
    firstLineNumber: number,
    private readonly maxLineBytes: number,
    eventTimeField: string,
  ) {
    this.nextLine = firstLineNumber;
    const wm = ctx.watermark;
    this.gate = {
      isLate: (ts: number) => wm.isLate(ts),
      observe: (ts: number) => wm.observe(sourcePartition, ts),
      observeUntilLate: (ts: Float64Array, from: number, to: number) => wm.observeUntilLate(sourcePartition, ts, from, to),
    };
    const pool = ctx.decodePool;
    this.pieceGate = pool ? new PieceGate(pool.slots[0].batch.layout, eventTimeField) : null;
    this.scatterRows = (batch, from, to) => ctx.scatterRows(batch, from, to);
    // Rare path (invalid lines): a string and an object per line are fine here.
    this.onReject = (line, reason, chunk, start, end) => this.reject(line, reason, rawLine(chunk, start, end));
  }

  /** The next physical line number this stream will read. */
  get lineNumber(): number { return this.nextLine; }

  /** Ingest a chunk of NDJSON; resolves when its complete lines are in the rings (or dead-lettered). */
  push(bytes: Uint8Array): Promise<IngestCounts> {
    return this.ctx.serialize(() => this.ingest(bytes, false));
  }

  /** End of input: the unterminated last line, if any, is decoded too. Call inside the pipeline's serialization. */
  async endInput(): Promise<IngestCounts> {
    return this.ingest(new Uint8Array(0), true);
  }

  private reject(line: number, reason: string, raw: string): void {
    const entry: DeadLetterEntry = { reason, line, raw };
    if (this.sourcePartition !== 0) entry.source = this.sourcePartition;
    this.ctx.deadLetter(entry);
    if (this.result.firstReasons.length < FIRST_REASONS) this.result.firstReasons.push(`line ${line}: ${reason}`);
  }

  private async ingest(bytes: Uint8Array, final: boolean): Promise<IngestCounts> {
    this.result = { acceptedLines: 0, invalidLines: 0, firstReasons: [] };
    let buf = bytes;
    if (this.carry) {
      buf = new Uint8Array(this.carry.length + bytes.length);
      buf.set(this.carry, 0);
      buf.set(bytes, this.carry.length);
      this.carry = null;
    }
    let pos = 0;
    if (this.skipping) {
      const nl = buf.indexOf(10);
      if (nl < 0) {
        if (final) this.skipping = false;
        return this.result;
      }
      pos = nl + 1;
      this.skipping = false;
    }
    const lastNl = buf.length > pos ? buf.lastIndexOf(10, buf.length - 1) : -1;
    const linesEnd = lastNl >= pos ? lastNl + 1 : pos;
    if (linesEnd > pos) {
      if (this.ctx.decodePool !== null && linesEnd - pos >= this.ctx.minParallelBytes) await this.parallel(buf, pos, linesEnd);
      else await this.sequential(buf, pos, linesEnd, false);
    }
    pos = linesEnd;
    if (pos < buf.length) {
      if (final) await this.sequential(buf, pos, buf.length, true);
      else if (buf.length - pos > this.maxLineBytes + 1) {
        // Too long whatever follows: reject now instead of buffering a line without bound.
        this.reject(this.nextLine, REASON_LINE_TOO_LONG, rawLine(buf, pos, Math.min(buf.length, pos + this.maxLineBytes + 1)));
        this.nextLine++;
        this.result.invalidLines++;
        this.ctx.countLines(1, 1, 0);
        this.skipping = true;
      } else this.carry = buf.slice(pos);
    }
    return this.result;
  }

  private count(linesConsumed: number, linesRejected: number, linesBlank: number, rowsWritten: number): void {
    this.nextLine += linesConsumed;
    // acceptedLines = lines that went into the rings; dedupe and lateness are decided after.
    this.result.invalidLines += linesRejected;
    this.result.acceptedLines += rowsWritten;
    this.ctx.countLines(linesConsumed - linesBlank, linesRejected, linesBlank);
  }

  /** Decode buf[start, end) on this thread, gate on, into the staging batch or direct slot (complete lines, or the final tail). */
  private async sequential(buf: Uint8Array, start: number, end: number, final: boolean): Promise<void> {
    this.decoder.setLateGate(this.gate);
    let staging = await this.ctx.openStaging();
    const capacity = staging.layout.rowCapacity;
    let pos = start;
    for (;;) {
      const firstRow = staging.rowCount;
      const r = this.decoder.decode(buf, pos, end, this.nextLine, staging, this.onReject, final);
      fillSourceColumn(staging, firstRow, staging.rowCount, this.sourcePartition);
      pos = r.endOffset;
      this.count(r.linesConsumed, r.linesRejected, r.linesBlank, r.rowsWritten);
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
  }

  /** Complete lines buf[start, end) through the decode pool, pieces taken back in input order. */
  private async parallel(buf: Uint8Array, start: number, end: number): Promise<void> {
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
            // One line longer than a piece: decoded here, after every piece before it.
            while (inFlight.length > 0) await this.completePiece(inFlight.shift()!);
            const lineEnd = buf.indexOf(10, pos + pieceBytes) + 1; // end follows a '\n', so there is one
            await this.sequential(buf, pos, lineEnd, false);
            pos = lineEnd;
            continue;
          }
        }
        // Pieces complete in dispatch order, so round-robin slots are free once the queue has room.
        if (inFlight.length === slots.length) await this.completePiece(inFlight.shift()!);
        const slot = slots[dispatched++ % slots.length];
        const length = pieceEnd - pos;
        slot.input.set(buf.subarray(pos, pieceEnd), 0);
        const result = pool.run(slot, 0, length, 1, false);
        result.catch(ignore); // awaited in order below; a failure must not surface as unhandled first
        inFlight.push({ slot, length, start: 0, firstLine: 1, result });
        pos = pieceEnd;
      }
      while (inFlight.length > 0) await this.completePiece(inFlight.shift()!);
    } finally {
      // After a failure: let the other pieces settle before their slots are reused.
      await Promise.allSettled(inFlight.map((p) => p.result));
    }
  }

  /** Take one decoded piece back: dead letters, counts, gate, scatter; more tasks if its batch filled up. */
  private async completePiece(piece: PieceInFlight): Promise<void> {
    const pool = this.ctx.decodePool!;
    const batch = piece.slot.batch;
    for (;;) {
      const res = await piece.result;
      const delta = this.nextLine - piece.firstLine;
      for (const rj of res.rejects) this.reject(rj.line + delta, rj.reason, rj.raw);
      this.count(res.linesConsumed, res.linesRejected, res.linesBlank, res.rowsWritten);
      if (res.rowsWritten > 0) {
        fillSourceColumn(batch, 0, batch.rowCount, this.sourcePartition);
        const from = await this.pieceGate!.run(batch, delta, this.ctx.watermark, this.sourcePartition,
          piece.slot.input, piece.length, this.scatterRows);
        await this.ctx.scatterRows(batch, from, batch.rowCount);
        this.ctx.afterScatter();
      }
      if (res.endOffset >= piece.length) return;
      // The slot's batch filled up before the piece ended: decode the rest now (other pieces wait).
      piece.firstLine += res.linesConsumed;
      piece.start = res.endOffset;
      piece.result = pool.run(piece.slot, piece.start, piece.length, piece.firstLine, false);
    }
  }
}
