import { describe, expect, it } from 'vitest';
import { backoffDelayMs, networkErrorCode, retryPolicySchema, runWithRetry, type ErrorVerdict } from '../../../src/sinks/retry.js';

const policy = retryPolicySchema.parse({ maxAttempts: 5, initialBackoffMs: 100, maxBackoffMs: 1000, maxElapsedMs: 0 });
const retriable: ErrorVerdict = { retriable: true, code: 'ECONNREFUSED', message: 'refused' };
const fatal: ErrorVerdict = { retriable: false, code: 'clickhouse:62', message: 'syntax' };

/** A clock that only moves when the retry loop sleeps, so budgets are checked without real time. */
function virtualClock() {
  let nowMs = 0;
  const sleeps: number[] = [];
  return {
    now: () => nowMs,
    sleep: async (ms: number) => {
      sleeps.push(ms);
      nowMs += ms;
    },
    sleeps,
  };
}

describe('backoffDelayMs (full jitter)', () => {
  it('draws from [0, min(cap, initial * 2^(attempt-1)))', () => {
    expect(backoffDelayMs(policy, 1, () => 0.999)).toBe(99);
    expect(backoffDelayMs(policy, 2, () => 0.999)).toBe(199);
    expect(backoffDelayMs(policy, 4, () => 0.999)).toBe(799);
    expect(backoffDelayMs(policy, 5, () => 0.999)).toBe(999);
    expect(backoffDelayMs(policy, 60, () => 0.999)).toBe(999);
    expect(backoffDelayMs(policy, 3, () => 0)).toBe(0);
    expect(backoffDelayMs(policy, 3, () => 0.5)).toBe(200);
  });
});

describe('runWithRetry', () => {
  it('retries retriable failures until the operation succeeds', async () => {
    const clock = virtualClock();
    let calls = 0;
    const retries: number[] = [];
    const outcome = await runWithRetry(
      async () => {
        if (++calls < 3) throw new Error('down');
      },
      policy,
      () => retriable,
      { ...clock, random: () => 0.5, onRetry: (_v, attempt) => retries.push(attempt) },
    );
    expect(outcome).toEqual({ ok: true, attempts: 3 });
    expect(retries).toEqual([1, 2]);
    expect(clock.sleeps).toEqual([50, 100]);
  });

  it('stops at once on a non-retriable failure', async () => {
    const clock = virtualClock();
    let calls = 0;
    const outcome = await runWithRetry(async () => {
      calls++;
      throw new Error('bad');
    }, policy, () => fatal, clock);
    expect(outcome).toEqual({ ok: false, attempts: 1, verdict: fatal });
    expect(calls).toBe(1);
    expect(clock.sleeps).toEqual([]);
  });

  it('gives up after maxAttempts', async () => {
    const clock = virtualClock();
    let calls = 0;
    const outcome = await runWithRetry(async () => {
      calls++;
      throw new Error('down');
    }, policy, () => retriable, { ...clock, random: () => 0.5 });
    expect(outcome.ok).toBe(false);
    expect(outcome.attempts).toBe(5);
    expect(calls).toBe(5);
  });

  it('gives up when the next wait would exceed maxElapsedMs', async () => {
    const clock = virtualClock();
    const timed = retryPolicySchema.parse({ maxAttempts: 1000, initialBackoffMs: 100, maxBackoffMs: 1000, maxElapsedMs: 2500 });
    let calls = 0;
    const outcome = await runWithRetry(async () => {
      calls++;
      throw new Error('down');
    }, timed, () => retriable, { ...clock, random: () => 0.999 });
    expect(outcome.ok).toBe(false);
    const slept = clock.sleeps.reduce((a, b) => a + b, 0);
    expect(slept).toBeLessThanOrEqual(2500);
    // 99 + 199 + 399 + 799 = 1496; the next 999 still fits (2495), one more would not.
    expect(clock.sleeps).toEqual([99, 199, 399, 799, 999]);
    expect(calls).toBe(6);
  });

  it('runs the verdict fix before the next attempt', async () => {
    const clock = virtualClock();
    let tableExists = false;
    const outcome = await runWithRetry(
      async () => {
        if (!tableExists) throw new Error('Code: 60');
      },
      policy,
      () => ({ retriable: true, code: 'clickhouse:60', message: 'missing', fix: async () => { tableExists = true; } }),
      clock,
    );
    expect(outcome).toEqual({ ok: true, attempts: 2 });
  });
});

describe('networkErrorCode', () => {
  it('finds errno codes through cause chains and kafkajs originalError', () => {
    const inner = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' });
    expect(networkErrorCode(new Error('wrapped', { cause: inner }))).toBe('ECONNREFUSED');
    expect(networkErrorCode(Object.assign(new Error('retries exceeded'), { originalError: inner }))).toBe('ECONNREFUSED');
    expect(networkErrorCode(new Error('Timeout error.'))).toBe('ETIMEDOUT');
    expect(networkErrorCode(new Error('Code: 62, syntax'))).toBeUndefined();
  });
});
