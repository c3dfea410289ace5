import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { WindowAssigner } from '../../../src/kernels/window/assign.js';
import { aggregateConfigSchema, parseSection } from '../../../src/kernels/stage-config.js';
import { compileProcessorOptions } from '../../../src/pipeline/processor-options.js';
import { createProcessor, stateBytes } from '../../../src/pipeline/processor.js';
import { cellsToRows, mergePartials, rowPlanFor } from '../../../src/kernels/window/partials.js';
import type { WindowPartials } from '../../../src/kernels/window/table.js';
import { canonicalSchema, exactSum, forEachBatch, layoutFor, TYPES, type TestEvent } from './pipeline-fixture.js';

describe('window assignment', () => {
  it('tumbling: start = floor(ts / size) * size, one window per event', () => {
    const a = new WindowAssigner({ type: 'tumbling', sizeMs: 60_000 });
    expect(a.lastWindowStart(1_700_000_059_999)).toBe(1_700_000_040_000);
    expect(a.firstWindowEnd(1_700_000_059_999)).toBe(1_700_000_100_000);
    expect(a.windowCount(123_456)).toBe(1);
    expect(a.isLate(119_999, 120_000)).toBe(true);
    expect(a.isLate(120_000, 120_000)).toBe(false);
  });

  it('hopping: every window containing ts, and only those', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 1e13 }), fc.integer({ min: 1, max: 50 }), fc.integer({ min: 1, max: 50 }),
      (ts, slide, mult) => {
        const size = slide * mult + (ts % 3 === 0 ? 0 : Math.min(slide - 1, 7));
        const a = new WindowAssigner({ type: 'hopping', sizeMs: size, slideMs: slide });
        const n = a.windowCount(ts);
        const last = a.lastWindowStart(ts);
        for (let i = 0; i < n; i++) {
          const s = last - i * slide;
          if (!(s <= ts && ts < s + size) || s % slide !== 0) return false;
        }
        const before = last - n * slide; // the next earlier window must not contain ts
        return before + size <= ts && a.firstWindowEnd(ts) === last - (n - 1) * slide + size;
      }), { numRuns: 500 });
  });
});

function aggregateOnly(window: object, metrics: object[], groupBy: string[] = ['type']) {
  const aggregate = parseSection(aggregateConfigSchema, { window, groupBy, metrics }, 'aggregate');
  return compileProcessorOptions({ aggregate }, 'ts', 1, null);
}

function run(options: ReturnType<typeof aggregateOnly>, events: TestEvent[], rows = 64): WindowPartials[] {
  const layout = layoutFor(rows);
  const state = new SharedArrayBuffer(stateBytes(options, layout));
  const proc = createProcessor({ partition: 0, partitions: 1, layout, options, state });
  const partials: WindowPartials[] = [];
  forEachBatch(layout, events, (b) => proc.process(b));
  const out = proc.finishTask({ closeBeforeMs: 0, final: true });
  if (out.partials) partials.push(out.partials);
  expect(out.counters.accepted).toBe(events.length);
  return partials;
}

const eventArb = fc.record({
  ts: fc.integer({ min: 946_684_800_000, max: 946_684_800_000 + 600_000 }),
  type: fc.constantFrom(...TYPES),
  amount: fc.integer({ min: 0, max: 100_000 }).map((c) => c / 100),
});

describe('window aggregate', () => {
  it('counts every accepted event in exactly one tumbling window, the one containing it (property)', () => {
    const options = aggregateOnly({ type: 'tumbling', sizeMs: 60_000 }, [
      { name: 'count', op: 'count' }, { name: 'amount_sum', op: 'sum', field: 'amount' },
      { name: 'amount_max', op: 'max', field: 'amount' }, { name: 'amount_min', op: 'min', field: 'amount' },
    ]);
    const plan = rowPlanFor(options.aggregate, canonicalSchema.columns);
    fc.assert(fc.property(fc.array(eventArb, { minLength: 1, maxLength: 300 }), (raw) => {
      const events: TestEvent[] = raw.map((e, i) => ({ ...e, event_id: `e${i}`, user_id: 'u', line: i + 1 }));
      const rows = cellsToRows(mergePartials(run(options, events), plan.layout), plan, new Map());
      const total = rows.reduce((s, r) => s + (r.count as number), 0);
      if (total !== events.length) return false;
      // Reference: a Map keyed by the window containing each event.
      const ref = new Map<string, TestEvent[]>();
      for (const e of events) {
        const key = `${Math.floor(e.ts / 60_000) * 60_000}|${e.type}`;
        ref.set(key, [...(ref.get(key) ?? []), e]);
      }
      if (ref.size !== rows.length) return false;
      return rows.every((r) => {
        const mine = ref.get(`${r.window_start}|${r.type}`);
        if (!mine || r.window_end !== (r.window_start as number) + 60_000) return false;
        const amounts = mine.map((e) => e.amount ?? 0);
        return r.count === mine.length && r.amount_max === Math.max(...amounts) && r.amount_min === Math.min(...amounts)
          && r.amount_sum === exactSum(amounts) && mine.every((e) => (r.window_start as number) <= e.ts && e.ts < (r.window_end as number));
      });
    }), { numRuns: 60 });
  });

  it('hopping windows count each event in size / slide windows', () => {
    const options = aggregateOnly({ type: 'hopping', sizeMs: 60_000, slideMs: 20_000 }, [{ name: 'n', op: 'count' }, { name: 'avg', op: 'avg', field: 'amount' }], []);
    const base = 946_684_800_000;
    const events: TestEvent[] = [0, 19_999, 20_000, 59_999, 60_000, 130_000].map((d, i) => ({
      event_id: `e${i}`, ts: base + d, user_id: 'u', type: 'view', amount: i, line: i + 1,
    }));
    const plan = rowPlanFor(options.aggregate, canonicalSchema.columns);
    const rows = cellsToRows(mergePartials(run(options, events), plan.layout), plan, new Map());
    expect(rows.reduce((s, r) => s + (r.n as number), 0)).toBe(events.length * 3);
    for (const r of rows) {
      const inside = events.filter((e) => (r.window_start as number) <= e.ts && e.ts < (r.window_end as number));
      expect(r.n).toBe(inside.length);
      expect(r.avg).toBeCloseTo(inside.reduce((s, e) => s + (e.amount ?? 0), 0) / inside.length, 12);
    }
  });

  it('merges partials of the same (window, group) from different partitions', () => {
    const options = aggregateOnly({ type: 'tumbling', sizeMs: 60_000 }, [
      { name: 'count', op: 'count' }, { name: 's', op: 'sum', field: 'amount' }, { name: 'users', op: 'distinct', field: 'user_id' },
    ]);
    const plan = rowPlanFor(options.aggregate, canonicalSchema.columns);
    const base = 946_684_800_000;
    const mk = (i: number): TestEvent => ({ event_id: `e${i}`, ts: base + (i % 50) * 1000, user_id: `u${i % 700}`, type: TYPES[i % 2], amount: 0.1, line: i });
    const all = Array.from({ length: 3000 }, (_, i) => mk(i));
    const whole = cellsToRows(mergePartials(run(options, all), plan.layout), plan, new Map());
    const split = cellsToRows(mergePartials([
      ...run(options, all.filter((_, i) => i % 3 === 0)), ...run(options, all.filter((_, i) => i % 3 !== 0)),
    ], plan.layout), plan, new Map());
    expect(split).toEqual(whole);
    expect(whole.map((r) => r.type)).toEqual(['view', 'click']);
    expect(whole[0].count).toBe(1500);
    expect(Math.abs((whole[0].users as number) - 350)).toBeLessThanOrEqual(3 * 0.01625 * 350);
  });

  it('reports a full table as an error instead of dropping rows', () => {
    const options = aggregateOnly({ type: 'tumbling', sizeMs: 1000 }, [{ name: 'count', op: 'count' }]);
    options.aggregate.maxOpenCells = 16;
    const events: TestEvent[] = Array.from({ length: 17 }, (_, i) => ({ event_id: `e${i}`, ts: 946_684_800_000 + i * 1000, user_id: 'u', type: 'view', line: i }));
    expect(() => run(options, events)).toThrow(/window table full/);
  });
});
