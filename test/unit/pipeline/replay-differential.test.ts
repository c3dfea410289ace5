/**
 * Issue 4's contract: `ringflow replay` (real worker threads, the real kernels) equals the plain
 * object-based reference implementation, line for line in the dead letter and row for row in the
 * aggregates, on random streams with duplicates, invalid lines, disorder and late events.
 * users_approx is a HyperLogLog estimate: compared within 4 standard errors of p = 12 (1.04/64).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { loadRingflowConfig } from '../../../src/daemon/config.js';
import { replay } from '../../../src/daemon/replay.js';
import { ClickstreamGenerator } from '../../../src/sources/generators/clickstream-events.js';
import { compareAggregates, compareDeadLetters, compareSummaries, HLL_BOUND, runReferenceOnText } from '../../reference/canonical-reference.js';

const exampleConfig = join(import.meta.dirname, '../../../examples/clickstream.json');
const work = mkdtempSync(join(tmpdir(), 'ringflow-replay-diff-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const readNdjson = (path: string): Record<string, unknown>[] =>
  readFileSync(path, 'utf8').split('\n').filter((l) => l.length > 0).map((l) => JSON.parse(l) as Record<string, unknown>);

async function replayAndCompare(name: string, text: string, runtime: { threads: number; partitions: number; batchRows: number; ringSlots: number },
  allowedLatenessMs = 0) {
  const input = join(work, `${name}.ndjson`);
  writeFileSync(input, text);
  const base = await loadRingflowConfig(exampleConfig);
  const config = { ...base, aggregate: { ...base.aggregate, allowedLatenessMs }, runtime: { ...base.runtime, ...runtime } };
  const outDir = join(work, name);
  const summary = await replay({ inputPath: input, config, outDir, progress: false });
  const reference = runReferenceOnText(text, { allowedLatenessMs });
  const aggregates = readNdjson(join(outDir, 'aggregates.ndjson'));
  const deadLetter = readNdjson(join(outDir, 'dead-letter.ndjson'));
  return {
    summary,
    reference,
    diffs: [
      ...compareAggregates(aggregates, reference.aggregates, HLL_BOUND),
      ...compareDeadLetters(deadLetter, reference.deadLetter),
      ...compareSummaries(summary as unknown as Record<string, unknown>, reference.summary),
    ],
  };
}

describe('replay equals the reference implementation', () => {
  it('on random generated streams (seeds, rates, runtime sizes)', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          seed: fc.integer({ min: 0, max: 2 ** 31 }),
          events: fc.integer({ min: 500, max: 12_000 }),
          invalidRate: fc.double({ min: 0, max: 0.2, noNaN: true }),
          duplicateRate: fc.double({ min: 0, max: 0.3, noNaN: true }),
          lateRate: fc.double({ min: 0, max: 0.05, noNaN: true }),
          eventsPerSecond: fc.constantFrom(20, 200, 2000),
          threads: fc.integer({ min: 1, max: 2 }),
          // 1: rows are decoded straight into the ring slots (no scatter), when threads is 1 too.
          partitions: fc.oneof(fc.constant(1), fc.integer({ min: 2, max: 9 })),
          batchRows: fc.constantFrom(1, 7, 64, 1024),
          ringSlots: fc.constantFrom(2, 4, 16),
        }),
        async (p) => {
          const gen = new ClickstreamGenerator({
            seed: p.seed, invalidRate: p.invalidRate, duplicateRate: p.duplicateRate, lateRate: p.lateRate,
            eventsPerSecond: p.eventsPerSecond, variantRate: 0.05, blankLineRate: 0.01,
          });
          let text = '';
          for (let i = 0; i < p.events; i++) text += `${gen.nextLine()}\n`;
          const runtime = { threads: p.threads, partitions: Math.max(p.threads, p.partitions), batchRows: p.batchRows, ringSlots: p.ringSlots };
          const { diffs, summary } = await replayAndCompare(`random-${run++}`, text, runtime);
          expect(diffs).toEqual([]);
          expect(summary.input).toBe(summary.accepted + summary.invalid + summary.duplicates + summary.late);
        },
      ),
      // A run that does not finish fails on its own (with its parameters printed) instead of the test
      // timing out silently; no shrinking, since a hang would repeat for every shrink step.
      { numRuns: 6, timeout: 60_000, endOnFailure: true },
    );
  }, 240_000);

  it('with allowed lateness: late events within it update their windows, later ones are dead-lettered (issue 15)', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          seed: fc.integer({ min: 0, max: 2 ** 31 }),
          events: fc.integer({ min: 2_000, max: 12_000 }),
          lateRate: fc.double({ min: 0.005, max: 0.05, noNaN: true }),
          // The generator's late events are 2 to 10 minutes behind: some within, some beyond.
          allowedLatenessMs: fc.constantFrom(60_000, 180_000, 420_000),
          partitions: fc.constantFrom(1, 3),
          batchRows: fc.constantFrom(7, 1024),
        }),
        async (p) => {
          const gen = new ClickstreamGenerator({ seed: p.seed, duplicateRate: 0.05, lateRate: p.lateRate, eventsPerSecond: 200 });
          let text = '';
          for (let i = 0; i < p.events; i++) text += `${gen.nextLine()}\n`;
          const runtime = { threads: 1, partitions: p.partitions, batchRows: p.batchRows, ringSlots: 4 };
          const { diffs, summary, reference } = await replayAndCompare(`lateness-${run++}`, text, runtime, p.allowedLatenessMs);
          expect(diffs).toEqual([]);
          expect(summary.input).toBe(summary.accepted + summary.invalid + summary.duplicates + summary.late);
          // The property is about something: without allowed lateness more of them are late.
          expect(runReferenceOnText(text).summary.late).toBeGreaterThanOrEqual(reference.summary.late);
        },
      ),
      { numRuns: 5, timeout: 60_000, endOnFailure: true },
    );
  }, 240_000);

  it.each([
    ['scatter into 3 partitions', { threads: 2, partitions: 3, batchRows: 4, ringSlots: 2 }],
    ['one partition, decoded straight into its ring slots', { threads: 1, partitions: 1, batchRows: 4, ringSlots: 2 }],
  ])('on the edge cases of the contract (%s)', async (_label, runtime) => {
    const ok = (id: string, ts: number, extra = '') =>
      `{"event_id":"${id}","ts":${ts},"user_id":"u1","type":"view"${extra}}`;
    const t0 = 1767225600000;
    const lines = [
      ok('a', t0),
      `${ok('b', t0 + 10)}\r`, // CRLF
      '   \t ', // blank: skipped, not counted
      ok('a', t0 + 20, ',"amount":5'), // duplicate with other fields changed
      `{"__proto__":{"polluted":1},"constructor":{"x":1},${ok('c', t0 + 30).slice(1)}`,
      ok('d', t0 + 40, ',"country":"DE","amount":1.5e1,"nested":{"a":[1,{"b":"}"}]}'),
      ok('e', t0 + 50, ',"country":"de"'), // bad pattern
      ok('f', t0 + 60.5), // not an integer
      ok('g', 946684799999), // out of range
      '{"event_id":"h","ts":1767225600070,"user_id":"u1","type":"view"} trailing',
      '[1,2,3]',
      'null',
      `{"event_id":"${'x'.repeat(65)}","ts":${t0},"user_id":"u1","type":"view"}`,
      `{"event_id":"\\u00e9\\ud83d\\ude00","ts":${t0 + 80},"user_id":"u\\"q","type":"click","amount":null,"country":null}`,
      ok('late-1', t0 + 200_000),
      ok('late-2', t0 + 1_000), // window [t0, t0+60s) closed by the watermark (t0+195s)
      ok('late-2', t0 + 1_000), // a duplicate of a late event is a duplicate
      `{"event_id":"big","pad":"${'y'.repeat(1024 * 1024)}","ts":${t0},"user_id":"u1","type":"view"}`, // > 1 MiB
      ok('i', t0 + 200_001, ',"type":"purchase"'), // duplicate key: the last one wins
      `${ok('j', t0 + 200_002)}`, // last line without '\n'
    ];
    const { diffs, reference } = await replayAndCompare(`edges-${runtime.partitions}`, lines.join('\n'), runtime);
    expect(diffs).toEqual([]);
    expect(reference.summary.late).toBe(1);
    expect(reference.summary.duplicates).toBe(2);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  }, 120_000);
});
