import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createDimTableShared } from '../../../src/kernels/enrich/dim-table.js';
import { DimTableLoader } from '../../../src/kernels/enrich/dim-table-loader.js';
import { aggregateConfigSchema, dedupeConfigSchema, enrichConfigSchema, parseSection } from '../../../src/kernels/stage-config.js';
import { compileProcessorOptions, type PipelineProcessorOptions } from '../../../src/pipeline/processor-options.js';
import pipelineModule, { type PipelineTaskOutput } from '../../../src/pipeline/processor.js';
import { cellsToRows, PartialMerger, rowPlanFor } from '../../../src/kernels/window/partials.js';
import { hashString } from '../../../src/kernels/shared/xxhash32.js';
import { WatermarkTracker } from '../../../src/kernels/event-time/watermark.js';
import { WindowAssigner } from '../../../src/kernels/window/assign.js';
import { exactSum, forEachBatch, layoutFor, canonicalSchema, TYPES, type TestEvent } from './pipeline-fixture.js';
import type { WindowRow } from '../../../src/contracts/index.js';

const COUNTRIES_CSV = new URL('../../../examples/dims/countries.csv', import.meta.url).pathname;
const BASE_TS = 1_700_000_000_000 - (1_700_000_000_000 % 60_000);

async function canonical(partitions: number): Promise<{ options: PipelineProcessorOptions; loader: DimTableLoader }> {
  const enrich = parseSection(enrichConfigSchema, {
    table: COUNTRIES_CSV, keyColumn: 'country', valueColumn: 'region', joinOn: 'country', as: 'region', default: 'unknown',
  }, 'enrich');
  const dedupe = parseSection(dedupeConfigSchema, { keyField: 'event_id', expectedKeysPerHorizon: 2000 }, 'dedupe');
  const aggregate = parseSection(aggregateConfigSchema, {
    window: { type: 'tumbling', sizeMs: 60_000 }, outOfOrdernessMs: 5000, groupBy: ['type', 'region'],
    metrics: [
      { name: 'count', op: 'count' }, { name: 'amount_sum', op: 'sum', field: 'amount' },
      { name: 'amount_max', op: 'max', field: 'amount' }, { name: 'users_approx', op: 'distinct', field: 'user_id' },
    ],
    maxOpenCells: 128,
  }, 'aggregate');
  const shared = createDimTableShared(enrich.maxRows, enrich.maxValues, partitions);
  const loader = new DimTableLoader(shared, { path: COUNTRIES_CSV, keyColumn: 'country', valueColumn: 'region', defaultValue: enrich.default });
  await loader.load();
  return { options: compileProcessorOptions({ enrich, dedupe, aggregate }, 'ts', partitions, shared), loader };
}

const REGION: Record<string, string> = {
  US: 'north_america', CA: 'north_america', MX: 'north_america', BR: 'south_america', AR: 'south_america',
  DE: 'europe', FR: 'europe', GB: 'europe', ES: 'europe', IT: 'europe', PL: 'europe', NL: 'europe', SE: 'europe',
  IN: 'asia', JP: 'asia', CN: 'asia', KR: 'asia', SG: 'asia', AU: 'oceania', NZ: 'oceania',
  ZA: 'africa', NG: 'africa', EG: 'africa', KE: 'africa',
};

/** Plain object reference of dedupe -> late -> aggregate for valid events in input order. */
function reference(events: readonly TestEvent[]) {
  const seen = new Set<string>();
  const groups = new Map<string, { row: WindowRow; amounts: number[]; users: Set<string> }>();
  let duplicates = 0;
  const late: number[] = [];
  let maxTs = -Infinity;
  for (const e of events) {
    // One source, allowed lateness 5 s: late iff the event's window ended at or before max ts - 5 s.
    const isLate = e.late === true || Math.floor(e.ts / 60_000) * 60_000 + 60_000 <= maxTs - 5000;
    maxTs = Math.max(maxTs, e.ts);
    if (seen.has(e.event_id)) { duplicates++; continue; }
    seen.add(e.event_id);
    if (isLate) { late.push(e.line); continue; }
    const start = Math.floor(e.ts / 60_000) * 60_000;
    const region = REGION[e.country ?? 'ZZ'] ?? 'unknown';
    const key = `${start}|${e.type}|${region}`;
    let g = groups.get(key);
    if (!g) {
      g = { row: { window_start: start, window_end: start + 60_000, type: e.type, region }, amounts: [], users: new Set() };
      groups.set(key, g);
    }
    g.amounts.push(e.amount ?? 0);
    g.users.add(e.user_id);
  }
  const rows = [...groups.values()].map((g) => ({
    ...g.row, count: g.amounts.length, amount_sum: exactSum(g.amounts), amount_max: Math.max(...g.amounts), users_approx: g.users.size,
  }));
  return { duplicates, late, rows };
}

const byKey = (r: WindowRow): string => `${r.window_start}|${r.type}|${r.region}`;

/** Run events through `partitions` processors (split by the event_id hash), closing windows every `taskRows` rows. */
async function runPipeline(events: readonly TestEvent[], partitions: number, taskRows: number, batchRows = 32) {
  const { options, loader } = await canonical(partitions);
  const layout = layoutFor(batchRows);
  const states = Array.from({ length: partitions }, () => new SharedArrayBuffer(pipelineModule.stateBytes(options, layout)));
  const plan = rowPlanFor(options.aggregate, canonicalSchema.columns);
  const merger = new PartialMerger(plan.layout);
  const outputs: PipelineTaskOutput[] = [];
  // Ingest: the late flag comes from the watermark before each event, as ARCHITECTURE.md says.
  const wm = new WatermarkTracker({ outOfOrdernessMs: 5000, idleTimeoutMs: 60_000, now: () => 0 }, new WindowAssigner(options.aggregate.window));
  for (const e of events) if (!e.late) e.late = wm.lateThenObserve(0, e.ts);
  const closeAt = new WatermarkTracker({ outOfOrdernessMs: 5000, idleTimeoutMs: 60_000, now: () => 0 }, new WindowAssigner(options.aggregate.window));
  for (let t = 0; t < events.length || t === 0; t += taskRows) {
    const chunk = events.slice(t, t + taskRows);
    for (const e of chunk) closeAt.observe(0, e.ts);
    const final = t + taskRows >= events.length;
    for (let p = 0; p < partitions; p++) {
      // A fresh processor per task over the same state: as if the partition moved to another worker.
      const proc = pipelineModule.createProcessor({ partition: p, partitions, layout, options, state: states[p] });
      const mine = chunk.filter((e) => hashString(e.event_id)[0] % partitions === p);
      forEachBatch(layout, mine, (b) => proc.process(b));
      const out = proc.finishTask({ closeBeforeMs: closeAt.watermark, final });
      outputs.push(out);
      merger.add(out.partials);
    }
  }
  const rows = cellsToRows(merger.take(Infinity, options.aggregate.window.sizeMs), plan, new Map([['region', loader.dictionary]]));
  const sum = (k: keyof PipelineTaskOutput['counters']): number => outputs.reduce((s, o) => s + o.counters[k], 0);
  return {
    rows, outputs,
    counters: { rows: sum('rows'), duplicates: sum('duplicates'), late: sum('late'), accepted: sum('accepted'), lateAfterClose: sum('lateAfterClose') },
    lateLines: outputs.flatMap((o) => o.lateRows.map((r) => r.line)).sort((a, b) => a - b),
  };
}

function compare(got: WindowRow[], want: WindowRow[]): void {
  expect(got.map(byKey).sort()).toEqual(want.map(byKey).sort());
  const wantByKey = new Map(want.map((r) => [byKey(r), r]));
  for (const r of got) {
    const w = wantByKey.get(byKey(r))!;
    expect({ ...r, users_approx: 0 }).toEqual({ ...w, users_approx: 0 });
    expect(Math.abs((r.users_approx as number) - (w.users_approx as number))).toBeLessThanOrEqual(Math.max(1, 3 * 0.01625 * (w.users_approx as number)));
  }
}

const eventsArb = fc.array(fc.record({
  id: fc.integer({ min: 0, max: 120 }),
  // Mostly small steps forward, some jumps back (disorder, late rows) and forward (windows close).
  dt: fc.oneof({ arbitrary: fc.integer({ min: 0, max: 3000 }), weight: 8 }, { arbitrary: fc.integer({ min: -70_000, max: -1000 }), weight: 1 },
    { arbitrary: fc.integer({ min: 0, max: 120_000 }), weight: 1 }),
  user: fc.integer({ min: 0, max: 40 }),
  type: fc.constantFrom(...TYPES),
  amount: fc.option(fc.integer({ min: 0, max: 1_000_000 }).map((c) => c / 100), { nil: null }),
  country: fc.constantFrom('US', 'DE', 'JP', 'BR', 'NZ', 'KE', 'ZZ', 'XX'),
}), { minLength: 30, maxLength: 300 });

describe('pipeline processor (enrich -> dedupe -> aggregate)', () => {
  it('matches an object-based reference on random disordered streams with duplicates and late rows (property)', async () => {
    await fc.assert(fc.asyncProperty(eventsArb, fc.integer({ min: 1, max: 3 }), fc.integer({ min: 7, max: 300 }), async (raw, partitions, taskRows) => {
      let ts = BASE_TS;
      const events: TestEvent[] = raw.map((r, i) => {
        ts += r.dt;
        return {
          event_id: `ev-${r.id}`, ts, user_id: `user-${r.user}`, type: r.type, amount: r.amount ?? 0,
          country: r.country, line: i + 1,
        };
      });
      const ref = reference(events);
      const got = await runPipeline(events.map((e) => ({ ...e })), partitions, taskRows);
      expect(got.counters.rows).toBe(events.length);
      expect(got.counters.duplicates).toBe(ref.duplicates);
      expect(got.counters.late).toBe(ref.late.length);
      expect(got.counters.lateAfterClose).toBe(0);
      expect(got.counters.accepted).toBe(events.length - ref.duplicates - ref.late.length);
      expect(got.lateLines).toEqual(ref.late);
      compare(got.rows, ref.rows);
    }), { numRuns: 40 });
  });

  it('first occurrence wins: a later copy with other fields is a duplicate, even after a late first copy', async () => {
    const e = (id: string, line: number, extra: Partial<TestEvent> = {}): TestEvent => ({
      event_id: id, ts: BASE_TS + 1000, user_id: 'u1', type: 'view', amount: 1, country: 'US', line, ...extra,
    });
    const events = [e('a', 1), e('a', 2, { type: 'purchase', amount: 99 }), e('b', 3, { late: true, raw: '{"late":1}' }), e('b', 4)];
    const got = await runPipeline(events, 1, 100);
    expect(got.counters).toEqual({ rows: 4, duplicates: 2, late: 1, accepted: 1, lateAfterClose: 0 });
    expect(got.outputs[0].lateRows).toEqual([{ line: 3, raw: '{"late":1}' }]);
    expect(got.rows).toEqual([{ window_start: BASE_TS, window_end: BASE_TS + 60_000, type: 'view', region: 'north_america', count: 1, amount_sum: 1, amount_max: 1, users_approx: 1 }]);
  });

  it('emits the accepted rows of every batch as event lines, in input order, keyed by the partition key (events on)', async () => {
    const { options } = await canonical(1);
    const layout = layoutFor(3);
    const state = new SharedArrayBuffer(pipelineModule.stateBytes(options, layout));
    const proc = pipelineModule.createProcessor({ partition: 0, partitions: 1, layout, options: { ...options, events: { keyField: 'event_id' } }, state });
    const e = (id: string, line: number, extra: Partial<TestEvent> = {}): TestEvent => ({
      event_id: id, ts: BASE_TS + line, user_id: `u${line}`, type: 'click', amount: line / 4, country: 'DE', line, ...extra,
    });
    // Batches of 3: duplicates, a late row and accepted rows mixed within and across batches.
    const events = [e('a', 1), e('a', 2), e('b', 3, { late: true }), e('c', 4, { country: 'JP' }), e('b', 5), e('d', 6), e('e', 7, { country: 'XX' })];
    forEachBatch(layout, events, (b) => proc.process(b));
    const out = proc.finishTask({ closeBeforeMs: BASE_TS, final: false });
    expect(out.counters).toMatchObject({ rows: 7, duplicates: 2, late: 1, accepted: 4 });
    const dec = new TextDecoder();
    const batch = out.events!;
    const lines = Array.from({ length: batch.rowCount }, (_, i) => dec.decode(batch.lines.subarray(i === 0 ? 0 : batch.lineEnds[i - 1], batch.lineEnds[i])));
    const keys = Array.from({ length: batch.rowCount }, (_, i) => dec.decode(batch.keys.subarray(i === 0 ? 0 : batch.keyEnds[i - 1], batch.keyEnds[i])));
    const want = [e('a', 1), e('c', 4, { country: 'JP' }), e('d', 6), e('e', 7, { country: 'XX' })].map((x) => `${JSON.stringify({
      event_id: x.event_id, ts: x.ts, user_id: x.user_id, type: x.type, amount: x.amount, country: x.country, region: x.country === 'XX' ? 'unknown' : REGION[x.country!],
    })}\n`);
    expect(lines).toEqual(want);
    expect(keys).toEqual(['a', 'c', 'd', 'e']);
  });

  it('hands over only windows ending at or before closeBeforeMs, and rejects rows for a window already handed over', async () => {
    const { options } = await canonical(1);
    const layout = layoutFor(16);
    const state = new SharedArrayBuffer(pipelineModule.stateBytes(options, layout));
    const proc = pipelineModule.createProcessor({ partition: 0, partitions: 1, layout, options, state });
    const ev = (i: number, ts: number): TestEvent => ({ event_id: `x${i}`, ts, user_id: 'u', type: 'click', country: 'DE', amount: 2, line: i });
    forEachBatch(layout, [ev(1, BASE_TS), ev(2, BASE_TS + 60_000), ev(3, BASE_TS + 125_000)], (b) => proc.process(b));
    const first = proc.finishTask({ closeBeforeMs: BASE_TS + 120_000, final: false });
    expect(Array.from(first.partials!.windowStartMs)).toEqual([BASE_TS, BASE_TS + 60_000]);
    forEachBatch(layout, [ev(4, BASE_TS + 100)], (b) => proc.process(b));
    const second = proc.finishTask({ closeBeforeMs: BASE_TS + 120_000, final: true });
    expect(second.counters).toEqual({ rows: 1, duplicates: 0, late: 1, accepted: 0, lateAfterClose: 1 });
    expect(Array.from(second.partials!.windowStartMs)).toEqual([BASE_TS + 120_000]);
  });
});

describe('pipeline config sections', () => {
  it('fill defaults and name the full path and the allowed range of a bad value', () => {
    const a = parseSection(aggregateConfigSchema, {}, 'aggregate');
    expect(a.window).toEqual({ type: 'tumbling', sizeMs: 60_000 });
    expect(a.metrics).toEqual([{ name: 'count', op: 'count' }]);
    const d = parseSection(dedupeConfigSchema, { keyField: 'event_id' }, 'dedupe');
    expect(d).toMatchObject({ horizonMs: 3_600_000, falsePositiveRate: 1e-9, generations: 2 });
    expect(() => parseSection(aggregateConfigSchema, { window: { sizeMs: 0 } }, 'aggregate')).toThrow(/^aggregate\.window\.sizeMs: .*>=1/);
    expect(() => parseSection(aggregateConfigSchema, { window: { type: 'hopping', sizeMs: 10, slideMs: 20 } }, 'aggregate'))
      .toThrow(/aggregate\.window\.slideMs: must be from 1 to sizeMs \(10\)/);
    expect(() => parseSection(dedupeConfigSchema, { keyField: 'id', falsePositiveRate: 0.9 }, 'dedupe')).toThrow(/^dedupe\.falsePositiveRate: /);
    expect(() => parseSection(enrichConfigSchema, { table: 'x.csv', keyColumn: 'k', valueColumn: 'v', joinOn: 'c', as: 'r', colour: 1 }, 'enrich'))
      .toThrow(/^enrich\.colour: unknown setting/);
    expect(() => parseSection(aggregateConfigSchema, { metrics: [{ name: 's', op: 'sum' }] }, 'aggregate')).toThrow(/aggregate\.metrics\[0\]\.field: op "sum" needs a field/);
  });
});
