/**
 * The event-time skew guard of the reference implementation (canonical-reference.ts), per source
 * partition (the reference has one). It decides, for each valid line in input order, whether the row
 * goes on to the usual rule (`pass`) or is dead-lettered (`future_ts` / `past_ts`), so that one event
 * stamped years off neither drags the watermark (maxTs) away nor gets a window of its own.
 *
 *   S = maxFutureSkewMs (null: guard off, every row passes), K = jumpConfirmEvents (>= 2),
 *   A = ceil(K/2) agreements accept, R = K - A + 1 disagreements reject.
 *   M = maxTs of the reference: the largest ts of rows that passed (-Infinity at start).
 *   candidate = M = -Infinity ("bootstrap") or ts > M + S; else normal (passes).
 *   A candidate looks at the next valid lines' ts t_j one at a time (duplicates, late rows and other
 *   candidates included; blank and invalid lines are not looked at): |t_j - ts| <= S agrees, else
 *   disagrees; agree >= A -> pass, disagree >= R -> reject. Input ends first: bootstrap passes iff
 *   agree >= disagree (nothing after it: passes), otherwise iff agree > disagree (nothing: rejected).
 *   Rejected: `future_ts` when M is finite; at bootstrap `future_ts` if more of the lines looked at
 *   are below ts than above it, else `past_ts`.
 * The reference keeps M and the guard reads it (maxTs()) at each line's turn: a rejected row does not
 * move it. Lines after an undecided candidate wait in the queue, invalid ones too, and are handed on
 * in input order once it is decided (each judged against M at its own turn), so the dead letter stays
 * in line order. finish() decides what is still waiting with the end-of-input rule.
 */

/** Default of the engine's `aggregate.maxFutureSkewMs`: 1 h. */
export const MAX_FUTURE_SKEW_MS = 3_600_000;
/** Default of the engine's `aggregate.jumpConfirmEvents`. */
export const JUMP_CONFIRM_EVENTS = 16;

export interface SkewGuardOptions {
  /** S; null turns the guard off (every row passes, as before the guard). Default: MAX_FUTURE_SKEW_MS. */
  maxFutureSkewMs?: number | null;
  /** K, at least 2. Default: JUMP_CONFIRM_EVENTS. */
  jumpConfirmEvents?: number;
}

/** What becomes of a row: on to the usual rule, or a dead letter with this reason. */
export type SkewVerdict = 'pass' | 'future_ts' | 'past_ts';

/** A candidate's tally over the lines it looked at. */
export interface CandidateTally {
  agree: number;
  disagree: number;
  /** Lines looked at with t_j < ts and with t_j > ts (equal ones are neither). */
  below: number;
  above: number;
}

interface Entry<T> {
  item: T;
  /** Event time of a valid line; null for a line that is not a row (invalid), which only keeps its place. */
  ts: number | null;
}

/** Accept and reject thresholds of K: A = ceil(K/2), R = K - A + 1. */
export function confirmThresholds(jumpConfirmEvents: number): { accept: number; reject: number } {
  const accept = Math.ceil(jumpConfirmEvents / 2);
  return { accept, reject: jumpConfirmEvents - accept + 1 };
}

/**
 * The verdict of a candidate at `ts` given the ts of the valid lines after it (as many as are known),
 * or undefined when they do not decide it and more may come (`inputEnded` false).
 */
export function decideCandidate(
  ts: number,
  laterTimes: Iterable<number>,
  bootstrap: boolean,
  inputEnded: boolean,
  maxFutureSkewMs: number,
  jumpConfirmEvents: number,
): SkewVerdict | undefined {
  const { accept, reject } = confirmThresholds(jumpConfirmEvents);
  const tally: CandidateTally = { agree: 0, disagree: 0, below: 0, above: 0 };
  for (const t of laterTimes) {
    if (Math.abs(t - ts) <= maxFutureSkewMs) tally.agree++;
    else tally.disagree++;
    if (t < ts) tally.below++;
    else if (t > ts) tally.above++;
    if (tally.agree >= accept) return 'pass';
    if (tally.disagree >= reject) return rejectReason(bootstrap, tally);
  }
  if (!inputEnded) return undefined;
  const passes = bootstrap ? tally.agree >= tally.disagree : tally.agree > tally.disagree;
  return passes ? 'pass' : rejectReason(bootstrap, tally);
}

function rejectReason(bootstrap: boolean, tally: CandidateTally): SkewVerdict {
  if (!bootstrap) return 'future_ts';
  return tally.below > tally.above ? 'future_ts' : 'past_ts';
}

/**
 * The guard as a queue: push every line that produces output (valid rows with their ts, invalid
 * lines with null) in input order; `hand` receives each with its verdict, in the same order, as soon
 * as it is decided. `maxTs` reads M, which `hand` moves for the rows it processes.
 */
export class SkewGuardQueue<T> {
  private readonly skew: number | null;
  private readonly confirm: number;
  private queue: Entry<T>[] = [];
  private head = 0;

  constructor(
    options: SkewGuardOptions,
    private readonly maxTs: () => number,
    private readonly hand: (item: T, verdict: SkewVerdict) => void,
  ) {
    const skew = options.maxFutureSkewMs === undefined ? MAX_FUTURE_SKEW_MS : options.maxFutureSkewMs;
    const confirm = options.jumpConfirmEvents ?? JUMP_CONFIRM_EVENTS;
    if (skew !== null && !(Number.isFinite(skew) && skew >= 0)) {
      throw new Error(`skew guard: maxFutureSkewMs must be a finite number >= 0 or null, got ${skew}`);
    }
    if (!Number.isInteger(confirm) || confirm < 2) {
      throw new Error(`skew guard: jumpConfirmEvents must be an integer >= 2, got ${confirm}`);
    }
    this.skew = skew;
    this.confirm = confirm;
  }

  /** Lines waiting for a candidate's decision (the candidate included). */
  get pending(): number {
    return this.queue.length - this.head;
  }

  push(item: T, ts: number | null): void {
    // Nothing waiting and no candidate: handed on at once (the common case, no queueing).
    if (this.pending === 0 && (ts === null || !this.isCandidate(ts))) {
      this.hand(item, 'pass');
      return;
    }
    this.queue.push({ item, ts });
    this.drain(false);
  }

  /** End of input: every waiting line is decided and handed on. */
  finish(): void {
    this.drain(true);
  }

  private isCandidate(ts: number): boolean {
    if (this.skew === null) return false;
    const m = this.maxTs();
    return m === -Infinity || ts > m + this.skew;
  }

  private drain(inputEnded: boolean): void {
    while (this.head < this.queue.length) {
      const entry = this.queue[this.head];
      let verdict: SkewVerdict = 'pass';
      if (entry.ts !== null && this.isCandidate(entry.ts)) {
        const bootstrap = this.maxTs() === -Infinity;
        const decided = decideCandidate(entry.ts, this.laterTimes(this.head + 1), bootstrap, inputEnded, this.skew!, this.confirm);
        if (decided === undefined) break;
        verdict = decided;
      }
      this.head++;
      this.hand(entry.item, verdict);
    }
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
    } else if (this.head >= 1024) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
  }

  /** The ts of the valid lines queued from index `from` on, in input order. */
  private *laterTimes(from: number): Generator<number> {
    for (let j = from; j < this.queue.length; j++) {
      const ts = this.queue[j].ts;
      if (ts !== null) yield ts;
    }
  }
}
