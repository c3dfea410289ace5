/**
 * Issue 15: a line whose bytes are not well-formed UTF-8 is invalid with `bad_utf8`, decided after
 * `line_too_long` and before everything else (whitespace, JSON, the rules), whichever way it is
 * decoded. Every way is compared with the JSON.parse oracle (decode-oracle.ts) and the project
 * reference (test/reference/canonical-validate.ts): the JS decoder alone (compiled tier, scanner,
 * JSON.parse fallback), the decoder as ingest wires it (native tier first when built), and the native
 * block decoder called by itself with the JS decoder for the lines it declines. Edge cases, every
 * chunk cut around a bad line, lines around the UTF-8 check's windows, and random byte mutations.
 */
import { isUtf8 } from 'node:buffer';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeHybrid } from '../../../bench/kernels/decode-native-bench.js';
import { createNdjsonDecoder } from '../../../src/kernels/decode/ndjson.js';
import { NativeBlockDecoder, STOP_LINE } from '../../../src/kernels/decode/native.js';
import { firstIllFormedUtf8 } from '../../../src/kernels/decode/string.js';
import { Utf8Gate } from '../../../src/kernels/decode/utf8-gate.js';
import { inputSchemaToBatchSchema, parseInputConfig, type InputConfig } from '../../../src/kernels/input/config.js';
import { loadNativeModule } from '../../../src/runtime/native-module.js';
import { BatchView } from '../../../src/runtime/batch.js';
import { computeLayout } from '../../../src/runtime/schema.js';
import { classifyLineBytes, stripTrailingCrBytes } from '../../reference/canonical-validate.js';
import { splitNdjsonLineBytes } from '../../reference/canonical-reference.js';
import { canonicalConfig, decodeStream, encodeWithMarks, MARK_SEQUENCES, readRow, referenceStream, UTF8_MARK, type Outcome } from './decode-oracle.js';

const enc = new TextEncoder();
const native = loadNativeModule() !== null;
const jsOnly: InputConfig = { ...canonicalConfig, decoder: 'js' };
const M = UTF8_MARK;
const T = 1767225600000;
const good = (id = 'g'): string => `{"event_id":"${id}","ts":${T},"user_id":"u1","type":"view"}`;

/** Native block decoder + the JS decoder for each line it declines (the bench's loop), as outcomes. */
function hybridStream(cfg: InputConfig, input: Uint8Array, batchRows: number): Outcome[] {
  const layout = computeLayout(inputSchemaToBatchSchema(cfg), batchRows);
  const block = NativeBlockDecoder.create(cfg, layout)!;
  const out: Outcome[] = [];
  const publish = (b: BatchView): void => {
    const lines = b.column('__line').values;
    for (let r = 0; r < b.rowCount; r++) out.push({ line: lines[r], kind: 'ok', values: readRow(cfg, b, r) });
    b.clear();
  };
  const batch = new BatchView(layout, new SharedArrayBuffer(layout.slotBytes), 0);
  decodeHybrid(block, createNdjsonDecoder({ ...cfg, decoder: 'js' }), input, batch, (line, reason, chunk, s, e) => {
    out.push({ line, kind: 'reject', reason, raw: Uint8Array.from(reason === 'line_too_long' ? chunk.subarray(s, Math.min(e, s + cfg.maxLineBytes)) : chunk.subarray(s, e)) });
  }, publish);
  return out.sort((a, b) => a.line - b.line);
}

/** The project reference's verdict per line: reason, or 'ok' / 'skip'. */
function projectReasons(input: Uint8Array): string[] {
  return splitNdjsonLineBytes(input).map((l) => {
    const v = classifyLineBytes(stripTrailingCrBytes(l));
    return v.kind === 'invalid' ? v.reason : v.kind === 'valid' ? 'ok' : 'skip';
  });
}

/** Every way of decoding equals the oracle on `input` (canonical config unless given). */
function expectAllWays(input: Uint8Array, cuts: number[] = [], batchRows = 8, cfg: InputConfig = canonicalConfig): Outcome[] {
  const expected = referenceStream(cfg, input);
  expect(decodeStream({ ...cfg, decoder: 'js' }, input, cuts, batchRows)).toEqual(expected);
  expect(decodeStream(cfg, input, cuts, batchRows)).toEqual(expected);
  if (native) expect(hybridStream(cfg, input, batchRows)).toEqual(expected);
  return expected;
}

const reasonOf = (o: Outcome): string => (o.kind === 'ok' ? 'ok' : o.reason);

// [what, line text with marks, the byte sequences of its marks, expected reason]
const cases: [string, string, number[][], string][] = [
  ['lone continuation byte in event_id', `{"event_id":"${M}","ts":${T},"user_id":"u1","type":"view"}`, [[0x80]], 'bad_utf8'],
  ['0xFF 0xFE in event_id (the issue)', `{"event_id":"${M}","ts":${T},"user_id":"u1","type":"view"}`, [[0xff, 0xfe]], 'bad_utf8'],
  ['overlong C0 AF in user_id', `{"event_id":"e","ts":${T},"user_id":"u${M}","type":"view"}`, [[0xc0, 0xaf]], 'bad_utf8'],
  ['encoded surrogate ED A0 80', `{"event_id":"a${M}b","ts":${T},"user_id":"u1","type":"view"}`, [[0xed, 0xa0, 0x80]], 'bad_utf8'],
  ['above U+10FFFF: F4 90 80 80', `{"event_id":"${M}","ts":${T},"user_id":"u1","type":"view"}`, [[0xf4, 0x90, 0x80, 0x80]], 'bad_utf8'],
  ['truncated sequence in a value', `{"event_id":"e${M}","ts":${T},"user_id":"u1","type":"view"}`, [[0xe2, 0x82]], 'bad_utf8'],
  ['truncated sequence at the end of the line', `${good()}${M}`, [[0xf0, 0x9f, 0x98]], 'bad_utf8'],
  ['in an enum value', `{"event_id":"e","ts":${T},"user_id":"u1","type":"vi${M}ew"}`, [[0xff]], 'bad_utf8'],
  ['in an undeclared field', `{"event_id":"e","ts":${T},"user_id":"u1","type":"view","x":"${M}"}`, [[0xff]], 'bad_utf8'],
  ['in a nested undeclared value', `{"event_id":"e","x":{"a":[1,"${M}"]},"ts":${T},"user_id":"u1","type":"view"}`, [[0xc0, 0xaf]], 'bad_utf8'],
  ['in an undeclared key', `{"event_id":"e","${M}":1,"ts":${T},"user_id":"u1","type":"view"}`, [[0x80]], 'bad_utf8'],
  ['in a declared key', `{"event${M}_id":"e","ts":${T},"user_id":"u1","type":"view"}`, [[0xff]], 'bad_utf8'],
  ['outside strings (malformed JSON too)', `{"event_id":"e",${M}"ts":${T},"user_id":"u1","type":"view"}`, [[0xff]], 'bad_utf8'],
  ['malformed and cut in a string', `{"event_id":"${M}`, [[0xed, 0xa0, 0x80]], 'bad_utf8'],
  ['in a line that also breaks a rule', `{"event_id":"e","user_id":"u1","type":"view","x":"${M}"}`, [[0xf5, 0x80, 0x80, 0x80]], 'bad_utf8'],
  ['in a line of whitespace', `  ${M} `, [[0xff]], 'bad_utf8'],
  ['a cut BOM at the start', `${M}${good()}`, [[0xef, 0xbb]], 'bad_utf8'],
  ['before a CRLF ending', `${good()}${M}\r`, [[0x80]], 'bad_utf8'],
  ['not an object', `[1,"${M}"]`, [[0xff]], 'bad_utf8'],
  ['2-byte é in event_id', `{"event_id":"${M}","ts":${T},"user_id":"u1","type":"view"}`, [[0xc3, 0xa9]], 'ok'],
  ['3-byte € in user_id', `{"event_id":"e","ts":${T},"user_id":"${M}","type":"view"}`, [[0xe2, 0x82, 0xac]], 'ok'],
  ['4-byte U+1F600 in event_id', `{"event_id":"${M}","ts":${T},"user_id":"u1","type":"view"}`, [[0xf0, 0x9f, 0x98, 0x80]], 'ok'],
  ['U+10FFFF, U+D7FF, U+FFFD in undeclared fields', `{"a":"${M}","event_id":"e","b":"${M}","ts":${T},"user_id":"u1","type":"view","c":"${M}"}`,
    [[0xf4, 0x8f, 0xbf, 0xbf], [0xed, 0x9f, 0xbf], [0xef, 0xbf, 0xbd]], 'ok'],
  ['valid multi-byte key', `{"${M}":1,"event_id":"e","ts":${T},"user_id":"u1","type":"view"}`, [[0xe2, 0x82, 0xac]], 'ok'],
  ['valid multi-byte in a line that breaks a rule', `{"event_id":"${M}","ts":${T},"type":"view"}`, [[0xc3, 0xa9]], 'missing:user_id'],
  ['valid multi-byte outside strings', `{"event_id":"e",${M}"ts":${T},"user_id":"u1","type":"view"}`, [[0xc3, 0xa9]], 'malformed_json'],
];

describe('ill-formed UTF-8 is bad_utf8 in every decoder tier', () => {
  it('the sequences used below are what node:buffer isUtf8 says', () => {
    for (const [, text, seqs, reason] of cases) expect(isUtf8(encodeWithMarks(text, seqs))).toBe(reason !== 'bad_utf8');
  });

  it.each(cases)('%s', (_what, text, seqs, reason) => {
    const line = encodeWithMarks(text, seqs);
    const input = Uint8Array.from([...enc.encode(good('a') + '\n'), ...line, ...enc.encode('\n' + good('b') + '\n')]);
    const out = expectAllWays(input);
    expect(out.map(reasonOf)).toEqual(['ok', reason, 'ok']);
    expect(projectReasons(input)).toEqual(['ok', reason, 'ok']);
    if (reason === 'bad_utf8') {
      const reject = out[1] as Extract<Outcome, { kind: 'reject' }>;
      // raw: the line as it came (no '\r'), whatever tier saw it.
      const content = line[line.length - 1] === 13 ? line.subarray(0, line.length - 1) : line;
      expect(Buffer.from(reject.raw).equals(Buffer.from(content))).toBe(true);
    }
    // As the last line, without '\n' (decoded from the decoder's tail copy), and after a blank line.
    const tail = Uint8Array.from([...enc.encode(good('a') + '\n  \n'), ...line]);
    expect(expectAllWays(tail).map(reasonOf)).toEqual(['ok', reason]);
  });

  it('bad_utf8 whatever chunk cuts and batch sizes split the line and its neighbours', () => {
    const bad = encodeWithMarks(`{"event_id":"${M}x","ts":${T},"user_id":"u1","type":"view"}`, [[0xf4, 0x90, 0x80, 0x80]]);
    const input = Uint8Array.from([...enc.encode(`${good('a')}\n${good('b')}\n`), ...bad, ...enc.encode(`\n${good('c')}\n`), ...bad]);
    for (let cut = 1; cut < input.length; cut++) {
      for (const batchRows of [1, 2, 3]) {
        expect(expectAllWays(input, [cut], batchRows).map(reasonOf)).toEqual(['ok', 'ok', 'bad_utf8', 'ok', 'bad_utf8']);
      }
    }
  });

  it('line_too_long comes first: an ill-formed line over maxLineBytes is line_too_long', () => {
    const cfg = parseInputConfig({ ...canonicalConfig, maxLineBytes: 90 });
    const long = encodeWithMarks(`{"event_id":"${M}","ts":${T},"user_id":"u1","type":"view","pad":"${'p'.repeat(18)}"}`, [[0xff]]);
    const exact = encodeWithMarks(`{"event_id":"${M}","ts":${T},"user_id":"u1","type":"view","pad":"${'p'.repeat(17)}"}`, [[0xff]]);
    expect([long.length, exact.length]).toEqual([91, 90]); // one byte over, and exactly maxLineBytes (+ '\r')
    const input = Uint8Array.from([...long, 10, ...exact, 13, 10, ...long]);
    for (const cuts of [[], [long.length - 3], [long.length + 5], [input.length - 20]]) {
      expect(expectAllWays(input, cuts, 2, cfg).map(reasonOf)).toEqual(['line_too_long', 'bad_utf8', 'line_too_long']);
    }
  });

  it('lines around the UTF-8 check windows (4 to 64 KiB): only the bad lines are rejected', () => {
    // ~100-byte lines over 300 KiB, bad ones clustered (windows shrink) and then sparse (windows grow
    // back), some placed so a window boundary falls on, right before or right after them.
    const lines: Uint8Array[] = [];
    let at = 0;
    const badAt = new Set<number>();
    const targets = [4096, 8192, 65536, 65536 + 4096, 131072, 200000, 262144];
    for (let i = 0; at < 300_000; i++) {
      const near = targets.some((t) => at <= t && t < at + 200);
      const bad = near || (i > 2000 && i < 2040 && i % 3 === 0);
      const text = `{"event_id":"e${i}${bad ? M : ''}","ts":${T + i},"user_id":"u${i % 97}","type":"view","pad":"${'x'.repeat(30 + (i % 40))}"}`;
      const line = encodeWithMarks(text, [MARK_SEQUENCES[i % MARK_SEQUENCES.length]]);
      if (bad && isUtf8(line)) continue; // a well-formed mark: not a bad line, try the next
      if (bad) badAt.add(lines.length);
      lines.push(line);
      at += line.length + 1;
    }
    const input = new Uint8Array(at);
    let p = 0;
    for (const l of lines) { input.set(l, p); input[p + l.length] = 10; p += l.length + 1; }
    for (const batchRows of [7, 4096]) {
      const out = expectAllWays(input, [65536, 150001], batchRows);
      expect(out.filter((o) => o.kind === 'reject').map((o) => o.line - 1)).toEqual([...badAt]);
    }
  });

  it('random byte mutations of valid lines: every way equals the oracle and the project reference', () => {
    const lineArb = fc.tuple(
      fc.stringMatching(/^[a-z0-9-]{1,12}$/), fc.integer({ min: 946684800000, max: 4102444799999 }), fc.constantFrom('view', 'click', 'zoom'),
      fc.constantFrom('', ',"amount":1.5', ',"country":"DE"', ',"x":{"k":["v",2]}', ',"note":"é€😀"'),
    ).map(([id, ts, type, extra]) => `{"event_id":"${id}","ts":${ts},"user_id":"u1","type":"${type}"${extra}}`);
    // A mutation: a byte replaced, a sequence inserted, or a byte dropped, at a position of the stream.
    const mutation = fc.tuple(fc.nat(), fc.nat({ max: 2 }), fc.oneof(fc.integer({ min: 0x80, max: 0xff }).map((c) => [c]), fc.constantFrom(...MARK_SEQUENCES), fc.integer({ min: 0, max: 0xff }).map((c) => [c])));
    fc.assert(fc.property(
      fc.array(fc.tuple(lineArb, fc.boolean()), { minLength: 1, maxLength: 25 }), fc.array(mutation, { maxLength: 6 }),
      fc.array(fc.nat({ max: 3000 }), { maxLength: 4 }), fc.integer({ min: 1, max: 9 }),
      (lines, mutations, cuts, batchRows) => {
        let bytes = Array.from(enc.encode(lines.map(([l, crlf]) => l + (crlf ? '\r\n' : '\n')).join('')));
        for (const [pos, kind, seq] of mutations) {
          const i = pos % (bytes.length + 1);
          if (kind === 0 && i < bytes.length) bytes[i] = seq[0];
          else if (kind === 1) bytes.splice(i, 0, ...seq);
          else bytes.splice(i, 1);
        }
        const input = Uint8Array.from(bytes);
        const out = expectAllWays(input, cuts, batchRows);
        const reasons = projectReasons(input).filter((r) => r !== 'skip');
        expect(out.map(reasonOf)).toEqual(reasons);
      },
    ), { numRuns: Number(process.env.DECODE_UTF8_RUNS ?? 300) });
  });

  it.skipIf(!native)('the native block decoder alone never accepts or rejects an ill-formed line: it declines it, saying so', () => {
    const layout = computeLayout(inputSchemaToBatchSchema(canonicalConfig), 16);
    const block = NativeBlockDecoder.create(canonicalConfig, layout)!;
    const batch = (): BatchView => new BatchView(layout, new SharedArrayBuffer(layout.slotBytes), 0);
    for (const [what, text, seqs, reason] of cases) {
      const line = encodeWithMarks(text, seqs);
      const input = Uint8Array.from([...enc.encode(good() + '\n'), ...line, 10]);
      const rows = block.decode(input, 0, input.length, batch());
      if (reason === 'bad_utf8') {
        expect([what, rows, block.stopReason, block.stopOffset, block.illFormed]).toEqual([what, 1, STOP_LINE, good().length + 1, true]);
      } else if (block.stopReason === STOP_LINE) {
        expect([what, block.illFormed]).toEqual([what, false]); // declined (non-ASCII stored, malformed), well-formed
      }
    }
    // Over maxLineBytes, ill-formed: declined without the flag (line_too_long comes first).
    const small = parseInputConfig({ ...canonicalConfig, maxLineBytes: 90 });
    const smallLayout = computeLayout(inputSchemaToBatchSchema(small), 16);
    const long = encodeWithMarks(`{"event_id":"${M}","ts":${T},"user_id":"u1","type":"view","pad":"${'p'.repeat(18)}"}\n`, [[0xff]]);
    const smallBlock = NativeBlockDecoder.create(small, smallLayout)!;
    expect(smallBlock.decode(long, 0, long.length, new BatchView(smallLayout, new SharedArrayBuffer(smallLayout.slotBytes), 0))).toBe(0);
    expect([smallBlock.stopReason, smallBlock.illFormed]).toEqual([STOP_LINE, false]);
    // Well-formed non-ASCII in an undeclared value stays native's to accept.
    const ok = encodeWithMarks(`{"event_id":"e","ts":${T},"user_id":"u1","type":"view","x":"${M}${M}"}`, [[0xc3, 0xa9], [0xf0, 0x9f, 0x98, 0x80]]);
    const input = Uint8Array.from([...ok, 10]);
    expect(block.decode(input, 0, input.length, batch())).toBe(1);
  });
});

describe('the UTF-8 check (utf8-gate.ts, string.ts)', () => {
  it('firstIllFormedUtf8 agrees with node:buffer isUtf8 on random bytes', () => {
    const bytesArb = fc.array(fc.oneof(fc.integer({ min: 0, max: 0xff }).map((c) => [c]), fc.constantFrom(...MARK_SEQUENCES).map((s) => [...s])), { maxLength: 24 })
      .map((parts) => Uint8Array.from(parts.flat()));
    fc.assert(fc.property(bytesArb, (b) => {
      const bad = firstIllFormedUtf8(b, 0, b.length);
      expect(bad === b.length).toBe(isUtf8(b));
      expect(isUtf8(b.subarray(0, bad))).toBe(true);
      if (bad < b.length) expect(isUtf8(b.subarray(0, bad + 1))).toBe(false);
    }), { numRuns: 2000 });
  });

  it('wellFormedUntil: whole good lines from p, or p when the line at p is bad', () => {
    const lineArb = fc.tuple(fc.nat({ max: 6000 }), fc.option(fc.tuple(fc.nat(), fc.nat()), { freq: 3 }))
      .map(([len, bad]) => {
        const l = new Uint8Array(len).fill(0x61);
        if (bad !== null && len > 0) {
          const illFormed = MARK_SEQUENCES.filter((m) => !isUtf8(Uint8Array.from(m)));
          const seq = illFormed[bad[1] % illFormed.length];
          l.set(seq.slice(0, Math.min(seq.length, len - (bad[0] % len))), bad[0] % len);
        }
        return l;
      });
    fc.assert(fc.property(fc.array(lineArb, { minLength: 1, maxLength: 40 }), fc.array(fc.nat({ max: 200_000 }), { minLength: 1, maxLength: 6 }), (lines, wants) => {
      const starts: number[] = [];
      const input = new Uint8Array(lines.reduce((n, l) => n + l.length + 1, 0));
      let p = 0;
      for (const l of lines) { starts.push(p); input.set(l, p); input[p + l.length] = 10; p += l.length + 1; }
      const gate = new Utf8Gate();
      let k = 0;
      for (let i = 0; i < lines.length;) {
        const q = gate.wellFormedUntil(input, starts[i], input.length, wants[k++ % wants.length]);
        if (q === starts[i]) {
          expect(isUtf8(lines[i])).toBe(false);
          i++;
          continue;
        }
        const j = q === input.length ? lines.length : starts.indexOf(q);
        expect(j).toBeGreaterThan(i);
        for (; i < j; i++) expect(isUtf8(lines[i])).toBe(true);
      }
    }), { numRuns: 300 });
  });
});
