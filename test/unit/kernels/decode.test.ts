/**
 * Decode kernel: every edge case of the canonical pipeline's input contract (issue 4), checked
 * against expectations written from the contract, plus the decoder's chunking and batch-full API.
 */
import { describe, expect, it } from 'vitest';
import { createNdjsonDecoder } from '../../../src/kernels/decode/ndjson.js';
import { parseInputConfig, type InputConfig } from '../../../src/kernels/input/config.js';
import { BatchView } from '../../../src/runtime/batch.js';
import { computeLayout } from '../../../src/runtime/schema.js';
import { canonicalConfig, decodeStream, type Outcome } from './decode-oracle.js';

const enc = new TextEncoder();
const TS = 1700000000000;
const base = { event_id: 'e1', ts: TS, user_id: 'u1', type: 'view', amount: 1.5, country: 'US' };
const line = (over: Record<string, unknown> = {}, drop: string[] = []): string => {
  const o: Record<string, unknown> = { ...base, ...over };
  for (const d of drop) delete o[d];
  return JSON.stringify(o);
};
const run = (text: string | Uint8Array, cfg: InputConfig = canonicalConfig, cuts: number[] = [], rows = 8): Outcome[] =>
  decodeStream(cfg, typeof text === 'string' ? enc.encode(text) : text, cuts, rows);
const one = (text: string, cfg: InputConfig = canonicalConfig): Outcome => {
  const out = run(text + '\n', cfg);
  expect(out).toHaveLength(1);
  return out[0];
};
const reason = (text: string, cfg?: InputConfig): string => {
  const o = one(text, cfg);
  return o.kind === 'reject' ? o.reason : 'ok';
};
const values = (text: string): Record<string, unknown> => {
  const o = one(text);
  if (o.kind !== 'ok') throw new Error(`expected ok, got ${o.reason}`);
  return o.values;
};

describe('lines', () => {
  it('decodes a valid event into columns, with 1-based line numbers', () => {
    const out = run(`${line()}\n${line({ event_id: 'e2', type: 'purchase' })}\n`);
    expect(out.map((o) => o.line)).toEqual([1, 2]);
    expect(out[1]).toEqual({ line: 2, kind: 'ok', values: { ...base, event_id: 'e2', type: 'purchase' } });
  });

  it('strips one trailing \\r; a reject carries the line without it', () => {
    const out = run(`${line()}\r\n{"bad"\r\n`);
    expect(out[0].kind).toBe('ok');
    expect(out[1]).toMatchObject({ kind: 'reject', reason: 'malformed_json', raw: enc.encode('{"bad"') });
  });

  it('skips lines of only JSON whitespace without counting them, but they advance line numbers', () => {
    const out = run(`\n   \n\t\r\n${line()}\n \r \n${line({ event_id: 'e2' })}`);
    expect(out.map((o) => [o.line, o.kind])).toEqual([[4, 'ok'], [6, 'ok']]);
  });

  it('treats other blanks (U+00A0, a BOM) as malformed JSON, like JSON.parse', () => {
    expect(reason('\u00a0')).toBe('malformed_json');
    expect(reason('\ufeff' + line())).toBe('malformed_json');
  });

  it('accepts a line of exactly maxLineBytes (1 MiB) and rejects one byte more as line_too_long', () => {
    const pad = (total: number): string => {
      const head = line({ pad: '' });
      return line({ pad: 'x'.repeat(total - head.length) });
    };
    expect(enc.encode(pad(1048576)).length).toBe(1048576);
    expect(reason(pad(1048576))).toBe('ok');
    expect(reason(pad(1048576) + '\r')).toBe('ok');
    expect(reason(pad(1048577))).toBe('line_too_long');
    expect(reason(' '.repeat(1048577))).toBe('line_too_long');
  });

  it('rejects trailing garbage, truncation and non-objects', () => {
    expect(reason(line() + ' x')).toBe('malformed_json');
    expect(reason(line() + '{}')).toBe('malformed_json');
    expect(reason(line().slice(0, -1))).toBe('malformed_json');
    expect(reason('{"event_id":"e1",}')).toBe('malformed_json');
    expect(reason("{'event_id':'e1'}")).toBe('malformed_json');
    for (const v of ['[]', '[{"event_id":"e1"}]', '1', '"x"', 'null', 'true']) expect(reason(v)).toBe('not_object');
    expect(reason('{}')).toBe('missing:event_id');
  });
});

describe('fields', () => {
  it('reports wrong JSON types as bad_type:<field>', () => {
    expect(reason(line({ event_id: 1 }))).toBe('bad_type:event_id');
    expect(reason(line({ ts: String(TS) }))).toBe('bad_type:ts');
    expect(reason(line({ user_id: ['u'] }))).toBe('bad_type:user_id');
    expect(reason(line({ type: { t: 'view' } }))).toBe('bad_type:type');
    expect(reason(line({ amount: '1.5' }))).toBe('bad_type:amount');
    expect(reason(line({ amount: true }))).toBe('bad_type:amount');
    expect(reason(line({ country: 1 }))).toBe('bad_type:country');
  });

  it('treats null like absent: missing for required fields, the default for optional ones', () => {
    expect(reason(line({ event_id: null }))).toBe('missing:event_id');
    expect(reason(line({}, ['ts']))).toBe('missing:ts');
    expect(reason(line({ user_id: null }))).toBe('missing:user_id');
    expect(reason(line({}, ['type']))).toBe('missing:type');
    expect(values(line({ amount: null, country: null }))).toMatchObject({ amount: 0, country: 'ZZ' });
    expect(values(line({}, ['amount', 'country']))).toMatchObject({ amount: 0, country: 'ZZ' });
  });

  it('reports the first failing field in declaration order, whatever the key order', () => {
    expect(reason('{"country":"us","type":"zoom","ts":1.5,"event_id":"e1","user_id":""}')).toBe('not_integer:ts');
  });

  it('applies the canonical rules: lengths in UTF-8 bytes, range, enum, pattern', () => {
    expect(reason(line({ event_id: '' }))).toBe('too_short:event_id');
    expect(reason(line({ event_id: 'x'.repeat(64) }))).toBe('ok');
    expect(reason(line({ event_id: 'x'.repeat(65) }))).toBe('too_long:event_id');
    expect(reason(line({ user_id: 'é'.repeat(32) }))).toBe('ok');
    expect(reason(line({ user_id: 'é'.repeat(33) }))).toBe('too_long:user_id');
    expect(reason(line({ ts: 946684799999 }))).toBe('out_of_range:ts');
    expect(reason(line({ ts: 946684800000 }))).toBe('ok');
    expect(reason(line({ ts: 4102444799999 }))).toBe('ok');
    expect(reason(line({ ts: 4102444800000 }))).toBe('out_of_range:ts');
    expect(reason(line({ type: 'View' }))).toBe('bad_enum:type');
    expect(reason(line({ amount: -0.01 }))).toBe('out_of_range:amount');
    for (const c of ['us', 'USA', 'U', '', 'ÄB', 'U1']) expect(reason(line({ country: c }))).toBe('bad_pattern:country');
  });

  it('parses numbers exactly as JSON.parse: -0, exponents, 1.0, huge and tiny', () => {
    const amount = (text: string): unknown => values(line().replace('"amount":1.5', `"amount":${text}`)).amount;
    expect(Object.is(amount('-0'), -0)).toBe(true);
    for (const t of ['0', '1e2', '1E+2', '1.0', '0.1e1', '2.50', '0.30000000000000004', '123456789012345678901234', '5e-324', '1e-400', '1.7976931348623157e308']) {
      expect(amount(t)).toBe(JSON.parse(t));
    }
    const ts = (text: string): string => reason(line().replace(`"ts":${TS}`, `"ts":${text}`));
    expect(ts('1.7e12')).toBe('ok');
    expect(ts('17e11')).toBe('ok');
    expect(ts('1700000000000.0')).toBe('ok');
    expect(ts('1700000000000.5')).toBe('not_integer:ts');
    expect(ts('1e400')).toBe('not_integer:ts'); // Infinity is not an integer (Number.isInteger)
    expect(ts('-0')).toBe('out_of_range:ts');
    expect(reason(line().replace('"amount":1.5', '"amount":1e400'))).toBe('out_of_range:amount');
    for (const bad of ['01', '1.', '.5', '+1', '-', '1e', 'NaN', 'Infinity', '0x10']) {
      expect(reason(line().replace('"amount":1.5', `"amount":${bad}`))).toBe('malformed_json');
    }
  });

  it('decodes string escapes and unicode into UTF-8 bytes like JSON.parse + TextEncoder', () => {
    const raw = String.raw`a\"b\\c\/d\b\f\n\r\t\u0041\u00e9\u20ac\ud83d\ude00`;
    expect(values(line().replace('"e1"', `"${raw}"`)).event_id).toBe(JSON.parse(`"${raw}"`));
    expect(values(line({ user_id: 'ü€😀 中文' })).user_id).toBe('ü€😀 中文');
    expect(values(line().replace('"view"', '"vi\\u0065w"')).type).toBe('view');
    expect(values(line().replace('"US"', '"\\u0055S"')).country).toBe('US');
  });

  it('turns lone surrogate escapes into U+FFFD (3 bytes), as TextEncoder does; ill-formed UTF-8 bytes are bad_utf8', () => {
    expect(values(line().replace('"e1"', '"a\\ud800b"')).event_id).toBe('a\ufffdb');
    expect(values(line().replace('"e1"', '"\\udc00"')).event_id).toBe('\ufffd');
    const bytes = enc.encode(line() + '\n');
    const at = line().indexOf('"e1"') + 1; // ASCII line: char index = byte index
    bytes[at] = 0xff; // "e1" -> "\xff1"
    const out = run(bytes);
    expect(out[0]).toMatchObject({ kind: 'reject', reason: 'bad_utf8' });
    expect(reason(line().replace('"e1"', '"\\ud800' + 'x'.repeat(61) + '"'))).toBe('ok'); // 3 + 61 = 64 bytes
    expect(reason(line().replace('"e1"', '"\\ud800' + 'x'.repeat(62) + '"'))).toBe('too_long:event_id');
  });

  it('ignores other fields whatever they hold, including __proto__ and constructor, without touching prototypes', () => {
    const text = `{"__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":2}},"event_id":"e1","ts":${TS},` +
      `"nested":{"a":[1,{"b":[null,true,"x\\"]"]}],"c":{}},"arr":[[[]]],"user_id":"u1","type":"view","toString":5}`;
    expect(values(text)).toEqual({ ...base, amount: 0, country: 'ZZ' });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    const deep = '['.repeat(2000) + ']'.repeat(2000);
    expect(reason(line({}).replace('{', `{"deep":${deep},`))).toBe('ok');
  });

  it('does not find a declared `constructor` field on Object.prototype', () => {
    const cfg = parseInputConfig({
      fields: {
        id: { type: 'string', required: true, hashed: true, partitionKey: true },
        t: { type: 'timestamp_ms', required: true, eventTime: true },
        constructor: { type: 'string', default: 'none' },
      },
    });
    expect(one('{"id":"a","t":1}', cfg)).toMatchObject({ kind: 'ok', values: { constructor: 'none' } });
    expect(one('{"id":"a","t":1,"constructor":"c"}', cfg)).toMatchObject({ kind: 'ok', values: { constructor: 'c' } });
    expect(one('{"id":"a\\u0000","t":1,"constructor":"c"', cfg)).toMatchObject({ kind: 'reject', reason: 'malformed_json' });
  });

  it('lets the last of duplicate keys win (JSON.parse semantics)', () => {
    expect(reason(`{"event_id":"e1","event_id":5,"ts":${TS},"user_id":"u","type":"view"}`)).toBe('bad_type:event_id');
    expect(values(`{"event_id":5,"event_id":"e2","ts":1,"ts":${TS},"user_id":"u","type":"zoom","type":"click"}`)).toMatchObject({
      event_id: 'e2', ts: TS, type: 'click',
    });
    expect(reason(`{"event_id":"${'x'.repeat(100)}","event_id":"e2","ts":${TS},"user_id":"u","type":"view"}`)).toBe('ok');
  });
});

describe('chunks and batches', () => {
  const text = [line(), '', line({ event_id: 'é€😀' }), '{"broken', line({ ts: 1.5 }), line({ event_id: 'e9' })].join('\r\n');

  it('gives the same outcomes for every single cut position, with or without a final newline', () => {
    const whole = run(text);
    expect(whole.map((o) => (o.kind === 'ok' ? 'ok' : o.reason))).toEqual(['ok', 'ok', 'malformed_json', 'not_integer:ts', 'ok']);
    const bytes = enc.encode(text);
    for (let cut = 1; cut < bytes.length; cut++) expect(run(bytes, canonicalConfig, [cut], 2)).toEqual(whole);
    expect(run(text + '\n')).toEqual(whole);
  });

  it('keeps an unterminated tail for the caller unless final', () => {
    const decoder = createNdjsonDecoder(canonicalConfig);
    const batch = BatchView.standalone(computeLayout(decoder.schema, 16));
    batch.clear();
    const bytes = enc.encode(`${line()}\n${line({ event_id: 'e2' })}`);
    const r = decoder.decode(bytes, 0, bytes.length, 1, batch, () => {});
    expect({ ...r }).toEqual({ endOffset: line().length + 1, linesConsumed: 1, rowsWritten: 1, linesRejected: 0, linesBlank: 0 });
    const r2 = decoder.decode(bytes, r.endOffset, bytes.length, 2, batch, () => {}, true);
    expect([r2.endOffset, r2.linesConsumed, r2.rowsWritten, batch.rowCount]).toEqual([bytes.length, 1, 1, 2]);
  });

  it('rejects an unterminated tail longer than maxLineBytes at once and skips the rest of that line', () => {
    const cfg = parseInputConfig({ ...canonicalConfig, maxLineBytes: 100 });
    const long = line({ pad: 'p'.repeat(300) });
    const bytes = enc.encode(`${long}\n${line({ event_id: 'e2' })}\n`);
    const out = run(bytes, cfg, [50, 150, 250]);
    expect(out.map((o) => [o.line, o.kind === 'ok' ? 'ok' : o.reason])).toEqual([[1, 'line_too_long'], [2, 'ok']]);
  });

  it('stops when the batch is full (rows or string bytes) and resumes where it stopped', () => {
    const decoder = createNdjsonDecoder(canonicalConfig);
    const batch = BatchView.standalone(computeLayout(decoder.schema, 2));
    batch.clear();
    const bytes = enc.encode([line(), line(), line()].join('\n') + '\n');
    const r = decoder.decode(bytes, 0, bytes.length, 1, batch, () => {});
    expect([r.linesConsumed, r.rowsWritten, r.endOffset]).toEqual([2, 2, 2 * (line().length + 1)]);
    // 2 rows x 32 reserved bytes: two 40-byte ids do not fit, so the batch is published after one row.
    batch.clear();
    const id = 'i'.repeat(40);
    const big = enc.encode(`${line({ event_id: id })}\n${line({ event_id: id })}\n`);
    const r2 = decoder.decode(big, 0, big.length, 1, batch, () => {});
    expect([r2.linesConsumed, r2.rowsWritten, batch.rowCount]).toEqual([1, 1, 1]);
  });

  it('always fits one maximal row into an empty batch (the layout reserves maxRowBytes per string column)', () => {
    const decoder = createNdjsonDecoder(canonicalConfig);
    const batch = BatchView.standalone(computeLayout(decoder.schema, 1));
    batch.clear();
    const bytes = enc.encode(line({ event_id: 'x'.repeat(64), user_id: 'y'.repeat(64) }) + '\n');
    const r = decoder.decode(bytes, 0, bytes.length, 1, batch, () => {});
    expect([r.rowsWritten, batch.rowCount]).toEqual([1, 1]);
  });

  it('leaves __late 0 and __raw empty on every row: the event-time gate after decoding decides them', () => {
    const decoder = createNdjsonDecoder(canonicalConfig);
    const batch = BatchView.standalone(computeLayout(decoder.schema, 8));
    batch.clear();
    const bytes = enc.encode([line({ ts: TS }), line({ ts: TS + 5000 }), line({ ts: 1 }), line({ ts: TS + 1 })].join('\n') + '\n');
    decoder.decode(bytes, 0, bytes.length, 1, batch, () => {});
    const raw = batch.column('__raw');
    expect(Array.from(batch.column('__late').values.subarray(0, 3))).toEqual([0, 0, 0]);
    expect(Array.from(raw.offsets!.subarray(0, 4))).toEqual([0, 0, 0, 0]);
    expect([0, 1, 2].map((r) => (raw.validity[r >> 3] >> (r & 7)) & 1)).toEqual([0, 0, 0]);
  });
});
