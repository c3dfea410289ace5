/**
 * Differential property: the decoder (byte scanner + fallback + filter) gives exactly the outcome of
 * the object-based reference (UTF-8 decode + JSON.parse + the rules) for random clickstream-like
 * streams — valid and corrupted lines, odd numbers, escapes, unicode, duplicates, nested ignored
 * fields — cut into random chunks and decoded into small batches.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { parseInputConfig } from '../../../src/kernels/input/config.js';
import { classifyLineBytes, stripTrailingCrBytes } from '../../reference/canonical-validate.js';
import { splitNdjsonLineBytes } from '../../reference/canonical-reference.js';
import { canonicalConfig, decodeStream, referenceStream, type Outcome } from './decode-oracle.js';

const enc = new TextEncoder();

/** JSON string literal with some characters written as \u escapes (incl. lone surrogates from the input). */
const jsonString = (s: string, escapeMask: number): string => {
  let out = '"';
  let i = 0;
  for (const ch of s.split('')) {
    const code = ch.charCodeAt(0);
    i++;
    if (((escapeMask >> (i % 16)) & 1) === 1 || code < 0x20) out += '\\u' + code.toString(16).padStart(4, '0');
    else if (ch === '"' || ch === '\\') out += '\\' + ch;
    else out += ch;
  }
  return out + '"';
};

const anyString = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.string({ unit: 'grapheme', maxLength: 8 }),
  fc.string({ unit: 'binary', maxLength: 6 }),
  fc.constantFrom('', 'e1', 'u-42', 'x'.repeat(64), 'x'.repeat(65), 'é'.repeat(32), 'é'.repeat(33), '"\\/\b\f\n\r\t'),
);
const stringText = fc.tuple(anyString, fc.nat({ max: 0xffff })).map(([s, m]) => jsonString(s, m % 7 === 0 ? m : 0));
const validNumberText = fc.oneof(
  fc.double({ min: 0, max: 1e6, noNaN: true }).map((v) => JSON.stringify(v)),
  fc.integer({ min: 946684700000, max: 4102444900000 }).map(String),
  fc.constantFrom('946684800000', '946684799999', '4102444800000', '4102444799999', '1.7e12', '17e11', '1700000000000.0',
    '1700000000000.5', '-0', '0', '-0.0', '1e2', '1E+2', '1.0', '0.1e1', '1e400', '-1e400', '123456789012345678901234',
    '0.30000000000000004', '5e-324', '1e-400', '2.5', '1234567890.12345', '9007199254740993', '1.7000000000001e12'),
);
const numberText = fc.oneof(
  { weight: 12, arbitrary: validNumberText },
  { weight: 1, arbitrary: fc.double().filter(Number.isFinite).map((v) => JSON.stringify(v)) },
  { weight: 1, arbitrary: fc.constantFrom('00', '01', '1.', '.5', '-', '1e', '+1', '0x10', 'NaN', 'Infinity', '1e+', '--1') },
);
const tsText = fc.oneof({ weight: 6, arbitrary: fc.integer({ min: 946684800000, max: 4102444799999 }).map(String) }, { weight: 2, arbitrary: numberText });
const idText = fc.oneof(
  { weight: 6, arbitrary: fc.stringMatching(/^[a-z0-9-]{1,20}$/).map((s) => JSON.stringify(s)) },
  { weight: 2, arbitrary: stringText },
);
const nestedText = fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v) ?? 'null');
const anyValueText = fc.oneof(stringText, numberText, nestedText, fc.constantFrom('null', 'true', 'false', '[]', '{}', 'tru', 'nul'));
const validOrNot = (valid: fc.Arbitrary<string>) => fc.oneof({ weight: 12, arbitrary: valid }, { weight: 1, arbitrary: anyValueText });

const fieldValue: Record<string, fc.Arbitrary<string>> = {
  event_id: validOrNot(idText),
  user_id: validOrNot(idText),
  ts: validOrNot(tsText),
  type: validOrNot(fc.oneof(
    { weight: 5, arbitrary: fc.constantFrom('"view"', '"click"', '"add_to_cart"', '"purchase"', '"vie\\u0077"') },
    { weight: 1, arbitrary: fc.constantFrom('"View"', '""', '"purchase "') },
  )),
  amount: validOrNot(validNumberText),
  country: validOrNot(fc.oneof(
    { weight: 5, arbitrary: fc.constantFrom('"US"', '"DE"', '"JP"', '"\\u0055S"', 'null') },
    { weight: 1, arbitrary: fc.constantFrom('"us"', '"USA"', '"U"', '""', '"ÄB"') },
  )),
};
const keyText = (name: string, escaped: boolean): string => (escaped ? jsonString(name, 0b10) : JSON.stringify(name));
const extraKey = fc.constantFrom('__proto__', 'constructor', 'toString', 'hasOwnProperty', 'x', 'event', 'Ts', 'tss', 'é', '');
const ws = fc.constantFrom('', '', '', ' ', '\t', ' \r ', '  ');

const entry = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...Object.keys(fieldValue)).chain((k) => fc.tuple(fc.constant(k), fieldValue[k], fc.boolean().map((b) => b && Math.random() < 0.1))) },
  { weight: 1, arbitrary: fc.tuple(extraKey, anyValueText, fc.constant(false)) },
);

const objectLine = fc
  .tuple(
    fc.shuffledSubarray(Object.keys(fieldValue), { minLength: 3 }).chain((ks) => fc.oneof({ weight: 3, arbitrary: fc.shuffledSubarray(Object.keys(fieldValue), { minLength: 6 }) }, { weight: 1, arbitrary: fc.constant(ks) })).chain((ks) => fc.tuple(...ks.map((k) => fieldValue[k].map((v) => [k, v, false] as const)))),
    fc.oneof({ weight: 2, arbitrary: fc.constant([]) }, { weight: 1, arbitrary: fc.array(entry, { maxLength: 3 }) }),
    fc.array(ws, { minLength: 8, maxLength: 8 }),
  )
  .map(([base, extra, [w0, w1, w2, w3, w4, w5]]) => {
    const entries = [...base, ...extra];
    const body = entries.map(([k, v, esc]) => `${w1}${keyText(k, esc)}${w2}:${w3}${v}${w4}`).join(',');
    return `${w0}{${body}${entries.length ? '' : w5}}${w5}`;
  });

const corrupt = (line: string, kind: number, at: number, junk: string): string => {
  const i = at % (line.length + 1);
  switch (kind) {
    case 0: return line.slice(0, i); // truncated
    case 1: return line.slice(0, i) + junk + line.slice(i); // inserted garbage
    case 2: return line + junk; // trailing garbage
    default: return line.slice(0, i) + line.slice(i + 1); // one byte dropped
  }
};

const lineArb: fc.Arbitrary<Uint8Array> = fc.oneof(
  { weight: 20, arbitrary: objectLine.map((s) => enc.encode(s)) },
  {
    weight: 2,
    arbitrary: fc.tuple(objectLine, fc.nat({ max: 3 }), fc.nat(), fc.constantFrom('x', '}', '{', ',', '"', ' {}', '\\', ']', '\u00e9'))
      .map(([s, k, at, junk]) => enc.encode(corrupt(s, k, at, junk))),
  },
  { weight: 1, arbitrary: fc.constantFrom('', '   ', '\t', '\u00a0', '\ufeff', '[1]', '1', '"s"', 'null', '[]', '{}', '{"a":1}{').map((s) => enc.encode(s)) },
  {
    // invalid UTF-8 inside a stored string, a key, and outside strings
    weight: 1,
    arbitrary: fc.tuple(fc.constantFrom(0x80, 0xc0, 0xed, 0xf5, 0xff, 0xe2), objectLine).map(([bad, s]) => {
      const b = enc.encode(s);
      const pos = Math.max(0, s.indexOf('"event_id":"') + 12);
      const out = new Uint8Array(b.length + 1);
      out.set(b.subarray(0, pos));
      out[pos] = bad;
      out.set(b.subarray(pos), pos + 1);
      return out;
    }),
  },
);

const streamArb = fc.tuple(
  fc.array(fc.tuple(lineArb, fc.boolean()), { minLength: 1, maxLength: 40 }),
  fc.boolean(),
  fc.array(fc.nat({ max: 4000 }), { maxLength: 6 }),
  fc.integer({ min: 1, max: 16 }),
).map(([lines, lastNewline, cuts, batchRows]) => {
  const parts: number[] = [];
  lines.forEach(([l, cr], i) => {
    parts.push(...l);
    if (i < lines.length - 1 || lastNewline) parts.push(...(cr ? [13, 10] : [10]));
  });
  return { input: Uint8Array.from(parts), cuts, batchRows };
});

describe('decoder equals the JSON.parse reference', () => {
  it('on random clickstream-like streams (canonical config)', () => {
    fc.assert(
      fc.property(streamArb, ({ input, cuts, batchRows }) => {
        expect(decodeStream(canonicalConfig, input, cuts, batchRows)).toEqual(referenceStream(canonicalConfig, input));
      }),
      { numRuns: Number(process.env.DECODE_RUNS ?? 400) },
    );
  });

  it('with a small maxLineBytes, so over-long lines and chunk tails are exercised', () => {
    const cfg = parseInputConfig({ ...canonicalConfig, maxLineBytes: 90 });
    fc.assert(
      fc.property(streamArb, ({ input, cuts, batchRows }) => {
        expect(decodeStream(cfg, input, cuts, batchRows)).toEqual(referenceStream(cfg, input));
      }),
      { numRuns: 300 },
    );
  });
});

/** The project's reference classifier (test/reference, written independently) over the same stream. */
function projectReference(input: Uint8Array): Outcome[] {
  const out: Outcome[] = [];
  splitNdjsonLineBytes(input).forEach((physical, i) => {
    const v = classifyLineBytes(stripTrailingCrBytes(physical));
    if (v.kind === 'skip') return;
    if (v.kind === 'invalid') { out.push({ line: i + 1, kind: 'reject', reason: v.reason, raw: new Uint8Array(0) }); return; }
    const e = v.event;
    // The reference keeps JS strings; ringflow keeps UTF-8 bytes, where a lone surrogate is U+FFFD.
    const utf8 = (x: string): string => new TextDecoder().decode(enc.encode(x));
    out.push({
      line: i + 1,
      kind: 'ok',
      values: { event_id: utf8(e.eventId), ts: e.ts, user_id: utf8(e.userId), type: e.type, amount: e.amount, country: e.country },
    });
  });
  return out;
}

describe('decoder agrees with the project reference (test/reference/canonical-validate.ts)', () => {
  it('on the same random streams: same lines, reasons and values', () => {
    const comparable = (o: Outcome) =>
      o.kind === 'ok'
        ? { line: o.line, kind: o.kind, values: { ...o.values, amount: (o.values.amount as number) + 0 } } // reference maps -0 to 0
        : { line: o.line, kind: o.kind, reason: o.reason };
    fc.assert(
      fc.property(streamArb, ({ input, cuts, batchRows }) => {
        expect(decodeStream(canonicalConfig, input, cuts, batchRows).map(comparable)).toEqual(projectReference(input).map(comparable));
      }),
      { numRuns: 300 },
    );
  });
});
