import { describe, expect, it } from 'vitest';
import { aggregateConfigSchema, dedupeConfigSchema, parseSection } from '../../../src/kernels/stage-config.js';
import { compileProcessorOptions } from '../../../src/pipeline/processor-options.js';
import pipelineModule from '../../../src/pipeline/processor.js';
import { computeLayout, type Schema } from '../../../src/runtime/schema.js';
import { prng } from '../../helpers/prng.js';
import { canonicalSchema, forEachBatch, TYPES, type TestEvent } from './pipeline-fixture.js';

const BASE_TS = 1_700_000_000_000;

/** Rows of one processor over `events` in batches of `rows`: which lines dedupe counted as duplicates. */
function duplicatesPerTask(schema: Schema, rows: number, events: readonly TestEvent[]): number[] {
  const dedupe = parseSection(dedupeConfigSchema, { keyField: 'event_id', expectedKeysPerHorizon: 5000, horizonMs: 600_000 }, 'dedupe');
  const aggregate = parseSection(aggregateConfigSchema, { window: { type: 'tumbling', sizeMs: 60_000 }, groupBy: ['type'] }, 'aggregate');
  const options = compileProcessorOptions({ enrich: null, dedupe, aggregate }, 'ts', 1, null);
  const layout = computeLayout(schema, rows);
  const proc = pipelineModule.createProcessor({
    partition: 0, partitions: 1, layout, options, state: new SharedArrayBuffer(pipelineModule.stateBytes(options, layout)),
  });
  const perTask: number[] = [];
  forEachBatch(layout, events, (b) => {
    proc.process(b);
    perTask.push(proc.finishTask({ closeBeforeMs: -Infinity, final: false }).counters.duplicates);
  });
  return perTask;
}

describe('dedupe key hashes at the processor', () => {
  it('a key column without hashes dedupes exactly as one carrying them (hashes computed per batch)', () => {
    const unhashed: Schema = { columns: canonicalSchema.columns.map((c) => (c.name === 'event_id' ? { ...c, hashed: false } : c)) };
    expect(computeLayout(unhashed, 8).byName.get('event_id')).toBeDefined();
    const rnd = prng(7);
    // Repeats within a batch, across batches, and after the 10-minute horizon has rotated generations.
    const events: TestEvent[] = Array.from({ length: 3000 }, (_, i) => ({
      event_id: `ev-${rnd() % 100 < 20 && i > 0 ? rnd() % i : i}`,
      ts: BASE_TS + i * 500,
      user_id: 'u', type: TYPES[i % TYPES.length], amount: 1, country: 'US', line: i + 1,
    }));
    const withHashes = duplicatesPerTask(canonicalSchema, 256, events);
    const withoutHashes = duplicatesPerTask(unhashed, 256, events);
    expect(withoutHashes).toEqual(withHashes);
    // Lower bound of the duplicates: repeats whose first copy is at most 10 minutes (1200 rows) older.
    const firstSeen = new Map<string, number>();
    let repeatsInHorizon = 0;
    events.forEach((e, i) => {
      const first = firstSeen.get(e.event_id);
      if (first === undefined) firstSeen.set(e.event_id, i);
      else if (i - first <= 1200) repeatsInHorizon++;
    });
    const total = withHashes.reduce((a, b) => a + b, 0);
    expect(repeatsInHorizon).toBeGreaterThan(100);
    expect(total).toBeGreaterThanOrEqual(repeatsInHorizon);
  });
});
