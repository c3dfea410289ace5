import { describe, expect, it } from 'vitest';
import {
  CanonicalReference,
  JUMP_CONFIRM_EVENTS,
  MAX_FUTURE_SKEW_MS,
  runReferenceOnLines,
  type DeadLetterRow,
  type ReferenceOptions,
} from '../../reference/canonical-reference.js';
import { confirmThresholds, decideCandidate } from '../../reference/skew-guard-reference.js';

// The reference's skew guard on hand-made inputs. T0 = 2026-01-01T00:00:00Z, a window start.
const T0 = 1767225600000;
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const YEAR = 365 * DAY;
const ev = (id: string, ts: number, user = 'u1'): string => JSON.stringify({ event_id: id, ts, user_id: user, type: 'view' });
/** `n` ordinary events one second apart from `from`, ids prefix0, prefix1, ... */
const run = (prefix: string, n: number, from: number): string[] => Array.from({ length: n }, (_, i) => ev(`${prefix}${i}`, from + i * 1000));

/** Dead-letter reasons by 1-based line number. */
function reasons(deadLetter: readonly DeadLetterRow[]): Record<number, string> {
  return Object.fromEntries(deadLetter.map((d) => [d.line, d.reason]));
}

function reconciles(summary: { input: number; accepted: number; invalid: number; duplicates: number; late: number }): boolean {
  return summary.input === summary.accepted + summary.invalid + summary.duplicates + summary.late;
}

const windowCounts = (lines: string[], options?: ReferenceOptions): Record<number, number> => {
  const counts: Record<number, number> = {};
  for (const row of runReferenceOnLines(lines, options).aggregates) counts[row.window_start] = (counts[row.window_start] ?? 0) + row.count;
  return counts;
};

describe('skew guard of the reference: parameters', () => {
  it('defaults to the engine config defaults: 1 h and 16 events (accept 8, reject 9)', () => {
    expect(MAX_FUTURE_SKEW_MS).toBe(3_600_000);
    expect(JUMP_CONFIRM_EVENTS).toBe(16);
    expect(confirmThresholds(16)).toEqual({ accept: 8, reject: 9 });
    expect(confirmThresholds(5)).toEqual({ accept: 3, reject: 3 });
    expect(confirmThresholds(2)).toEqual({ accept: 1, reject: 2 });
  });

  it('rejects bad options', () => {
    expect(() => new CanonicalReference({ jumpConfirmEvents: 1 })).toThrow(/jumpConfirmEvents/);
    expect(() => new CanonicalReference({ jumpConfirmEvents: 2.5 })).toThrow(/jumpConfirmEvents/);
    expect(() => new CanonicalReference({ maxFutureSkewMs: -1 })).toThrow(/maxFutureSkewMs/);
    expect(() => new CanonicalReference({ maxFutureSkewMs: Infinity })).toThrow(/maxFutureSkewMs/);
  });

  it('decides a candidate one later line at a time, stopping at the first threshold reached', () => {
    const far = T0 + YEAR;
    // 7 agreements then 9 disagreements: rejected at the 16th line; the 17th agreeing line is not looked at.
    const times = [...Array(7).fill(far), ...Array(9).fill(T0), far];
    expect(decideCandidate(far, times, false, false, HOUR, 16)).toBe('future_ts');
    // 8 agreements among the first 16: accepted at the 8th.
    expect(decideCandidate(far, [T0, ...Array(8).fill(far + HOUR)], false, false, HOUR, 16)).toBe('pass');
    // Exactly S away agrees; S + 1 does not.
    expect(decideCandidate(far, [far - HOUR], false, false, HOUR, 2)).toBe('pass');
    expect(decideCandidate(far, [far + HOUR + 1, far + HOUR + 1], false, false, HOUR, 2)).toBe('future_ts');
    // Undecided while more may come.
    expect(decideCandidate(far, [far, T0], false, false, HOUR, 16)).toBeUndefined();
  });

  it('at the end of input: bootstrap accepts on a tie, a jump needs a majority', () => {
    expect(decideCandidate(T0, [], true, true, HOUR, 16)).toBe('pass');
    expect(decideCandidate(T0, [T0, T0 + YEAR], true, true, HOUR, 16)).toBe('pass');
    expect(decideCandidate(T0, [T0 + YEAR], true, true, HOUR, 16)).toBe('past_ts');
    expect(decideCandidate(T0, [T0 - YEAR], true, true, HOUR, 16)).toBe('future_ts');
    // A tie of below and above at bootstrap is `past_ts`.
    expect(decideCandidate(T0, [T0 - YEAR, T0 + YEAR], true, true, HOUR, 16)).toBe('past_ts');
    expect(decideCandidate(T0, [], false, true, HOUR, 16)).toBe('future_ts');
    expect(decideCandidate(T0, [T0, T0 + YEAR], false, true, HOUR, 16)).toBe('future_ts');
    expect(decideCandidate(T0, [T0, T0, T0 + YEAR], false, true, HOUR, 16)).toBe('pass');
  });
});

describe('skew guard of the reference: whole inputs', () => {
  it('dead-letters an isolated far-future event as future_ts; maxTs and dedupe do not see it', () => {
    const lines = [...run('a', 20, T0), ev('far', T0 + YEAR), ...run('b', 20, T0 + 20_000), ev('far', T0 + 41_000)];
    const result = runReferenceOnLines(lines);
    expect(result.deadLetter).toEqual([{ reason: 'future_ts', line: 21, raw: lines[20] }]);
    // Nothing after it is late (maxTs did not move) and the later 'far' is not a duplicate of it.
    expect(result.summary).toEqual({ input: 42, accepted: 41, invalid: 1, duplicates: 0, late: 0 });
    expect(windowCounts(lines)).toEqual({ [T0]: 41 });
  });

  it('without the guard (maxFutureSkewMs null) the same event is accepted and makes the rest late', () => {
    const lines = [...run('a', 20, T0), ev('far', T0 + YEAR), ...run('b', 20, T0 + 20_000)];
    const result = runReferenceOnLines(lines, { maxFutureSkewMs: null });
    expect(result.summary).toEqual({ input: 41, accepted: 21, invalid: 0, duplicates: 0, late: 20 });
    expect(result.deadLetter.every((d) => d.reason === 'late')).toBe(true);
  });

  it('dead-letters an isolated far-past event at the very start as past_ts (and a far-future one as future_ts)', () => {
    const past = [ev('old', T0 - 5 * YEAR), ...run('a', 20, T0)];
    const pastResult = runReferenceOnLines(past);
    expect(pastResult.deadLetter).toEqual([{ reason: 'past_ts', line: 1, raw: past[0] }]);
    expect(pastResult.summary).toEqual({ input: 21, accepted: 20, invalid: 1, duplicates: 0, late: 0 });

    const future = [ev('new', T0 + 5 * YEAR), ...run('a', 20, T0)];
    const futureResult = runReferenceOnLines(future);
    expect(futureResult.deadLetter).toEqual([{ reason: 'future_ts', line: 1, raw: future[0] }]);
    expect(windowCounts(future)).toEqual({ [T0]: 20 });
  });

  it('a far-past event after the start is an ordinary late event (only ts > maxTs + S is a candidate)', () => {
    const lines = [...run('a', 20, T0), ev('old', T0 - 5 * YEAR), ...run('b', 20, T0 + 20_000), ev('old', T0 + 41_000)];
    const result = runReferenceOnLines(lines);
    expect(result.deadLetter).toEqual([{ reason: 'late', line: 21, raw: lines[20] }]);
    expect(result.summary).toEqual({ input: 42, accepted: 40, invalid: 0, duplicates: 1, late: 1 });
  });

  it('follows a genuine gap of days: every event after it is accepted', () => {
    const lines = [...run('a', 30, T0), ...run('b', 30, T0 + 3 * DAY)];
    const result = runReferenceOnLines(lines);
    expect(result.deadLetter).toEqual([]);
    expect(result.summary).toEqual({ input: 60, accepted: 60, invalid: 0, duplicates: 0, late: 0 });
    expect(windowCounts(lines)).toEqual({ [T0]: 30, [T0 + 3 * DAY]: 30 });
    // After the jump the old day is closed: an event back there is late.
    const back = runReferenceOnLines([...lines, ev('back', T0 + 1000)]);
    expect(reasons(back.deadLetter)).toEqual({ 61: 'late' });
  });

  it('rejects a pair of agreeing skewed events (2 agreements < 8) and accepts a jump of 9', () => {
    const pair = [...run('a', 20, T0), ev('f1', T0 + YEAR), ev('f2', T0 + YEAR + 10), ...run('b', 20, T0 + 20_000)];
    expect(reasons(runReferenceOnLines(pair).deadLetter)).toEqual({ 21: 'future_ts', 22: 'future_ts' });

    // 8 events together: the first sees 7 agreeing, then 9 disagreeing lines; each one after it fewer.
    const eight = [...run('a', 20, T0), ...run('f', 8, T0 + YEAR), ...run('b', 20, T0 + 20_000)];
    const eightResult = runReferenceOnLines(eight);
    expect(eightResult.deadLetter.map((d) => d.line)).toEqual([21, 22, 23, 24, 25, 26, 27, 28]);
    expect(eightResult.summary.late).toBe(0);

    // 9 together: the first sees 8 agreeing lines and is accepted; the old time after it is late.
    const nine = [...run('a', 20, T0), ...run('f', 9, T0 + YEAR), ...run('b', 20, T0 + 20_000)];
    const nineResult = runReferenceOnLines(nine);
    expect(nineResult.summary).toEqual({ input: 49, accepted: 29, invalid: 0, duplicates: 0, late: 20 });
    expect(windowCounts(nine)).toEqual({ [T0]: 20, [T0 + YEAR]: 9 });
  });

  it('looks only at valid lines, counts duplicates and late rows among them, and keeps the dead letter in line order', () => {
    const lines = [
      ...run('a', 3, T0),
      ev('far', T0 + YEAR), // 4: candidate
      '{"event_id":"x"', // 5: malformed, not looked at
      '   ', // 6: blank
      ev('a0', T0 + YEAR + 1), // 7: duplicate of line 1, agrees
      ev('old', T0 - YEAR), // 8: late, disagrees
      ev('a1', T0 + 2000), // 9: duplicate, disagrees
    ];
    const k3 = { jumpConfirmEvents: 3 }; // accept 2, reject 2
    const result = runReferenceOnLines(lines, k3);
    // far: agree (7), disagree (8), disagree (9) -> rejected. Line 7 is then a candidate itself:
    // disagree (8), disagree (9) -> rejected (so not a duplicate: it never reached dedupe).
    expect(result.deadLetter.map((d) => [d.line, d.reason])).toEqual([
      [4, 'future_ts'], [5, 'malformed_json'], [7, 'future_ts'], [8, 'late'],
    ]);
    expect(result.summary).toEqual({ input: 8, accepted: 3, invalid: 3, duplicates: 1, late: 1 });
    expect(reconciles(result.summary)).toBe(true);
  });

  it('pushLine holds lines back while a candidate waits; finish() decides with the end-of-input rule', () => {
    const seen: number[] = [];
    const reference = new CanonicalReference({ onDeadLetter: (row) => seen.push(row.line) });
    for (const line of run('a', 3, T0)) reference.pushLine(line);
    reference.pushLine(ev('far', T0 + YEAR)); // 4: waits
    reference.pushLine('not json'); // 5: waits behind it
    reference.pushLine(ev('b', T0 + 4000)); // 6: disagrees, one of 9
    expect(seen).toEqual([]);
    const result = reference.finish();
    expect(seen).toEqual([4, 5]);
    expect(result.summary).toEqual({ input: 6, accepted: 4, invalid: 2, duplicates: 0, late: 0 });
  });

  it('end of input after a jump: the last line alone is rejected, a majority after it accepts', () => {
    const last = [...run('a', 5, T0), ev('far', T0 + YEAR)];
    expect(reasons(runReferenceOnLines(last).deadLetter)).toEqual({ 6: 'future_ts' });

    const tie = [...run('a', 5, T0), ev('x', T0 + YEAR), ev('y', T0 + YEAR + 5), ev('z', T0 + 6000)];
    // x: agree (y), disagree (z), end: 1 > 1 fails. y: disagree (z), end: rejected. z is ordinary.
    expect(reasons(runReferenceOnLines(tie).deadLetter)).toEqual({ 6: 'future_ts', 7: 'future_ts' });

    const majority = [...run('a', 5, T0), ev('x', T0 + YEAR), ev('y', T0 + YEAR + 5), ev('y2', T0 + YEAR + 6), ev('z', T0 + 6000)];
    // x: agree, agree, disagree, end: 2 > 1 -> accepted; z is then late.
    const result = runReferenceOnLines(majority);
    expect(reasons(result.deadLetter)).toEqual({ 9: 'late' });
    expect(result.summary.accepted).toBe(8);
  });

  it('end of input at bootstrap: a lone line is accepted, a tie accepts, a minority is rejected', () => {
    expect(runReferenceOnLines([ev('only', T0)]).summary.accepted).toBe(1);
    // First line: disagree (line 2), end: 0 >= 1 fails -> past_ts (the other line is above it);
    // line 2 is then the bootstrap candidate with nothing after it: accepted.
    const two = runReferenceOnLines([ev('a', T0), ev('b', T0 + YEAR)]);
    expect(two.deadLetter.map((d) => [d.line, d.reason])).toEqual([[1, 'past_ts']]);
    expect(two.aggregates.map((r) => r.window_start)).toEqual([T0 + YEAR]);
    // First line: disagree, agree, end: 1 >= 1 -> accepted; line 2 is then a jump: nothing agrees.
    const three = runReferenceOnLines([ev('a', T0), ev('b', T0 + YEAR), ev('c', T0 + 10)]);
    expect(three.deadLetter.map((d) => [d.line, d.reason])).toEqual([[2, 'future_ts']]);
    expect(three.summary).toEqual({ input: 3, accepted: 2, invalid: 1, duplicates: 0, late: 0 });
  });

  it('a line only forward of maxTs by at most S is not a candidate', () => {
    const lines = [...run('a', 5, T0), ev('edge', T0 + 4000 + HOUR), ev('next', T0 + 4000 + 2 * HOUR + 1)];
    const result = runReferenceOnLines(lines);
    // edge is exactly maxTs + S: ordinary. next is one ms beyond edge + S, the last line: rejected.
    expect(reasons(result.deadLetter)).toEqual({ 7: 'future_ts' });
  });
});
