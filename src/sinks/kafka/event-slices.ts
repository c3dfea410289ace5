/**
 * Cuts event batches into row ranges ("slices") that each fit one Kafka produce request: at most
 * `maxRows` events and at most a byte budget. A worker task hands the sink one batch of ~100K events;
 * sent whole, that is one request far over the broker's limit, refused as a whole.
 *
 *   batch   |e0 e1 e2 e3 e4 e5 e6 e7 e8 e9|        maxRows 4, budget ~3 events' bytes
 *   slices  |e0 e1 e2|e3 e4 e5|e6 e7 e8|e9|        each slice is { batch, from, to, bytes }
 *
 * The sink's Batcher then joins consecutive slices up to the same two bounds, so one delivery is one
 * produce request and a retry resends exactly that request. Slicing reads lineEnds / keyEnds only: no
 * copy of the bytes, no string per event.
 *
 * Sizes are upper bounds of what the broker checks (each record batch against the topic's
 * max.message.bytes): every event counts as one record with its key and the largest record framing,
 * so a request within budget fits whether lines go one per message or many per message.
 */
import type { EventBatch } from '../../contracts/index.js';

/** Kafka's record batch header (DefaultRecordBatch.RECORD_BATCH_OVERHEAD), once per partition batch. */
export const RECORD_BATCH_HEADER_BYTES = 61;
/** Largest framing of one record: length, attributes, timestamp and offset deltas, key and value lengths, header count. */
export const RECORD_FRAMING_MAX_BYTES = 32;

/** Rows [from, to) of `batch`; `bytes` is the request bytes they take at most (see eventBytes). */
export interface EventSlice {
  readonly batch: EventBatch;
  readonly from: number;
  readonly to: number;
  readonly bytes: number;
}

/** Record bytes one request may hold when the broker's limit for a record batch is `limitBytes`. */
export const recordBudgetBytes = (limitBytes: number): number => limitBytes - RECORD_BATCH_HEADER_BYTES;

/** Request bytes of event i at most: its line, its key and the largest record framing. */
export function eventBytes(batch: EventBatch, i: number): number {
  const lineStart = i === 0 ? 0 : batch.lineEnds[i - 1];
  const keyStart = i === 0 ? 0 : batch.keyEnds[i - 1];
  return batch.lineEnds[i] - lineStart + batch.keyEnds[i] - keyStart + RECORD_FRAMING_MAX_BYTES;
}

/** Request bytes of rows [from, to) at most. */
export function rangeBytes(batch: EventBatch, from: number, to: number): number {
  if (to <= from) return 0;
  const lineStart = from === 0 ? 0 : batch.lineEnds[from - 1];
  const keyStart = from === 0 ? 0 : batch.keyEnds[from - 1];
  return batch.lineEnds[to - 1] - lineStart + batch.keyEnds[to - 1] - keyStart + (to - from) * RECORD_FRAMING_MAX_BYTES;
}

/**
 * Appends the slices of `batch` to `out`, in row order: each holds at most `maxRows` events and at
 * most `budgetBytes` bytes, except that an event over `budgetBytes` by itself gets a slice of its own
 * (the sink dead-letters it with the limit; it never joins other rows).
 */
export function sliceEventBatch(batch: EventBatch, maxRows: number, budgetBytes: number, out: EventSlice[] = []): EventSlice[] {
  const { lineEnds, keyEnds, rowCount } = batch;
  let from = 0;
  let bytes = 0;
  let lineStart = 0;
  let keyStart = 0;
  for (let i = 0; i < rowCount; i++) {
    const lineEnd = lineEnds[i];
    const keyEnd = keyEnds[i];
    const b = lineEnd - lineStart + keyEnd - keyStart + RECORD_FRAMING_MAX_BYTES;
    lineStart = lineEnd;
    keyStart = keyEnd;
    if (i > from && (i - from >= maxRows || bytes + b > budgetBytes)) {
      out.push({ batch, from, to: i, bytes });
      from = i;
      bytes = 0;
    }
    if (b > budgetBytes) {
      // Over budget alone: i === from here (the cut above ran unless the slice was empty).
      out.push({ batch, from: i, to: i + 1, bytes: b });
      from = i + 1;
      continue;
    }
    bytes += b;
  }
  if (from < rowCount) out.push({ batch, from, to: rowCount, bytes });
  return out;
}

/** The two halves of a slice of several rows (for isolating what a broker refused); undefined for one row. */
export function halveSlice(slice: EventSlice): [EventSlice, EventSlice] | undefined {
  const rows = slice.to - slice.from;
  if (rows < 2) return undefined;
  const mid = slice.from + (rows >>> 1);
  const first = rangeBytes(slice.batch, slice.from, mid);
  return [
    { batch: slice.batch, from: slice.from, to: mid, bytes: first },
    { batch: slice.batch, from: mid, to: slice.to, bytes: slice.bytes - first },
  ];
}

/** The whole batch as one slice (tests, and callers that bound requests themselves). */
export const wholeBatch = (batch: EventBatch): EventSlice => ({
  batch, from: 0, to: batch.rowCount, bytes: rangeBytes(batch, 0, batch.rowCount),
});
