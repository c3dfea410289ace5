/**
 * The compiled row aggregator (window-update-compiled.ts) against the generic loop it replaces
 * (RowAggregator.addReference): same window table bytes after the same rows, for random plans (group
 * fields of every kind, every metric operator and distinct input, tumbling and hopping windows) and
 * rows with nulls.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { PipelineProcessorOptions } from '../../../src/pipeline/processor-options.js';
import { WindowAssigner } from '../../../src/kernels/window/assign.js';
import { accumulatorLayout, windowTableBytesFor, WindowTable } from '../../../src/kernels/window/table.js';
import { RowAggregator } from '../../../src/kernels/window/update.js';
import { hash64Into } from '../../../src/kernels/shared/xxhash32.js';
import { BatchView, setValid } from '../../../src/runtime/batch.js';
import { computeLayout, type Schema } from '../../../src/runtime/schema.js';

const schema: Schema = {
  columns: [
    { name: 'type', type: 'enum', enumValues: ['a', 'b', 'c'] },
    { name: 'flag', type: 'bool' },
    { name: 'n', type: 'int32' },
    { name: 'amount', type: 'float64' },
    { name: 'user', type: 'string', hashed: true, avgBytes: 8 },
    { name: 'name', type: 'string', avgBytes: 8 },
    { name: 'ts', type: 'float64' },
  ],
};
const ROWS = 64;
const layout = computeLayout(schema, ROWS);
const LOOKUP_VALUES = 5;

const METRICS = [
  { name: 'c', op: 'count' }, { name: 's_amount', op: 'sum', field: 'amount' }, { name: 's_n', op: 'sum', field: 'n' },
  { name: 'min_amount', op: 'min', field: 'amount' }, { name: 'max_n', op: 'max', field: 'n' },
  { name: 'avg_amount', op: 'avg', field: 'amount' }, { name: 'd_user', op: 'distinct', field: 'user' },
  { name: 'd_name', op: 'distinct', field: 'name' }, { name: 'd_amount', op: 'distinct', field: 'amount' },
] as const;

const row = fc.record({
  type: fc.option(fc.integer({ min: 0, max: 2 })),
  flag: fc.option(fc.boolean()),
  n: fc.option(fc.integer({ min: -5, max: 5 })),
  amount: fc.option(fc.oneof(fc.double({ min: -1e6, max: 1e6, noNaN: true }), fc.constantFrom(0.1, 1e300, -0))),
  user: fc.option(fc.constantFrom('u1', 'u2', 'user-3', 'a-longer-user-id-4')),
  name: fc.option(fc.string({ maxLength: 6 })),
  ts: fc.integer({ min: 0, max: 10_000 }),
  lookup: fc.integer({ min: 0, max: LOOKUP_VALUES - 1 }),
});

type Row = typeof row extends fc.Arbitrary<infer T> ? T : never;

function fill(batch: BatchView, rows: Row[], lookupIds: Int32Array): void {
  batch.clear();
  const c = (name: string) => batch.column(name);
  const enc = new TextEncoder();
  rows.forEach((x, r) => {
    const put = (name: string, v: number | null): void => {
      if (v === null) return;
      c(name).values[r] = v;
      setValid(c(name).validity, r);
    };
    put('type', x.type);
    put('flag', x.flag === null ? null : x.flag ? 1 : 0);
    put('n', x.n);
    put('amount', x.amount);
    put('ts', x.ts);
    for (const name of ['user', 'name'] as const) {
      const col = c(name);
      const at = col.offsets![r];
      const bytes = enc.encode(x[name] ?? '');
      (col.values as Uint8Array).set(bytes, at);
      col.offsets![r + 1] = at + bytes.length;
      if (x[name] !== null) setValid(col.validity, r);
      if (col.hash) hash64Into(col.values as Uint8Array, at, at + bytes.length, col.hash, 2 * r);
    }
    lookupIds[r] = x.lookup;
  });
  batch.rowCount = rows.length;
}

describe('compiled row aggregator', () => {
  it('leaves the same window table bytes as the generic loop (property)', () => {
    fc.assert(fc.property(
      fc.subarray(['type', 'flag', 'n', 'region']).chain((g) => fc.shuffledSubarray(g, { minLength: g.length, maxLength: g.length })),
      fc.subarray([...METRICS], { minLength: 1 }),
      fc.constantFrom({ type: 'tumbling' as const, sizeMs: 1000, slideMs: 1000 }, { type: 'hopping' as const, sizeMs: 3000, slideMs: 1000 }),
      fc.array(fc.array(row, { maxLength: ROWS }), { minLength: 1, maxLength: 3 }),
      (groupBy, metrics, window, batches) => {
        const o = {
          aggregate: {
            window, groupBy, lookupFields: [['region', LOOKUP_VALUES]], metrics: metrics.map((m) => ({ ...m })),
            maxOpenCells: 4096, hllPrecision: 6,
          },
        } as unknown as PipelineProcessorOptions;
        const acc = accumulatorLayout(o.aggregate.metrics, 6);
        const assigner = new WindowAssigner(window);
        const lookupIds = new Int32Array(ROWS);
        const make = (compiled: boolean) => {
          const state = new ArrayBuffer(windowTableBytesFor(4096, acc));
          const table = new WindowTable(state, 0, 4096, acc, assigner.sizeMs, assigner.slideMs);
          return { state, agg: new RowAggregator(o.aggregate, layout, table, assigner, lookupIds, { compiled }) };
        };
        const compiled = make(true);
        const generic = make(false);
        const batch = BatchView.standalone(layout);
        for (const rows of batches) {
          fill(batch, rows, lookupIds);
          compiled.agg.bind(batch);
          generic.agg.bind(batch);
          const ts = batch.column('ts').values as Float64Array;
          for (let r = 0; r < rows.length; r++) {
            compiled.agg.add(r, ts[r]);
            generic.agg.addReference(r, ts[r]);
          }
        }
        expect(Buffer.compare(Buffer.from(compiled.state), Buffer.from(generic.state))).toBe(0);
      },
    ), { numRuns: 300 });
  });
});
