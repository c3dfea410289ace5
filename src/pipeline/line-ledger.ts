/**
 * What the lines of one ingest stream became: the physical line counter, the counts of the current
 * push (IngestCounts) and of the pipeline (countLines), and the dead letters of invalid lines.
 *
 * An invalid line the decoder finds waits here (rejectLater) until the event-time gate has decided the
 * rows of its decode call: when the gate stops at a row, the lines from that row's on are decoded
 * again later (event-time-gate.ts), so only the invalid lines before it are dead-lettered now, and
 * each is dead-lettered exactly once.
 */
import type { DeadLetterEntry, IngestCounts } from '../contracts/index.js';

/** A push's result names at most this many of its dead letters (`line N: reason`). */
const FIRST_REASONS = 5;

/** What the ledger reports to: the pipeline's counters and dead letter. */
export interface LedgerSink {
  countLines(input: number, invalid: number, blank: number): void;
  deadLetter(entry: DeadLetterEntry): void;
}

interface PendingReject {
  line: number;
  reason: string;
  raw: string;
}

export class LineLedger {
  /** The next physical line number the stream reads. */
  nextLine: number;
  result: IngestCounts = { acceptedLines: 0, invalidLines: 0, firstReasons: [] };
  private readonly pending: PendingReject[] = [];

  constructor(private readonly sink: LedgerSink, private readonly sourcePartition: number, firstLineNumber: number) {
    this.nextLine = firstLineNumber;
  }

  /** A new push: its own counts. */
  startPush(): void {
    this.result = { acceptedLines: 0, invalidLines: 0, firstReasons: [] };
  }

  /** Dead-letter a line now. */
  reject(line: number, reason: string, raw: string): void {
    const entry: DeadLetterEntry = { reason, line, raw };
    if (this.sourcePartition !== 0) entry.source = this.sourcePartition;
    this.sink.deadLetter(entry);
    if (this.result.firstReasons.length < FIRST_REASONS) this.result.firstReasons.push(`line ${line}: ${reason}`);
  }

  /** An invalid line of the current decode call, in line order: dead-lettered by flushRejects. */
  rejectLater(line: number, reason: string, raw: string): void {
    this.pending.push({ line, reason, raw });
  }

  /** Dead-letter the decode call's invalid lines before `untilLine`, forget the rest; returns how many were written. */
  flushRejects(untilLine: number): number {
    let n = 0;
    for (const rj of this.pending) {
      if (rj.line >= untilLine) break;
      this.reject(rj.line, rj.reason, rj.raw);
      n++;
    }
    this.pending.length = 0;
    return n;
  }

  /**
   * The lines a decode call used: `rowsWritten` went into the batch, `skewRejected` of them were
   * dead-lettered by the skew guard (invalid lines, not rows, from here on).
   */
  count(linesConsumed: number, linesRejected: number, linesBlank: number, rowsWritten: number, skewRejected: number): void {
    this.nextLine += linesConsumed;
    // acceptedLines = lines that went into the rings; dedupe and lateness are decided after.
    this.result.invalidLines += linesRejected + skewRejected;
    this.result.acceptedLines += rowsWritten - skewRejected;
    this.sink.countLines(linesConsumed - linesBlank, linesRejected + skewRejected, linesBlank);
  }
}
