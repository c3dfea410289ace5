/**
 * Test helpers for the decode kernel: a plain object-based reference (UTF-8 check, UTF-8 decode +
 * JSON.parse + the rules written out directly, independent of filter.ts) and a driver that runs the
 * real decoder over a byte stream and reads the batch back as objects.
 */
import { BatchView, isValid } from '../../../src/runtime/batch.js';
import { computeLayout } from '../../../src/runtime/schema.js';
import { createNdjsonDecoder } from '../../../src/kernels/decode/ndjson.js';
import { parseInputConfig, type InputConfig } from '../../../src/kernels/input/config.js';
import { hashString } from '../../../src/kernels/shared/xxhash32.js';
import { isUtf8 } from 'node:buffer';
import { readFileSync } from 'node:fs';

export type Outcome =
  | { line: number; kind: 'ok'; values: Record<string, unknown> }
  | { line: number; kind: 'reject'; reason: string; raw: Uint8Array };

export const canonicalConfig: InputConfig = parseInputConfig(
  JSON.parse(readFileSync(new URL('../../../examples/clickstream.json', import.meta.url), 'utf8')).input,
);

const enc = new TextEncoder();
const dec = new TextDecoder('utf-8', { ignoreBOM: true });

/** Reference outcome of one line's content (no '\n', trailing '\r' already stripped); null = blank. */
export function referenceLine(cfg: InputConfig, bytes: Uint8Array): { kind: 'ok'; values: Record<string, unknown> } | { kind: 'reject'; reason: string } | null {
  if (bytes.length > cfg.maxLineBytes) return { kind: 'reject', reason: 'line_too_long' };
  if (!isUtf8(bytes)) return { kind: 'reject', reason: 'bad_utf8' };
  const text = dec.decode(bytes);
  if (/^[ \t\r]*$/.test(text)) return null; // JSON whitespace only (U+00A0 or a BOM is malformed_json)
  let doc: unknown;
  try { doc = JSON.parse(text); } catch { return { kind: 'reject', reason: 'malformed_json' }; }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return { kind: 'reject', reason: 'not_object' };
  const values: Record<string, unknown> = {};
  for (const [name, f] of Object.entries(cfg.fields)) {
    const v = Object.prototype.hasOwnProperty.call(doc, name) ? (doc as Record<string, unknown>)[name] : undefined;
    if (v === undefined || v === null) {
      if (f.required) return { kind: 'reject', reason: `missing:${name}` };
      values[name] = f.default ?? null;
      continue;
    }
    const fail = (rule: string) => ({ kind: 'reject' as const, reason: `${rule}:${name}` });
    if (f.type === 'string' || f.type === 'enum') {
      if (typeof v !== 'string') return fail('bad_type');
      if (f.type === 'enum') {
        if (!f.values!.includes(v)) return fail('bad_enum');
      } else {
        const n = Buffer.byteLength(v, 'utf8');
        if (f.minBytes !== undefined && n < f.minBytes) return fail('too_short');
        if (f.maxBytes !== undefined && n > f.maxBytes) return fail('too_long');
        if (f.pattern !== undefined && !new RegExp(f.pattern).test(v)) return fail('bad_pattern');
      }
      values[name] = dec.decode(enc.encode(v)); // lone surrogates become U+FFFD, as stored bytes do
    } else if (f.type === 'bool') {
      if (typeof v !== 'boolean') return fail('bad_type');
      values[name] = v;
    } else {
      if (typeof v !== 'number') return fail('bad_type');
      if ((f.integer || f.type !== 'float64') && !Number.isInteger(v)) return fail('not_integer');
      if (!Number.isFinite(v)) return fail('out_of_range');
      if (f.type === 'int32' && (v < -(2 ** 31) || v > 2 ** 31 - 1)) return fail('out_of_range');
      if ((f.type === 'int64' || f.type === 'timestamp_ms') && !Number.isSafeInteger(v)) return fail('out_of_range');
      if (f.min !== undefined && !(v >= f.min)) return fail('out_of_range');
      if (f.exclusiveMin !== undefined && !(v > f.exclusiveMin)) return fail('out_of_range');
      if (f.max !== undefined && !(v <= f.max)) return fail('out_of_range');
      if (f.exclusiveMax !== undefined && !(v < f.exclusiveMax)) return fail('out_of_range');
      values[name] = v;
    }
  }
  return { kind: 'ok', values };
}

/** The raw bytes a reject carries; of an over-long line only the first maxLineBytes are promised. */
function rawForCompare(cfg: InputConfig, reason: string, raw: Uint8Array): Uint8Array {
  return Uint8Array.from(reason === 'line_too_long' ? raw.subarray(0, cfg.maxLineBytes) : raw);
}

/** Reference over a whole input: split on '\n', strip one '\r', number lines from 1. */
export function referenceStream(cfg: InputConfig, input: Uint8Array): Outcome[] {
  const out: Outcome[] = [];
  let start = 0;
  let line = 1;
  while (start < input.length) {
    let nl = input.indexOf(10, start);
    if (nl < 0) nl = input.length;
    const end = nl > start && input[nl - 1] === 13 ? nl - 1 : nl;
    const content = input.subarray(start, end);
    const r = referenceLine(cfg, content);
    if (r?.kind === 'ok') out.push({ line, kind: 'ok', values: r.values });
    else if (r) out.push({ line, kind: 'reject', reason: r.reason, raw: rawForCompare(cfg, r.reason, content) });
    start = nl + 1;
    line++;
  }
  return out;
}

/** Reads row `row` of a decoded batch back as plain values (and checks the key hashes). */
export function readRow(cfg: InputConfig, batch: BatchView, row: number): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  for (const [name, f] of Object.entries(cfg.fields)) {
    const c = batch.column(name);
    if (!isValid(c.validity, row)) { values[name] = null; continue; }
    if (f.type === 'string') {
      const s = dec.decode((c.values as Uint8Array).subarray(c.offsets![row], c.offsets![row + 1]));
      if (c.hash) {
        const [lo, hi] = hashString(s);
        if (c.hash[2 * row] !== lo || c.hash[2 * row + 1] !== hi) throw new Error(`hash mismatch in ${name} row ${row}`);
      }
      values[name] = s;
    } else if (f.type === 'enum') values[name] = f.values![c.values[row]];
    else if (f.type === 'bool') values[name] = c.values[row] === 1;
    else values[name] = c.values[row];
  }
  return values;
}

/**
 * Runs the real decoder over `input` cut into chunks at `cuts` (byte positions), carrying unterminated
 * tails like a source would, with batches of `batchRows` rows; returns outcomes in line order.
 */
export function decodeStream(cfg: InputConfig, input: Uint8Array, cuts: number[] = [], batchRows = 64): Outcome[] {
  const decoder = createNdjsonDecoder(cfg);
  const layout = computeLayout(decoder.schema, batchRows);
  const batch = BatchView.standalone(layout);
  batch.clear();
  const outcomes: Outcome[] = [];
  const lineCol = batch.column('__line');
  const flush = (): void => {
    for (let r = 0; r < batch.rowCount; r++) outcomes.push({ line: lineCol.values[r], kind: 'ok', values: readRow(cfg, batch, r) });
    batch.clear();
  };
  const onReject = (line: number, reason: string, chunk: Uint8Array, s: number, e: number): void => {
    outcomes.push({ line, kind: 'reject', reason, raw: rawForCompare(cfg, reason, chunk.subarray(s, e)) });
  };
  const bounds = [...new Set(cuts.filter((c) => c > 0 && c < input.length))].sort((a, b) => a - b);
  bounds.push(input.length);
  let pending = new Uint8Array(0);
  let from = 0;
  let lineNo = 1;
  for (let i = 0; i < bounds.length; i++) {
    const piece = input.subarray(from, bounds[i]);
    from = bounds[i];
    const chunk = new Uint8Array(pending.length + piece.length);
    chunk.set(pending);
    chunk.set(piece, pending.length);
    const final = i === bounds.length - 1;
    let at = 0;
    for (;;) {
      const r = decoder.decode(chunk, at, chunk.length, lineNo, batch, onReject, final);
      lineNo += r.linesConsumed;
      at = r.endOffset;
      if (at >= chunk.length) break;
      if (!final && chunk.indexOf(10, at) < 0) break; // an unterminated tail: wait for more bytes
      if (batch.rowCount === 0) throw new Error(`decoder made no progress at byte ${at}`);
      flush(); // the batch is full (rows or string bytes): publish it and go on
    }
    pending = chunk.slice(at);
  }
  flush();
  return outcomes.sort((a, b) => a.line - b.line);
}

/** A placeholder in generated text (U+E000, EF 80 80 in UTF-8) for one of MARK_SEQUENCES (encodeWithMarks). */
export const UTF8_MARK = '\ue000';

/**
 * Byte sequences a placeholder stands for: ill-formed UTF-8 (a lone continuation byte, 0xFF, 0xFE,
 * overlong forms, encoded surrogates U+D800 and U+DFFF, code points above U+10FFFF, sequences cut
 * short), then well-formed 2-, 3- and 4-byte characters (é, €, U+D7FF, U+FFFD, U+1F600, U+10FFFF).
 */
export const MARK_SEQUENCES: readonly (readonly number[])[] = [
  [0x80], [0xff], [0xfe, 0xff], [0xc0, 0xaf], [0xc1, 0xbf], [0xe0, 0x80, 0xaf], [0xed, 0xa0, 0x80], [0xed, 0xbf, 0xbf],
  [0xf4, 0x90, 0x80, 0x80], [0xf5, 0x80, 0x80, 0x80], [0xf0, 0x80, 0x80, 0xaf], [0xe2, 0x82], [0xf0, 0x9f, 0x98], [0xc3],
  [0xc3, 0xa9], [0xe2, 0x82, 0xac], [0xed, 0x9f, 0xbf], [0xef, 0xbf, 0xbd], [0xf0, 0x9f, 0x98, 0x80], [0xf4, 0x8f, 0xbf, 0xbf],
];

/** UTF-8 of `text` with its i-th UTF8_MARK replaced by seqs[i % seqs.length]. */
export function encodeWithMarks(text: string, seqs: readonly (readonly number[])[] = MARK_SEQUENCES): Uint8Array {
  const out: number[] = [];
  text.split(UTF8_MARK).forEach((part, i) => {
    if (i > 0) out.push(...seqs[(i - 1) % seqs.length]);
    out.push(...enc.encode(part));
  });
  return Uint8Array.from(out);
}

/** MARK_SEQUENCES picked by numbers (an fc.nat() each); all of them in order when there are none. */
export function pickMarks(picks: readonly number[]): readonly (readonly number[])[] {
  return picks.length === 0 ? MARK_SEQUENCES : picks.map((k) => MARK_SEQUENCES[k % MARK_SEQUENCES.length]);
}
