/**
 * Filter kernel: each rule on its own, the rule order, defaults and validity bits, and the byte-level
 * pattern matcher against RegExp.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ABSENT, NULL, PRESENT, ROW_NO_ROOM, ROW_OK, RowFilter, RowScratch, UNSTORED_LONG, WRONG_TYPE } from '../../../src/kernels/filter/row-filter.js';
import { compileBytePattern } from '../../../src/kernels/filter/pattern.js';
import { inputSchemaToBatchSchema, parseInputConfig } from '../../../src/kernels/input/config.js';
import { BatchView, isValid } from '../../../src/runtime/batch.js';
import { computeLayout } from '../../../src/runtime/schema.js';

const cfg = parseInputConfig({
  fields: {
    id: { type: 'string', required: true, minBytes: 2, maxBytes: 8, pattern: '^[a-z0-9]+$', hashed: true, partitionKey: true },
    t: { type: 'timestamp_ms', required: true, min: 0, exclusiveMax: 1000, eventTime: true },
    n: { type: 'int32', exclusiveMin: -5 },
    big: { type: 'int64', default: 7 },
    x: { type: 'float64', integer: true, max: 10 },
    ok: { type: 'bool', default: true },
    kind: { type: 'enum', values: ['a', 'b'], default: 'b' },
    note: { type: 'string', pattern: '^(yes|no)$', default: 'no' },
  },
});
const names = Object.keys(cfg.fields);
const layout = computeLayout(inputSchemaToBatchSchema(cfg), 4);
const enc = new TextEncoder();

/** Runs the filter on row 0 with `set` describing what the decoder found per field. */
function check(set: Record<string, [number, (number | string)?]>, rows = 4): { verdict: string; batch: BatchView } {
  const filter = new RowFilter(cfg, layout);
  const batch = BatchView.standalone(rows === 4 ? layout : computeLayout(inputSchemaToBatchSchema(cfg), rows));
  batch.clear();
  const scratch = new RowScratch(names.length);
  const full: Record<string, [number, (number | string)?]> = { id: [PRESENT, 'abc'], t: [PRESENT, 5], ...set };
  names.forEach((name, f) => {
    const [state, v] = full[name] ?? [ABSENT];
    scratch.presence[f] = state;
    const col = batch.column(name);
    if (state === PRESENT && typeof v === 'string') {
      const bytes = enc.encode(v);
      (col.values as Uint8Array).set(bytes, 0);
      col.offsets![1] = bytes.length;
    } else if (typeof v === 'number') scratch.numbers[f] = v;
  });
  const r = filter.check(batch, 0, scratch);
  return { verdict: r === ROW_OK ? 'ok' : r === ROW_NO_ROOM ? 'no_room' : filter.reasons[r], batch };
}

describe('RowFilter rules', () => {
  it('passes a row whose fields all satisfy their rules', () => {
    expect(check({}).verdict).toBe('ok');
  });

  it('missing: required fields absent or null', () => {
    expect(check({ id: [ABSENT] }).verdict).toBe('missing:id');
    expect(check({ t: [NULL] }).verdict).toBe('missing:t');
  });

  it('bad_type: whatever the rule set, a wrong JSON type wins', () => {
    expect(check({ n: [WRONG_TYPE] }).verdict).toBe('bad_type:n');
    expect(check({ ok: [WRONG_TYPE] }).verdict).toBe('bad_type:ok');
  });

  it('not_integer: int types always, float64 with integer: true', () => {
    expect(check({ t: [PRESENT, 5.5] }).verdict).toBe('not_integer:t');
    expect(check({ n: [PRESENT, 1.25] }).verdict).toBe('not_integer:n');
    expect(check({ x: [PRESENT, 2.5] }).verdict).toBe('not_integer:x');
    expect(check({ x: [PRESENT, Infinity] }).verdict).toBe('not_integer:x');
    expect(check({ x: [PRESENT, 3] }).verdict).toBe('ok');
  });

  it('out_of_range: min/max, exclusive bounds, int32 and safe-integer limits, non-finite', () => {
    expect(check({ t: [PRESENT, -1] }).verdict).toBe('out_of_range:t');
    expect(check({ t: [PRESENT, 0] }).verdict).toBe('ok');
    expect(check({ t: [PRESENT, 999] }).verdict).toBe('ok');
    expect(check({ t: [PRESENT, 1000] }).verdict).toBe('out_of_range:t');
    expect(check({ n: [PRESENT, -5] }).verdict).toBe('out_of_range:n');
    expect(check({ n: [PRESENT, -4] }).verdict).toBe('ok');
    expect(check({ n: [PRESENT, 2 ** 31] }).verdict).toBe('out_of_range:n');
    expect(check({ n: [PRESENT, 2 ** 31 - 1] }).verdict).toBe('ok');
    expect(check({ big: [PRESENT, 2 ** 53] }).verdict).toBe('out_of_range:big');
    expect(check({ x: [PRESENT, 11] }).verdict).toBe('out_of_range:x');
  });

  it('bad_enum, too_short / too_long in UTF-8 bytes, bad_pattern (byte matcher and RegExp path)', () => {
    expect(check({ kind: [PRESENT, -1] }).verdict).toBe('bad_enum:kind');
    expect(check({ id: [PRESENT, 'a'] }).verdict).toBe('too_short:id');
    expect(check({ id: [PRESENT, 'abcdefghi'] }).verdict).toBe('too_long:id');
    expect(check({ id: [PRESENT, 'ab-c'] }).verdict).toBe('bad_pattern:id');
    expect(check({ note: [PRESENT, 'yes'] }).verdict).toBe('ok');
    expect(check({ note: [PRESENT, 'maybe'] }).verdict).toBe('bad_pattern:note');
  });

  it('an unstored over-long string fails on its length rule, else on the pattern', () => {
    expect(check({ id: [UNSTORED_LONG, 500] }).verdict).toBe('too_long:id');
    expect(check({ note: [UNSTORED_LONG, 500] }).verdict).toBe('bad_pattern:note');
  });

  it('checks fields in declaration order and returns the first failure', () => {
    expect(check({ id: [PRESENT, 'a'], t: [WRONG_TYPE], kind: [PRESENT, -1] }).verdict).toBe('too_short:id');
    expect(check({ n: [PRESENT, 0.5], t: [PRESENT, 5000] }).verdict).toBe('out_of_range:t');
  });

  it('writes values and defaults and sets validity: absent optional without default stays null', () => {
    const { verdict, batch } = check({ n: [PRESENT, 3], ok: [NULL], kind: [ABSENT], x: [ABSENT] });
    expect(verdict).toBe('ok');
    expect(batch.column('n').values[0]).toBe(3);
    expect(batch.column('big').values[0]).toBe(7);
    expect(batch.column('ok').values[0]).toBe(1);
    expect(batch.column('kind').values[0]).toBe(1);
    const note = batch.column('note');
    expect(new TextDecoder().decode((note.values as Uint8Array).subarray(note.offsets![0], note.offsets![1]))).toBe('no');
    expect(isValid(batch.column('x').validity, 0)).toBe(false);
    expect(isValid(batch.column('big').validity, 0)).toBe(true);
  });

  it('reports ROW_NO_ROOM when a default string does not fit the batch', () => {
    const filter = new RowFilter(cfg, layout);
    const batch = BatchView.standalone(layout);
    batch.clear();
    const scratch = new RowScratch(names.length);
    scratch.presence[0] = PRESENT;
    scratch.presence[1] = PRESENT;
    scratch.numbers[1] = 5;
    const note = batch.column('note');
    note.offsets![0] = note.values.length - 1; // the string region is all but full
    const id = batch.column('id');
    (id.values as Uint8Array).set(enc.encode('abc'), 0);
    id.offsets![1] = 3;
    expect(filter.check(batch, 0, scratch)).toBe(ROW_NO_ROOM);
  });
});

describe('byte pattern matcher', () => {
  it('compiles anchored ASCII class/literal sequences and declines everything else', () => {
    for (const p of ['^[A-Z]{2}$', '^[a-z0-9_-]{1,32}$', '^u-\\d+$', '^[\\w.]*@x$', '^a?b+c*$', '^$']) expect(compileBytePattern(p)).not.toBeNull();
    for (const p of ['[A-Z]{2}', '^(a|b)$', '^.$', '^[^a]$', '^a+?$', '^é$', '^\\s$', '^a$|^b$']) expect(compileBytePattern(p)).toBeNull();
    expect(compileBytePattern('^[A-Z]{2}$')).toMatchObject({ minBytes: 2, maxBytes: 2 });
  });

  it('agrees with RegExp on random patterns and subjects', () => {
    const atom = fc.oneof(
      fc.constantFrom('[A-Z]', '[a-z0-9]', '[\\d_-]', '\\d', '\\w', 'a', 'B', '-', '\\.', '[.]'),
    );
    const quant = fc.constantFrom('', '?', '*', '+', '{2}', '{1,3}', '{0,}', '{2,2}');
    const pattern = fc.array(fc.tuple(atom, quant), { maxLength: 4 }).map((xs) => '^' + xs.map(([a, q]) => a + q).join('') + '$');
    const subject = fc.oneof(fc.stringMatching(/^[A-Za-z0-9_.\-é]{0,8}$/), fc.string({ maxLength: 6 }));
    fc.assert(
      fc.property(pattern, subject, (p, s) => {
        const m = compileBytePattern(p);
        expect(m).not.toBeNull();
        const bytes = enc.encode(s);
        expect(m!.test(bytes, 0, bytes.length)).toBe(new RegExp(p).test(s));
      }),
      { numRuns: 3000 },
    );
  });
});
