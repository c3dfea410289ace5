/**
 * Differential properties aimed at the decoder's compiled tier (decode-ndjson-compiled.ts), which
 * accepts or declines: lines shaped like a producer writes them — declared keys in declaration order,
 * compact, optional fields left out or null — with values at the edges of every fast path, and
 * perturbations (keys swapped, repeated, escaped, unknown; whitespace; truncation) that must leave the
 * outcome unchanged whichever tier decides the line. The reference is JSON.parse + the rules
 * (decode-oracle.ts); stored values, -0, key hashes, reasons and raw bytes are all compared.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createNdjsonDecoder } from '../../../src/kernels/decode/ndjson.js';
import { parseInputConfig, type InputConfig } from '../../../src/kernels/input/config.js';
import { BatchView } from '../../../src/runtime/batch.js';
import { computeLayout } from '../../../src/runtime/schema.js';
import { canonicalConfig, decodeStream, readRow, referenceStream, type Outcome } from './decode-oracle.js';

const enc = new TextEncoder();

/** Numbers at the edges of the integer fast path (15 digits, 2^53, -0, leading zeros, exponents). */
const edgeNumbers = [
  '0', '-0', '1', '-1', '7', '100', '101', '-5', '-6', '2147483647', '2147483648', '-2147483648', '-2147483649',
  '999999999999999', '1000000000000000', '9007199254740991', '9007199254740992', '9007199254740993', '-9007199254740993',
  '37448865650822424', '98991608571709650', '123456789012345678901234', '946684800000', '946684799999', '4102444800000', '4102444799999', '1700000000000',
  '1e3', '1E3', '1e+3', '1e-3', '1.0', '1.5', '0.5', '-0.0', '0e0', '1700000000000.0', '1.7e12', '17e11', '5e-324', '1e400', '-1e400',
  '01', '00', '-01', '1.', '.5', '-', '+1', '1e', '0x10', '1_0', '12a', '1-2',
];

const edgeStrings = [
  '"a"', '"ab"', '"abcdefgh"', '"abcdefghi"', '"AB"', '"US"', '"ZZ"', '"U"', '"USA"', '"us"', '""', '"x"', '"yy"', '"xyyx"', '"xy"',
  '"e-1"', '"a\\u0062"', '"\\u0055S"', '"é"', '"ÄB"', '"a\\"b"', '"tab\\t"', '"x'.padEnd(70, 'x') + '"',
];

const otherValues = ['null', 'true', 'false', 'nul', 'tru', '[]', '{}', '[1,{"a":[2]}]', '{"k":"v"}', '"1"'];

/** An int32 column holds integers, so JSON -0 is stored (and read back) as 0 on every decoder path. */
function int32Zero(cfg: InputConfig, outcomes: Outcome[]): Outcome[] {
  const int32 = Object.keys(cfg.fields).filter((n) => cfg.fields[n].type === 'int32');
  return outcomes.map((o) => (o.kind === 'ok' ? { ...o, values: { ...o.values, ...Object.fromEntries(int32.map((n) => [n, o.values[n] === 0 ? 0 : o.values[n]])) } } : o));
}

/** Valid values as producers send them, per field name (both test configs). */
const typicalValues: Record<string, fc.Arbitrary<string>> = {
  event_id: fc.stringMatching(/^[a-z0-9-]{1,20}$/).map((s) => JSON.stringify(s)),
  user_id: fc.stringMatching(/^u[0-9]{1,6}$/).map((s) => JSON.stringify(s)),
  ts: fc.integer({ min: 946684800000, max: 4102444799999 }).map(String),
  type: fc.constantFrom('"view"', '"click"', '"add_to_cart"', '"purchase"'),
  amount: fc.oneof(fc.integer({ min: 0, max: 100000 }).map((v) => String(v / 100)), fc.constant('0')),
  country: fc.constantFrom('"US"', '"DE"', '"JP"', '"ZZ"'),
  id: fc.stringMatching(/^[a-z0-9-]{2,8}$/).map((s) => JSON.stringify(s)),
  at: fc.integer({ min: 946684800000, max: 4102444799999 }).map(String),
  n: fc.integer({ min: -5, max: 100 }).map(String),
  big: fc.integer({ min: 1, max: 2 ** 40 }).map(String),
  f: fc.integer({ min: -1e6, max: 1e6 }).map(String),
  g: fc.double({ min: -0.5, max: 1e6, noNaN: true }).map((v) => JSON.stringify(v)),
  flag: fc.constantFrom('true', 'false'),
  on: fc.constantFrom('true', 'false'),
  e: fc.constantFrom('"a"', '"bb"', '"ccc"', '"é"'),
  e2: fc.constantFrom('"x"', '"y"'),
  many: fc.integer({ min: 0, max: 41 }).map((k) => `"v${k}"`),
  note: fc.stringMatching(/^(x|yy){1,4}$/).map((s) => JSON.stringify(s)),
  opt: fc.stringMatching(/^[a-z]{0,4}$/).map((s) => JSON.stringify(s)),
};

/** Values of field `name`'s own kind at the edges of the fast paths (most of them invalid for it). */
function edgeValues(cfg: InputConfig, name: string): string[] {
  const f = cfg.fields[name];
  if (f.type === 'string') return edgeStrings;
  if (f.type === 'enum') return [...f.values!.map((v) => JSON.stringify(v)), '"A"', '""', '"bbb"', '"vie\\u0077"', '"\\u0061"'];
  if (f.type === 'bool') return ['true', 'false'];
  return edgeNumbers;
}

/** A value for field `name` of `cfg`: mostly a typical valid one, sometimes an edge, rarely anything. */
function valueArb(cfg: InputConfig, name: string): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 30, arbitrary: typicalValues[name] },
    { weight: 2, arbitrary: fc.constantFrom(...edgeValues(cfg, name)) },
    { weight: 1, arbitrary: fc.constantFrom(...otherValues, ...edgeNumbers, ...edgeStrings) },
  );
}

/** One line as a producer writes it, then (sometimes) one perturbation. */
function producerLine(cfg: InputConfig): fc.Arbitrary<string> {
  const names = Object.keys(cfg.fields);
  const entries = fc.tuple(...names.map((n) => fc.tuple(fc.constant(n), valueArb(cfg, n), fc.nat({ max: 9 }))))
    .map((all) => all.filter(([, , keep]) => keep > 0).map(([n, v]) => [n, v] as [string, string]));
  return fc.tuple(entries, fc.nat({ max: 19 }), fc.nat(), fc.nat()).map(([kv, how, x, y]) => {
    const e = [...kv];
    const at = e.length > 0 ? x % e.length : 0;
    switch (how) {
      case 0: if (e.length > 1) [e[at], e[(at + 1) % e.length]] = [e[(at + 1) % e.length], e[at]]; break; // out of order
      case 1: if (e.length > 0) e.push([e[at][0], e[y % e.length][1]]); break; // repeated key, last wins
      case 2: e.splice(at, 0, ['extra', otherValues[y % otherValues.length]]); break; // unknown key
      case 3: if (e.length > 0) e[at] = [e[at][0], 'null']; break;
      case 8: if (e.length > 0) e[at] = [`\\u00${e[at][0].charCodeAt(0).toString(16)}${e[at][0].slice(1)}`, e[at][1]]; break; // escaped key
      case 9: if (e.length > 0) e.push([`\\u00${e[at][0].charCodeAt(0).toString(16)}${e[at][0].slice(1)}`, e[y % e.length][1]]); break; // escaped repeat
      default: break;
    }
    const body = e.map(([k, v]) => `"${k}":${v}`).join(',');
    if (how === 4) return `{ ${body.replace(',', ', ')} }`; // whitespace between tokens
    if (how === 5) return `{${body}}\r`;
    if (how === 6) return `{${body}`; // truncated
    if (how === 7) return `{${body}}x`; // trailing garbage
    return `{${body}}`;
  });
}

function streamArb(cfg: InputConfig) {
  return fc.tuple(fc.array(producerLine(cfg), { minLength: 1, maxLength: 30 }), fc.array(fc.nat({ max: 3000 }), { maxLength: 4 }), fc.integer({ min: 1, max: 12 }))
    .map(([lines, cuts, batchRows]) => ({ input: enc.encode(lines.join('\n') + '\n'), cuts, batchRows }));
}

/** Every kind and rule option the compiled decoder generates code for. */
const kindsConfig = parseInputConfig({
  fields: {
    id: { type: 'string', required: true, minBytes: 2, maxBytes: 8, pattern: '^[a-z0-9-]+$', hashed: true, partitionKey: true },
    at: { type: 'timestamp_ms', required: true, eventTime: true },
    n: { type: 'int32', min: -5, max: 100 },
    big: { type: 'int64', exclusiveMin: 0, default: 7 },
    f: { type: 'float64', integer: true, exclusiveMax: 1e15 },
    g: { type: 'float64', min: -0.5, max: 1e300 },
    flag: { type: 'bool', default: true },
    on: { type: 'bool' },
    e: { type: 'enum', values: ['a', 'bb', 'ccc', 'é'], default: 'bb' },
    e2: { type: 'enum', values: ['x', 'y'] },
    many: { type: 'enum', values: Array.from({ length: 40 }, (_, k) => `v${k}`), default: 'v7' }, // > 16 values: the hash table
    note: { type: 'string', pattern: '^(x|yy)+$', default: 'x', hashed: true },
    opt: { type: 'string', maxBytes: 4, hashed: true },
  },
});

/** A valid in-order compact line of `cfg` with field `name` set to `value` (or left out when undefined). */
function lineWith(cfg: InputConfig, base: Record<string, string>, name: string, value: string | undefined): string {
  const parts = Object.keys(cfg.fields)
    .filter((n) => n !== name || value !== undefined)
    .map((n) => `"${n}":${n === name ? value : base[n]}`);
  return `{${parts.join(',')}}`;
}

describe('the compiled tier equals the JSON.parse reference on producer-shaped lines', () => {
  it('one field at a time through its edge values, left out, and null (both configs)', () => {
    const bases: Array<[InputConfig, Record<string, string>]> = [
      [canonicalConfig, { event_id: '"e-1"', ts: '1700000000000', user_id: '"u1"', type: '"click"', amount: '1.5', country: '"DE"' }],
      [kindsConfig, { id: '"ab-1"', at: '1700000000000', n: '7', big: '9', f: '-3', g: '0.25', flag: 'false', on: 'true', e: '"ccc"', e2: '"y"', many: '"v39"', note: '"xyy"', opt: '"ab"' }],
    ];
    for (const [cfg, base] of bases) {
      const lines: string[] = [lineWith(cfg, base, '', undefined)];
      // A key that is only a declared one after unescaping still counts (last one wins).
      for (const name of Object.keys(cfg.fields)) {
        const escaped = `\\u00${name.charCodeAt(0).toString(16)}${name.slice(1)}`;
        for (const v of ['"x"', '7', 'null', base[name]]) lines.push(lineWith(cfg, base, '', undefined).replace(/}$/, `,"${escaped}":${v}}`));
      }
      for (const name of Object.keys(cfg.fields)) {
        for (const v of [...edgeValues(cfg, name), ...otherValues, undefined]) lines.push(lineWith(cfg, base, name, v));
      }
      const input = enc.encode(lines.join('\n') + '\n');
      const got = decodeStream(cfg, input);
      expect(got).toEqual(int32Zero(cfg, referenceStream(cfg, input)));
      expect(got[0].kind).toBe('ok'); // the base line itself is valid, so the edges are tested one at a time
    }
  });


  it('canonical config (examples/clickstream.json)', () => {
    fc.assert(
      fc.property(streamArb(canonicalConfig), ({ input, cuts, batchRows }) => {
        expect(decodeStream(canonicalConfig, input, cuts, batchRows)).toEqual(referenceStream(canonicalConfig, input));
      }),
      { numRuns: 400 },
    );
  });

  it('a config with every field kind, bound, default and pattern shape', () => {
    fc.assert(
      fc.property(streamArb(kindsConfig), ({ input, cuts, batchRows }) => {
        expect(decodeStream(kindsConfig, input, cuts, batchRows)).toEqual(int32Zero(kindsConfig, referenceStream(kindsConfig, input)));
      }),
      { numRuns: 400 },
    );
  });

  it('keeps JSON.parse values at the integer fast path edges (-0, 2^53 + 1, 15/16 digits, exponents)', () => {
    const cfg = parseInputConfig({
      fields: {
        id: { type: 'string', required: true, partitionKey: true },
        ts: { type: 'timestamp_ms', required: true, eventTime: true },
        v: { type: 'float64' },
      },
    });
    const lines = edgeNumbers.map((n) => `{"id":"k","ts":1700000000000,"v":${n}}`);
    const input = enc.encode(lines.join('\n') + '\n');
    const got = decodeStream(cfg, input);
    expect(got).toEqual(referenceStream(cfg, input));
    const negZero = got[edgeNumbers.indexOf('-0')];
    expect(negZero.kind === 'ok' && Object.is(negZero.values.v, -0)).toBe(true);
    const above = got[edgeNumbers.indexOf('9007199254740993')];
    expect(above.kind === 'ok' && above.values.v).toBe(9007199254740992);
  });

  it('decodes a Buffer chunk (files, sockets) exactly like the same bytes in a Uint8Array', () => {
    const lines = [
      '{"event_id":"e-1","ts":1700000000000,"user_id":"u1","type":"view","amount":1.5,"country":"DE"}',
      '{"ts":1700000000000,"event_id":"e-2","user_id":"u2","type":"click"}',
      '{"event_id":"e-3","ts":"x","user_id":"u3","type":"view"}',
      '{"event_id":"e-4","ts":1700000000001,"user_id":"u4","type":"purchase","amount":0,"country":"US"}',
    ];
    const bytes = enc.encode(lines.join('\n') + '\n');
    const run = (chunk: Uint8Array) => {
      const decoder = createNdjsonDecoder(canonicalConfig);
      const batch = BatchView.standalone(computeLayout(decoder.schema, 8));
      batch.clear();
      const rejects: string[] = [];
      decoder.decode(chunk, 0, chunk.length, 1, batch, (line, reason, b, s, e) => rejects.push(`${line} ${reason} ${Buffer.from(b.subarray(s, e)).toString()}`), true);
      return { rows: Array.from({ length: batch.rowCount }, (_, r) => readRow(canonicalConfig, batch, r)), rejects };
    };
    const plain = run(bytes);
    expect(run(Buffer.from(bytes))).toEqual(plain);
    expect(plain.rows).toHaveLength(3);
    expect(plain.rejects).toEqual([`3 bad_type:ts ${lines[2]}`]);
  });
});
