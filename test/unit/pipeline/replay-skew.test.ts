/**
 * The event-time skew guard end to end: `ringflow replay` (real worker threads, the real kernels) on
 * clickstreams where a few events are stamped years off equals the reference implementation
 * (test/reference/skew-guard-reference.ts: the rule), whatever the runtime's partitions and batch
 * sizes (the guard decides per source partition, in input order, never per batch); those events
 * change no aggregate row; and a genuine gap of days in event time loses nothing.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { loadRingflowConfig } from '../../../src/daemon/config.js';
import { replay, type ReplaySummary } from '../../../src/daemon/replay.js';
import { ClickstreamGenerator } from '../../../src/sources/generators/clickstream-events.js';
import {
  compareAggregates,
  compareDeadLetters,
  compareSummaries,
  HLL_BOUND,
  JUMP_CONFIRM_EVENTS,
  MAX_FUTURE_SKEW_MS,
  runReferenceOnText,
  windowStartOf,
} from '../../reference/canonical-reference.js';
import { classifyLine, stripTrailingCr, TS_END_MS, TS_MIN_MS } from '../../reference/canonical-validate.js';
import { prng as prng32 } from '../../helpers/prng.js';

const exampleConfig = join(import.meta.dirname, '../../../examples/clickstream.json');
const work = mkdtempSync(join(tmpdir(), 'ringflow-replay-skew-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const DAY_MS = 86_400_000;
const YEAR_MS = 365 * DAY_MS;
const T0 = 1767225600000; // 2026-01-01T00:00:00Z, the generator's default start

interface Runtime {
  threads: number;
  partitions: number;
  batchRows: number;
  ringSlots: number;
}

interface ReplayOutput {
  summary: ReplaySummary;
  aggregates: Record<string, unknown>[];
  deadLetter: Record<string, unknown>[];
}

const readNdjson = (path: string): Record<string, unknown>[] =>
  readFileSync(path, 'utf8').split('\n').filter((l) => l.length > 0).map((l) => JSON.parse(l) as Record<string, unknown>);

let runs = 0;
async function replayText(text: string, runtime: Runtime): Promise<ReplayOutput> {
  const name = `run-${runs++}`;
  const input = join(work, `${name}.ndjson`);
  writeFileSync(input, text);
  const base = await loadRingflowConfig(exampleConfig);
  const config = { ...base, runtime: { ...base.runtime, ...runtime } };
  const outDir = join(work, name);
  const summary = await replay({ inputPath: input, config, outDir, progress: false });
  const output = {
    summary,
    aggregates: readNdjson(join(outDir, 'aggregates.ndjson')),
    deadLetter: readNdjson(join(outDir, 'dead-letter.ndjson')),
  };
  rmSync(outDir, { recursive: true, force: true });
  rmSync(input, { force: true });
  return output;
}

/** Differences between a replay and the reference on the same text (empty: equal). */
function referenceDiffs(text: string, output: ReplayOutput): string[] {
  const reference = runReferenceOnText(text);
  return [
    ...compareAggregates(output.aggregates, reference.aggregates, HLL_BOUND),
    ...compareDeadLetters(output.deadLetter, reference.deadLetter),
    ...compareSummaries(output.summary as unknown as Record<string, unknown>, reference.summary),
  ];
}

function reconciles(s: ReplaySummary): boolean {
  return s.input === s.accepted + s.invalid + s.duplicates + s.late;
}

/** Uniform [0, 1) from the shared mulberry32 (positions and offsets from a seed, so every case can be repeated). */
function prng(seed: number): () => number {
  const next = prng32(seed);
  return () => next() / 4294967296;
}

function generateLines(events: number, options: ConstructorParameters<typeof ClickstreamGenerator>[0]): string[] {
  return new ClickstreamGenerator(options).fillLines(events);
}

/** Indices of the lines the canonical rules call valid (rows), in order. */
function validLineIndices(lines: readonly string[]): number[] {
  const out: number[] = [];
  lines.forEach((line, i) => {
    if (classifyLine(stripTrailingCr(line)).kind === 'valid') out.push(i);
  });
  return out;
}

/** A ts 1..30 years from `ts` in the direction `sign` (the other one if that leaves the valid range). */
function yearsOff(ts: number, sign: 1 | -1, random: () => number): number {
  const offset = (1 + Math.floor(random() * 30)) * YEAR_MS + Math.floor(random() * DAY_MS);
  const moved = ts + sign * offset;
  return moved >= TS_MIN_MS && moved < TS_END_MS ? moved : ts - sign * offset;
}

/** The line with its ts replaced (JSON.parse / stringify keep the generated field order). */
function withTs(line: string, ts: number): string {
  const obj = JSON.parse(line) as Record<string, unknown>;
  obj.ts = ts;
  return JSON.stringify(obj);
}

const tsOf = (line: string): number => (JSON.parse(line) as { ts: number }).ts;
const idOf = (line: string): string => (JSON.parse(line) as { event_id: string }).event_id;

/** The fields of a property-test case that the examples below do not set. */
const EXAMPLE = {
  invalidRate: 0, duplicateRate: 0, lateRate: 0, eventsPerSecond: 2000 as const, skewRate: 0, headSkews: 0, tailSkews: 0, threads: 1,
};

describe('replay with events stamped years off', () => {
  it('runs the example pipeline with the skew guard defaults of the reference', async () => {
    const config = await loadRingflowConfig(exampleConfig);
    const aggregate = config.aggregate as unknown as Record<string, unknown>;
    expect(aggregate.maxFutureSkewMs).toBe(MAX_FUTURE_SKEW_MS);
    expect(aggregate.jumpConfirmEvents).toBe(JUMP_CONFIRM_EVENTS);
  });

  it('equals the reference on generated streams with 0-1% of valid lines years off (any partitions, batch sizes)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          seed: fc.integer({ min: 0, max: 2 ** 31 }),
          events: fc.integer({ min: 1_000, max: 12_000 }),
          invalidRate: fc.double({ min: 0, max: 0.1, noNaN: true }),
          duplicateRate: fc.double({ min: 0, max: 0.2, noNaN: true }),
          lateRate: fc.double({ min: 0, max: 0.03, noNaN: true }),
          eventsPerSecond: fc.constantFrom(200, 2000),
          skewRate: fc.double({ min: 0, max: 0.01, noNaN: true }),
          // The first and the last valid lines, each years off on its own (bootstrap and end of input).
          headSkews: fc.integer({ min: 0, max: 3 }),
          tailSkews: fc.integer({ min: 0, max: 3 }),
          // Sometimes a run of consecutive lines with one shared offset: they agree with each other,
          // so 9 or more of them are a jump the guard accepts (and the rest of the stream is late).
          burst: fc.option(fc.integer({ min: 2, max: 12 }), { freq: 2 }),
          skewSeed: fc.integer({ min: 0, max: 2 ** 31 }),
          threads: fc.integer({ min: 1, max: 2 }),
          partitions: fc.integer({ min: 1, max: 4 }),
          // Batches shorter than K (16) end before a candidate can be decided: the decision must wait.
          batchRows: fc.constantFrom(1, 7, 64, 1024),
          ringSlots: fc.constantFrom(2, 4, 16),
        }),
        async (p) => {
          const lines = generateLines(p.events, {
            seed: p.seed, invalidRate: p.invalidRate, duplicateRate: p.duplicateRate, lateRate: p.lateRate,
            eventsPerSecond: p.eventsPerSecond, variantRate: 0.05, blankLineRate: 0.01,
          });
          const random = prng(p.skewSeed);
          const sign = (): 1 | -1 => (random() < 0.5 ? 1 : -1);
          const valid = validLineIndices(lines);
          const chosen = new Set<number>([...valid.slice(0, p.headSkews), ...valid.slice(valid.length - p.tailSkews)]);
          const scattered = Math.round(p.skewRate * valid.length);
          for (let k = 0; k < scattered; k++) chosen.add(valid[Math.floor(random() * valid.length)]);
          for (const i of chosen) lines[i] = withTs(lines[i], yearsOff(tsOf(lines[i]), sign(), random));
          if (p.burst !== null) {
            const start = Math.floor(random() * valid.length);
            const offset = yearsOff(T0, sign(), random) - T0;
            for (const i of valid.slice(start, start + p.burst)) lines[i] = withTs(lines[i], tsOf(lines[i]) + offset);
          }
          const text = lines.join('\n') + '\n';
          const runtime = { threads: p.threads, partitions: Math.max(p.threads, p.partitions), batchRows: p.batchRows, ringSlots: p.ringSlots };
          const output = await replayText(text, runtime);
          expect(referenceDiffs(text, output)).toEqual([]);
          expect(reconciles(output.summary)).toBe(true);
        },
      ),
      {
        numRuns: 20,
        timeout: 30_000,
        endOnFailure: true,
        // Found by this test: a candidate decided with the batch's rows only (a lone first event taken
        // in a 1-row batch; a 5-event burst accepted at the end of a 7-row batch).
        examples: [
          [{ ...EXAMPLE, seed: 537886675, events: 9115, headSkews: 2, tailSkews: 2, burst: null, skewSeed: 0, partitions: 2, batchRows: 1, ringSlots: 4 }],
          [{ ...EXAMPLE, seed: 16, events: 1002, skewRate: 0.01, headSkews: 3, burst: 5, skewSeed: 6, partitions: 2, batchRows: 7, ringSlots: 16 }],
        ],
      },
    );
  }, 120_000);

  it('changes no aggregate row: 0.1% of 50k events years off vs the same file without them', async () => {
    const lines = generateLines(50_000, { seed: 4242, eventsPerSecond: 100, lateRate: 0.01 });
    const random = prng(99);
    const idCount = new Map<string, number>();
    const valid = validLineIndices(lines);
    for (const i of valid) idCount.set(idOf(lines[i]), (idCount.get(idOf(lines[i])) ?? 0) + 1);
    // Past the start only events whose id occurs once: a duplicate stamped years back is a duplicate
    // (no dead letter), and a late event's id is recorded, so a later copy would be a duplicate where
    // the clean run accepts it. The first two valid lines are taken whatever their ids: at the start
    // (bootstrap) both directions are rejected, and a rejected event's id is not recorded, as it is
    // not when blanked out.
    const unique = valid.filter((i) => idCount.get(idOf(lines[i])) === 1);
    const chosen = new Set<number>([valid[0], valid[1], unique.at(-1)!]);
    while (chosen.size < 50) chosen.add(unique[Math.floor(random() * unique.length)]);

    const skewed = [...lines];
    const ahead = new Set<number>();
    for (const i of chosen) {
      const ts = tsOf(lines[i]);
      const moved = yearsOff(ts, random() < 0.5 ? 1 : -1, random);
      if (moved > ts) ahead.add(i);
      skewed[i] = withTs(lines[i], moved);
    }
    expect(ahead.size).toBeGreaterThan(10);
    expect(chosen.size - ahead.size).toBeGreaterThan(10);
    // The clean run: the same events without the skewed ones, blanked so every line keeps its number.
    const clean = lines.map((line, i) => (chosen.has(i) ? '' : line));
    const runtime = { threads: 2, partitions: 3, batchRows: 1024, ringSlots: 4 };
    const skewedText = skewed.join('\n') + '\n';
    const skewedRun = await replayText(skewedText, runtime);
    const cleanRun = await replayText(clean.join('\n') + '\n', runtime);

    // Equal inputs per group (same events, same partitions, same order): equal sums and HLL estimates.
    expect(cleanRun.aggregates.length).toBeGreaterThan(200);
    expect(skewedRun.aggregates).toEqual(cleanRun.aggregates);

    // Ahead: `future_ts`. Behind: `late`, or `past_ts` before the first event that stays (bootstrap).
    const firstKept = valid.find((i) => !chosen.has(i))!;
    expect(firstKept).toBeGreaterThan(valid[1]);
    const skewedEntries = skewedRun.deadLetter.filter((d) => chosen.has((d.line as number) - 1));
    expect(skewedEntries).toHaveLength(chosen.size);
    for (const d of skewedEntries) {
      const i = (d.line as number) - 1;
      expect({ line: d.line, reason: d.reason }).toEqual({
        line: d.line,
        reason: ahead.has(i) ? 'future_ts' : i < firstKept ? 'past_ts' : 'late',
      });
    }
    expect(skewedRun.deadLetter.filter((d) => !chosen.has((d.line as number) - 1))).toEqual(cleanRun.deadLetter);

    const s = skewedRun.summary;
    const c = cleanRun.summary;
    expect(reconciles(s)).toBe(true);
    expect(reconciles(c)).toBe(true);
    expect({ input: s.input, accepted: s.accepted, duplicates: s.duplicates, droppedBySkew: s.invalid + s.late - c.invalid - c.late })
      .toEqual({ input: c.input + chosen.size, accepted: c.accepted, duplicates: c.duplicates, droppedBySkew: chosen.size });
    expect(s.invalid - c.invalid).toBe(skewedEntries.filter((d) => d.reason !== 'late').length);
    expect(referenceDiffs(skewedText, skewedRun)).toEqual([]);
  }, 60_000);

  it.each([
    ['one partition, small batches', { threads: 1, partitions: 1, batchRows: 64, ringSlots: 4 }],
    ['scatter into 4 partitions', { threads: 2, partitions: 4, batchRows: 1024, ringSlots: 2 }],
  ])('follows a real gap of 3 days without dropping an event (%s)', async (_label, runtime) => {
    // Day D, then every later event 3 days on: a second generator (its own ids and duplicates, so no
    // duplicate reaches across the gap, beyond any dedupe horizon) starting where the first stopped + 3 days.
    const perSide = 4_000;
    const eventsPerSecond = 200;
    const before = generateLines(perSide, { seed: 7, eventsPerSecond, lateRate: 0 });
    const after = generateLines(perSide, { seed: 8, eventsPerSecond, lateRate: 0, startTsMs: T0 + 3 * DAY_MS + (perSide * 1000) / eventsPerSecond });
    const text = [...before, ...after].join('\n') + '\n';

    // Expected per window, from the input itself: the first occurrence of each valid event id.
    const events = (side: string[]) => side.map((l) => classifyLine(stripTrailingCr(l))).flatMap((v) => (v.kind === 'valid' ? [v.event] : []));
    const [eventsBefore, eventsAfter] = [events(before), events(after)];
    const idsBefore = new Set(eventsBefore.map((e) => e.eventId));
    expect(eventsAfter.filter((e) => idsBefore.has(e.eventId))).toEqual([]);
    const expected = new Map<number, number>();
    const seen = new Set<string>();
    for (const event of [...eventsBefore, ...eventsAfter]) {
      if (seen.has(event.eventId)) continue;
      seen.add(event.eventId);
      const w = windowStartOf(event.ts);
      expected.set(w, (expected.get(w) ?? 0) + 1);
    }
    const afterGap = [...expected.keys()].filter((w) => w >= T0 + 3 * DAY_MS);
    expect(afterGap.length).toBeGreaterThan(0);
    expect(afterGap.length).toBeLessThan(expected.size);

    const output = await replayText(text, runtime);
    expect(referenceDiffs(text, output)).toEqual([]);
    const counted = new Map<number, number>();
    for (const row of output.aggregates) counted.set(row.window_start as number, (counted.get(row.window_start as number) ?? 0) + (row.count as number));
    expect([...counted].sort((a, b) => a[0] - b[0])).toEqual([...expected].sort((a, b) => a[0] - b[0]));
    const reasons = new Set(output.deadLetter.map((d) => String(d.reason)));
    expect([...reasons].filter((r) => r === 'late' || r === 'future_ts' || r === 'past_ts')).toEqual([]);
    expect(output.summary.late).toBe(0);
    expect(reconciles(output.summary)).toBe(true);
  }, 60_000);
});
