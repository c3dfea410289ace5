/**
 * Decode kernel: NDJSON bytes -> rows of a columnar batch (layout from inputSchemaToBatchSchema), with
 * the filter kernel's rules applied and invalid lines handed to a reject callback. Runs on the main
 * thread for every input byte, so it allocates nothing per line on the common path.
 *
 * Line semantics (the contract; the reference is UTF-8 decode + JSON.parse + the filter rules):
 *  - a line ends at '\n'; one trailing '\r' is stripped; line numbers count every physical line;
 *  - content longer than maxLineBytes (after the '\r' strip) -> `line_too_long`, whatever it holds;
 *  - bytes that are not well-formed UTF-8 -> `bad_utf8`, whatever else the line holds (utf8-gate.ts);
 *  - a line of only JSON whitespace (' ', '\t', '\r') is skipped and is not an input event; other
 *    spaces (U+00A0, a BOM) make it `malformed_json`, as JSON.parse does;
 *  - JSON.parse fails -> `malformed_json` (trailing garbage included); not a plain object -> `not_object`;
 *  - declared fields -> filter/row-filter.ts rules (first failure in declaration order); other keys are ignored.
 *
 * Tiers, given only well-formed UTF-8 lines (others are rejected first: native checks the lines it
 * sees, utf8-gate.ts the rest): the native block decoder (native.ts, when built and `input.decoder` is "auto") accepts runs of common
 * lines in one call, rejects the lines of that shape that break a rule (with RowFilter.check's
 * verdict, so the same reason) and stops at the first other line it is not sure of; per line, the
 * decoder compiled for the config (compiled.ts) accepts the common shape or declines; the general
 * scanner (+ JSON.parse fallback) and filter decide the rest.
 *
 * Chunking: only lines terminated by '\n' inside [start, end) are decoded. The unterminated tail is
 * left for the caller (endOffset points at it) to be passed again with more bytes, unless `final`.
 * A tail already longer than maxLineBytes + 1 is rejected at once and the rest of that line is
 * skipped on the following calls (the decoder keeps that one bit of state per source).
 */
import { KernelError } from '../../errors.js';
import type { BatchView } from '../../runtime/batch.js';
import { computeLayout, type BatchLayout } from '../../runtime/schema.js';
import { LineFallback, FB_MALFORMED, FB_NO_ROOM, FB_NOT_OBJECT } from './fallback.js';
import { COMPILED_DECLINE, compileLineDecoder, type CompiledLineDecoder } from './compiled.js';
import { EnumTable } from './enum.js';
import { NativeBlockDecoder, STOP_LINE, STOP_REJECT } from './native.js';
import { RowFinisher } from './row-finisher.js';
import { Utf8Gate } from './utf8-gate.js';
import { LINE_INVALID_JSON, LINE_NOT_OBJECT, LineScanner, SCAN_NO_ROOM, skipWs, validateLine, type ScanField } from './scan.js';
import { compileField, fieldKind, longestValidBytes, RowFilter, RowScratch, ROW_NO_ROOM, ROW_OK } from '../filter/row-filter.js';
import { inputSchemaToBatchSchema, type InputConfig } from '../input/config.js';
import { SOURCE_COLUMN } from '../input/columns.js';

export { rawCutEnd } from './row-finisher.js';

export interface DecodeResult {
  /** First byte not consumed: the start of the unterminated tail, or of the line that did not fit. */
  endOffset: number;
  /** Physical lines consumed (accepted + rejected + blank); the next call's firstLineNumber advances by this. */
  linesConsumed: number;
  /** Rows appended to `out` (out.rowCount was advanced by as much). */
  rowsWritten: number;
  /** Lines passed to onReject. */
  linesRejected: number;
  /** Blank lines skipped (not input events). */
  linesBlank: number;
}

/**
 * Called once per invalid line, synchronously. `chunk[lineStart, lineEnd)` is the line without '\n'
 * and trailing '\r'; copy what you need before returning (the bytes belong to the caller's chunk, or
 * to the decoder's tail buffer on a final call). `reason` is a constant string, e.g. `bad_type:ts`.
 */
export type RejectHandler = (lineNumber: number, reason: string, chunk: Uint8Array, lineStart: number, lineEnd: number) => void;


export interface NdjsonDecoder {
  /** Batch layout the decoder writes (any rowCapacity of this schema works). */
  readonly schema: ReturnType<typeof inputSchemaToBatchSchema>;
  /**
   * Decodes complete lines of chunk[start, end) into `out` from row out.rowCount on, until `out` is full
   * (rows or string bytes) or the lines end. With `final`, an unterminated last line is decoded too.
   * Returns a result object owned by the decoder and reused by the next call.
   */
  decode(chunk: Uint8Array, start: number, end: number, firstLineNumber: number, out: BatchView, onReject: RejectHandler, final?: boolean): DecodeResult;
  /** Forget the skip-rest-of-long-line state (a new source). */
  reset(): void;
  /**
   * false: rows of the native tier get no key hashes, to save the decoding thread the work; only for
   * a pipeline whose workers hash every row (key-hashes.ts). The other tiers still write them.
   */
  setNativeKeyHashes(on: boolean): void;
}

export const REASON_MALFORMED_JSON = 'malformed_json';
export const REASON_NOT_OBJECT = 'not_object';
export const REASON_LINE_TOO_LONG = 'line_too_long';
export const REASON_BAD_UTF8 = 'bad_utf8';

const NO_ROOM = -1;

class Decoder implements NdjsonDecoder {
  readonly schema: ReturnType<typeof inputSchemaToBatchSchema>;
  private readonly maxLineBytes: number;
  private readonly scanner: LineScanner;
  private readonly fallback: LineFallback;
  private readonly filter: RowFilter;
  /**
   * Two tiers: the decoder compiled for this config (compact lines of plain keys and ASCII values)
   * accepts what it can and declines the rest; the general scanner + filter decides everything else.
   * Null: a config with too many fields for the compiled tier.
   */
  private readonly compiled: CompiledLineDecoder | null;
  private readonly scratch: RowScratch;
  private readonly rows: RowFinisher;
  private readonly utf8 = new Utf8Gate();
  private readonly cfg: InputConfig;
  /** Native block tier for the checked layout, or null (not built, `decoder: "js"`, unsupported config). */
  private native: NativeBlockDecoder | null = null;
  /** Lines the last nativeBlock() consumed, and whether it stopped because the batch is full. */
  private nativeLines = 0;
  private nativeFull = false;
  private readonly result: DecodeResult = { endOffset: 0, linesConsumed: 0, rowsWritten: 0, linesRejected: 0, linesBlank: 0 };
  private checkedLayout: BatchLayout | null = null;
  private tail: Uint8Array | null = null;
  private skippingLongLine = false;
  private nativeKeyHashes = true;
  /** The chunk viewOf() last saw, and its views. */
  private chunk: Uint8Array | null = null;
  private bytes: Uint8Array = new Uint8Array(0);
  private view: DataView<ArrayBufferLike> = new DataView(new ArrayBuffer(0));

  constructor(cfg: InputConfig) {
    this.schema = inputSchemaToBatchSchema(cfg);
    this.cfg = cfg;
    const layout = computeLayout(this.schema, 1);
    this.maxLineBytes = cfg.maxLineBytes;
    const fields: ScanField[] = Object.entries(cfg.fields).map(([name, f]) => ({
      name,
      kind: fieldKind(f.type),
      column: layout.byName.get(name)!.index,
      storeMaxBytes: f.type === 'string' ? longestValidBytes(f) : Infinity,
      enumBytes: (f.values ?? []).map((v) => new TextEncoder().encode(v)),
    }));
    this.scanner = new LineScanner(fields, cfg.maxLineBytes);
    this.fallback = new LineFallback(fields);
    this.filter = new RowFilter(cfg, layout);
    const names = fields.map((f) => f.name);
    const rules = fields.map((f) => compileField(cfg.fields[f.name], f.column));
    const storeMaxBytes = fields.map((f) => f.storeMaxBytes);
    const enumValues = fields.map((f) => f.enumBytes);
    const enums = new EnumTable(enumValues);
    this.compiled = compileLineDecoder(names, rules, storeMaxBytes, enumValues, enums, fields.map((f) => layout.columns[f.column].hashOffset >= 0));
    this.scratch = new RowScratch(fields.length);
    this.rows = new RowFinisher(layout, fields.filter((f) => cfg.fields[f.name].required).map((f) => f.column));
  }

  reset(): void {
    this.skippingLongLine = false;
  }

  setNativeKeyHashes(on: boolean): void {
    this.nativeKeyHashes = on;
    this.native?.setHashKeys(on);
  }

  decode(chunk: Uint8Array, start: number, end: number, firstLineNumber: number, out: BatchView, onReject: RejectHandler, final = false): DecodeResult {
    if (out.layout !== this.checkedLayout) this.checkLayout(out.layout);
    this.rows.bind(out);
    if (chunk !== this.chunk) this.viewOf(chunk);
    const b = this.bytes;
    const res = this.result;
    res.linesConsumed = 0;
    res.rowsWritten = 0;
    res.linesRejected = 0;
    res.linesBlank = 0;
    const rowsBefore = out.rowCount;
    let p = start;
    if (this.skippingLongLine) {
      const nl = b.indexOf(10, p);
      if (nl < 0 || nl >= end) {
        if (final) this.skippingLongLine = false;
        res.endOffset = end;
        return res;
      }
      p = nl + 1;
      this.skippingLongLine = false;
    }
    const lastNl = end > p ? b.lastIndexOf(10, end - 1) : -1;
    const capacity = out.layout.rowCapacity;
    const native = this.native;
    let lines = 0;
    let utf8End = p; // without native: b[p, utf8End) are whole lines of well-formed UTF-8 (utf8-gate.ts)
    // Every line before lastNl ends in '\n': the scanner relies on it to skip bounds checks.
    while (p <= lastNl && out.rowCount < capacity) {
      if (native !== null) {
        p = this.nativeBlock(native, b, p, lastNl + 1, firstLineNumber + lines, out);
        lines += this.nativeLines;
        if (this.nativeFull) break;
        // At the end of the complete lines, or rows full: the loop ends. STOP_LINE: the line at p is
        // the JS tiers' to decide.
        if (p > lastNl) continue;
        const stop = native.stopReason;
        if (stop === STOP_REJECT) {
          // A rule broken, decided natively with RowFilter.check's verdict: the same dead letter the
          // exact path below would write, without running that slower path.
          const nl = native.rejectNewline;
          const contentEnd = nl > p && b[nl - 1] === 13 ? nl - 1 : nl;
          p = this.reject(onReject, firstLineNumber + lines, native.rejectReason, b, p, contentEnd, nl);
          lines++;
          continue;
        }
        if (stop !== STOP_LINE) continue;
      } else if (p >= utf8End) {
        utf8End = this.utf8.wellFormedUntil(b, p, lastNl + 1, (capacity - out.rowCount) * 256);
      }
      // Native checks the UTF-8 of the lines it sees (a declined one: illFormed), the gate the others.
      if (native !== null ? native.illFormed : utf8End === p) {
        p = this.rejectIllFormed(onReject, firstLineNumber + lines, b, p, b.indexOf(10, p));
        lines++;
        continue;
      }
      // A line native declined is never one the compiled tier accepts (native covers every shape it
      // does): straight to the exact path, which saves the compiled tier's failed attempt.
      const next = this.line(b, p, firstLineNumber + lines, out, onReject, native === null);
      if (next === NO_ROOM) break;
      p = next;
      lines++;
    }
    if (p < end) {
      const next = this.tailLine(b, p, lastNl, end, firstLineNumber + lines, out, onReject, final);
      if (next !== p) lines++;
      p = next;
    }
    this.rows.setAlwaysValid(rowsBefore, out.rowCount);
    res.endOffset = p;
    res.linesConsumed = lines;
    res.rowsWritten = out.rowCount - rowsBefore;
    return res;
  }

  /**
   * One native call from p over the complete lines before `end`, then the part of each accepted row
   * native leaves to JS: `__line`, `__late` and `__raw` (RowFinisher, hashes done by native). Returns where the JS tiers continue; nativeLines / nativeFull say what happened.
   */
  private nativeBlock(native: NativeBlockDecoder, b: Uint8Array, p: number, end: number, firstLineNumber: number, out: BatchView): number {
    const row0 = out.rowCount;
    const rows = native.decode(b, p, end, out);
    const starts = native.lineStarts;
    const ends = native.lineEnds;
    const index = native.lineIndex;
    this.rows.finishRows(out, row0, rows, firstLineNumber, index);
    this.nativeLines = native.linesConsumed;
    this.result.linesBlank += native.linesBlank;
    this.nativeFull = out.rowCount >= out.layout.rowCapacity;
    return native.stopOffset;
  }

  /**
   * The unterminated tail chunk[p, end): rejected at once when already too long, decoded from a copy
   * with a '\n' appended when `final`, else left for the next call. Returns the new position.
   * (Kept out of decode() so the rarely taken branches do not deoptimize the hot loop.)
   */
  private tailLine(b: Uint8Array, p: number, lastNl: number, end: number, lineNumber: number, out: BatchView, onReject: RejectHandler, final: boolean): number {
    if (p <= lastNl || out.rowCount >= out.layout.rowCapacity) return p; // stopped early: the batch is full
    const tailBytes = end - p;
    if (tailBytes > this.maxLineBytes + 1) {
      // Too long whatever follows: reject now instead of buffering a line without bound.
      this.result.linesRejected++;
      onReject(lineNumber, REASON_LINE_TOO_LONG, b, p, Math.min(end, p + this.maxLineBytes + 1));
      this.skippingLongLine = !final;
      return end;
    }
    if (!final) return p;
    const tail = (this.tail ??= new Uint8Array(this.maxLineBytes + 2));
    for (let k = 0; k < tailBytes; k++) tail[k] = b[p + k];
    tail[tailBytes] = 10;
    const illFormed = this.utf8.wellFormedUntil(tail, 0, tailBytes + 1, tailBytes + 1) === 0;
    if (illFormed) { this.rejectIllFormed(onReject, lineNumber, tail, 0, tailBytes); return end; }
    this.viewOf(tail);
    return this.line(tail, 0, lineNumber, out, onReject) === NO_ROOM ? p : end;
  }

  /**
   * Decodes the line at ls (a '\n' follows it); returns the start of the next line or NO_ROOM.
   * `tryCompiled`: try the compiled tier before the exact path.
   */
  private line(b: Uint8Array, ls: number, lineNumber: number, out: BatchView, onReject: RejectHandler, tryCompiled = true): number {
    const row = out.rowCount | 0;
    const p = skipWs(b, ls);
    if (b[p] === 10) {
      // Only JSON whitespace before '\n'.
      const contentEnd = p > ls && b[p - 1] === 13 ? p - 1 : p;
      if (contentEnd - ls > this.maxLineBytes) return this.reject(onReject, lineNumber, REASON_LINE_TOO_LONG, b, ls, contentEnd, p);
      this.result.linesBlank++;
      return p + 1;
    }
    const compiled = this.compiled;
    if (compiled !== null && tryCompiled) {
      const nl = compiled(b, this.view, p, out.columns, row);
      if (nl !== COMPILED_DECLINE) {
        const contentEnd = b[nl - 1] === 13 ? nl - 1 : nl;
        if (contentEnd - ls > this.maxLineBytes) return this.reject(onReject, lineNumber, REASON_LINE_TOO_LONG, b, ls, contentEnd, nl);
        this.rows.finish(out, row, lineNumber, true);
        return nl + 1;
      }
    }
    return this.generalLine(b, ls, p, lineNumber, out, row, onReject);
  }

  /** The exact path for every line the compiled tier declined: scanner (or JSON.parse fallback), then the filter. */
  private generalLine(b: Uint8Array, ls: number, p: number, lineNumber: number, out: BatchView, row: number, onReject: RejectHandler): number {
    const scratch = this.scratch;
    const presence = scratch.presence;
    // A loop, not fill(): a builtin call costs more than a handful of byte stores.
    for (let i = 0; i < presence.length; i++) presence[i] = 0;
    const scanned = this.scanner.scan(b, p, out, row, scratch);
    const nl = scanned >= 0 ? scanned : b.indexOf(10, p);
    const contentEnd = nl > ls && b[nl - 1] === 13 ? nl - 1 : nl;
    if (contentEnd - ls > this.maxLineBytes) return this.reject(onReject, lineNumber, REASON_LINE_TOO_LONG, b, ls, contentEnd, nl);
    if (scanned === SCAN_NO_ROOM) return this.noRoom(out);
    if (scanned < 0) {
      // Decide invalid JSON and non-objects on bytes; only valid objects the scanner declined need JSON.parse.
      const shape = validateLine(b, p);
      if (shape === LINE_INVALID_JSON) return this.reject(onReject, lineNumber, REASON_MALFORMED_JSON, b, ls, contentEnd, nl);
      if (shape === LINE_NOT_OBJECT) return this.reject(onReject, lineNumber, REASON_NOT_OBJECT, b, ls, contentEnd, nl);
      presence.fill(0);
      const fb = this.fallback.decodeLine(b, ls, contentEnd, out, row, scratch);
      if (fb === FB_MALFORMED) return this.reject(onReject, lineNumber, REASON_MALFORMED_JSON, b, ls, contentEnd, nl);
      if (fb === FB_NOT_OBJECT) return this.reject(onReject, lineNumber, REASON_NOT_OBJECT, b, ls, contentEnd, nl);
      if (fb === FB_NO_ROOM) return this.noRoom(out);
    }
    const verdict = this.filter.check(out, row, scratch);
    if (verdict === ROW_OK) {
      this.rows.finish(out, row, lineNumber, false);
      return nl + 1;
    }
    if (verdict === ROW_NO_ROOM) return this.noRoom(out);
    return this.reject(onReject, lineNumber, this.filter.reasons[verdict], b, ls, contentEnd, nl);
  }

  /** The line at ls (its '\n' at nl) is not well-formed UTF-8: `bad_utf8`, unless it is `line_too_long`. */
  private rejectIllFormed(onReject: RejectHandler, lineNumber: number, b: Uint8Array, ls: number, nl: number): number {
    const contentEnd = nl > ls && b[nl - 1] === 13 ? nl - 1 : nl;
    const reason = contentEnd - ls > this.maxLineBytes ? REASON_LINE_TOO_LONG : REASON_BAD_UTF8;
    return this.reject(onReject, lineNumber, reason, b, ls, contentEnd, nl);
  }

  private reject(onReject: RejectHandler, lineNumber: number, reason: string, b: Uint8Array, ls: number, le: number, nl: number): number {
    this.result.linesRejected++;
    onReject(lineNumber, reason, b, ls, le);
    return nl + 1;
  }

  private noRoom(out: BatchView): number {
    if (out.rowCount === 0) {
      throw new KernelError(
        'decode: one row does not fit into an empty batch; raise the string field\'s maxBytes-derived room (avgBytes) or batchRows',
      );
    }
    return NO_ROOM;
  }

  /**
   * Views of a new chunk, made once per chunk (not per line): a DataView for the compiled tier's
   * four-byte reads, and the bytes as a plain Uint8Array. Chunks come as Buffers (files, sockets) or
   * plain Uint8Arrays (tails, decode slots); handing the tiers one class keeps their byte reads
   * monomorphic instead of deoptimizing when the other one first shows up.
   */
  private viewOf(chunk: Uint8Array): void {
    this.chunk = chunk;
    this.bytes = Object.getPrototypeOf(chunk) === Uint8Array.prototype ? chunk : new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    this.view = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  }

  private checkLayout(layout: BatchLayout): void {
    const want = this.schema.columns;
    const got = layout.schema.columns;
    // The decoder's columns come first; only the `__source` column ingest fills may follow them.
    const same = want.length <= got.length && got.slice(want.length).every((c) => c.name === SOURCE_COLUMN)
      && want.every((c, i) => c.name === got[i].name && c.type === got[i].type && !!c.hashed === !!got[i].hashed);
    if (!same) throw new KernelError('decode: the output batch layout does not match inputSchemaToBatchSchema(cfg)');
    this.checkedLayout = layout;
    this.native = this.cfg.decoder === 'auto' ? NativeBlockDecoder.create(this.cfg, layout) : null;
    this.native?.setHashKeys(this.nativeKeyHashes);
  }
}

/** A decoder for one source (it keeps one bit of state across calls: skipping the rest of an over-long line). */
export function createNdjsonDecoder(cfg: InputConfig): NdjsonDecoder {
  return new Decoder(cfg);
}
