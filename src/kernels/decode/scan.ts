/**
 * The byte scanner for one NDJSON line: walks the top-level object, decodes declared fields into the
 * row (strings straight into their column, numbers/enums/bools into RowScratch) and validates, but
 * skips, everything else — nested objects and arrays included. Keys are compared as bytes, so
 * `__proto__` or `constructor` are just ignored keys: no object is ever created.
 *
 * The scanner is strict: it accepts only lines that are valid JSON objects. Whenever it is unsure —
 * anything invalid, an escaped key, ill-formed
 * UTF-8 or a lone surrogate in a stored string, nesting deeper than MAX_DEPTH — it returns
 * SCAN_FALLBACK and the line is decided by JSON.parse (fallback.ts). A repeated
 * declared key needs no fallback: every occurrence overwrites the field's slot, so the last one wins.
 *
 * Bounds: the caller guarantees a '\n' at or after the end of the line. Every rule below rejects
 * byte 10 (it is not JSON whitespace here, and is a control byte inside strings), so no loop needs a
 * bounds check and none can run past the line.
 */
import type { BatchView } from '../../runtime/batch.js';
import { K_BOOL, K_ENUM, K_STRING, NULL, PRESENT, RowScratch, UNSTORED_LONG, WRONG_TYPE } from '../filter/row-filter.js';
import { parseNumber, skipNumber } from './number.js';
import { decodeEscapes, isWellFormedUtf8, PLAIN, scanString, scannedString, STRING_FALLBACK } from './string.js';

export const SCAN_FALLBACK = -1;
/** A declared string did not fit into the batch's string bytes. */
export const SCAN_NO_ROOM = -2;
const MAX_DEPTH = 256;

export interface ScanField {
  name: string;
  kind: number;
  column: number;
  /** Longest valid value in UTF-8 bytes (see longestValidBytes); longer ones are not stored. */
  storeMaxBytes: number;
  /** enum: UTF-8 bytes of each allowed value. */
  enumBytes: Uint8Array[];
}



export function skipWs(b: Uint8Array, p: number): number {
  let c = b[p];
  while (c === 32 || c === 9 || c === 13) c = b[++p];
  return p;
}

function literal(b: Uint8Array, p: number, c0: number): number {
  if (c0 === 116) return b[p + 1] === 114 && b[p + 2] === 117 && b[p + 3] === 101 ? p + 4 : -1; // true
  if (c0 === 102) return b[p + 1] === 97 && b[p + 2] === 108 && b[p + 3] === 115 && b[p + 4] === 101 ? p + 5 : -1; // false
  return b[p + 1] === 117 && b[p + 2] === 108 && b[p + 3] === 108 ? p + 4 : -1; // null
}

/** skipValue: nesting deeper than MAX_DEPTH — not decided here (JSON.parse decides). */
export const SKIP_TOO_DEEP = -2;

/** Validates and skips any JSON value at p; returns the index after it, -1 if invalid, or SKIP_TOO_DEEP. */
export function skipValue(b: Uint8Array, p: number, depth: number): number {
  const c = b[p];
  if (c === 34) {
    const e = scanString(b, p + 1);
    return e < 0 ? -1 : e + 1;
  }
  if (c === 45 || (c >= 48 && c <= 57)) return skipNumber(b, p);
  if (c === 116 || c === 102 || c === 110) return literal(b, p, c);
  if (c !== 123 && c !== 91) return -1;
  if (depth >= MAX_DEPTH) return SKIP_TOO_DEEP;
  const isObject = c === 123;
  const close = isObject ? 125 : 93;
  p = skipWs(b, p + 1);
  if (b[p] === close) return p + 1;
  for (;;) {
    if (isObject) {
      if (b[p] !== 34) return -1;
      const e = scanString(b, p + 1);
      if (e < 0) return -1;
      p = skipWs(b, e + 1);
      if (b[p] !== 58) return -1;
      p = skipWs(b, p + 1);
    }
    p = skipValue(b, p, depth + 1);
    if (p < 0) return p;
    p = skipWs(b, p);
    const d = b[p];
    if (d === close) return p + 1;
    if (d !== 44) return -1;
    p = skipWs(b, p + 1);
  }
}

/** validateLine results. */
export const LINE_INVALID_JSON = 0;
export const LINE_OBJECT = 1;
export const LINE_NOT_OBJECT = 2;
export const LINE_UNDECIDED = 3;

/**
 * Exact JSON grammar check of a whole line from its first non-whitespace byte p: the same grammar as
 * JSON.parse (RFC 8259), on bytes. Bytes >= 0x80 are fine inside strings and invalid outside, which is
 * also true after a UTF-8 decode (ill-formed bytes become U+FFFD). Lets malformed lines skip the
 * costly exception JSON.parse would throw.
 */
export function validateLine(b: Uint8Array, p: number): number {
  const first = b[p];
  const q = skipValue(b, p, 0);
  if (q === SKIP_TOO_DEEP) return LINE_UNDECIDED;
  if (q < 0) return LINE_INVALID_JSON;
  if (b[skipWs(b, q)] !== 10) return LINE_INVALID_JSON;
  return first === 123 ? LINE_OBJECT : LINE_NOT_OBJECT;
}

export class LineScanner {
  private readonly fields: readonly ScanField[];
  /** Candidate lookup by (key length, first byte): head[len * 128 + byte] = field + 1, chained by next[]. */
  private readonly head = new Int16Array(64 * 128);
  private readonly next: Int16Array;
  private readonly nameBytes: Uint8Array[];
  /** Escaped strings are decoded here first (a decoded string is never longer than the line). */
  private readonly unescaped: Uint8Array;
  /** decodeString's result: the value's bytes are str[strFrom, strTo). */
  private str: Uint8Array = new Uint8Array(0);
  private strFrom = 0;
  private strTo = 0;

  constructor(fields: readonly ScanField[], maxLineBytes: number) {
    this.fields = fields;
    this.next = new Int16Array(fields.length);
    this.nameBytes = fields.map((f) => new TextEncoder().encode(f.name));
    for (let i = fields.length - 1; i >= 0; i--) {
      const nb = this.nameBytes[i];
      if (nb.length >= 64) continue; // such keys are matched by the slow path below
      const slot = nb.length * 128 + nb[0];
      this.next[i] = this.head[slot];
      this.head[slot] = i + 1;
    }
    this.unescaped = new Uint8Array(maxLineBytes + 8);
  }

  /** Declared field index for key bytes b[ks, ke), or -1. */
  private lookup(b: Uint8Array, ks: number, ke: number): number {
    const len = ke - ks;
    if (len === 0) return -1;
    if (len >= 64) return this.lookupLong(b, ks, ke);
    const first = b[ks];
    if (first >= 128) return -1;
    let cand = this.head[len * 128 + first];
    while (cand !== 0) {
      const nb = this.nameBytes[cand - 1];
      let k = 1;
      while (k < len && nb[k] === b[ks + k]) k++;
      if (k === len) return cand - 1;
      cand = this.next[cand - 1];
    }
    return -1;
  }

  private lookupLong(b: Uint8Array, ks: number, ke: number): number {
    for (let i = 0; i < this.nameBytes.length; i++) {
      const nb = this.nameBytes[i];
      if (nb.length !== ke - ks) continue;
      let k = 0;
      while (k < nb.length && nb[k] === b[ks + k]) k++;
      if (k === nb.length) return i;
    }
    return -1;
  }

  /**
   * Scans the line starting at p (first non-whitespace byte, expected '{'). On success returns the index
   * of the terminating '\n' with `scratch` and the row's string columns filled; otherwise SCAN_FALLBACK
   * or SCAN_NO_ROOM. scratch.presence must be all ABSENT on entry.
   */
  scan(b: Uint8Array, p: number, out: BatchView, row: number, scratch: RowScratch): number {
    if (b[p] !== 123) return SCAN_FALLBACK;
    p = skipWs(b, p + 1);
    if (b[p] !== 125) {
      const names = this.nameBytes;
      let expected = 0;
      for (;;) {
        if (b[p] !== 34) return SCAN_FALLBACK;
        // Producers usually write keys in one order: first try the field after the previous one.
        let f = -1;
        let ke = -1;
        if (expected < names.length) {
          const nb = names[expected];
          const n = nb.length;
          let k = 0;
          while (k < n && b[p + 1 + k] === nb[k]) k++;
          if (k === n && b[p + 1 + n] === 34) {
            f = expected;
            ke = p + 1 + n;
          }
        }
        if (ke < 0) {
          ke = scanString(b, p + 1);
          if (ke < 0 || scannedString.escapes) return SCAN_FALLBACK;
          f = this.lookup(b, p + 1, ke);
        }
        if (f >= 0) expected = f + 1;
        // Whitespace is rare between tokens: test one byte before paying for a call.
        p = ke + 1;
        if (b[p] <= 32) p = skipWs(b, p);
        if (b[p] !== 58) return SCAN_FALLBACK;
        p++;
        if (b[p] <= 32) p = skipWs(b, p);
        if (f < 0) {
          p = skipValue(b, p, 1);
          if (p === SKIP_TOO_DEEP) return SCAN_FALLBACK;
        } else {
          // A repeated key simply overwrites the row's slot for the field: the last one wins, as in JSON.parse.
          p = this.value(b, p, f, out, row, scratch);
        }
        if (p < 0) return p;
        if (b[p] <= 32) p = skipWs(b, p);
        const c = b[p];
        if (c === 125) break;
        if (c !== 44) return SCAN_FALLBACK;
        p++;
        if (b[p] <= 32) p = skipWs(b, p);
      }
    }
    p = skipWs(b, p + 1);
    return b[p] === 10 ? p : SCAN_FALLBACK;
  }

  /** Decodes the value of declared field f at p; returns the index after it or a SCAN_* code. */
  private value(b: Uint8Array, p: number, f: number, out: BatchView, row: number, scratch: RowScratch): number {
    const field = this.fields[f];
    const kind = field.kind;
    const c = b[p];
    if (c === 110) {
      scratch.presence[f] = NULL;
      return literal(b, p, c);
    }
    let end: number;
    if (kind === K_STRING || kind === K_ENUM) {
      if (c !== 34) return this.wrongType(b, p, f, scratch);
      return kind === K_STRING ? this.stringValue(b, p + 1, field, f, out, row, scratch) : this.enumValue(b, p + 1, field, f, scratch);
    }
    if (kind === K_BOOL) {
      if (c !== 116 && c !== 102) return this.wrongType(b, p, f, scratch);
      end = literal(b, p, c);
      scratch.numbers[f] = c === 116 ? 1 : 0;
    } else {
      if (c !== 45 && (c < 48 || c > 57)) return this.wrongType(b, p, f, scratch);
      end = parseNumber(b, p, scratch.numbers, f);
    }
    scratch.presence[f] = PRESENT;
    return end < 0 ? SCAN_FALLBACK : end;
  }

  private wrongType(b: Uint8Array, p: number, f: number, scratch: RowScratch): number {
    scratch.presence[f] = WRONG_TYPE;
    const end = skipValue(b, p, 1);
    return end < 0 ? SCAN_FALLBACK : end;
  }

  /**
   * s = first byte after the quote. Copies the decoded string into the row of its column. The common
   * case — printable ASCII, no escapes, fits — is one fused scan-and-copy loop; anything else restarts
   * on the general path.
   */
  private stringValue(b: Uint8Array, s: number, field: ScanField, f: number, out: BatchView, row: number, scratch: RowScratch): number {
    const col = out.columns[field.column];
    const offsets = col.offsets!;
    const dst = col.values as Uint8Array;
    const at = offsets[row];
    const limit = Math.min(dst.length, at + field.storeMaxBytes);
    let p = s;
    let q = at;
    let c = b[p];
    while (PLAIN[c] === 1 && q < limit) {
      dst[q++] = c;
      c = b[++p];
    }
    if (c !== 34) return this.stringValueGeneral(b, s, field, f, out, row, scratch);
    offsets[row + 1] = q;
    scratch.presence[f] = PRESENT;
    return p + 1;
  }

  /**
   * The slow path of a string value starting after its opening quote at s: checks UTF-8, decodes
   * escapes, and leaves the value's bytes in str[strFrom, strTo). Returns the closing quote's index,
   * or SCAN_FALLBACK for what only the exact fallback handles.
   */
  private decodeString(b: Uint8Array, s: number): number {
    const e = scanString(b, s);
    if (e < 0) return SCAN_FALLBACK;
    if (scannedString.nonAscii && !isWellFormedUtf8(b, s, e)) return SCAN_FALLBACK;
    if (!scannedString.escapes) {
      this.str = b;
      this.strFrom = s;
      this.strTo = e;
      return e;
    }
    const to = decodeEscapes(b, s, e, this.unescaped, 0);
    if (to === STRING_FALLBACK) return SCAN_FALLBACK;
    this.str = this.unescaped;
    this.strFrom = 0;
    this.strTo = to;
    return e;
  }

  private stringValueGeneral(b: Uint8Array, s: number, field: ScanField, f: number, out: BatchView, row: number, scratch: RowScratch): number {
    const e = this.decodeString(b, s);
    if (e < 0) return SCAN_FALLBACK;
    const src = this.str;
    const from = this.strFrom;
    const len = this.strTo - from;
    if (len > field.storeMaxBytes) {
      // Invalid whatever else the line holds: record its length instead of needing batch room for it.
      scratch.presence[f] = UNSTORED_LONG;
      scratch.numbers[f] = len;
      return e + 1;
    }
    const col = out.columns[field.column];
    const offsets = col.offsets!;
    const dst = col.values as Uint8Array;
    const at = offsets[row];
    if (at + len > dst.length) return SCAN_NO_ROOM;
    for (let k = 0; k < len; k++) dst[at + k] = src[from + k];
    offsets[row + 1] = at + len;
    scratch.presence[f] = PRESENT;
    return e + 1;
  }

  private enumValue(b: Uint8Array, s: number, field: ScanField, f: number, scratch: RowScratch): number {
    // Fast path: printable ASCII without escapes, compared in place.
    let e = s;
    while (PLAIN[b[e]] === 1) e++;
    if (b[e] !== 34) return this.enumValueGeneral(b, s, field, f, scratch);
    scratch.numbers[f] = enumIndex(field.enumBytes, b, s, e - s);
    scratch.presence[f] = PRESENT;
    return e + 1;
  }

  private enumValueGeneral(b: Uint8Array, s: number, field: ScanField, f: number, scratch: RowScratch): number {
    const e = this.decodeString(b, s);
    if (e < 0) return SCAN_FALLBACK;
    const src = this.str;
    const from = this.strFrom;
    const len = this.strTo - from;
    scratch.numbers[f] = enumIndex(field.enumBytes, src, from, len);
    scratch.presence[f] = PRESENT;
    return e + 1;
  }
}

/** Index of the enum value equal to bytes[from, from + len), or -1. */
function enumIndex(values: readonly Uint8Array[], bytes: Uint8Array, from: number, len: number): number {
  for (let v = 0; v < values.length; v++) {
    const vb = values[v];
    if (vb.length !== len) continue;
    let k = 0;
    while (k < len && vb[k] === bytes[from + k]) k++;
    if (k === len) return v;
  }
  return -1;
}
