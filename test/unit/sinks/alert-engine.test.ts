import { describe, expect, it } from 'vitest';
import { alertsConfigSchema } from '../../../src/sinks/alerts/config.js';
import { AlertEngine } from '../../../src/sinks/alerts/engine.js';
import { CANONICAL_WINDOW_SHAPE } from '../../../src/sinks/sink.js';
import { ConfigError } from '../../../src/errors.js';
import type { WindowRow } from '../../../src/contracts/index.js';

const MIN = 60_000;
const row = (startMin: number, type: string, region: string, count: number, amountSum = 0): WindowRow => ({
  window_start: startMin * MIN,
  window_end: (startMin + 1) * MIN,
  type,
  region,
  count,
  amount_sum: amountSum,
  amount_max: 0,
  users_approx: 0,
});

const engine = (rules: unknown[], retainedWindows?: number) =>
  new AlertEngine(alertsConfigSchema.parse({ rules, ...(retainedWindows ? { retainedWindows } : {}) }), CANONICAL_WINDOW_SHAPE);

describe('AlertEngine threshold rules', () => {
  it.each([
    ['>', 10, [11], [10, 9]],
    ['>=', 10, [10, 11], [9]],
    ['<', 10, [9], [10, 11]],
    ['<=', 10, [9, 10], [11]],
  ] as const)('%s %d fires for %j and not for %j', (op, value, firing, quiet) => {
    const e = engine([{ kind: 'threshold', name: 'r', metric: 'count', op, value }]);
    let minute = 0;
    for (const c of firing) expect(e.evaluate([row(minute++, 'click', 'eu', c)])).toHaveLength(1);
    for (const c of quiet) expect(e.evaluate([row(minute++, 'click', 'eu', c)])).toHaveLength(0);
  });

  it('only looks at groups matching `where`, and describes the alert', () => {
    const e = engine([{ kind: 'threshold', name: 'big-purchases', metric: 'amount_sum', op: '>', value: 1000, where: { type: 'purchase' } }]);
    const alerts = e.evaluate([row(5, 'click', 'eu', 1, 5000), row(5, 'purchase', 'eu', 3, 1500), row(5, 'purchase', 'us', 2, 900)]);
    expect(alerts).toEqual([
      {
        alert_id: `big-purchases:${5 * MIN}:purchase|eu`,
        rule: 'big-purchases',
        kind: 'threshold',
        window_start: 5 * MIN,
        window_end: 6 * MIN,
        group: { type: 'purchase', region: 'eu' },
        group_key: 'purchase|eu',
        metric: 'amount_sum',
        value: 1500,
        condition: 'amount_sum > 1000',
        threshold: 1000,
      },
    ]);
  });

  it('emits each (window, group, rule) once, also when the window is delivered again', () => {
    const e = engine([
      { kind: 'threshold', name: 'a', metric: 'count', op: '>', value: 1 },
      { kind: 'threshold', name: 'b', metric: 'count', op: '>', value: 2 },
    ]);
    const first = e.evaluate([row(1, 'click', 'eu', 5), row(1, 'click', 'us', 5)]);
    expect(first.map((a) => a.alert_id)).toEqual([
      `a:${MIN}:click|eu`, `b:${MIN}:click|eu`, `a:${MIN}:click|us`, `b:${MIN}:click|us`,
    ]);
    expect(e.evaluate([row(1, 'click', 'eu', 5), row(1, 'click', 'us', 7)])).toEqual([]);
  });

  it('forgets windows beyond retainedWindows, keeping memory bounded', () => {
    const e = engine([{ kind: 'threshold', name: 'a', metric: 'count', op: '>', value: 0 }], 2);
    expect(e.evaluate([row(1, 'click', 'eu', 5)])).toHaveLength(1);
    expect(e.evaluate([row(2, 'click', 'eu', 5)])).toHaveLength(1);
    expect(e.evaluate([row(3, 'click', 'eu', 5)])).toHaveLength(1);
    // Window 1 was evicted: a replay that old is emitted again (alert_id lets consumers dedupe it).
    expect(e.evaluate([row(1, 'click', 'eu', 5)])).toHaveLength(1);
    // Window 3 is still remembered.
    expect(e.evaluate([row(3, 'click', 'eu', 5)])).toHaveLength(0);
  });
});

describe('AlertEngine change rules', () => {
  it('compares with the previous window of the same group (relative)', () => {
    const e = engine([{ kind: 'change', name: 'surge', metric: 'count', mode: 'relative', direction: 'increase', atLeast: 0.5 }]);
    expect(e.evaluate([row(1, 'click', 'eu', 10), row(1, 'click', 'us', 10)])).toEqual([]);
    const alerts = e.evaluate([row(2, 'click', 'eu', 15), row(2, 'click', 'us', 14)]);
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({
      alert_id: `surge:${2 * MIN}:click|eu`, kind: 'change', value: 15, previous_value: 10, previous_window_start: MIN, change: 0.5,
    });
  });

  it('supports absolute change in either direction', () => {
    const e = engine([{ kind: 'change', name: 'swing', metric: 'count', mode: 'absolute', direction: 'any', atLeast: 5 }]);
    e.evaluate([row(1, 'click', 'eu', 20)]);
    expect(e.evaluate([row(2, 'click', 'eu', 14)])).toHaveLength(1);
    expect(e.evaluate([row(3, 'click', 'eu', 10)])).toHaveLength(0);
    expect(e.evaluate([row(4, 'click', 'eu', 15)])).toHaveLength(1);
  });

  it('ignores decreases for direction increase and vice versa', () => {
    const up = engine([{ kind: 'change', name: 'up', metric: 'count', mode: 'absolute', direction: 'increase', atLeast: 1 }]);
    const down = engine([{ kind: 'change', name: 'down', metric: 'count', mode: 'absolute', direction: 'decrease', atLeast: 1 }]);
    for (const e of [up, down]) e.evaluate([row(1, 'click', 'eu', 10)]);
    expect(up.evaluate([row(2, 'click', 'eu', 5)])).toHaveLength(0);
    expect(down.evaluate([row(2, 'click', 'eu', 5)])).toHaveLength(1);
  });

  it('skips a non-adjacent previous window unless adjacentOnly is false', () => {
    const strict = engine([{ kind: 'change', name: 'c', metric: 'count', mode: 'absolute', atLeast: 1 }]);
    const loose = engine([{ kind: 'change', name: 'c', metric: 'count', mode: 'absolute', atLeast: 1, adjacentOnly: false }]);
    for (const e of [strict, loose]) e.evaluate([row(1, 'click', 'eu', 10)]);
    expect(strict.evaluate([row(3, 'click', 'eu', 20)])).toHaveLength(0);
    expect(loose.evaluate([row(3, 'click', 'eu', 20)])).toHaveLength(1);
  });

  it('compares a re-delivered window with the window before it, not with itself', () => {
    const e = engine([{ kind: 'change', name: 'c', metric: 'count', mode: 'absolute', atLeast: 5 }]);
    e.evaluate([row(1, 'click', 'eu', 10)]);
    expect(e.evaluate([row(2, 'click', 'eu', 11)])).toHaveLength(0);
    // Window 2 re-delivered with corrected values: compared with window 1.
    expect(e.evaluate([row(2, 'click', 'eu', 30)])).toHaveLength(1);
  });
});

describe('AlertEngine with null metrics', () => {
  it('skips rules whose metric is null in this window or in the previous one', () => {
    const e = engine([
      { kind: 'threshold', name: 't', metric: 'amount_max', op: '<', value: 100 },
      { kind: 'change', name: 'c', metric: 'amount_max', mode: 'absolute', atLeast: 1 },
    ]);
    const withMax = (startMin: number, max: number | null): WindowRow => ({ ...row(startMin, 'click', 'eu', 1), amount_max: max });
    expect(e.evaluate([withMax(1, null)])).toEqual([]);
    expect(e.evaluate([withMax(2, 50)]).map((a) => a.rule)).toEqual(['t']);
    expect(e.evaluate([withMax(3, 70)]).map((a) => a.rule)).toEqual(['t', 'c']);
  });
});

describe('AlertEngine config checks', () => {
  it('names the bad rule by its full path', () => {
    expect(() => engine([{ kind: 'threshold', name: 'x', metric: 'nope', op: '>', value: 1 }])).toThrowError(
      expect.objectContaining({ path: 'sinks.alerts.rules[0].metric' }) as Error,
    );
    expect(() => engine([{ kind: 'threshold', name: 'x', metric: 'count', op: '>', value: 1, where: { colour: 'red' } }])).toThrow(ConfigError);
  });
});
