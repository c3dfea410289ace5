/**
 * The decision of the event-time skew guard (ARCHITECTURE.md "Deterministic semantics", skew guard):
 * is an event far ahead of its source partition a genuine jump in time, or one bad stamp?
 *
 * A *candidate* is an event of source partition s with t > maxTs[s] + maxFutureSkewMs, or any event
 * while maxTs[s] is still -Infinity (the partition's first events: one bad first stamp must not anchor
 * the stream). It is decided by the events that follow it in the same partition, in input order: each
 * agrees when within maxFutureSkewMs of t. With K = jumpConfirmEvents, ceil(K / 2) agreements accept
 * it (the stream moved there), K - ceil(K / 2) + 1 disagreements reject it, whichever comes first.
 * When the input ends before either, what followed decides by majority (a tie accepts a first event,
 * rejects a jump). A rejected event is dead-lettered; it moves neither the watermark nor the dedupe
 * state.
 *
 * Nothing here keeps state: the caller hands the event times that follow, and asks again with more of
 * them when the answer is NEED_MORE (ingest-stream.ts holds the undecided lines until then).
 */

export const SKEW_ACCEPT = 0;
/** Rejected, and ahead of what followed: dead letter `future_ts`. */
export const SKEW_REJECT_FUTURE = 1;
/** Rejected at a partition's start, behind what followed: dead letter `past_ts`. */
export const SKEW_REJECT_PAST = 2;
/** What follows so far decides nothing; ask again with more events (or with `inputEnded`). */
export const SKEW_NEED_MORE = 3;

export type SkewDecision = typeof SKEW_ACCEPT | typeof SKEW_REJECT_FUTURE | typeof SKEW_REJECT_PAST | typeof SKEW_NEED_MORE;

export const REASON_FUTURE_TS = 'future_ts';
export const REASON_PAST_TS = 'past_ts';

/**
 * Decide the candidate at `eventTimesMs[row]` of a partition whose maximum accepted event time is
 * `maxTsMs` (-Infinity: its first events), from the times at rows (row, end) that follow it.
 * `inputEnded`: no event of the partition follows those (end of input, or a decision forced by time).
 */
export function decideCandidate(eventTimesMs: Float64Array, row: number, end: number, maxTsMs: number,
  maxFutureSkewMs: number, jumpConfirmEvents: number, inputEnded: boolean): SkewDecision {
  const t = eventTimesMs[row];
  const acceptAt = Math.ceil(jumpConfirmEvents / 2);
  const rejectAt = jumpConfirmEvents - acceptAt + 1;
  let agree = 0;
  let disagree = 0;
  let below = 0;
  let above = 0;
  for (let j = row + 1; j < end; j++) {
    const u = eventTimesMs[j];
    if (u < t) below++;
    else if (u > t) above++;
    if (Math.abs(u - t) <= maxFutureSkewMs) {
      if (++agree >= acceptAt) return SKEW_ACCEPT;
    } else if (++disagree >= rejectAt) return rejected(maxTsMs, below, above);
  }
  if (!inputEnded) return SKEW_NEED_MORE;
  const firstEvents = maxTsMs === Number.NEGATIVE_INFINITY;
  if (firstEvents ? agree >= disagree : agree > disagree) return SKEW_ACCEPT;
  return rejected(maxTsMs, below, above);
}

function rejected(maxTsMs: number, below: number, above: number): SkewDecision {
  if (maxTsMs !== Number.NEGATIVE_INFINITY) return SKEW_REJECT_FUTURE;
  return below > above ? SKEW_REJECT_FUTURE : SKEW_REJECT_PAST;
}
