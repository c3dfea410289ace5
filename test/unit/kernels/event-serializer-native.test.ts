/**
 * The native event serializer (native-bindings/src/events.rs) against its JS twin (EventSerializer
 * with native: false): random batches of every field kind, with and without enrichment, serialized by
 * both into buffers of their own must give the same lines, lineEnds, keys and keyEnds, byte for byte,
 * also when the buffers start tiny and grow between native calls.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { EventBuffers } from '../../../src/kernels/events/event-buffers.js';
import { EventSerializer } from '../../../src/kernels/events/event-serializer.js';
import { createSharedDictionary, SharedDictionaryWriter, type SharedDictionaryShared } from '../../../src/kernels/enrich/shared-dictionary.js';
import { BatchView, setValid } from '../../../src/runtime/batch.js';
import { loadNativeModule, nativeModuleProblem } from '../../../src/runtime/native-module.js';
import { computeLayout, type BatchLayout, type Schema } from '../../../src/runtime/schema.js';
import { KernelError } from '../../../src/errors.js';
import type { EventBatch } from '../../../src/contracts/index.js';

const nativeBuilt = typeof loadNativeModule()?.EventKernel === 'function';
const skipReason = nativeBuilt ? '' : ` (SKIPPED: ${nativeModuleProblem() ?? 'the native module has no EventKernel'}; run bash scripts/build-native.sh)`;
if (!nativeBuilt) console.warn(`native event serializer tests${skipReason}`);

const enc = new TextEncoder();
const ENUM = ['view', 'cl"ick', 'añadir\\', '€\n', 'x'];
/** String room per row: the generated strings' longest UTF-8 (4 bytes per character at most). */
const SCHEMA: Schema = {
  columns: [
    { name: 'k', type: 'string', avgBytes: 64 },
    { name: '__line', type: 'float64' },
    { name: 's', type: 'string', avgBytes: 200 },
    { name: 'x', type: 'float64' },
    { name: 't', type: 'timestamp_ms' },
    { name: 'i64', type: 'int64' },
    { name: 'n', type: 'int32' },
    { name: 'b', type: 'bool' },
    { name: 'e', type: 'enum', enumValues: ENUM },
    { name: '__late', type: 'bool' },
    { name: '__raw', type: 'string', avgBytes: 8 },
    { name: 'u', type: 'string', hashed: true, avgBytes: 24 },
  ],
};

/** Characters that need escaping or several UTF-8 bytes, mixed with arbitrary code units. */
const trickyChar = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom('"', '\\', '/', '\n', '\r', '\t', '\b', '\f', '\u0000', '\u0001', '\u001f', '\u007f', 'é', '€', '😀', '\u2028') },
  { weight: 6, arbitrary: fc.constantFrom('a', 'b', 'Z', '0', ' ', '-') },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
);
const trickyString = (maxLength: number) => fc.string({ unit: trickyChar, maxLength });

const TWO_POW_53 = 2 ** 53;
const FIXED_LIMIT = TWO_POW_53 / 1e6;
const specialNumbers = [
  0, -0, NaN, Infinity, -Infinity, 1, -1, TWO_POW_53, -TWO_POW_53, TWO_POW_53 + 2, TWO_POW_53 - 1, 2 ** 31, -(2 ** 31), 2 ** 64, 1e21, 1e20,
  123456789012345680000, 1e-7, 1e-6, 5e-7, 4.9e-7, 5e-324, Number.MIN_VALUE, Number.MAX_VALUE, -Number.MAX_VALUE, 1e300, 0.1 + 0.2,
  FIXED_LIMIT, FIXED_LIMIT - 1e-6, FIXED_LIMIT + 1e-6, 9007199254.740991, 0.0000005, 0.0000015, 2.5e-6, 1234.5, -0.000001, 1 / 3,
];
const decimals = fc.tuple(fc.integer({ min: -1e12, max: 1e12 }), fc.integer({ min: 0, max: 8 })).map(([n, k]) => n / 10 ** k);
const anyNumber = fc.oneof(
  fc.double(),
  fc.integer({ min: -TWO_POW_53, max: TWO_POW_53 }),
  fc.constantFrom(...specialNumbers),
  decimals,
);

interface Row {
  k: string | null;
  s: string | null;
  x: number | null;
  t: number | null;
  i64: number | null;
  n: number | null;
  b: boolean | null;
  e: number | null;
  u: string | null;
  accepted: boolean;
  id: number;
}

const cell = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: null, freq: 5 });
const rowArb = (dictSize: number): fc.Arbitrary<Row> => fc.record({
  k: cell(trickyString(16)),
  s: cell(trickyString(40)),
  x: cell(anyNumber),
  t: cell(fc.integer({ min: 1_600_000_000_000, max: 1_800_000_000_000 })),
  i64: cell(fc.oneof(fc.maxSafeInteger(), anyNumber)),
  n: cell(fc.integer()),
  b: cell(fc.boolean()),
  e: cell(fc.nat(ENUM.length - 1)),
  u: cell(trickyString(6)),
  accepted: fc.boolean(),
  id: fc.nat(dictSize - 1),
});

function putString(b: BatchView, name: string, r: number, s: string | null): void {
  const col = b.column(name);
  const at = col.offsets![r];
  const bytes = s === null ? new Uint8Array(0) : enc.encode(s);
  (col.values as Uint8Array).set(bytes, at);
  col.offsets![r + 1] = at + bytes.length;
  if (s !== null) setValid(col.validity, r);
}

function put(b: BatchView, name: string, r: number, v: number | boolean | null): void {
  if (v === null) return;
  const col = b.column(name);
  col.values[r] = Number(v);
  setValid(col.validity, r);
}

/** A batch slot of shared memory that does not start at offset 0, as a ring's slots are. */
function fill(layout: BatchLayout, rows: readonly Row[]): BatchView {
  const b = new BatchView(layout, new SharedArrayBuffer(3 * layout.slotBytes), layout.slotBytes);
  b.clear();
  rows.forEach((row, r) => {
    putString(b, 'k', r, row.k);
    putString(b, 's', r, row.s);
    putString(b, 'u', r, row.u);
    putString(b, '__raw', r, 'raw');
    put(b, '__line', r, r + 1);
    put(b, '__late', r, false);
    put(b, 'x', r, row.x);
    put(b, 't', r, row.t);
    put(b, 'i64', r, row.i64);
    put(b, 'n', r, row.n);
    put(b, 'b', r, row.b);
    put(b, 'e', r, row.e);
  });
  b.rowCount = rows.length;
  return b;
}

function dictionaryOf(values: readonly string[]): SharedDictionaryShared {
  const shared = createSharedDictionary(values.length);
  const writer = new SharedDictionaryWriter(shared);
  for (const v of values) writer.append(v);
  return shared;
}

function smallBuffers(): EventBuffers {
  const b = new EventBuffers();
  b.lines = new Uint8Array(8);
  b.lineEnds = new Uint32Array(1);
  b.keys = new Uint8Array(1);
  b.keyEnds = new Uint32Array(1);
  return b;
}

/** Every row through both serializers, `batchRows` to a batch, accepted rows appended per batch in one call. */
function both(rows: readonly Row[], batchRows: number, dict: SharedDictionaryShared | null, small: boolean): [EventBatch | null, EventBatch | null] {
  const layout = computeLayout(SCHEMA, batchRows);
  const options = { keyField: 'k', enriched: dict ? { name: 'region', dictionary: dict } : null };
  const js = new EventSerializer(layout, options, small ? smallBuffers() : new EventBuffers(), { native: false });
  const native = new EventSerializer(layout, options, small ? smallBuffers() : new EventBuffers());
  expect(js.isNative).toBe(false);
  expect(native.isNative).toBe(true);
  const list = new Int32Array(batchRows);
  const ids = new Int32Array(batchRows);
  for (let from = 0; from < rows.length; from += batchRows) {
    const part = rows.slice(from, from + batchRows);
    const batch = fill(layout, part);
    let count = 0;
    part.forEach((row, r) => {
      ids[r] = row.id;
      if (row.accepted) list[count++] = r;
    });
    for (const s of [js, native]) {
      s.bind(batch, dict ? ids : null);
      s.appendRows(list, count);
    }
  }
  return [js.finish(), native.finish()];
}

const dec = new TextDecoder();

/** Same rows, lines and keys, byte for byte; a failure names the first line that differs. */
function expectSame(native: EventBatch | null, js: EventBatch | null): void {
  if (js === null || native === null) {
    expect(native).toBe(js);
    return;
  }
  expect(native.rowCount).toBe(js.rowCount);
  const line = (b: EventBatch, i: number): string => dec.decode(b.lines.subarray(i === 0 ? 0 : b.lineEnds[i - 1], b.lineEnds[i]));
  for (let i = 0; i < js.rowCount; i++) {
    if (native.lineEnds[i] !== js.lineEnds[i]) expect(line(native, i)).toBe(line(js, i));
  }
  expect(Buffer.from(native.lines).equals(Buffer.from(js.lines))).toBe(true);
  expect(Buffer.from(native.keys).equals(Buffer.from(js.keys))).toBe(true);
  expect(native.lineEnds).toEqual(js.lineEnds);
  expect(native.keyEnds).toEqual(js.keyEnds);
}

const DICT = ['unknown', 'europe', 'north "america"', 'añ\\o', '😀\u0001'];

describe.skipIf(!nativeBuilt)(`native event serializer${skipReason}`, () => {
  it('is the path taken when the module is built, unless native: false', () => {
    const layout = computeLayout(SCHEMA, 4);
    expect(new EventSerializer(layout, { keyField: 'k', enriched: null }, new EventBuffers()).isNative).toBe(true);
    expect(new EventSerializer(layout, { keyField: 'k', enriched: null }, new EventBuffers(), { native: false }).isNative).toBe(false);
  });

  it('writes the bytes the JS twin writes: every kind, null fields, with and without enrichment, growing buffers (property)', () => {
    fc.assert(fc.property(
      fc.array(rowArb(DICT.length), { maxLength: 120 }), fc.integer({ min: 1, max: 40 }), fc.boolean(), fc.boolean(),
      (rows, batchRows, enriched, small) => {
        const [js, native] = both(rows, batchRows, enriched ? dictionaryOf(DICT) : null, small);
        expectSame(native, js);
      },
    ), { numRuns: 400 });
  });

  it('spells every double as the JS writer does (bulk: random bit patterns, decimals, ties, edges)', () => {
    let seed = 0x9e3779b9;
    const next = (): number => {
      seed ^= seed << 13; seed >>>= 0; seed ^= seed >>> 17; seed ^= seed << 5; seed >>>= 0;
      return seed;
    };
    const bits = new Float64Array(1);
    const words = new Uint32Array(bits.buffer);
    const values: number[] = [...specialNumbers];
    for (let i = 0; i < 25_000; i++) {
      words[0] = next();
      words[1] = next();
      values.push(bits[0]);
      values.push((next() % 2_000_000_000) / 10 ** (next() % 9));
      values.push((2 * (next() % 10_000_000) + 1) / 2e6); // ties of Math.round(a * 1e6)
      values.push((next() * 4096 + (next() % 4096)) / 1e6 - (next() % 2) * 1e9);
    }
    const rows: Row[] = values.map((x, i) => ({
      k: 'k', s: null, x, t: null, i64: -x, n: i % 7 === 0 ? -(2 ** 31) : null, b: null, e: null, u: null, accepted: true, id: 0,
    }));
    const [js, native] = both(rows, 4096, null, false);
    expect(native!.rowCount).toBe(values.length);
    expectSame(native, js);
  });

  it('long strings with escapes at every position, and a batch that grows the buffers many times', () => {
    const rows: Row[] = Array.from({ length: 3000 }, (_, i) => ({
      k: `key-${i}-${'x'.repeat(i % 50)}`,
      s: i % 100 === 0 ? 'ab"\\\n\u0001é😀'.repeat(20) : `${'y'.repeat(i % 23)}${'"\n\u001f'[i % 3]}${'z'.repeat(i % 11)}`,
      x: i / 7, t: 1_700_000_000_000 + i, i64: i, n: -i, b: i % 2 === 0, e: i % ENUM.length, u: 'u', accepted: i % 5 !== 0, id: i % DICT.length,
    }));
    const [js, native] = both(rows, 1024, dictionaryOf(DICT), true);
    expectSame(native, js);
    expect(native!.rowCount).toBe(2400);
  });

  it('throws the JS path\'s KernelError for a value id the dictionary never published, after appending the rows before it', () => {
    const layout = computeLayout(SCHEMA, 4);
    const rows: Row[] = [0, 1, 2].map((i) => ({ k: `k${i}`, s: null, x: i, t: null, i64: null, n: null, b: null, e: null, u: null, accepted: true, id: 0 }));
    const batch = fill(layout, rows);
    const buffers = new EventBuffers();
    const s = new EventSerializer(layout, { keyField: 'k', enriched: { name: 'region', dictionary: dictionaryOf(['unknown']) } }, buffers);
    s.bind(batch, Int32Array.of(0, 0, 7, 0));
    expect(() => s.appendRows(Int32Array.of(0, 1, 2), 3)).toThrow(/value id 7 is not in the shared dictionary/);
    expect(buffers.rows).toBe(2);
  });

  it('takes batches of an equal layout, and refuses one of another layout rather than read it by the wrong offsets', () => {
    const s = new EventSerializer(computeLayout(SCHEMA, 4), { keyField: 'k', enriched: null }, new EventBuffers());
    const row: Row = { k: 'a', s: 'x', x: 1.5, t: null, i64: null, n: null, b: null, e: null, u: null, accepted: true, id: 0 };
    s.bind(fill(computeLayout(SCHEMA, 4), [row]), null);
    s.appendRows(Int32Array.of(0), 1);
    expect(() => s.bind(fill(computeLayout(SCHEMA, 8), [row]), null)).toThrow(/layout differs/);
    expect(dec.decode(s.finish()!.lines)).toBe('{"k":"a","s":"x","x":1.5}\n');
  });

  it('a row index outside the batch is a KernelError, not a read outside the slot', () => {
    const layout = computeLayout(SCHEMA, 4);
    const s = new EventSerializer(layout, { keyField: 'k', enriched: null }, new EventBuffers());
    s.bind(fill(layout, []), null);
    expect(() => s.appendRows(Int32Array.of(4), 1)).toThrow(KernelError);
    expect(() => s.appendRows(Int32Array.of(-1), 1)).toThrow(/row -1 outside a batch of 4 rows/);
  });
});
