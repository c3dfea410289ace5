/**
 * Token bucket for rate-limited generators: tokens accrue continuously at `ratePerSec` up to
 * `burst`; a producer takes as many as it may emit now and sleeps once per chunk (msUntil) —
 * never one timer per event. The clock is injectable so tests drive time by hand.
 */
export type MonotonicClockMs = () => number;

const defaultClock: MonotonicClockMs = () => performance.now();

export class TokenBucket {
  private tokens: number;
  private lastRefillMs: number;

  constructor(
    readonly ratePerSec: number,
    readonly burst: number,
    private readonly nowMs: MonotonicClockMs = defaultClock,
  ) {
    if (!(ratePerSec > 0)) throw new RangeError(`ratePerSec must be > 0, got ${ratePerSec}`);
    if (!(burst >= 1)) throw new RangeError(`burst must be >= 1, got ${burst}`);
    this.tokens = burst;
    this.lastRefillMs = nowMs();
  }

  private refill(): void {
    const now = this.nowMs();
    const elapsedMs = now - this.lastRefillMs;
    if (elapsedMs > 0) {
      this.tokens = Math.min(this.burst, this.tokens + (elapsedMs * this.ratePerSec) / 1000);
      this.lastRefillMs = now;
    }
  }

  /** Whole tokens available now (after refilling). */
  available(): number {
    this.refill();
    return Math.floor(this.tokens);
  }

  /** Take up to `max` whole tokens; returns how many were taken (possibly 0). */
  takeUpTo(max: number): number {
    this.refill();
    const n = Math.min(max, Math.floor(this.tokens));
    if (n > 0) this.tokens -= n;
    return n;
  }

  /** Milliseconds until `n` whole tokens will be available (0 if they are now). n is capped at burst. */
  msUntil(n: number): number {
    this.refill();
    const missing = Math.min(n, this.burst) - this.tokens;
    return missing <= 0 ? 0 : (missing * 1000) / this.ratePerSec;
  }
}
