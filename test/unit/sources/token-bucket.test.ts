import { describe, expect, test } from 'vitest';
import { TokenBucket } from '../../../src/sources/generators/token-bucket.js';

/** A clock the test moves by hand, so nothing depends on real time. */
function manualClock(): { now: () => number; advance: (ms: number) => void } {
  let t = 1000;
  return { now: () => t, advance: (ms) => void (t += ms) };
}

describe('TokenBucket', () => {
  test('starts full, refills at the rate, never above burst', () => {
    const clock = manualClock();
    const bucket = new TokenBucket(1000, 100, clock.now);
    expect(bucket.takeUpTo(250)).toBe(100);
    expect(bucket.takeUpTo(10)).toBe(0);
    clock.advance(25); // 25 ms at 1000/s = 25 tokens
    expect(bucket.takeUpTo(100)).toBe(25);
    clock.advance(10_000);
    expect(bucket.available()).toBe(100);
  });

  test('msUntil says how long until n tokens accrue', () => {
    const clock = manualClock();
    const bucket = new TokenBucket(200, 50, clock.now);
    bucket.takeUpTo(50);
    expect(bucket.msUntil(10)).toBeCloseTo(50, 6); // 10 tokens at 200/s
    clock.advance(20);
    expect(bucket.msUntil(10)).toBeCloseTo(30, 6);
    expect(bucket.msUntil(1000)).toBeCloseTo(230, 6); // capped at burst: 46 missing tokens at 200/s
    clock.advance(30);
    expect(bucket.msUntil(10)).toBe(0);
  });

  test('over a long run the tokens taken match rate x time, whatever the take pattern', () => {
    const clock = manualClock();
    const bucket = new TokenBucket(12_345, 500, clock.now);
    let taken = bucket.takeUpTo(500);
    let elapsedMs = 0;
    for (let step = 0; step < 10_000; step++) {
      clock.advance(1 + (step % 7));
      elapsedMs += 1 + (step % 7);
      taken += bucket.takeUpTo(1 + ((step * 31) % 400));
    }
    const accrued = (elapsedMs * 12_345) / 1000;
    // Never more than the initial burst plus what accrued; never less than accrued minus what can sit in the bucket.
    expect(taken).toBeLessThanOrEqual(500 + Math.floor(accrued));
    expect(taken).toBeGreaterThanOrEqual(500 + Math.floor(accrued) - 500);
  });

  test('rejects a non-positive rate and a burst below one', () => {
    expect(() => new TokenBucket(0, 10)).toThrow(RangeError);
    expect(() => new TokenBucket(10, 0.5)).toThrow(RangeError);
  });
});
