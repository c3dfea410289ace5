/**
 * Event-time watermark at ingest (main thread), per ARCHITECTURE.md "Deterministic semantics":
 *
 *   watermark = min over ACTIVE source partitions of (maxTs[source] - outOfOrdernessMs)
 *
 * A source partition is active until it has been idle (no event observed) for idleTimeoutMs of
 * processing time while caught up with its input; when every source is idle, none holds the others
 * back and the watermark is the max over all of them. A partition with a backlog (a Kafka partition
 * whose position is below its end offset, setCaughtUp(s, false)) never counts as idle, however long
 * its records take to arrive: otherwise a partition fetched later than the others would find its
 * windows already closed. The watermark never goes backwards (a source that wakes up behind it
 * cannot reopen closed windows). A registered source that has seen no event holds the watermark at
 * -Infinity until it times out, like an assigned but empty Kafka partition.
 *
 * Per row, in input order: `lateThenObserve(source, ts)` first decides the late candidate flag
 * (firstWindowEnd(ts) + allowedLatenessMs <= max(watermark, maxTs[source] - outOfOrdernessMs), before
 * this event counts) and then advances maxTs[source] with the event, duplicates included. The
 * source's own term makes an event far behind its own partition late even while another partition,
 * not fetched yet, holds the watermark at -Infinity. An event within allowedLatenessMs of a window the
 * watermark passed is not late: it updates that window (window-emitter.ts). Processing time is read
 * once per batch through `tick()` with an injectable clock, not per event.
 */
import type { WindowAssigner } from '../window/assign.js';

/** 2^53: below it, event times and window bounds are exact integers of ms, so a window containing t ends after t. */
const EXACT_TIME_LIMIT = 9007199254740992;

export interface WatermarkOptions {
  outOfOrdernessMs: number;
  /** An event is late only when its first window ended this long before the watermark. Default: 0. */
  allowedLatenessMs?: number;
  idleTimeoutMs: number;
  /** Processing-time clock in ms; injectable for tests. Default: Date.now. */
  now?: () => number;
  /** Skew guard (skew-guard.ts): null turns it off. Default: off. */
  maxFutureSkewMs?: number | null;
  /** Events that decide a skew candidate (skew-guard.ts). Default: 16. */
  jumpConfirmEvents?: number;
  /** A live source: an event later than the processing-time clock + maxFutureSkewMs is rejected at once. */
  wallClockSkew?: boolean;
}

/** skewCandidate(): not a candidate. */
export const SKEW_NONE = 0;
/** skewCandidate(): far ahead of its partition, or one of its first events; decided by what follows. */
export const SKEW_CANDIDATE = 1;
/** skewCandidate(): later than the wall clock allows (live sources): rejected as it is. */
export const SKEW_AHEAD_OF_CLOCK = 2;

export class WatermarkTracker {
  /** outOfOrdernessMs: the watermark trails each source's max event time by this. */
  private readonly lateness: number;
  /** allowedLatenessMs: late means the first window ended at least this long before the watermark. */
  private readonly allowed: number;
  private readonly idleTimeoutMs: number;
  private readonly now: () => number;
  private readonly assigner: WindowAssigner;
  /** +Infinity when the skew guard is off. */
  readonly maxFutureSkewMs: number;
  readonly jumpConfirmEvents: number;
  private readonly wallClockSkew: boolean;
  /** Events later than this are rejected at once (live sources; +Infinity otherwise), read at tick(). */
  private wallLimitMs = Infinity;
  private maxTs: Float64Array = new Float64Array(0);
  private lastSeenMs: Float64Array = new Float64Array(0);
  private active: Uint8Array = new Uint8Array(0);
  /** 1 when the source has read all of its input known so far (or cannot tell): only then may it go idle. */
  private caughtUp: Uint8Array = new Uint8Array(0);
  private sources = 0;
  private nowMs: number;
  private current = -Infinity;
  private dirty = false;

  constructor(options: WatermarkOptions, assigner: WindowAssigner) {
    this.lateness = options.outOfOrdernessMs;
    this.allowed = options.allowedLatenessMs ?? 0;
    this.idleTimeoutMs = options.idleTimeoutMs;
    this.now = options.now ?? Date.now;
    this.assigner = assigner;
    this.maxFutureSkewMs = options.maxFutureSkewMs ?? Infinity;
    this.jumpConfirmEvents = options.jumpConfirmEvents ?? 16;
    this.wallClockSkew = options.wallClockSkew === true && Number.isFinite(this.maxFutureSkewMs);
    this.nowMs = this.now();
    if (this.wallClockSkew) this.wallLimitMs = this.nowMs + this.maxFutureSkewMs;
  }

  /** Register source partition `source` (a small integer); it holds the watermark until it times out. */
  register(source: number): void {
    this.grow(source);
    if (this.active[source] !== 1) {
      this.active[source] = 1;
      this.lastSeenMs[source] = this.nowMs;
      this.dirty = true;
    }
  }

  /**
   * Whether `source` has read everything its input holds so far. A source that is not caught up holds
   * the watermark however long it is quiet (and is registered again if it had gone idle); sources that
   * never call this count as caught up.
   */
  setCaughtUp(source: number, caughtUp: boolean): void {
    this.grow(source);
    this.caughtUp[source] = caughtUp ? 1 : 0;
    if (!caughtUp && this.active[source] === 0) this.register(source);
  }

  private grow(source: number): void {
    if (source >= this.maxTs.length) {
      const grow = (a: Float64Array, fill: number): Float64Array => {
        const b = new Float64Array(Math.max(8, (source + 1) * 2)).fill(fill);
        b.set(a);
        return b;
      };
      this.maxTs = grow(this.maxTs, -Infinity);
      this.lastSeenMs = grow(this.lastSeenMs, 0);
      const act = new Uint8Array(this.maxTs.length);
      act.set(this.active);
      this.active = act;
      const up = new Uint8Array(this.maxTs.length).fill(1);
      up.set(this.caughtUp);
      this.caughtUp = up;
    }
    if (source >= this.sources) this.sources = source + 1;
  }

  /** Source partitions ever registered are below this. */
  get sourceCount(): number { return this.sources; }

  /** Forget a source partition (e.g. a Kafka partition revoked): it no longer holds the watermark. */
  unregister(source: number): void {
    if (source < this.sources && this.active[source] === 1) {
      this.active[source] = 2; // 2 = gone: never again holds the watermark back until re-registered
      this.dirty = true;
    }
  }

  /** Read the processing-time clock (once per batch) and retire idle sources. */
  tick(): void {
    this.nowMs = this.now();
    if (this.wallClockSkew) this.wallLimitMs = this.nowMs + this.maxFutureSkewMs;
    for (let s = 0; s < this.sources; s++) {
      if (this.active[s] === 1 && this.caughtUp[s] === 1 && this.nowMs - this.lastSeenMs[s] >= this.idleTimeoutMs) {
        this.active[s] = 0;
        this.dirty = true;
      }
    }
  }

  /** The late-candidate flag for an event at ts from `source`, then the event advances the watermark. */
  lateThenObserve(source: number, ts: number): boolean {
    const late = this.isLateFor(source, ts);
    this.observe(source, ts);
    return late;
  }

  observe(source: number, ts: number): void {
    if (source >= this.sources || this.active[source] !== 1) this.register(source);
    this.lastSeenMs[source] = this.nowMs;
    if (ts > this.maxTs[source]) {
      this.maxTs[source] = ts;
      this.dirty = true;
    }
  }

  /**
   * lateThenObserve for eventTimesMs[from..to) in order, stopping before the first row that is a late
   * candidate or a skew candidate (skewCandidate() != SKEW_NONE): that row is neither observed nor
   * decided here (the caller decides it, then observes it or not); returns its index, or `to`. The
   * same decisions as per row, with two shortcuts that change none:
   *  - t > watermark (and |t| < 2^53, where window arithmetic is exact) cannot be late: the first
   *    window containing t ends after t;
   *  - with a single source the watermark after a new maximum is max(watermark, t - lateness), what
   *    recompute() would give, without its loop.
   * A skew candidate is always a new maximum, so its test costs nothing on the other rows.
   */
  observeUntilLate(source: number, eventTimesMs: Float64Array, from: number, to: number): number {
    if (from >= to || this.isLateFor(source, eventTimesMs[from]) || this.skewCandidate(source, eventTimesMs[from]) !== SKEW_NONE) return from;
    // Row `from` is observed: what observe() does first, once per call (nowMs changes only at tick()).
    if (source >= this.sources || this.active[source] !== 1) this.register(source);
    this.lastSeenMs[source] = this.nowMs;
    const skew = this.maxFutureSkewMs;
    const wallLimit = this.wallLimitMs;
    if (this.sources === 1) {
      // One source, in locals: after a new maximum the watermark is max(watermark, t - lateness).
      let current = this.watermark;
      let maxT = this.maxTs[source];
      const lateness = this.lateness;
      let r = from;
      for (; r < to; r++) {
        const t = eventTimesMs[r];
        if (r > from && this.lateAt(t, current)) break;
        if (t > maxT) {
          if (r > from && (t > maxT + skew || t > wallLimit)) break;
          maxT = t;
          if (t - lateness > current) current = t - lateness;
        }
      }
      this.maxTs[source] = maxT;
      this.current = current;
      return r;
    }
    // Several sources: late against the watermark, or against the source's own (its max - lateness).
    let own = this.maxTs[source] - this.lateness;
    for (let r = from; r < to; r++) {
      const t = eventTimesMs[r];
      if (r > from && this.lateAt(t, Math.max(this.watermark, own))) return r;
      if (t > this.maxTs[source]) {
        if (r > from && (t > this.maxTs[source] + skew || t > wallLimit)) return r;
        this.maxTs[source] = t;
        own = t - this.lateness;
        this.dirty = true;
      }
    }
    return to;
  }

  /**
   * Whether an event at ts of `source` passes the skew guard as it is (SKEW_NONE), must be decided by
   * the events after it (SKEW_CANDIDATE, skew-guard.ts), or is later than the wall clock allows.
   */
  skewCandidate(source: number, ts: number): number {
    if (ts > this.wallLimitMs) return SKEW_AHEAD_OF_CLOCK;
    if (this.maxFutureSkewMs === Infinity) return SKEW_NONE;
    const max = source < this.sources ? this.maxTs[source] : Number.NEGATIVE_INFINITY;
    return max === Number.NEGATIVE_INFINITY || ts > max + this.maxFutureSkewMs ? SKEW_CANDIDATE : SKEW_NONE;
  }

  /**
   * isLate against watermark w: firstWindowEnd(t) <= w - allowedLatenessMs; t above that (|t| < 2^53,
   * where window arithmetic is exact) cannot be late.
   */
  private lateAt(t: number, watermark: number): boolean {
    const w = watermark - this.allowed;
    return !(t > w && t < EXACT_TIME_LIMIT && t > -EXACT_TIME_LIMIT) && this.assigner.firstWindowEnd(t) <= w;
  }

  /** Highest event time observed from `source` (-Infinity when none): the daemon's offset bookkeeping and restart state. */
  maxEventTimeOf(source: number): number {
    return source < this.sources ? this.maxTs[source] : Number.NEGATIVE_INFINITY;
  }

  /** Moves the watermark to at least `ms` (never backwards), whatever the sources hold. */
  advanceTo(ms: number): void {
    if (this.dirty) this.recompute();
    if (ms > this.current) this.current = ms;
  }

  /** Highest event time observed over every source (-Infinity when none). */
  maxEventTime(): number {
    let max = Number.NEGATIVE_INFINITY;
    for (let s = 0; s < this.sources; s++) if (this.maxTs[s] > max) max = this.maxTs[s];
    return max;
  }

  /**
   * The late candidate test, without observing: against the watermark, or against the source's own
   * (its max event time - outOfOrdernessMs): an event that far behind its own partition is late
   * whatever the other partitions hold, so the decision does not depend on when they were fetched
   * (with one source the two are one).
   */
  isLateFor(source: number, ts: number): boolean {
    const own = source < this.sources ? this.maxTs[source] - this.lateness : Number.NEGATIVE_INFINITY;
    return this.lateAt(ts, Math.max(this.watermark, own));
  }

  get watermark(): number {
    if (this.dirty) this.recompute();
    return this.current;
  }

  private recompute(): void {
    this.dirty = false;
    let min = Infinity;
    let max = -Infinity;
    let anyActive = false;
    for (let s = 0; s < this.sources; s++) {
      if (this.active[s] === 2) continue;
      const v = this.maxTs[s] - this.lateness;
      if (v > max) max = v;
      if (this.active[s] === 1) {
        anyActive = true;
        if (v < min) min = v;
      }
    }
    const next = anyActive ? min : max;
    if (next > this.current) this.current = next;
  }
}
