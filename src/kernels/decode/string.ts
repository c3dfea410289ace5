/**
 * JSON strings from bytes: find the end and validate escapes, check UTF-8, decode escapes into UTF-8.
 *
 * Equality with the reference (UTF-8 bytes -> TextDecoder -> JSON.parse -> TextEncoder) by construction:
 * - a string of well-formed UTF-8 with no escapes round-trips to the same bytes, so it is copied as is;
 * - escapes decode to the code points JSON.parse produces, encoded as UTF-8, surrogate pairs joined;
 * - the two cases where the round trip changes bytes — ill-formed UTF-8 (TextDecoder substitutes
 *   U+FFFD) and a lone surrogate escape (TextEncoder substitutes U+FFFD) — are reported as
 *   STRING_FALLBACK and the line goes to the JSON.parse path, which produces exactly those U+FFFDs.
 */

/** Flags of the last scanned string (module state: no result object per call). */
export const scannedString = { escapes: false, nonAscii: false };

/** Returned by decodeEscapes when the line must take the exact fallback path. */
export const STRING_FALLBACK = -1;

const HEX = new Int8Array(256).fill(-1);
for (let i = 0; i < 10; i++) HEX[48 + i] = i;
for (let i = 0; i < 6; i++) { HEX[65 + i] = 10 + i; HEX[97 + i] = 10 + i; }

/** ESCAPE_OK[c] = 1 for the bytes that may follow a backslash: " \ / b f n r t u. */
const ESCAPE_OK = new Uint8Array(256);
for (const c of '"\\/bfnrtu') ESCAPE_OK[c.charCodeAt(0)] = 1;

/**
 * p = first byte after the opening quote. Returns the index of the closing quote, or -1 when the
 * string is not valid JSON (raw control byte, bad escape). Sets scannedString flags. A raw '\n' is a
 * control byte, so the scan never runs past the end of the line.
 */
export function scanString(b: Uint8Array, p: number): number {
  let escapes = false;
  let nonAscii = false;
  for (;;) {
    const c = b[p];
    if (c === 34) break;
    if (c === 92) {
      const e = b[p + 1];
      if (ESCAPE_OK[e] === 0) return -1;
      if (e === 117 && (HEX[b[p + 2]] | HEX[b[p + 3]] | HEX[b[p + 4]] | HEX[b[p + 5]]) < 0) return -1;
      escapes = true;
      p += e === 117 ? 6 : 2;
      continue;
    }
    if (c < 0x20) return -1;
    if (c >= 0x80) nonAscii = true;
    p++;
  }
  scannedString.escapes = escapes;
  scannedString.nonAscii = nonAscii;
  return p;
}

/** PLAIN[c] = 1 for bytes a string copies as is (no escape, no UTF-8 check): printable ASCII except '"' and '\\'. */
export const PLAIN = new Uint8Array(256);
for (let c = 0x20; c < 0x80; c++) PLAIN[c] = c === 34 || c === 92 ? 0 : 1;

/** True when bytes[start, end) is well-formed UTF-8 (no overlongs, no encoded surrogates, <= U+10FFFF). */
export function isWellFormedUtf8(b: Uint8Array, start: number, end: number): boolean {
  return firstIllFormedUtf8(b, start, end) === end;
}

/**
 * Index of the first byte of b[start, end) that starts an ill-formed UTF-8 sequence (an overlong, an
 * encoded surrogate, a code point > U+10FFFF, a stray continuation byte, a sequence cut by `end`), or
 * `end` when there is none: the well-formedness of node:buffer isUtf8 and Rust std::str::from_utf8.
 */
export function firstIllFormedUtf8(b: Uint8Array, start: number, end: number): number {
  let p = start;
  while (p < end) {
    const c = b[p];
    if (c < 0x80) { p++; continue; }
    if (c >= 0xc2 && c <= 0xdf) {
      if (p + 1 >= end || (b[p + 1] & 0xc0) !== 0x80) return p;
      p += 2;
    } else if (c >= 0xe0 && c <= 0xef) {
      if (p + 2 >= end) return p;
      const c1 = b[p + 1];
      const lo = c === 0xe0 ? 0xa0 : 0x80;
      const hi = c === 0xed ? 0x9f : 0xbf;
      if (c1 < lo || c1 > hi || (b[p + 2] & 0xc0) !== 0x80) return p;
      p += 3;
    } else if (c >= 0xf0 && c <= 0xf4) {
      if (p + 3 >= end) return p;
      const c1 = b[p + 1];
      const lo = c === 0xf0 ? 0x90 : 0x80;
      const hi = c === 0xf4 ? 0x8f : 0xbf;
      if (c1 < lo || c1 > hi || (b[p + 2] & 0xc0) !== 0x80 || (b[p + 3] & 0xc0) !== 0x80) return p;
      p += 4;
    } else {
      return p;
    }
  }
  return end;
}

const hex4 = (b: Uint8Array, p: number): number => (HEX[b[p]] << 12) | (HEX[b[p + 1]] << 8) | (HEX[b[p + 2]] << 4) | HEX[b[p + 3]];

/**
 * Decodes the escapes of the already validated string bytes b[start, end) into dst from `at`.
 * dst must have room for end - start bytes (a decoded string is never longer than its escaped form).
 * Returns the index after the last written byte, or STRING_FALLBACK on a lone surrogate.
 */
export function decodeEscapes(b: Uint8Array, start: number, end: number, dst: Uint8Array, at: number): number {
  let p = start;
  while (p < end) {
    const c = b[p];
    if (c !== 92) { dst[at++] = c; p++; continue; }
    const e = b[p + 1];
    if (e !== 117) {
      dst[at++] = e === 98 ? 8 : e === 102 ? 12 : e === 110 ? 10 : e === 114 ? 13 : e === 116 ? 9 : e;
      p += 2;
      continue;
    }
    let cp = hex4(b, p + 2);
    p += 6;
    if (cp >= 0xd800 && cp <= 0xdfff) {
      if (cp >= 0xdc00 || p + 6 > end || b[p] !== 92 || b[p + 1] !== 117) return STRING_FALLBACK;
      const low = hex4(b, p + 2);
      if (low < 0xdc00 || low > 0xdfff) return STRING_FALLBACK;
      cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
      p += 6;
    }
    if (cp < 0x80) dst[at++] = cp;
    else if (cp < 0x800) { dst[at++] = 0xc0 | (cp >> 6); dst[at++] = 0x80 | (cp & 63); }
    else if (cp < 0x10000) {
      dst[at++] = 0xe0 | (cp >> 12); dst[at++] = 0x80 | ((cp >> 6) & 63); dst[at++] = 0x80 | (cp & 63);
    } else {
      dst[at++] = 0xf0 | (cp >> 18); dst[at++] = 0x80 | ((cp >> 12) & 63);
      dst[at++] = 0x80 | ((cp >> 6) & 63); dst[at++] = 0x80 | (cp & 63);
    }
  }
  return at;
}
