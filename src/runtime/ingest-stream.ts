/**
 * Ingest of one source partition (a file, stdin, one Kafka partition, one HTTP producer): NDJSON bytes
 * -> decode kernel (with the filter rules) into the shared staging batch -> event time and late flag
 * per row (the watermark gate) -> scatter into the partition rings.
 *
 * Each source partition has its own decoder (it keeps the skip-the-rest-of-a-long-line state), its own
 * physical line counter and its own carry-over of a line split across pushes. Pushes of all streams
 * are serialized by the pipeline, because every ring has a single producer and the watermark is
 * decided in input order.
 */
import { rawCutEnd, type LateGate, type NdjsonDecoder, type RejectHandler } from '../kernels/decode-ndjson.js';
import type { WatermarkTracker } from '../kernels/watermark.js';
import type { IngestCounts } from '../sources/source.js';
import type { BatchView } from './batch.js';

/** One line that ends as invalid or late: the dead letter. `raw` is the line cut to 4 KiB. */
export interface DeadLetterEntry {
  reason: string;
  /** 1-based physical line number in its source partition. */
  line: number;
  raw: string;
  /** Source partition (omitted for single-partition sources). */
  source?: number;
}

const FIRST_REASONS = 5;

export interface IngestContext {
  readonly stagingBatch: BatchView;
  readonly watermark: WatermarkTracker;
  countLines(input: number, invalid: number, blank: number): void;
  deadLetter(entry: DeadLetterEntry): void;
  serialize<T>(work: () => Promise<T>): Promise<T>;
  scatterStaging(): Promise<void>;
}

const utf8 = new TextDecoder();

/** The dead letter's `raw`: the line as text, cut to 4 KiB without splitting a character. */
function rawLine(bytes: Uint8Array, start: number, end: number): string {
  return utf8.decode(bytes.subarray(start, rawCutEnd(bytes, start, end)));
}

export class IngestStream {
  private nextLine: number;
  private carry: Uint8Array | null = null;
  private readonly gate: LateGate;
  private result: IngestCounts = { acceptedLines: 0, invalidLines: 0, firstReasons: [] };
  private readonly onReject: RejectHandler;

  constructor(
    private readonly ctx: IngestContext,
    private readonly decoder: NdjsonDecoder,
    readonly sourcePartition: number,
    firstLineNumber: number,
  ) {
    this.nextLine = firstLineNumber;
    const wm = ctx.watermark;
    this.gate = {
      isLate: (ts: number) => wm.isLate(ts),
      observe: (ts: number) => wm.observe(sourcePartition, ts),
    };
    // Rare path (invalid lines): a string and an object per line are fine here.
    this.onReject = (line, reason, chunk, start, end) => {
      const entry: DeadLetterEntry = { reason, line, raw: rawLine(chunk, start, end) };
      if (sourcePartition !== 0) entry.source = sourcePartition;
      this.ctx.deadLetter(entry);
      if (this.result.firstReasons.length < FIRST_REASONS) this.result.firstReasons.push(`line ${line}: ${reason}`);
    };
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

  private async ingest(bytes: Uint8Array, final: boolean): Promise<IngestCounts> {
    this.result = { acceptedLines: 0, invalidLines: 0, firstReasons: [] };
    let buf = bytes;
    if (this.carry) {
      buf = new Uint8Array(this.carry.length + bytes.length);
      buf.set(this.carry, 0);
      buf.set(bytes, this.carry.length);
      this.carry = null;
    }
    const staging = this.ctx.stagingBatch;
    const capacity = staging.layout.rowCapacity;
    this.decoder.setLateGate(this.gate);
    let pos = 0;
    for (;;) {
      const r = this.decoder.decode(buf, pos, buf.length, this.nextLine, staging, this.onReject, final);
      pos = r.endOffset;
      this.nextLine += r.linesConsumed;
      // acceptedLines = lines that went into the rings; dedupe and lateness are decided after.
      this.result.invalidLines += r.linesRejected;
      this.result.acceptedLines += r.rowsWritten;
      this.ctx.countLines(r.linesConsumed - r.linesBlank, r.linesRejected, r.linesBlank);
      if (staging.rowCount >= capacity) { await this.ctx.scatterStaging(); continue; }
      if (pos >= buf.length) break;
      if (r.linesConsumed === 0) {
        // Either the batch ran out of string room (flush and go on) or only an unterminated tail is left.
        if (staging.rowCount > 0) { await this.ctx.scatterStaging(); continue; }
        break;
      }
    }
    if (pos < buf.length) this.carry = buf.slice(pos);
    if (staging.rowCount > 0) await this.ctx.scatterStaging();
    return this.result;
  }
}
