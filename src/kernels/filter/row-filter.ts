/**
 * Filter kernel: the declared per-field rules of the input config, applied to one decoded row.
 *
 * The decoder (byte scanner or its JSON.parse fallback) records per declared field what it found in a
 * RowScratch (absent / null / present / wrong JSON type) plus the parsed number, and writes string bytes
 * straight into the row's string columns. `check` then, for each field in declaration order, applies
 * the rules in this order and returns the first failure:
 *
 *   missing -> bad_type -> not_integer -> out_of_range -> bad_enum -> too_short -> too_long -> bad_pattern
 *
 * A field that is absent or null gets its default (written into the column, not re-checked: config
 * validation already ran the rules on it) or stays null (validity bit clear). This is the one place
 * where these rules live; the decoder only calls it.
 */
import type { BatchView, ColumnView } from '../../runtime/batch.js';
import type { BatchLayout } from '../../runtime/schema.js';
import { compileBytePattern, type BytePattern } from './pattern.js';
import type { FieldConfig, InputConfig } from '../input/config.js';

/** What the decoder found for a field in the current row (RowScratch.presence). */
export const ABSENT = 0;
export const NULL = 1;
export const PRESENT = 2;
export const WRONG_TYPE = 3;
/**
 * A string longer than any valid value of the field (maxBytes, or the longest match of a bounded
 * pattern): its bytes are not stored, its UTF-8 length is in RowScratch.numbers. This keeps a huge
 * invalid value from needing batch room.
 */
export const UNSTORED_LONG = 4;

/** Rule slots per field; reason id = fieldIndex * RULES + rule. */
const R_MISSING = 0, R_BAD_TYPE = 1, R_NOT_INTEGER = 2, R_OUT_OF_RANGE = 3, R_BAD_ENUM = 4, R_TOO_SHORT = 5, R_TOO_LONG = 6, R_BAD_PATTERN = 7;
const RULES = 8;
const RULE_NAMES = ['missing', 'bad_type', 'not_integer', 'out_of_range', 'bad_enum', 'too_short', 'too_long', 'bad_pattern'];

/** check(): the row passes. */
export const ROW_OK = -1;
/** check(): a default string did not fit into the batch's string bytes; publish the batch and retry the line. */
export const ROW_NO_ROOM = -2;

/** Field kinds as small ints so the per-row switch stays monomorphic. */
export const K_STRING = 0, K_INT32 = 1, K_INT64 = 2, K_FLOAT64 = 3, K_BOOL = 4, K_ENUM = 5;

/** Longest UTF-8 length a valid value of a string field can have (Infinity when unbounded). */
export function longestValidBytes(f: FieldConfig): number {
  const byPattern = f.pattern !== undefined ? (compileBytePattern(f.pattern)?.maxBytes ?? Infinity) : Infinity;
  return Math.min(f.maxBytes ?? Infinity, byPattern);
}

export function fieldKind(type: FieldConfig['type']): number {
  switch (type) {
    case 'string': return K_STRING;
    case 'int32': return K_INT32;
    case 'int64': case 'timestamp_ms': return K_INT64;
    case 'float64': return K_FLOAT64;
    case 'bool': return K_BOOL;
    default: return K_ENUM;
  }
}

/** Per-row scratch shared by decoder and filter, allocated once per decoder. */
export class RowScratch {
  /** presence[f] = ABSENT | NULL | PRESENT | WRONG_TYPE | UNSTORED_LONG. */
  readonly presence: Uint8Array;
  /** numbers[f]: the JSON number (numeric kinds), 0/1 (bool), the enum index (-1 when not in `values`) or an unstored string's length. */
  readonly numbers: Float64Array;
  constructor(fieldCount: number) {
    this.presence = new Uint8Array(fieldCount);
    this.numbers = new Float64Array(fieldCount);
  }
}

/** One declared field's rules, compiled once (shared by RowFilter and the decoder's compiled tier). */
export interface RuleField {
  column: number;
  kind: number;
  required: boolean;
  hasDefault: boolean;
  defaultNumber: number;
  defaultBytes: Uint8Array;
  integer: boolean;
  lo: number;
  loExclusive: boolean;
  hi: number;
  hiExclusive: boolean;
  minBytes: number;
  maxBytes: number;
  bytePattern: BytePattern | null;
  regex: RegExp | null;
}

const INT32_MIN = -2147483648, INT32_MAX = 2147483647;
const utf8 = new TextEncoder();
// ignoreBOM: a value's leading U+FEFF is a character the pattern must see, as JSON.parse keeps it.
const utf8Decoder = new TextDecoder('utf-8', { ignoreBOM: true });

export function compileField(f: FieldConfig, column: number): RuleField {
  const kind = fieldKind(f.type);
  let lo = -Infinity, hi = Infinity, loExclusive = false, hiExclusive = false;
  if (f.min !== undefined) lo = f.min;
  if (f.exclusiveMin !== undefined) { lo = f.exclusiveMin; loExclusive = true; }
  if (f.max !== undefined) hi = f.max;
  if (f.exclusiveMax !== undefined) { hi = f.exclusiveMax; hiExclusive = true; }
  const typeLo = kind === K_INT32 ? INT32_MIN : kind === K_INT64 ? -Number.MAX_SAFE_INTEGER : -Infinity;
  const typeHi = kind === K_INT32 ? INT32_MAX : kind === K_INT64 ? Number.MAX_SAFE_INTEGER : Infinity;
  if (typeLo > lo || (typeLo === lo && !loExclusive)) { lo = typeLo; loExclusive = false; }
  if (typeHi < hi || (typeHi === hi && !hiExclusive)) { hi = typeHi; hiExclusive = false; }
  const d = f.default;
  let defaultNumber = 0;
  let defaultBytes = new Uint8Array(0);
  if (d !== undefined) {
    if (kind === K_ENUM) defaultNumber = f.values!.indexOf(d as string);
    else if (kind === K_BOOL) defaultNumber = d === true ? 1 : 0;
    else if (kind === K_STRING) defaultBytes = utf8.encode(d as string);
    else defaultNumber = d as number;
  }
  const bytePattern = f.pattern !== undefined ? compileBytePattern(f.pattern) : null;
  return {
    column, kind, required: f.required, hasDefault: d !== undefined, defaultNumber, defaultBytes,
    integer: f.integer || kind === K_INT32 || kind === K_INT64,
    lo, loExclusive, hi, hiExclusive,
    minBytes: f.minBytes ?? 0,
    maxBytes: f.maxBytes ?? Infinity,
    bytePattern,
    regex: f.pattern !== undefined && bytePattern === null ? new RegExp(f.pattern) : null,
  };
}

/** The dead-letter reason of every verdict id (fieldIndex * 8 + rule), e.g. `bad_type:ts`: for RowFilter and the native decoder's rejects. */
export function reasonCodes(cfg: InputConfig): string[] {
  return Object.keys(cfg.fields).flatMap((n) => RULE_NAMES.map((r) => `${r}:${n}`));
}

export class RowFilter {
  /** reasons[id] = the dead-letter reason code, e.g. `bad_type:ts`; id = fieldIndex * 8 + rule. */
  readonly reasons: readonly string[];
  private readonly fields: readonly RuleField[];

  /** `layout` must come from inputSchemaToBatchSchema(cfg) (declared fields first, in order). */
  constructor(cfg: InputConfig, layout: BatchLayout) {
    const names = Object.keys(cfg.fields);
    this.fields = names.map((n) => compileField(cfg.fields[n], layout.byName.get(n)!.index));
    this.reasons = reasonCodes(cfg);
  }

  /**
   * Applies the rules to row `row` of `out` given what the decoder recorded in `scratch`; writes
   * numeric/enum/bool values, defaults and validity bits. Returns ROW_OK, ROW_NO_ROOM or a reason id.
   */
  check(out: BatchView, row: number, scratch: RowScratch): number {
    const fields = this.fields;
    const presence = scratch.presence;
    const numbers = scratch.numbers;
    const cols = out.columns;
    const byte = row >> 3;
    const bit = 1 << (row & 7);
    // One flat loop with the scalar rules inline: a helper taking the double would box it per call.
    for (let i = 0; i < fields.length; i++) {
      const f = fields[i];
      const col = cols[f.column];
      const state = presence[i];
      if (state === PRESENT) {
        const kind = f.kind;
        if (kind === K_STRING) {
          const r = checkString(f, col, row);
          if (r >= 0) return i * RULES + r;
        } else {
          const v = numbers[i];
          if (kind === K_ENUM) {
            if (v < 0) return i * RULES + R_BAD_ENUM;
            (col.values as Uint16Array)[row] = v;
          } else if (kind === K_BOOL) {
            (col.values as Uint8Array)[row] = v;
          } else {
            // v - floor(v) is NaN for ±Infinity and non-zero for fractions: exactly !Number.isInteger(v).
            if (f.integer && v - Math.floor(v) !== 0) return i * RULES + R_NOT_INTEGER;
            if (v - v !== 0) return i * RULES + R_OUT_OF_RANGE; // not finite
            if (f.loExclusive ? !(v > f.lo) : !(v >= f.lo)) return i * RULES + R_OUT_OF_RANGE;
            if (f.hiExclusive ? !(v < f.hi) : !(v <= f.hi)) return i * RULES + R_OUT_OF_RANGE;
            if (kind === K_INT32) (col.values as Int32Array)[row] = v;
            else (col.values as Float64Array)[row] = v;
          }
        }
        col.validity[byte] |= bit;
      } else if (state === WRONG_TYPE) {
        return i * RULES + R_BAD_TYPE;
      } else if (state === UNSTORED_LONG) {
        const len = numbers[i];
        return i * RULES + (len < f.minBytes ? R_TOO_SHORT : len > f.maxBytes ? R_TOO_LONG : R_BAD_PATTERN);
      } else if (f.required) {
        return i * RULES + R_MISSING;
      } else if (f.hasDefault) {
        if (!writeDefault(f, col, row)) return ROW_NO_ROOM;
        col.validity[byte] |= bit;
      } else {
        if (col.offsets) col.offsets[row + 1] = col.offsets[row];
        col.validity[byte] &= ~bit;
      }
    }
    return ROW_OK;
  }
}

function checkString(f: RuleField, col: ColumnView, row: number): number {
  const offsets = col.offsets!;
  const start = offsets[row];
  const end = offsets[row + 1];
  const len = end - start;
  if (len < f.minBytes) return R_TOO_SHORT;
  if (len > f.maxBytes) return R_TOO_LONG;
  return patternMatches(f, col.values as Uint8Array, start, end) ? -1 : R_BAD_PATTERN;
}

/** The field's pattern (if any) matches the UTF-8 bytes[start, end). */
export function patternMatches(f: RuleField, bytes: Uint8Array, start: number, end: number): boolean {
  if (f.bytePattern !== null) return f.bytePattern.test(bytes, start, end);
  if (f.regex === null) return true;
  // Rare path (pattern outside the byte matcher's shape): one string per checked row.
  f.regex.lastIndex = 0;
  return f.regex.test(utf8Decoder.decode(bytes.subarray(start, end)));
}

function writeDefault(f: RuleField, col: ColumnView, row: number): boolean {
  if (f.kind !== K_STRING) {
    col.values[row] = f.defaultNumber;
    return true;
  }
  const offsets = col.offsets!;
  const at = offsets[row];
  const src = f.defaultBytes;
  const bytes = col.values as Uint8Array;
  if (at + src.length > bytes.length) return false;
  for (let k = 0; k < src.length; k++) bytes[at + k] = src[k];
  offsets[row + 1] = at + src.length;
  return true;
}
