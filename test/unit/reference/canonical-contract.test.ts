import { describe, expect, it } from 'vitest';
import { runReferenceOnLines, type AggregateRow } from '../../reference/canonical-reference.js';

// The contract examples of issue 4 / ARCHITECTURE.md, with outcomes worked out by hand.
// T0 = 2026-01-01T00:00:00Z, a window start. W0 = [T0, T0+60s), W1 = [T0+60s, T0+120s), W2 = ...
const T0 = 1767225600000;
const W0 = T0;
const W1 = T0 + 60_000;
const W2 = T0 + 120_000;
const ev = (fields: Record<string, unknown>): string => JSON.stringify(fields);

/** A valid event exactly 1 MiB long (padding in an ignored field). */
function exactlyOneMiBLine(): string {
  const head = `{"event_id":"big-ok","ts":${T0 + 7000},"user_id":"u11","type":"add_to_cart","amount":7,"country":"AU","pad":"`;
  const tail = '"}';
  return head + 'x'.repeat(1024 * 1024 - head.length - tail.length) + tail;
}

// [physical line, expected outcome]: 'accepted' | 'duplicate' | 'skip' | dead-letter reason.
const CASES: Array<[string, string]> = [
  [ev({ event_id: 'a1', ts: T0 + 1000, user_id: 'u1', type: 'view', country: 'US' }), 'accepted'],
  [ev({ event_id: 'a2', ts: T0 + 2000, user_id: 'u2', type: 'purchase', amount: 10.5, country: 'DE' }), 'accepted'],
  [ev({ event_id: 'a3', ts: T0 + 3000, user_id: 'u1', type: 'purchase', amount: 4.25, country: 'FR' }), 'accepted'],
  ['', 'skip'],
  ['   \t ', 'skip'],
  ['  \r', 'skip'],
  // Same id, every other field different: still a duplicate, first occurrence wins.
  [ev({ event_id: 'a2', ts: T0 + 4000, user_id: 'u9', type: 'click', amount: 99, country: 'JP' }), 'duplicate'],
  // "\u0061\u0031" decodes to "a1".
  [`{"event_id":"\\u0061\\u0031","ts":${T0 + 1500},"user_id":"u1","type":"view"}`, 'duplicate'],
  [ev({ event_id: 'a4', ts: T0 + 59_999, user_id: 'u3', type: 'view' }), 'accepted'], // last ms of W0, country ZZ
  [ev({ event_id: 'a5', ts: T0 + 60_000, user_id: 'u3', type: 'view', country: 'XX' }), 'accepted'], // first ms of W1
  [ev({ event_id: 'a6', ts: T0 + 61_000, user_id: 'u4', type: 'add_to_cart', amount: 3, country: 'BR' }) + '\r', 'accepted'],
  [`{"__proto__":{"event_id":"evil","ts":1,"polluted":true},"event_id":"a7","ts":${T0 + 62_000},"user_id":"u5","type":"click","country":null,"constructor":"x"}`, 'accepted'],
  [ev({ event_id: 'a12', ts: T0 + 6000, user_id: 'u1', type: 'view', amount: 2.5, country: 'US' }), 'accepted'],
  [ev({ event_id: 'é'.repeat(32), ts: T0 + 5000, user_id: 'u10', type: 'click', country: 'GB' }), 'accepted'], // 64 bytes
  [exactlyOneMiBLine(), 'accepted'],
  // maxTs = T0+124999 -> watermark T0+119999 < end of W1: a W1 event is still on time.
  [ev({ event_id: 'a8', ts: T0 + 124_999, user_id: 'u7', type: 'view', country: 'US' }), 'accepted'],
  [ev({ event_id: 'a9', ts: T0 + 70_000, user_id: 'u6', type: 'view', country: 'US' }), 'accepted'],
  // maxTs = T0+125000 -> watermark T0+120000 = end of W1: W1 is closed.
  [ev({ event_id: 'a10', ts: T0 + 125_000, user_id: 'u7', type: 'click', country: 'CA' }), 'accepted'],
  [ev({ event_id: 'a11', ts: T0 + 70_001, user_id: 'u8', type: 'view', country: 'US' }), 'late'],
  // The late event's id was recorded; an old id that is also a late candidate is a duplicate first.
  [ev({ event_id: 'a11', ts: T0 + 125_000, user_id: 'u8', type: 'view', country: 'US' }), 'duplicate'],
  [ev({ event_id: 'a2', ts: T0 + 1, user_id: 'u2', type: 'purchase', amount: 1, country: 'DE' }), 'duplicate'],
  [ev({ event_id: 'old', ts: 946684800000, user_id: 'u1', type: 'view' }), 'late'], // lowest valid ts
  // Invalid, one per rule; the first failing field in the order event_id, ts, user_id, type, amount, country.
  [`{"event_id":"b1","ts":${T0},"user_id":"u1","type":"view"`, 'malformed_json'],
  [`{"event_id":"b2","ts":${T0},"user_id":"u1","type":"view"} x`, 'malformed_json'],
  ['\u00a0', 'malformed_json'], // not JSON whitespace
  ['[{"event_id":"b3"}]', 'not_object'],
  ['null', 'not_object'],
  ['42', 'not_object'],
  ['"view"', 'not_object'],
  [ev({ ts: T0, user_id: 'u1', type: 'view' }), 'missing:event_id'],
  [ev({ event_id: null, ts: T0, user_id: 'u1', type: 'view' }), 'missing:event_id'],
  [ev({ event_id: 7, ts: T0, user_id: 'u1', type: 'view' }), 'bad_type:event_id'],
  [ev({ event_id: '', ts: 'x', user_id: 5, type: 'bogus' }), 'too_short:event_id'],
  [ev({ event_id: 'e'.repeat(65), ts: T0, user_id: 'u1', type: 'view' }), 'too_long:event_id'],
  [ev({ event_id: 'é'.repeat(33), ts: T0, user_id: 'u1', type: 'view' }), 'too_long:event_id'], // 66 bytes
  [ev({ event_id: 'c0', user_id: 'u1', type: 'view' }), 'missing:ts'],
  [ev({ event_id: 'c1', ts: String(T0), user_id: 5 }), 'bad_type:ts'],
  [`{"event_id":"c2","ts":${T0}.5,"user_id":"u1","type":"view"}`, 'not_integer:ts'],
  [`{"event_id":"c3","ts":1e400,"user_id":"u1","type":"view"}`, 'not_integer:ts'],
  [ev({ event_id: 'c4', ts: 946684799999, user_id: 'u1', type: 'view' }), 'out_of_range:ts'],
  [ev({ event_id: 'c5', ts: 4102444800000, user_id: 'u1', type: 'view' }), 'out_of_range:ts'],
  [ev({ event_id: 'c6', ts: T0, user_id: null, type: 'view' }), 'missing:user_id'],
  [ev({ event_id: 'c7', ts: T0, user_id: '', type: 'view' }), 'too_short:user_id'],
  [ev({ event_id: 'c8', ts: T0, user_id: 'u1' }), 'missing:type'],
  [ev({ event_id: 'c9', ts: T0, user_id: 'u1', type: 1 }), 'bad_type:type'],
  [ev({ event_id: 'd1', ts: T0, user_id: 'u1', type: 'View' }), 'bad_enum:type'],
  [ev({ event_id: 'd2', ts: T0, user_id: 'u1', type: 'view', amount: '5', country: 'us' }), 'bad_type:amount'],
  [ev({ event_id: 'd3', ts: T0, user_id: 'u1', type: 'view', amount: -1 }), 'out_of_range:amount'],
  [`{"event_id":"d4","ts":${T0},"user_id":"u1","type":"view","amount":-1e400}`, 'out_of_range:amount'],
  [ev({ event_id: 'd5', ts: T0, user_id: 'u1', type: 'view', country: 'us' }), 'bad_pattern:country'],
  [ev({ event_id: 'd6', ts: T0, user_id: 'u1', type: 'view', country: 'USA' }), 'bad_pattern:country'],
  [ev({ event_id: 'd7', ts: T0, user_id: 'u1', type: 'view', country: 1 }), 'bad_type:country'],
  ['{"event_id":"big-bad","pad":"' + 'x'.repeat(1024 * 1024) + '"}', 'line_too_long'],
  ['{' + 'é'.repeat(3000), 'malformed_json'], // 6001 bytes: raw is cut before the split character
];

const row = (window_start: number, type: string, region: string, count: number, amount_sum: number, amount_max: number, users_approx: number): AggregateRow => ({
  window_start, window_end: window_start + 60_000, type, region, count, amount_sum, amount_max, users_approx,
});

describe('canonical reference: contract examples', () => {
  const result = runReferenceOnLines(CASES.map(([line]) => line));

  it('aggregates the accepted events per (window, type, region), sorted', () => {
    expect(result.aggregates).toEqual([
      row(W0, 'add_to_cart', 'oceania', 1, 7, 7, 1), // the exactly-1-MiB line
      row(W0, 'click', 'europe', 1, 0, 0, 1), // 64-byte id
      row(W0, 'purchase', 'europe', 2, 14.75, 10.5, 2), // a2 (DE) + a3 (FR); duplicates of a2 not counted
      row(W0, 'view', 'north_america', 2, 2.5, 2.5, 1), // a1 + a12, both u1
      row(W0, 'view', 'unknown', 1, 0, 0, 1), // a4, country absent -> ZZ
      row(W1, 'add_to_cart', 'south_america', 1, 3, 3, 1), // a6 (CRLF)
      row(W1, 'click', 'unknown', 1, 0, 0, 1), // a7, country null; __proto__ ignored
      row(W1, 'view', 'north_america', 1, 0, 0, 1), // a9, on time by 1 ms
      row(W1, 'view', 'unknown', 1, 0, 0, 1), // a5, XX not in the table
      row(W2, 'click', 'north_america', 1, 0, 0, 1), // a10
      row(W2, 'view', 'north_america', 1, 0, 0, 1), // a8
    ]);
  });

  it('reconciles: input = accepted + invalid + duplicates + late, blank lines not counted', () => {
    expect(result.summary).toEqual({ input: 51, accepted: 13, invalid: 32, duplicates: 4, late: 2 });
    const { input, accepted, invalid, duplicates, late } = result.summary;
    expect(accepted + invalid + duplicates + late).toBe(input);
  });

  it('dead-letters invalid and late lines with reason, physical line number and raw line', () => {
    const expected = CASES.flatMap(([line, outcome], i) =>
      ['accepted', 'duplicate', 'skip'].includes(outcome) ? [] : [{ reason: outcome, line: i + 1, raw: line }],
    );
    // Only the two long lines are cut; the expected cut is written out, not computed.
    const CUT_RAW: Record<number, string> = {
      [CASES.length - 2]: CASES[CASES.length - 2][0].slice(0, 4096), // ASCII: exactly 4096 bytes
      [CASES.length - 1]: '{' + 'é'.repeat(2047), // byte 4096 is inside an "é": cut to 4095 bytes
    };
    expect(result.deadLetter).toEqual(
      expected.map((d) => ({ ...d, raw: CUT_RAW[d.line - 1] ?? d.raw })),
    );
    expect(Buffer.byteLength(result.deadLetter.at(-1)!.raw)).toBe(4095);
  });

  it('never lets "__proto__" or "constructor" touch a prototype', () => {
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype.hasOwnProperty.call(Object.prototype, 'polluted')).toBe(false);
  });
});
