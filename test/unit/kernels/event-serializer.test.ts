/**
 * Processed-event serializer: byte-level JSON writers against JSON.parse / JSON.stringify, the shared
 * dictionary, and the serializer end to end — random NDJSON events through the real decoder into
 * batches, accepted rows serialized, each line parsed back and compared with the event after defaults.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createNdjsonDecoder } from '../../../src/kernels/decode/ndjson.js';
import { EventBuffers } from '../../../src/kernels/events/event-buffers.js';
import { EventSerializer } from '../../../src/kernels/events/event-serializer.js';
import { parseInputConfig, type InputConfig } from '../../../src/kernels/input/config.js';
import { writeJsonString, writeNumber, NUMBER_MAX_BYTES } from '../../../src/kernels/shared/json-bytes.js';
import {
  createSharedDictionary, SharedDictionaryReader, SharedDictionaryWriter, type SharedDictionaryShared,
} from '../../../src/kernels/enrich/shared-dictionary.js';
import { BatchView, setValid } from '../../../src/runtime/batch.js';
import { computeLayout } from '../../../src/runtime/schema.js';
import { keyAt, lineAt } from '../../../src/sinks/event-batch.js';
import type { EventBatch } from '../../../src/contracts/index.js';

const enc = new TextEncoder();
const dec = new TextDecoder();
/** What a string becomes in UTF-8 storage: lone surrogates turn into U+FFFD, as in the decoder's reference. */
const wellFormed = (s: string): string => dec.decode(enc.encode(s));
const JSON_NUMBER = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/;

const numberText = (v: number): string => {
  const buf = new Uint8Array(NUMBER_MAX_BYTES);
  return dec.decode(buf.subarray(0, writeNumber(v, buf, 0)));
};

/** Characters that need escaping or several UTF-8 bytes, mixed with arbitrary code units. */
const trickyChar = fc.oneof(
  fc.constantFrom('"', '\\', '/', '\n', '\r', '\t', '\b', '\f', '\u0000', '\u0001', '\u001f', '\u007f', 'é', '€', '😀', '\u2028', 'a', ' '),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
);
const trickyString = (maxLength = 12) => fc.string({ unit: trickyChar, maxLength });

const decimals = fc.tuple(fc.integer({ min: -1e12, max: 1e12 }), fc.integer({ min: 0, max: 8 })).map(([n, k]) => n / 10 ** k);
const anyNumber = fc.oneof(
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.integer({ min: -(2 ** 53), max: 2 ** 53 }).map((n) => n),
  fc.constantFrom(0, -0, 2 ** 53, -(2 ** 53), 2 ** 53 + 2, 2 ** 31, -(2 ** 31), 1e21, 1e-7, 5e-7, 0.1 + 0.2, 9007199254.740991, Number.MIN_VALUE, Number.MAX_VALUE),
  decimals,
);

describe('writeNumber', () => {
  it('writes a JSON number that parses back to exactly the same double (-0 included)', () => {
    fc.assert(fc.property(anyNumber, (v) => {
      const text = numberText(v);
      expect(text).toMatch(JSON_NUMBER);
      expect(Object.is(JSON.parse(text), v)).toBe(true);
    }), { numRuns: 20_000 });
  });

  it('spells integers and values with up to 6 decimals as String() does (the digit and fixed-point paths)', () => {
    const cents = fc.integer({ min: -1e11, max: 1e11 }).map((n) => n / 100);
    fc.assert(fc.property(fc.oneof(cents, fc.maxSafeInteger().map((n) => n)), (v) => {
      if (Object.is(v, -0)) return;
      expect(numberText(v)).toBe(String(v));
    }), { numRuns: 20_000 });
    expect(numberText(1_700_000_000_123)).toBe('1700000000123');
    expect(numberText(-0.000001)).toBe('-0.000001');
    expect(numberText(1234.5)).toBe('1234.5');
  });

  it('writes null for values JSON cannot hold', () => {
    expect([NaN, Infinity, -Infinity].map(numberText)).toEqual(['null', 'null', 'null']);
  });
});

describe('writeJsonString', () => {
  it('equals JSON.stringify of the string, byte for byte', () => {
    fc.assert(fc.property(trickyString(40), (raw) => {
      const s = wellFormed(raw);
      const src = enc.encode(s);
      const dst = new Uint8Array(6 * src.length + 2);
      const end = writeJsonString(src, 0, src.length, dst, 0);
      expect(dec.decode(dst.subarray(0, end))).toBe(JSON.stringify(s));
    }), { numRuns: 5_000 });
  });
});

function dictionaryOf(values: readonly string[], capacityBytes?: number): SharedDictionaryShared {
  const shared = createSharedDictionary(Math.max(values.length, 1), capacityBytes);
  const writer = new SharedDictionaryWriter(shared);
  values.forEach((v, i) => expect(writer.append(v)).toBe(i));
  return shared;
}

describe('shared dictionary', () => {
  it('holds each value as its JSON literal, readable by id', () => {
    fc.assert(fc.property(fc.uniqueArray(trickyString(), { minLength: 1, maxLength: 20 }), (raw) => {
      const values = raw.map(wellFormed);
      const reader = new SharedDictionaryReader(dictionaryOf(values));
      expect(reader.count()).toBe(values.length);
      values.forEach((v, id) => {
        expect(JSON.parse(dec.decode(reader.literals.subarray(reader.start(id), reader.end(id))))).toBe(v);
      });
    }));
  });

  it('refuses more values than reserved, or more bytes, and appends nothing then', () => {
    const shared = createSharedDictionary(2, 16);
    const writer = new SharedDictionaryWriter(shared);
    writer.append('unknown');
    expect(() => writer.append('a value longer than the rest')).toThrow(/enrich\.maxValues: .*exceed/);
    expect(writer.count).toBe(1);
    writer.append('eu');
    expect(() => writer.append('x')).toThrow(/more than 2 distinct values/);
  });
});

const TYPES = ['view', 'cl"ick', 'añadir\\', 'purchase'];
const config: InputConfig = parseInputConfig({
  fields: {
    event_id: { type: 'string', required: true, minBytes: 1, partitionKey: true },
    ts: { type: 'timestamp_ms', required: true, eventTime: true },
    user_id: { type: 'string', hashed: true },
    type: { type: 'enum', required: true, values: TYPES },
    amount: { type: 'float64', default: 0 },
    country: { type: 'string', pattern: '^[A-Z]{2}$', default: 'ZZ' },
    qty: { type: 'int32' },
    flag: { type: 'bool', default: false },
    seq: { type: 'int64' },
    note: { type: 'string' },
  },
});

interface GenEvent {
  fields: Record<string, unknown>;
  accepted: boolean;
  valueId: number;
  reversed: boolean;
}

const maybe = <T>(arb: fc.Arbitrary<T>) => fc.oneof({ weight: 4, arbitrary: arb }, fc.constant(null), fc.constant(undefined));
const eventArb = (dictSize: number): fc.Arbitrary<GenEvent> => fc.record({
  fields: fc.record({
    event_id: trickyString(10).map((s) => `e${s}`),
    ts: fc.integer({ min: -(2 ** 53) + 1, max: 2 ** 53 - 1 }),
    user_id: maybe(trickyString(16)),
    type: fc.constantFrom(...TYPES),
    amount: maybe(fc.oneof(decimals, fc.double({ noNaN: true, noDefaultInfinity: true }))),
    country: maybe(fc.constantFrom('DE', 'US', 'JP', 'ZZ')),
    qty: maybe(fc.integer()),
    flag: maybe(fc.boolean()),
    seq: maybe(fc.maxSafeInteger()),
    note: maybe(trickyString(30)),
  }),
  accepted: fc.boolean(),
  valueId: fc.nat(dictSize - 1),
  reversed: fc.boolean(),
});

/** The NDJSON line a producer would send: fields in some order, undefined left out, an undeclared key. */
function lineOf(e: GenEvent): string {
  const entries = Object.entries(e.fields).filter(([, v]) => v !== undefined);
  if (e.reversed) entries.reverse();
  return JSON.stringify({ extra: { nested: [1, 'x'] }, ...Object.fromEntries(entries) });
}

/**
 * The event as the reference sees it: JSON.parse of the input line (so -0 written by JSON.stringify is
 * 0), declared fields in schema order after defaults, plus the enriched field.
 */
function expectedOf(e: GenEvent, dict: readonly string[]): Record<string, unknown> {
  const input = JSON.parse(lineOf(e)) as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [name, f] of Object.entries(config.fields)) {
    let v = input[name];
    if (v === undefined || v === null) {
      if (f.default === undefined) continue;
      v = f.default;
    }
    out[name] = typeof v === 'string' ? wellFormed(v) : v;
  }
  out.region = dict[e.valueId];
  return out;
}

/** Decodes every line into batches of `rows`, serializing the accepted rows of each batch in one task. */
function serializeThroughDecoder(events: readonly GenEvent[], dictShared: SharedDictionaryShared, rows: number, buffers: EventBuffers): EventBatch | null {
  const decoder = createNdjsonDecoder(config);
  const layout = computeLayout(decoder.schema, rows);
  const batch = BatchView.standalone(layout);
  const serializer = new EventSerializer(layout, { keyField: 'event_id', enriched: { name: 'region', dictionary: dictShared } }, buffers);
  const text = enc.encode(events.map(lineOf).join('\n') + '\n');
  const valueIds = new Int32Array(rows);
  const rejects: string[] = [];
  let at = 0;
  let line = 1;
  let next = 0; // index of the event in the next decoded row
  while (at < text.length) {
    batch.clear();
    const r = decoder.decode(text, at, text.length, line, batch, (_n, reason) => rejects.push(reason), true);
    at = r.endOffset;
    line += r.linesConsumed;
    for (let i = 0; i < batch.rowCount; i++) valueIds[i] = events[next + i].valueId;
    serializer.bind(batch, valueIds);
    for (let i = 0; i < batch.rowCount; i++) if (events[next + i].accepted) serializer.append(i);
    next += batch.rowCount;
  }
  expect(rejects).toEqual([]);
  expect(next).toBe(events.length);
  return serializer.finish();
}

describe('EventSerializer', () => {
  it('writes each accepted row as a line that JSON.parse reads as the event after defaults, with its key', () => {
    const dictArb = fc.uniqueArray(trickyString(8), { minLength: 1, maxLength: 6 }).map((v) => ['unknown', ...v.map(wellFormed).filter((s) => s !== 'unknown')]);
    fc.assert(fc.property(
      dictArb.chain((dict) => fc.tuple(fc.constant(dict), fc.array(eventArb(dict.length), { maxLength: 40 }), fc.integer({ min: 1, max: 16 }))),
      ([dict, events, rows]) => {
        const out = serializeThroughDecoder(events, dictionaryOf(dict), rows, new EventBuffers());
        const accepted = events.filter((e) => e.accepted);
        if (accepted.length === 0) {
          expect(out).toBeNull();
          return;
        }
        expect(out!.rowCount).toBe(accepted.length);
        accepted.forEach((e, i) => {
          const line = lineAt(out!, i);
          const parsed = JSON.parse(line) as Record<string, unknown>;
          const expected = expectedOf(e, dict);
          expect(parsed).toEqual(expected);
          expect(Object.keys(parsed)).toEqual(Object.keys(expected));
          expect(keyAt(out!, i)).toBe(wellFormed(e.fields.event_id as string));
        });
        expect(out!.lineEnds[out!.rowCount - 1]).toBe(out!.lines.length);
        expect(out!.keyEnds[out!.rowCount - 1]).toBe(out!.keys.length);
        // Every array owns its whole ArrayBuffer, so sendEvents transfers it without a copy.
        for (const a of [out!.lines, out!.lineEnds, out!.keys, out!.keyEnds]) {
          expect([a.byteOffset, a.byteLength]).toEqual([0, a.buffer.byteLength]);
        }
      },
    ), { numRuns: 300 });
  });

  it('grows past its initial buffers (long strings, many rows) and starts empty after finish', () => {
    const buffers = new EventBuffers();
    const long = 'x"\\\n'.repeat(40_000);
    const events: GenEvent[] = Array.from({ length: 3000 }, (_, i) => ({
      fields: { event_id: `e${i}-${'k'.repeat(10)}`, ts: 1_700_000_000_000 + i, type: 'view', note: i % 1000 === 0 ? long : `n${i}` },
      accepted: true,
      valueId: i % 2,
      reversed: false,
    }));
    const dict = ['unknown', 'europe'];
    const out = serializeThroughDecoder(events, dictionaryOf(dict), 512, buffers)!;
    expect(out.rowCount).toBe(3000);
    expect(buffers.lines.length).toBeGreaterThan(1 << 16);
    expect(buffers.keys.length).toBeGreaterThan(1 << 14);
    expect(buffers.lineEnds.length).toBeGreaterThanOrEqual(3000);
    for (const i of [0, 1, 999, 1000, 2999]) {
      expect(JSON.parse(lineAt(out, i))).toEqual(expectedOf(events[i], dict));
      expect(keyAt(out, i)).toBe(events[i].fields.event_id);
    }
    expect(buffers.rows).toBe(0);
  });

  it('writes -0 and omits fields without a value; no enriched field without enrich', () => {
    const layout = computeLayout({ columns: [
      { name: 'k', type: 'string' }, { name: 'x', type: 'float64' }, { name: 'n', type: 'int32' }, { name: '__line', type: 'float64' },
    ] }, 4);
    const batch = BatchView.standalone(layout);
    batch.clear();
    const k = batch.column('k');
    (k.values as Uint8Array).set(enc.encode('ab'), 0);
    k.offsets![1] = 2;
    k.offsets![2] = 2;
    setValid(k.validity, 0);
    (batch.column('x').values as Float64Array)[0] = -0;
    setValid(batch.column('x').validity, 0);
    (batch.column('n').values as Int32Array)[1] = -2147483648;
    setValid(batch.column('n').validity, 1);
    batch.rowCount = 2;
    const s = new EventSerializer(layout, { keyField: 'k', enriched: null }, new EventBuffers());
    s.bind(batch, null);
    s.append(0);
    s.append(1);
    const out = s.finish()!;
    expect([lineAt(out, 0), lineAt(out, 1)]).toEqual(['{"k":"ab","x":-0}', '{"n":-2147483648}']);
    expect([keyAt(out, 0), keyAt(out, 1)]).toEqual(['ab', '']);
  });

  it('drops rows another serializer left in the thread buffers (a task that threw half-way)', () => {
    const buffers = new EventBuffers();
    const dict = dictionaryOf(['unknown']);
    const decoder = createNdjsonDecoder(config);
    const layout = computeLayout(decoder.schema, 4);
    const batch = BatchView.standalone(layout);
    batch.clear();
    const text = enc.encode('{"event_id":"a","ts":1,"type":"view"}\n{"event_id":"b","ts":2,"type":"view"}\n');
    decoder.decode(text, 0, text.length, 1, batch, () => undefined, true);
    const ids = new Int32Array(4);
    const failed = new EventSerializer(layout, { keyField: 'event_id', enriched: { name: 'region', dictionary: dict } }, buffers);
    failed.bind(batch, ids);
    failed.append(0); // ...and its task throws before finish()
    const next = new EventSerializer(layout, { keyField: 'event_id', enriched: { name: 'region', dictionary: dict } }, buffers);
    expect(next.finish()).toBeNull();
    next.bind(batch, ids);
    next.append(1);
    const out = next.finish()!;
    expect(out.rowCount).toBe(1);
    expect(keyAt(out, 0)).toBe('b');
    expect(failed.finish()).toBeNull();
  });

  it('throws a KernelError for a value id the dictionary never published', () => {
    const decoder = createNdjsonDecoder(config);
    const layout = computeLayout(decoder.schema, 2);
    const batch = BatchView.standalone(layout);
    batch.clear();
    const text = enc.encode('{"event_id":"a","ts":1,"type":"view"}\n');
    decoder.decode(text, 0, text.length, 1, batch, () => undefined, true);
    const s = new EventSerializer(layout, { keyField: 'event_id', enriched: { name: 'region', dictionary: dictionaryOf(['unknown']) } }, new EventBuffers());
    s.bind(batch, Int32Array.of(1, 0));
    expect(() => s.append(0)).toThrow(/value id 1 is not in the shared dictionary/);
  });

  it('rejects a partition key that is not a string field', () => {
    const layout = computeLayout({ columns: [{ name: 'k', type: 'int32' }] }, 2);
    expect(() => new EventSerializer(layout, { keyField: 'k', enriched: null })).toThrow(/partition key "k" must be a string/);
  });
});
