/**
 * JSON values written as bytes into a caller-owned Uint8Array, without creating strings: the building
 * blocks of the processed-event serializer (event-serializer.ts). Every writer takes (dst, at) and
 * returns the index after the last byte written; the caller has made room (the *_MAX_BYTES bounds).
 *
 * Strings: the input is well-formed UTF-8 (the decoder guarantees it, decode/string.ts), so
 * bytes >= 0x20 other than '"' and '\' are copied as they are; the output equals JSON.stringify's
 * (\b \t \n \f \r short forms, other control bytes as \u00xx) so sinks and tests see one spelling.
 *
 * Numbers, fastest first:
 *   integral, |v| <= 2^53        digits by integer arithmetic (epoch ms, counts)
 *   up to 6 decimals, |v| < 2^53 / 1e6 (about 9e9)
 *                                m = round(|v| * 1e6) written as fixed point, trailing zeros cut, taken
 *                                only when m / 1e6 === |v|: m and 1e6 are exact doubles and IEEE division
 *                                rounds correctly, so that is exactly "JSON.parse(text) === v" without
 *                                making the text (prices, amounts)
 *   anything else                String(v), one short string (rare: 0.1 + 0.2, 1e-7, 1e300)
 * -0 is written "-0" so JSON.parse gives back the stored value bit for bit (JSON.stringify writes 0);
 * NaN and +-Infinity, which JSON cannot hold and the decoder never stores, are written as null.
 */

/** Upper bound of the bytes writeNumber writes: sign + String(v) of the longest double (23 chars). */
export const NUMBER_MAX_BYTES = 25;
/** Upper bound of writeJsonString's output for `n` input bytes: every byte as \u00xx, plus quotes. */
export const jsonStringMaxBytes = (n: number): number => 6 * n + 2;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const ZERO = 0x30;
const HEX = new Uint8Array([48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 97, 98, 99, 100, 101, 102]);
/** Escape letter of the control bytes JSON.stringify writes in short form (\b \t \n \f \r), else 0. */
const SHORT_ESCAPE = new Uint8Array(32);
SHORT_ESCAPE[0x08] = 0x62;
SHORT_ESCAPE[0x09] = 0x74;
SHORT_ESCAPE[0x0a] = 0x6e;
SHORT_ESCAPE[0x0c] = 0x66;
SHORT_ESCAPE[0x0d] = 0x72;

const TWO_POW_31 = 2147483648;
const TWO_POW_53 = 9007199254740992;
const FIXED_SCALE = 1e6;
const FIXED_LIMIT = TWO_POW_53 / FIXED_SCALE;

/** `"` + src[start, end) escaped + `"`. */
export function writeJsonString(src: Uint8Array, start: number, end: number, dst: Uint8Array, at: number): number {
  dst[at++] = QUOTE;
  for (let i = start; i < end; i++) {
    const b = src[i];
    if (b >= 0x20 && b !== QUOTE && b !== BACKSLASH) {
      dst[at++] = b;
      continue;
    }
    dst[at++] = BACKSLASH;
    if (b >= 0x20) {
      dst[at++] = b;
    } else if (SHORT_ESCAPE[b] !== 0) {
      dst[at++] = SHORT_ESCAPE[b];
    } else {
      dst[at++] = 0x75; // u
      dst[at++] = ZERO;
      dst[at++] = ZERO;
      dst[at++] = HEX[b >> 4];
      dst[at++] = HEX[b & 15];
    }
  }
  dst[at++] = QUOTE;
  return at;
}

/** src[start, end) as is (pre-encoded literals, field names). */
export function copyBytes(src: Uint8Array, start: number, end: number, dst: Uint8Array, at: number): number {
  // A byte loop, not set(subarray()): these runs are short and subarray() allocates a view.
  for (let i = start; i < end; i++) dst[at++] = src[i];
  return at;
}

/** Decimal digits of an integer 0 <= n < 2^31, exactly `width` of them (zero-padded on the left). */
function writeDigits(n: number, width: number, dst: Uint8Array, at: number): number {
  // One digit per step measured faster here than two per step from a "00".."99" table.
  for (let i = at + width - 1; i >= at; i--) {
    const q = (n / 10) | 0;
    dst[i] = ZERO + (n - q * 10);
    n = q;
  }
  return at + width;
}

function digitCount(n: number): number {
  // A loop, not a comparison tree: digit counts vary row to row and the tree's branches mispredict.
  let width = 1;
  while (n >= 10) {
    n = (n / 10) | 0;
    width++;
  }
  return width;
}

/** An integer 0 <= n <= 2^53. */
export function writeUint(n: number, dst: Uint8Array, at: number): number {
  if (n < TWO_POW_31) return writeDigits(n, digitCount(n), dst, at);
  // Two int32-sized halves; hi * 1e8 is exact (< 2^53), and the check repairs a quotient rounded up.
  let hi = Math.floor(n / 1e8);
  let lo = (n - hi * 1e8) | 0;
  if (lo < 0) {
    hi--;
    lo += 1e8;
  }
  at = writeDigits(hi, digitCount(hi), dst, at);
  return writeDigits(lo, 8, dst, at);
}

export function writeInt32(v: number, dst: Uint8Array, at: number): number {
  if (v < 0) {
    dst[at++] = 0x2d;
    return writeUint(-v, dst, at);
  }
  return writeUint(v, dst, at);
}

/** m / 1e6 in fixed point, m a positive integer < 2^53 that is not a multiple of 1e6. */
function writeFixed6(m: number, dst: Uint8Array, at: number): number {
  let ip = Math.floor(m / FIXED_SCALE);
  let fr = (m - ip * FIXED_SCALE) | 0;
  if (fr < 0) {
    ip--;
    fr += FIXED_SCALE;
  }
  at = writeUint(ip, dst, at);
  dst[at++] = 0x2e;
  at = writeDigits(fr, 6, dst, at);
  // fr > 0, so a non-zero digit stops this before the '.'.
  while (dst[at - 1] === ZERO) at--;
  return at;
}

function writeAscii(s: string, dst: Uint8Array, at: number): number {
  for (let i = 0; i < s.length; i++) dst[at++] = s.charCodeAt(i);
  return at;
}

/** A JSON number that JSON.parse reads back as exactly `v` (see the header for the paths). */
export function writeNumber(v: number, dst: Uint8Array, at: number): number {
  if (v === 0) {
    if (1 / v < 0) dst[at++] = 0x2d;
    dst[at++] = ZERO;
    return at;
  }
  if (v !== v || v === Infinity || v === -Infinity) return writeAscii('null', dst, at);
  let a = v;
  if (a < 0) {
    dst[at++] = 0x2d;
    a = -a;
  }
  if (a <= TWO_POW_53 && Math.floor(a) === a) return writeUint(a, dst, at);
  if (a < FIXED_LIMIT) {
    const m = Math.round(a * FIXED_SCALE);
    if (m / FIXED_SCALE === a) return writeFixed6(m, dst, at);
  }
  return writeAscii(String(a), dst, at);
}

const encoder = new TextEncoder();

/** UTF-8 bytes of JSON.stringify(value): cold path, for literals encoded once (names, enum values). */
export function jsonLiteralBytes(value: string): Uint8Array {
  return encoder.encode(JSON.stringify(value));
}
