/**
 * The exact slow path for one line: UTF-8 decode (ill-formed bytes become U+FFFD, a BOM is kept),
 * JSON.parse, then the same per-field recording as the byte scanner. (Blank lines — only ' ', '\t',
 * '\r' — never get here: the caller's whitespace skip finds them; a BOM or U+00A0 is malformed_json.) This *is* the reference semantics; the scanner hands every line it is not sure about here.
 * Costs a string, a parsed object and its values per line — fine for the few odd lines.
 *
 * Declared fields are read only when they are own properties (Object.hasOwn), so a missing
 * `constructor` field is not found on Object.prototype; JSON.parse defines `__proto__` as a plain own
 * property and never changes a prototype.
 */
import type { BatchView } from '../../runtime/batch.js';
import { ABSENT, K_BOOL, K_ENUM, K_STRING, NULL, PRESENT, RowScratch, UNSTORED_LONG, WRONG_TYPE } from '../filter/row-filter.js';
import type { ScanField } from './scan.js';

export const FB_OK = 0;
export const FB_MALFORMED = 2;
export const FB_NOT_OBJECT = 3;
export const FB_NO_ROOM = 4;

const utf8Decoder = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });
const utf8Encoder = new TextEncoder();

export class LineFallback {
  private readonly fields: readonly ScanField[];
  private readonly enumValues: string[][];

  constructor(fields: readonly ScanField[]) {
    this.fields = fields;
    this.enumValues = fields.map((f) => f.enumBytes.map((v) => utf8Decoder.decode(v)));
  }

  /** Decodes b[start, end) (the line without '\n' and trailing '\r') into row `row`; returns an FB_* code. */
  decodeLine(b: Uint8Array, start: number, end: number, out: BatchView, row: number, scratch: RowScratch): number {
    const text = utf8Decoder.decode(b.subarray(start, end));
    let doc: unknown;
    // Most lines that get here are malformed, and a SyntaxError's stack trace is costly to capture.
    const stackTraceLimit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      doc = JSON.parse(text);
    } catch {
      return FB_MALFORMED;
    } finally {
      Error.stackTraceLimit = stackTraceLimit;
    }
    if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) return FB_NOT_OBJECT;
    const presence = scratch.presence;
    for (let f = 0; f < this.fields.length; f++) {
      const field = this.fields[f];
      const own = Object.hasOwn(doc, field.name);
      const v: unknown = own ? (doc as Record<string, unknown>)[field.name] : undefined;
      if (!own) { presence[f] = ABSENT; continue; }
      if (v === null) { presence[f] = NULL; continue; }
      switch (field.kind) {
        case K_STRING: {
          if (typeof v !== 'string') { presence[f] = WRONG_TYPE; break; }
          const bytes = utf8Encoder.encode(v);
          if (bytes.length > field.storeMaxBytes) { presence[f] = UNSTORED_LONG; scratch.numbers[f] = bytes.length; break; }
          const col = out.columns[field.column];
          const offsets = col.offsets!;
          const dst = col.values as Uint8Array;
          const at = offsets[row];
          if (at + bytes.length > dst.length) return FB_NO_ROOM;
          dst.set(bytes, at);
          offsets[row + 1] = at + bytes.length;
          presence[f] = PRESENT;
          break;
        }
        case K_ENUM:
          if (typeof v !== 'string') { presence[f] = WRONG_TYPE; break; }
          scratch.numbers[f] = this.enumValues[f].indexOf(v);
          presence[f] = PRESENT;
          break;
        case K_BOOL:
          if (typeof v !== 'boolean') { presence[f] = WRONG_TYPE; break; }
          scratch.numbers[f] = v ? 1 : 0;
          presence[f] = PRESENT;
          break;
        default:
          if (typeof v !== 'number') { presence[f] = WRONG_TYPE; break; }
          scratch.numbers[f] = v;
          presence[f] = PRESENT;
      }
    }
    return FB_OK;
  }
}
