/**
 * Line classification for the reference implementation of the canonical clickstream pipeline
 * (issue 4, ARCHITECTURE.md "Deterministic semantics"). Written to be obviously correct, not fast:
 * JSON.parse per line, then one check per rule, fields in the declared order. It imports nothing
 * from ringflow so that it can judge ringflow's kernels.
 *
 * Choices the contract leaves open, fixed here (ringflow must match them):
 * - A line is the bytes between two '\n'. One trailing '\r' is stripped, and the remainder is "the
 *   line": its length in bytes decides `line_too_long` (> 1 MiB = 1,048,576 bytes) and it is what
 *   `raw` holds. `line_too_long` is decided first, before the whitespace test, because a streaming
 *   scanner that stops buffering at 1 MiB cannot know whether the rest is whitespace.
 * - Then a line whose bytes are not well-formed UTF-8 is `bad_utf8` (well-formed as node:buffer
 *   isUtf8 and Rust std::str::from_utf8 define it: overlong forms, surrogates encoded in UTF-8, code
 *   points above U+10FFFF, stray continuation bytes and truncated sequences are all ill-formed),
 *   before the whitespace test and JSON.parse, so a line that is also malformed JSON is `bad_utf8`.
 *   Its `raw` is its bytes cut as cutRawBytes says, then decoded with U+FFFD for each ill-formed
 *   sequence. Only the byte entry points (classifyLineBytes, CanonicalReference.pushLineBytes, the
 *   file and byte runners) see this; text (classifyLine, pushLine) is well-formed by construction.
 * - A well-formed line is decoded as UTF-8 (a BOM is kept) and the rules below apply to that text.
 * - Whitespace means JSON whitespace: ' ', '\t', '\r' ('\n' cannot occur inside a line). An empty line
 *   is whitespace-only. Any other character (a BOM, U+00A0) makes JSON.parse fail: `malformed_json`.
 * - `null` counts as absent for every field: a required field that is null is `missing:<field>`;
 *   optional `amount` null is 0 and `country` null is "ZZ".
 * - Fields are checked in the order event_id, ts, user_id, type, amount, country and the first failure
 *   is the reason. Within a field: presence, type, integer, range/length/enum/pattern.
 * - Lengths are UTF-8 bytes of the decoded string value (after JSON escapes), so "\u0065" is 1 byte.
 *   A lone surrogate (only reachable through a "\ud800" escape) counts as 3 bytes, like U+FFFD.
 * - `ts` must be a number with Number.isInteger (so 1.7e12 and 1700000000000.0 are valid, 1e400 is
 *   `not_integer:ts`); then 946684800000 <= ts < 4102444800000 else `out_of_range:ts`.
 * - `amount`: a non-number is `bad_type:amount`; a number that is negative or not finite (1e400
 *   parses to Infinity) is `out_of_range:amount`; -0 becomes 0.
 * - Duplicate keys inside one object: the last one wins (JSON.parse behaviour).
 * - Only own properties are read (Object.hasOwn), so "__proto__" and "constructor" keys, which
 *   JSON.parse stores as plain own data properties, are ignored like any other extra field.
 */
import { isUtf8 } from 'node:buffer';

export const MAX_LINE_BYTES = 1024 * 1024;
export const MAX_RAW_BYTES = 4096;
/** 2000-01-01T00:00:00Z, inclusive. */
export const TS_MIN_MS = 946684800000;
/** 2100-01-01T00:00:00Z, exclusive. */
export const TS_END_MS = 4102444800000;
export const MAX_ID_BYTES = 64;
export const EVENT_TYPES = ['view', 'click', 'add_to_cart', 'purchase'] as const;
export type EventType = (typeof EVENT_TYPES)[number];
export const DEFAULT_COUNTRY = 'ZZ';
const COUNTRY_PATTERN = /^[A-Z]{2}$/;
const WHITESPACE_ONLY = /^[ \t\r]*$/;

export interface CanonicalEvent {
  eventId: string;
  ts: number;
  userId: string;
  type: EventType;
  amount: number;
  country: string;
}

export type LineVerdict =
  | { kind: 'skip' }
  | { kind: 'invalid'; reason: string }
  | { kind: 'valid'; event: CanonicalEvent };

export function utf8ByteLength(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

/** Removes the one trailing '\r' of a CRLF line ending; the result is "the line" of the contract. */
export function stripTrailingCr(physicalLine: string): string {
  return physicalLine.endsWith('\r') ? physicalLine.slice(0, -1) : physicalLine;
}

/**
 * The dead letter's `raw`: the line cut to at most 4096 UTF-8 bytes. The cut moves back to the start
 * of the character it would split, so `raw` is always valid UTF-8 and may be up to 3 bytes shorter.
 */
export function cutRaw(line: string): string {
  // A UTF-16 code unit is at most 3 UTF-8 bytes, so short strings skip the byte count.
  if (line.length * 3 <= MAX_RAW_BYTES || utf8ByteLength(line) <= MAX_RAW_BYTES) return line;
  return cutRawBytes(Buffer.from(line, 'utf8'));
}

/**
 * `raw` of a line given as bytes: at most the first 4096, the cut moved back over continuation bytes
 * (0b10xxxxxx: the character started earlier), then decoded as UTF-8 with U+FFFD for each ill-formed
 * sequence (the WHATWG decoder's replacement, which Buffer's and TextDecoder's share).
 */
export function cutRawBytes(line: Uint8Array): string {
  const bytes = Buffer.from(line.buffer, line.byteOffset, line.byteLength);
  if (bytes.length <= MAX_RAW_BYTES) return bytes.toString('utf8');
  let end = MAX_RAW_BYTES;
  while (end > 0 && (bytes[end] & 0xc0) === 0x80) end--;
  return bytes.toString('utf8', 0, end);
}

/** The value of an own property; absent and null both read as undefined. */
function own(obj: Record<string, unknown>, name: string): unknown {
  if (!Object.hasOwn(obj, name)) return undefined;
  const value = obj[name];
  return value === null ? undefined : value;
}

// Each rule takes the field's value (undefined = absent or null) and returns the reject reason, or
// undefined when the value passes.

function idReason(value: unknown, name: string): string | undefined {
  if (value === undefined) return `missing:${name}`;
  if (typeof value !== 'string') return `bad_type:${name}`;
  if (value.length === 0) return `too_short:${name}`;
  // A UTF-16 code unit is at most 3 UTF-8 bytes: short strings skip the byte count.
  if (value.length * 3 > MAX_ID_BYTES && utf8ByteLength(value) > MAX_ID_BYTES) return `too_long:${name}`;
  return undefined;
}

function tsReason(value: unknown): string | undefined {
  if (value === undefined) return 'missing:ts';
  if (typeof value !== 'number') return 'bad_type:ts';
  if (!Number.isInteger(value)) return 'not_integer:ts';
  if (value < TS_MIN_MS || value >= TS_END_MS) return 'out_of_range:ts';
  return undefined;
}

function typeReason(value: unknown): string | undefined {
  if (value === undefined) return 'missing:type';
  if (typeof value !== 'string') return 'bad_type:type';
  if (!(EVENT_TYPES as readonly string[]).includes(value)) return 'bad_enum:type';
  return undefined;
}

function amountReason(value: unknown): string | undefined {
  if (value === undefined) return undefined; // absent or null: 0
  if (typeof value !== 'number') return 'bad_type:amount';
  if (!Number.isFinite(value) || value < 0) return 'out_of_range:amount';
  return undefined;
}

function countryReason(value: unknown): string | undefined {
  if (value === undefined) return undefined; // absent or null: "ZZ"
  if (typeof value !== 'string') return 'bad_type:country';
  if (!COUNTRY_PATTERN.test(value)) return 'bad_pattern:country';
  return undefined;
}

/** Validates a parsed JSON object against the canonical schema; the first failing field wins. */
export function validateEventObject(obj: object): LineVerdict {
  const o = obj as Record<string, unknown>;
  const eventId = own(o, 'event_id');
  const ts = own(o, 'ts');
  const userId = own(o, 'user_id');
  const type = own(o, 'type');
  const amount = own(o, 'amount');
  const country = own(o, 'country');
  const reason =
    idReason(eventId, 'event_id') ??
    tsReason(ts) ??
    idReason(userId, 'user_id') ??
    typeReason(type) ??
    amountReason(amount) ??
    countryReason(country);
  if (reason !== undefined) return { kind: 'invalid', reason };
  return {
    kind: 'valid',
    event: {
      eventId: eventId as string,
      ts: ts as number,
      userId: userId as string,
      type: type as EventType,
      amount: ((amount as number | undefined) ?? 0) + 0, // -0 + 0 === +0
      country: (country as string | undefined) ?? DEFAULT_COUNTRY,
    },
  };
}

/** Removes the one trailing '\r' (byte 13) of a CRLF line ending from a line's bytes. */
export function stripTrailingCrBytes(physicalLine: Uint8Array): Uint8Array {
  const n = physicalLine.length;
  return n > 0 && physicalLine[n - 1] === 13 ? physicalLine.subarray(0, n - 1) : physicalLine;
}

/**
 * Classifies one line given as bytes (already without '\r'): `line_too_long` by its byte length, then
 * `bad_utf8` when it is not well-formed UTF-8, else classifyLine of its UTF-8 text.
 */
export function classifyLineBytes(line: Uint8Array): LineVerdict {
  if (line.length > MAX_LINE_BYTES) return { kind: 'invalid', reason: 'line_too_long' };
  if (!isUtf8(line)) return { kind: 'invalid', reason: 'bad_utf8' };
  return classifyLine(Buffer.from(line.buffer, line.byteOffset, line.byteLength).toString('utf8'));
}

/** Classifies one line (already without '\r'): skipped, invalid with its reason, or a valid event. */
export function classifyLine(line: string): LineVerdict {
  if (line.length * 3 > MAX_LINE_BYTES && utf8ByteLength(line) > MAX_LINE_BYTES) {
    return { kind: 'invalid', reason: 'line_too_long' };
  }
  if (WHITESPACE_ONLY.test(line)) return { kind: 'skip' };
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return { kind: 'invalid', reason: 'malformed_json' };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { kind: 'invalid', reason: 'not_object' };
  }
  return validateEventObject(value);
}
