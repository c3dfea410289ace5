/**
 * JSON number grammar and value parsing straight from bytes, without creating a string.
 *
 * The value equals JSON.parse's by construction: with all digits read as an integer mantissa m and a
 * decimal exponent e (exponent minus fraction digits), if m <= 2^53 - 1 and |e| <= 22 both m and 10^|e|
 * are exact doubles, so one IEEE multiply or divide rounds the exact decimal value correctly (Clinger's
 * fast path) — the same correctly rounded double JSON.parse returns. Otherwise (more than ~15-16
 * significant digits, large exponents) the span is handed to Number(), whose grammar agrees with JSON's
 * on every span this parser accepts: one small string on a rare path.
 */

const POW10 = new Float64Array(23);
for (let i = 0, v = 1; i < 23; i++, v *= 10) POW10[i] = v;

const isDigit = (c: number): boolean => c >= 48 && c <= 57;

/**
 * Parses a JSON number starting at p; returns the index after it, or -1 if the bytes are not a valid
 * JSON number (leading zeros, missing digits, ...). The value goes to out[at]: a typed-array slot,
 * because returning or storing a double in an object field makes V8 box it (a heap number per call,
 * measured as GC time).
 */
export function parseNumber(b: Uint8Array, p: number, out: Float64Array, at: number): number {
  const start = p;
  let neg = false;
  let c = b[p];
  if (c === 45) { neg = true; c = b[++p]; }
  let m = 0;
  if (c === 48) {
    c = b[++p];
    if (isDigit(c)) return -1;
  } else if (c >= 49 && c <= 57) {
    do { m = m * 10 + (c - 48); c = b[++p]; } while (c >= 48 && c <= 57);
  } else {
    return -1;
  }
  let scale = 0;
  if (c === 46) {
    c = b[++p];
    if (!isDigit(c)) return -1;
    do { m = m * 10 + (c - 48); scale++; c = b[++p]; } while (c >= 48 && c <= 57);
  }
  let exp = 0;
  if (c === 101 || c === 69) {
    c = b[++p];
    let expNeg = false;
    if (c === 43 || c === 45) { expNeg = c === 45; c = b[++p]; }
    if (!isDigit(c)) return -1;
    do { if (exp < 1e6) exp = exp * 10 + (c - 48); c = b[++p]; } while (c >= 48 && c <= 57);
    if (expNeg) exp = -exp;
  }
  const e10 = exp - scale;
  let v: number;
  if (m === 0) v = 0;
  else if (m <= 9007199254740991 && e10 >= -22 && e10 <= 22) v = e10 >= 0 ? m * POW10[e10] : m / POW10[-e10];
  else v = Number(asciiString(b, start + (neg ? 1 : 0), p));
  out[at] = neg ? -v : v;
  return p;
}

/**
 * parseNumber with an integer fast path in front: [-]?[1-9][0-9]{0,14} or [-]?0, followed by a byte
 * that is not '.', 'e', 'E' or a digit. At most 15 digits < 2^53, so every step is exact integer
 * arithmetic and the value is the double JSON.parse gives (-0 included). Anything else — fractions,
 * exponents, 16+ digits, leading zeros, invalid — is parseNumber's. Timestamps take the fast path.
 */
export function parseNumberFast(b: Uint8Array, p: number, out: Float64Array, at: number): number {
  let q = p;
  let c = b[q];
  const neg = c === 45;
  if (neg) c = b[++q];
  let v = 0;
  if (c >= 49 && c <= 57) {
    // Up to 9 digits in an int32, then up to 6 more in a double (both exact).
    let hi = c - 48;
    const stop9 = q + 9;
    c = b[++q];
    while (c >= 48 && c <= 57 && q < stop9) { hi = hi * 10 + (c - 48); c = b[++q]; }
    v = hi;
    const stop15 = q + 6;
    while (c >= 48 && c <= 57 && q < stop15) { v = v * 10 + (c - 48); c = b[++q]; }
  } else if (c === 48) {
    c = b[++q];
  } else {
    return -1;
  }
  if (c === 46 || c === 101 || c === 69 || (c >= 48 && c <= 57)) return parseNumber(b, p, out, at);
  out[at] = neg ? -v : v;
  return q;
}

/** Validates a JSON number starting at p without computing it; returns the index after it or -1. */
export function skipNumber(b: Uint8Array, p: number): number {
  let c = b[p];
  if (c === 45) c = b[++p];
  if (c === 48) {
    c = b[++p];
    if (isDigit(c)) return -1;
  } else if (c >= 49 && c <= 57) {
    do c = b[++p]; while (c >= 48 && c <= 57);
  } else {
    return -1;
  }
  if (c === 46) {
    c = b[++p];
    if (!isDigit(c)) return -1;
    do c = b[++p]; while (c >= 48 && c <= 57);
  }
  if (c === 101 || c === 69) {
    c = b[++p];
    if (c === 43 || c === 45) c = b[++p];
    if (!isDigit(c)) return -1;
    do c = b[++p]; while (c >= 48 && c <= 57);
  }
  return p;
}

function asciiString(b: Uint8Array, start: number, end: number): string {
  let s = '';
  for (let i = start; i < end; i++) s += String.fromCharCode(b[i]);
  return s;
}
