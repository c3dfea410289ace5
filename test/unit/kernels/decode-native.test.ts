/**
 * The native block decoder against the JS decoder (the semantics owner) on the same bytes:
 * native + JS-for-declined-lines must produce byte-identical batches (every column, offsets, string
 * bytes, validity bits, key hashes, line numbers) and the same rejects as the JS decoder alone, and
 * native must never accept a line the JS decoder rejects. Skipped, with the reason in the suite
 * name, only when native-bindings/ringflow_native.node is not built.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { decodeHybrid, decodeJsOnly } from '../../../bench/kernels/decode-native-bench.js';
import { createNdjsonDecoder, type RejectHandler } from '../../../src/kernels/decode/ndjson.js';
import { NativeBlockDecoder, STOP_END, STOP_LINE, STOP_REJECT, STOP_ROWS } from '../../../src/kernels/decode/native.js';
import { loadNativeModule, nativeModuleProblem } from '../../../src/runtime/native-module.js';
import { inputSchemaToBatchSchema, parseInputConfig, type InputConfig } from '../../../src/kernels/input/config.js';
import { hash64Into } from '../../../src/kernels/shared/xxhash32.js';
import { BatchView, isValid } from '../../../src/runtime/batch.js';
import { computeLayout, type BatchLayout } from '../../../src/runtime/schema.js';
import { canonicalConfig, encodeWithMarks, pickMarks, UTF8_MARK } from './decode-oracle.js';

const mod = loadNativeModule();
const enc = new TextEncoder();

const bigEnum = Array.from({ length: 40 }, (_, i) => `v${i}`);
/** Every field type and rule, bounded and unbounded patterns, defaults of each kind, a 40-value enum. */
const allTypesConfig: InputConfig = parseInputConfig({
  maxLineBytes: 300,
  fields: {
    id: { type: 'string', required: true, minBytes: 2, maxBytes: 24, pattern: '^[a-z][a-z0-9_-]*$', hashed: true, partitionKey: true },
    ts: { type: 'timestamp_ms', required: true, min: 0, eventTime: true },
    n32: { type: 'int32', min: -1000, exclusiveMax: 1000, default: 7 },
    i64: { type: 'int64', exclusiveMin: -5 },
    fl: { type: 'float64', exclusiveMin: -1.5, max: 1e6, default: 2.5 },
    fi: { type: 'float64', integer: true, default: -0 },
    flag: { type: 'bool', default: true },
    ok: { type: 'bool', required: true },
    kind: { type: 'enum', values: ['a', 'bb', 'ccc', 'd-d', 'é', 'q"x'], default: 'bb' },
    big: { type: 'enum', values: bigEnum },
    tag: { type: 'string', default: 'none', minBytes: 1, maxBytes: 8, pattern: '^[a-z]+\\d?$' },
    code: { type: 'string', pattern: '^[A-Z]{2}-\\d{3}$' },
    note: { type: 'string', hashed: true },
  },
});

// ---- line generators: JSON texts of values, valid and not, per field type ----
const jsonString = (s: string, escapeMask: number): string => {
  let out = '"';
  [...s].forEach((ch, i) => {
    const code = ch.charCodeAt(0);
    if (((escapeMask >> (i % 16)) & 1) === 1 || code < 0x20) out += '\\u' + code.toString(16).padStart(4, '0');
    else if (ch === '"' || ch === '\\') out += '\\' + ch;
    else out += ch;
  });
  return out + '"';
};
const anyString = fc.oneof(fc.string({ maxLength: 10 }), fc.string({ unit: 'grapheme', maxLength: 6 }), fc.string({ unit: 'binary', maxLength: 4 }));
const oddString = fc.tuple(anyString, fc.nat({ max: 0xffff })).map(([s, m]) => jsonString(s, m % 5 === 0 ? m : 0));
const edgeNumber = fc.constantFrom(
  '-0', '0', '-0.0', '1e3', '1E+2', '1.0', '0.1', '0.30000000000000004', '0.1000000000000000055511151231257827', '9007199254740993',
  '9007199254740991', '-9007199254740991', '9007199254740992', '1e400', '-1e400', '5e-324', '1e-400', '2147483647', '2147483648',
  '-2147483648', '999', '1000', '-1000', '-1001', '-5', '-4', '-1.5', '-1.4999999999999999', '1e6', '1000000.0000001', '2.5',
  '123456789012345678901234', '1767225600000', '1.7672256e12', '1767225600000.5', '4102444800000', '946684799999',
  '00', '01', '1.', '.5', '-', '1e', '+1', '0x10', 'NaN', '1e+', '--1', '12345678.9e-3',
);
const numberText = fc.oneof(
  { weight: 3, arbitrary: edgeNumber },
  { weight: 2, arbitrary: fc.integer({ min: -2000, max: 2000 }).map(String) },
  { weight: 2, arbitrary: fc.double({ noNaN: true, noDefaultInfinity: true }).map((v) => JSON.stringify(v)) },
  { weight: 1, arbitrary: fc.integer({ min: 946684800000, max: 4102444900000 }).map(String) },
);
const nested = fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v) ?? 'null');
const wrong = fc.oneof(oddString, numberText, nested, fc.constantFrom('null', 'true', 'false', '[]', '{}', 'tru', 'nul', '"é"', `"x${UTF8_MARK}"`));

/** Values that pass the field's rules (the lines most producers write). */
const validValues: Record<string, fc.Arbitrary<string>> = {
  event_id: fc.stringMatching(/^[a-z0-9-]{1,20}$/).map((s) => JSON.stringify(s)),
  user_id: fc.stringMatching(/^u[0-9]{1,6}$/).map((s) => JSON.stringify(s)),
  ts: fc.integer({ min: 946684800000, max: 4102444799999 }).map(String),
  type: fc.constantFrom('"view"', '"click"', '"add_to_cart"', '"purchase"'),
  amount: fc.oneof(fc.double({ min: 0, max: 1e6, noNaN: true }).map((v) => JSON.stringify(v)), fc.integer({ min: 0, max: 100000 }).map((c) => String(c / 100))),
  country: fc.stringMatching(/^[A-Z]{2}$/).map((s) => JSON.stringify(s)),
  id: fc.stringMatching(/^[a-z][a-z0-9_-]{1,23}$/).map((s) => JSON.stringify(s)),
  n32: fc.integer({ min: -1000, max: 999 }).map(String),
  i64: fc.oneof(fc.integer({ min: -4, max: 1000 }), fc.maxSafeInteger()).map(String),
  fl: fc.double({ min: -1.4, max: 1e6, noNaN: true }).map((v) => JSON.stringify(v)),
  fi: fc.integer().map(String),
  flag: fc.constantFrom('true', 'false'),
  ok: fc.constantFrom('true', 'false'),
  kind: fc.constantFrom('"a"', '"bb"', '"ccc"', '"d-d"'),
  big: fc.constantFrom(...bigEnum).map((v) => JSON.stringify(v)),
  tag: fc.stringMatching(/^[a-z]{1,7}\d?$/).map((s) => JSON.stringify(s)),
  code: fc.stringMatching(/^[A-Z]{2}-\d{3}$/).map((s) => JSON.stringify(s)),
  note: fc.stringMatching(/^[ -~]{0,30}$/).map((s) => JSON.stringify(s)),
};

/** Numbers at and next to the field's bounds, and the integers near them. */
function boundaryArb(cfg: InputConfig, name: string): fc.Arbitrary<string> {
  const f = cfg.fields[name];
  const bounds = [f.min, f.max, f.exclusiveMin, f.exclusiveMax].filter((b): b is number => b !== undefined);
  const type = f.type === 'int32' ? [-2147483648, 2147483647] : f.type === 'float64' ? [] : [-9007199254740991, 9007199254740991];
  const near = [...bounds, ...type, 0].flatMap((b) => [b, b - 1, b + 1, b - 0.5, b + 0.5, b * (1 + Number.EPSILON), b - Math.abs(b) * Number.EPSILON]);
  return fc.constantFrom(...near.map((v) => JSON.stringify(v)));
}

/** Edge and invalid values for the field's type: rule boundaries, other spellings, escapes, wrong types. */
function edgeArb(cfg: InputConfig, name: string): fc.Arbitrary<string> {
  const f = cfg.fields[name];
  switch (f.type) {
    case 'string': {
      const max = f.maxBytes ?? 20;
      return fc.oneof(
        fc.constantFrom('""', JSON.stringify('a'.repeat(max)), JSON.stringify('a'.repeat(max + 1)), '"US"', '"us"', '"ZZ"', '"AB-123"', '"x1"', '"a\\u0062"', '"ü"', '"ab\\n"'),
        oddString, wrong,
      );
    }
    case 'enum':
      return fc.oneof(fc.constantFrom('"View"', '""', '"vie\\u0077"', '"\\u0061"', '"v40"', '"é"', '"q\\"x"', '"viewx"', '"a "'), wrong);
    case 'bool':
      return fc.oneof(fc.constantFrom('1', '"true"', 'True'), wrong);
    default:
      return fc.oneof({ weight: 2, arbitrary: numberText }, { weight: 2, arbitrary: boundaryArb(cfg, name) }, { weight: 1, arbitrary: wrong });
  }
}

function lineArb(cfg: InputConfig): fc.Arbitrary<string> {
  const names = Object.keys(cfg.fields);
  const ws = fc.constantFrom('', '', '', '', ' ', '\t', ' \r ');
  const validEntry = (k: string) => validValues[k].map((v) => [JSON.stringify(k), v] as [string, string]);
  const anyEntry = (k: string) => fc.oneof({ weight: 6, arbitrary: validValues[k] }, { weight: 2, arbitrary: edgeArb(cfg, k) }, { weight: 1, arbitrary: fc.constant('null') })
    .map((v) => [JSON.stringify(k), v] as [string, string]);
  const optional = names.filter((n) => !cfg.fields[n].required);
  const extra = fc.tuple(fc.constantFrom('"x"', '"__proto__"', '"constructor"', '"é"', '""', '"t\\u0073"', '"ts "', '"TS"', `"${UTF8_MARK}"`), wrong);
  const keys = fc.oneof(
    { weight: 4, arbitrary: fc.constant(names) },
    { weight: 2, arbitrary: fc.subarray(names) },
    { weight: 2, arbitrary: fc.shuffledSubarray(names, { minLength: names.length - 2 }) },
    { weight: 1, arbitrary: fc.array(fc.constantFrom(...names), { maxLength: names.length + 2 }) }, // repeats
  );
  const render = (entries: Array<[string, string]>, extras: Array<[string, string]>, [w0, w1, w2, w3, w4]: string[], at: number): string => {
    const all = [...entries];
    for (const x of extras) all.splice(at % (all.length + 1), 0, x);
    return `${w0}{${all.map(([k, v]) => `${w1}${k}${w2}:${w3}${v}`).join(`${w4},`)}${w4}}${w0}`;
  };
  const wsArb = fc.array(ws, { minLength: 5, maxLength: 5 });
  // Valid lines: every required field, some optional ones (absent, null or valued), declared order or
  // shuffled; half of them then get one value replaced by an edge value (one rule at its boundary).
  const edgeOrNull = (k: string) => fc.oneof({ weight: 6, arbitrary: edgeArb(cfg, k) }, { weight: 1, arbitrary: fc.constant('null') });
  const valid = fc.tuple(fc.subarray(optional), fc.boolean(), fc.array(extra, { maxLength: 1 }), wsArb, fc.nat(), fc.option(fc.nat()))
    .chain(([absent, shuffle, extras, w, at, bad]) => {
      const present = names.filter((n) => !absent.includes(n));
      return fc.tuple(
        fc.tuple(...present.map(validEntry)),
        shuffle ? fc.shuffledSubarray(present, { minLength: present.length }) : fc.constant(present),
        bad === null ? fc.constant(null) : edgeOrNull(present[bad % present.length]).map((v) => [bad % present.length, v] as const),
      ).map(([entries, order, swap]) => {
        if (swap !== null) entries[swap[0]] = [entries[swap[0]][0], swap[1]];
        return render(order.map((n) => entries[present.indexOf(n)]), extras, w, at);
      });
    });
  const mixed = fc.tuple(keys.chain((ks) => fc.tuple(...ks.map(anyEntry))), fc.array(extra, { maxLength: 2 }), wsArb, fc.nat())
    .map(([entries, extras, w, at]) => render(entries, extras, w, at));
  const corrupt = fc.tuple(mixed, fc.nat(), fc.constantFrom('', 'x', '}', ',', '"', '\\'))
    .map(([s, at, junk]) => s.slice(0, at % (s.length + 1)) + junk);
  // A byte sequence anywhere (encodeWithMarks): ill-formed UTF-8 is bad_utf8 whatever the line holds.
  const marked = fc.tuple(fc.oneof(valid, mixed), fc.nat()).map(([s, at]) => s.slice(0, at % (s.length + 1)) + UTF8_MARK + s.slice(at % (s.length + 1)));
  return fc.oneof(
    { weight: 10, arbitrary: valid },
    { weight: 10, arbitrary: mixed },
    { weight: 2, arbitrary: corrupt },
    { weight: 2, arbitrary: marked },
    { weight: 2, arbitrary: fc.constantFrom('', '   ', '\t\r', '\u00a0', '\ufeff{}', '[1]', '1', 'null', '{}', '{"a":1}{', ' '.repeat(400)) },
  );
}

function streamArb(cfg: InputConfig): fc.Arbitrary<{ input: Uint8Array; batchRows: number }> {
  const picks = fc.array(fc.nat(), { maxLength: 8 });
  return fc.tuple(fc.array(fc.tuple(lineArb(cfg), fc.boolean()), { minLength: 1, maxLength: 40 }), fc.boolean(), fc.integer({ min: 1, max: 12 }), picks)
    .map(([lines, lastNewline, batchRows, marks]) => {
      const text = lines.map(([l, cr], i) => l + (i < lines.length - 1 || lastNewline ? (cr ? '\r\n' : '\n') : '')).join('');
      return { input: encodeWithMarks(text, pickMarks(marks)), batchRows };
    });
}

// ---- batch snapshots: every row as text, byte-exact ----
const WIDTH: Record<string, number> = { int32: 4, int64: 8, timestamp_ms: 8, float64: 8, bool: 1, enum: 2 };
const hex = (b: Uint8Array, from: number, to: number): string => Buffer.from(b.buffer, b.byteOffset + from, to - from).toString('hex');

/** Rows of `b` as strings (validity; valid values' bytes; string offsets and bytes; hashes), then clears it. */
function snapshot(b: BatchView, into: string[]): void {
  const slot = new Uint8Array(b.buffer, b.byteOffset, b.layout.slotBytes);
  for (let r = 0; r < b.rowCount; r++) {
    into.push(b.columns.map((c) => {
      const valid = isValid(c.validity, r);
      let s = valid ? 'v' : '-';
      if (c.offsets) s += `${c.offsets[r]}:${hex(c.values as Uint8Array, c.offsets[r], c.offsets[r + 1])}`;
      // An invalid non-string slot is left as it was by both decoders: not part of the row.
      else if (valid) s += hex(slot, c.layout.valuesOffset + r * WIDTH[c.layout.spec.type], c.layout.valuesOffset + (r + 1) * WIDTH[c.layout.spec.type]);
      if (c.hash) s += `#${c.hash[2 * r]},${c.hash[2 * r + 1]}`;
      return s;
    }).join('|'));
  }
  b.clear();
}

/** The staging batch in a SharedArrayBuffer at a non-zero offset, as ingest has it. */
const sharedBatch = (layout: BatchLayout): BatchView => new BatchView(layout, new SharedArrayBuffer(3 * layout.slotBytes), layout.slotBytes);

interface Runs {
  js: string[]; hybrid: string[]; jsRejects: string[]; hybridRejects: string[]; nativeLines: number[];
  /** The decoder as ingest uses it (native tier wired in), `__late` and `__raw` included. */
  wired: string[]; wiredRejects: string[];
}

function runBoth(cfg: InputConfig, input: Uint8Array, batchRows: number): Runs {
  const layout = computeLayout(inputSchemaToBatchSchema(cfg), batchRows);
  const runs: Runs = { js: [], hybrid: [], jsRejects: [], hybridRejects: [], nativeLines: [], wired: [], wiredRejects: [] };
  const rejectsTo = (list: string[]): RejectHandler => (line, reason, b, ls, le) => list.push(`${line}:${reason}:${hex(b, ls, le)}`);
  const jsOnly = { ...cfg, decoder: 'js' as const };
  decodeJsOnly(createNdjsonDecoder(jsOnly), input, BatchView.standalone(layout), rejectsTo(runs.jsRejects), (b) => snapshot(b, runs.js));
  const native = NativeBlockDecoder.create(cfg, layout)!;
  decodeHybrid(native, createNdjsonDecoder(jsOnly), input, sharedBatch(layout), rejectsTo(runs.hybridRejects), (b) => snapshot(b, runs.hybrid),
    (_row, line) => runs.nativeLines.push(line));
  const wired = createNdjsonDecoder({ ...cfg, decoder: 'auto' });
  decodeJsOnly(wired, input, sharedBatch(layout), rejectsTo(runs.wiredRejects), (b) => snapshot(b, runs.wired));
  return runs;
}

function expectSame(runs: Runs): void {
  expect(runs.hybridRejects).toEqual(runs.jsRejects);
  expect(runs.hybrid).toEqual(runs.js);
  expect(runs.wiredRejects).toEqual(runs.jsRejects);
  expect(runs.wired).toEqual(runs.js);
  const rejected = new Set(runs.jsRejects.map((r) => Number(r.split(':')[0])));
  for (const line of runs.nativeLines) expect(rejected.has(line), `native accepted line ${line}, which the JS decoder rejects`).toBe(false);
}

const problem = mod === null ? nativeModuleProblem() : null;
if (problem !== null) console.warn(`decode-native tests SKIPPED: ${problem}`);
describe.skipIf(mod === null)(`native NDJSON block decoder${problem ? ` (SKIPPED: ${problem})` : ''}`, () => {
  it('hash64Into equals the JS hash64Into on random bytes and ranges', () => {
    const a = new Uint32Array(2);
    const b = new Uint32Array(2);
    fc.assert(fc.property(fc.uint8Array({ maxLength: 100 }), fc.nat(), fc.nat(), (bytes, x, y) => {
      const start = x % (bytes.length + 1);
      const end = start + (y % (bytes.length - start + 1));
      mod!.hash64Into(bytes, start, end, a, 0);
      hash64Into(bytes, start, end, b, 0);
      expect([...a]).toEqual([...b]);
    }), { numRuns: 2000 });
  });

  it('is created for both test configs, and not for a pattern that needs a RegExp', () => {
    for (const cfg of [canonicalConfig, allTypesConfig]) {
      const layout = computeLayout(inputSchemaToBatchSchema(cfg), 64);
      expect(NativeBlockDecoder.unsupportedReason(cfg, layout)).toBeNull();
      expect(NativeBlockDecoder.create(cfg, layout)).not.toBeNull();
    }
    const regexCfg = parseInputConfig({ ...allTypesConfig, fields: { ...allTypesConfig.fields, code: { type: 'string', pattern: '^(ab|cd)$' } } });
    const layout = computeLayout(inputSchemaToBatchSchema(regexCfg), 64);
    expect(NativeBlockDecoder.create(regexCfg, layout)).toBeNull();
    expect(NativeBlockDecoder.unsupportedReason(regexCfg, layout)).toMatch(/RegExp/);
  });

  for (const [name, cfg, runs] of [['canonical config', canonicalConfig, 300], ['every field type and rule', allTypesConfig, 300]] as const) {
    it(`native + JS = JS alone, byte for byte, on random streams (${name})`, () => {
      let nativeRows = 0;
      let jsRows = 0;
      fc.assert(fc.property(streamArb(cfg), ({ input, batchRows }) => {
        const r = runBoth(cfg, input, batchRows);
        expectSame(r);
        nativeRows += r.nativeLines.length;
        jsRows += r.js.length;
      }), { numRuns: Number(process.env.NATIVE_DECODE_RUNS ?? runs), endOnFailure: process.env.NATIVE_DECODE_NO_SHRINK === '1' });
      // Not vacuous: native took a good share of the accepted rows.
      expect(nativeRows).toBeGreaterThan(jsRows * 0.3);
    });
  }

  it('accepts the common shapes by itself: order, extra nested keys, whitespace, CRLF, null optionals, number forms', () => {
    const lines = [
      '{"event_id":"e1","ts":1767225600000,"user_id":"u1","type":"view","amount":1.5,"country":"US"}',
      '{"country":"US","type":"click","user_id":"u1","ts":1767225600000,"event_id":"e2"}',
      ' \t{ "event_id" : "e3" , "ts" : 1767225600000 , "user_id":"u1","type":"view" } \r',
      '{"event_id":"e4","ts":1.7672256e12,"user_id":"u1","type":"view","amount":-0,"country":null}',
      '{"event_id":"e5","x":{"a":[1,2,{"b":null}],"c":"é\\n\\ud800"},"ts":1767225600000,"user_id":"u1","type":"purchase","amount":1e3}',
      '{"event_id":"e6","ts":1767225600000.0,"user_id":"u1","type":"add_to_cart","amount":0.1000000000000000055511151231257827,"x":"x","x":1}',
      '',
      '  \t',
    ];
    const input = enc.encode(lines.join('\r\n') + '\n');
    const layout = computeLayout(inputSchemaToBatchSchema(canonicalConfig), 16);
    const native = NativeBlockDecoder.create(canonicalConfig, layout)!;
    const rows = native.decode(input, 0, input.length, sharedBatch(layout));
    expect([rows, native.linesConsumed, native.linesBlank, native.stopReason, native.stopOffset]).toEqual([6, 8, 2, STOP_END, input.length]);
    expect(Array.from(native.lineIndex.subarray(0, 6))).toEqual([0, 1, 2, 3, 4, 5]);
    expect(native.lineEnds[2] - native.lineStarts[2]).toBe(lines[2].length); // one '\r' stripped, the line's own ' \r' kept
    expectSame(runBoth(canonicalConfig, input, 16));
  });

  it('stops at each line it is not certain about or rejects, and the JS decoder finishes the chunk', () => {
    const good = '{"event_id":"g","ts":1767225600000,"user_id":"u1","type":"view"}';
    // [line, null: declined (the JS decoder decides) | the reason native rejects it with]
    const stops: [string, string | null][] = [
      ['{"event_id":"e\\u0031","ts":1767225600000,"user_id":"u1","type":"view"}', null], // escape in a stored string
      ['{"event_id":"e1","ts":1767225600000,"user_id":"ü","type":"view"}', null], // non-ASCII stored
      ['{"event_id":"e1","ts":1767225600000,"ts":1767225600001,"user_id":"u1","type":"view"}', null], // repeated declared key
      ['{"\\u0065vent_id":"e1","ts":1767225600000,"user_id":"u1","type":"view"}', null], // escaped key
      ['{"event_id":"e1","ts":1767225600000,"user_id":"u1","type":"\\u007aoom"}', null], // enum miss, escaped
      ['{"event_id":"e1","ts":1767225600000,"user_id":"u1",', null], // invalid JSON
      ['{"event_id":"e1","ts":1767225600000,"user_id":"u1","type":"view"} x', null], // trailing bytes
      ['{"event_id":null,"ts":1767225600000,"user_id":"u1","type":"view"}', 'missing:event_id'], // required null
      ['{"ts":1767225600000,"user_id":"u1","type":"view"}', 'missing:event_id'], // required absent
      ['{"event_id":"e1","ts":1767225600000,"user_id":"u1","type":"zoom"}', 'bad_enum:type'], // enum miss
      ['{"event_id":"e1","ts":1767225600000,"user_id":"u1","type":"view","country":"usa"}', 'bad_pattern:country'],
      ['{"event_id":"e1","ts":1767225600000,"user_id":"u1","type":"view","amount":-1}', 'out_of_range:amount'],
      ['{"event_id":"e1","ts":"1767225600000","user_id":"u1","type":"view"}', 'bad_type:ts'],
      ['{"event_id":"e1","ts":1767225600000.5,"user_id":"u1","type":"view"}', 'not_integer:ts'],
      ['{"event_id":"e1","ts":1e999,"user_id":"u1","type":"view"}', 'not_integer:ts'], // Infinity: check() order
      ['{"event_id":"","ts":1767225600000,"user_id":"u1","type":"view"}', 'too_short:event_id'],
      // Two failures: the first field in declared order names the line, not the first in the line.
      ['{"type":"zoom","user_id":"u1","ts":"x","event_id":"e1"}', 'bad_type:ts'],
      ['{"amount":"free","event_id":"e1","ts":1767225600000,"user_id":{"a":[1]},"type":"view"}', 'bad_type:user_id'],
    ];
    const input = enc.encode([good, ...stops.flatMap(([d]) => [d, good])].join('\n') + '\n' + good);
    const layout = computeLayout(inputSchemaToBatchSchema(canonicalConfig), 64);
    const native = NativeBlockDecoder.create(canonicalConfig, layout)!;
    const batch = sharedBatch(layout);
    let p = 0;
    for (const [d, reason] of stops) {
      expect(native.decode(input, p, input.length, batch)).toBe(1);
      expect([native.stopReason, native.linesConsumed]).toEqual([reason === null ? STOP_LINE : STOP_REJECT, 1]);
      if (reason !== null) {
        expect(native.rejectReason).toBe(reason);
        expect(native.rejectNewline).toBe(input.indexOf(10, native.stopOffset));
      }
      p = native.stopOffset;
      expect(new TextDecoder().decode(input.subarray(p, p + enc.encode(d).length))).toBe(d);
      p = input.indexOf(10, p) + 1;
    }
    expect(native.decode(input, p, input.length, batch)).toBe(1);
    expect(native.stopReason).toBe(STOP_END); // the unterminated last line is left to the JS decoder
    expect(native.stopOffset).toBe(input.length - good.length);
    const r = runBoth(canonicalConfig, input, 3);
    expectSame(r);
    // The good lines + the 4 declined ones that are valid (escapes, non-ASCII, repeated key: last one wins).
    expect(r.js.length).toBe(stops.length + 2 + 4);
  });

  it('a line it would reject waits for string room as the JS decoder does (same batch boundaries)', () => {
    // The JS scanner stores every string value up to the longest valid one, failing ones and those
    // after the failing field included, and check() writes the defaults before the failing field:
    // without room it publishes the batch and retries the line, so native must not reject it first.
    const u63 = 'u'.repeat(63);
    expectSame(runBoth(canonicalConfig, enc.encode([
      `{"event_id":"e1","ts":1767225600000,"user_id":"${u63}","type":"view"}`,
      `{"event_id":"e2","ts":1767225600000,"user_id":"${u63}","type":"view"}`,
      '{"event_id":"e3","ts":"bad","user_id":"uuuuuuuuuu","type":"view"}', // a stored value after the failing field
      '{"event_id":"e4","ts":1767225600000,"user_id":"u","type":"view"}',
    ].join('\n') + '\n'), 4));
    const cfg = parseInputConfig({
      maxLineBytes: 1000,
      fields: {
        event_id: { type: 'string', required: true, maxBytes: 64, partitionKey: true },
        ts: { type: 'timestamp_ms', required: true, eventTime: true },
        user_id: { type: 'string', required: true, maxBytes: 64, pattern: '^u[0-9]+$' },
        label: { type: 'string', maxBytes: 64, default: 'unknown' },
        code: { type: 'string', pattern: '^[A-Z]{2}$' },
      },
    });
    const u = (n: number): string => `u${'1'.repeat(n - 1)}`;
    expectSame(runBoth(cfg, enc.encode([
      `{"event_id":"a","ts":1,"user_id":"${u(47)}"}`,
      `{"event_id":"b","ts":1,"user_id":"${u(47)}"}`,
      '{"event_id":"c","ts":1,"user_id":"xyz"}', // the failing value itself is stored (bad_pattern within maxBytes)
      '{"event_id":"d","ts":1,"user_id":"u1"}',
    ].join('\n') + '\n'), 3));
    expectSame(runBoth(cfg, enc.encode([
      `{"event_id":"a","ts":1,"user_id":"u1","label":"${'l'.repeat(60)}"}`,
      '{"event_id":"b","ts":1,"user_id":"u1","code":"bad"}', // label's default, before the failing code, has no room
      '{"event_id":"c","ts":1,"user_id":"u1","label":"ab"}',
    ].join('\n') + '\n'), 2));
  });

  it('stops at the row limit and at lines over maxLineBytes', () => {
    const cfg = parseInputConfig({ ...canonicalConfig, maxLineBytes: 80 });
    const short = '{"event_id":"e","ts":1767225600000,"user_id":"u","type":"view"}';
    const long = `{"event_id":"e","ts":1767225600000,"user_id":"u","type":"view","pad":"${'x'.repeat(20)}"}`;
    const input = enc.encode([short, short, long, short].join('\n') + '\n');
    const layout = computeLayout(inputSchemaToBatchSchema(cfg), 8);
    const native = NativeBlockDecoder.create(cfg, layout)!;
    const batch = sharedBatch(layout);
    expect(native.decode(input, 0, input.length, batch, 1)).toBe(1);
    expect([native.stopReason, native.stopOffset]).toEqual([STOP_ROWS, short.length + 1]);
    batch.rowCount = 1;
    expect(native.decode(input, native.stopOffset, input.length, batch)).toBe(1);
    expect([native.stopReason, native.stopOffset]).toEqual([STOP_LINE, 2 * (short.length + 1)]);
    expectSame(runBoth(cfg, input, 2));
  });
});
