/**
 * Processed-event serializer (worker side): appends an accepted row of a columnar batch as one
 * normalised NDJSON object, and its partition key, to the task's EventBuffers (event-buffers.ts).
 * Nothing is allocated per row: field names and enum values are JSON literals encoded once here,
 * enriched values are literals in the shared dictionary (shared-dictionary.ts), strings are copied
 * byte by byte with escaping and numbers written as digits (json-bytes.ts).
 *
 * One line per row:
 *   {"event_id":"e1","ts":1700000000000,"user_id":"u1","type":"click","amount":12.5,"country":"DE","region":"europe"}\n
 *   - the declared input fields in schema order; system columns (__line, __late, __raw) are not events;
 *   - a field whose validity bit is clear (absent or null, and no default) is OMITTED: the decoder
 *     already stored defaults as valid values (amount 0, country "ZZ"), so only fields without a
 *     default are ever left out, and an omitted key is what ClickHouse's JSONEachRow fills with the
 *     column default on every version (a null would fail a non-Nullable column on 18.16);
 *   - enum -> its string, bool -> true/false, int32 / int64 / timestamp_ms / float64 -> a number that
 *     JSON.parse reads back as the stored double exactly (-0 included);
 *   - then the enriched field (`enrich.as`): the string of the row's value id (id 0 = the default).
 * The key is the partition key column's UTF-8 bytes (empty when absent).
 *
 * Callers append a batch's accepted rows in one appendRows call. When the native module has the
 * EventKernel, that call runs in native code (native-serializer.ts, native-bindings/src/events.rs),
 * which writes the same bytes as append() below: append() is its JS twin and the reference.
 */
import type { BatchView, ColumnView } from '../../runtime/batch.js';
import type { BatchLayout } from '../../runtime/schema.js';
import { ConfigError } from '../../errors.js';
import { EventBuffers, threadEventBuffers } from './event-buffers.js';
import { SOURCE_COLUMN, SYSTEM_COLUMNS } from '../input/columns.js';
import {
  copyBytes, jsonLiteralBytes, jsonStringMaxBytes, NUMBER_MAX_BYTES, writeInt32, writeJsonString, writeNumber,
} from '../shared/json-bytes.js';
import { SharedDictionaryReader, type SharedDictionaryShared } from '../enrich/shared-dictionary.js';
import type { EventBatch } from '../../contracts/index.js';
import { NativeEventWriter } from './native-serializer.js';

export interface EventSerializerOptions {
  /** The partition key: a string column; its bytes become each event's key. */
  keyField: string;
  /** The enriched field written after the input fields, and where its value strings live; null without enrich. */
  enriched: { name: string; dictionary: SharedDictionaryShared } | null;
}

/** Field kinds; native-bindings/src/events.rs numbers them the same. */
const K_STRING = 0;
const K_NUMBER = 1;
const K_INT32 = 2;
const K_BOOL = 3;
const K_ENUM = 4;

const TRUE = new Uint8Array([0x74, 0x72, 0x75, 0x65]);
const FALSE = new Uint8Array([0x66, 0x61, 0x6c, 0x73, 0x65]);

/** Concatenated byte strings with end offsets: item i = bytes[ends[i-1] .. ends[i]). */
interface Packed {
  bytes: Uint8Array;
  ends: Int32Array;
  maxItemBytes: number;
}

function pack(items: readonly Uint8Array[]): Packed {
  const ends = new Int32Array(items.length);
  let total = 0;
  let maxItemBytes = 0;
  items.forEach((b, i) => {
    total += b.length;
    ends[i] = total;
    maxItemBytes = Math.max(maxItemBytes, b.length);
  });
  const bytes = new Uint8Array(total);
  items.forEach((b, i) => bytes.set(b, i === 0 ? 0 : ends[i - 1]));
  return { bytes, ends, maxItemBytes };
}

const nameLiteral = (name: string): Uint8Array => {
  const lit = jsonLiteralBytes(name);
  const out = new Uint8Array(lit.length + 1);
  out.set(lit, 0);
  out[lit.length] = 0x3a; // ':'
  return out;
};

export class EventSerializer {
  private readonly buffers: EventBuffers;
  /** Per output field: its batch column index, kind, and `"name":` in `names`. */
  private readonly fieldColumns: Int32Array;
  private readonly fieldKinds: Uint8Array;
  private readonly names: Packed;
  /** Per output field: the JSON literals of an enum's values, or null. */
  private readonly enumLiterals: (Packed | null)[];
  /** Batch column indices of the string fields (their escaped length bounds a row's size). */
  private readonly stringColumns: Int32Array;
  private readonly keyColumn: number;
  private readonly enrichedName: Uint8Array | null;
  private readonly dictionary: SharedDictionaryReader | null;
  /** Bytes of a row apart from its strings' contents and the enriched value: braces, names, numbers. */
  private readonly fixedRowBytes: number;

  /** appendRows in native code, or null: the JS loop over append(). */
  private readonly native: NativeEventWriter | null;

  private columns: readonly ColumnView[] = [];
  /** The bound batch's slot bytes, for the native path. */
  private slot: Uint8Array | null = null;
  private valueIds: Int32Array | null = null;
  private dictionaryCount = 0;

  /** `native: false` keeps appendRows in JS even when the native module is built (tests, benches). */
  constructor(
    layout: BatchLayout, options: EventSerializerOptions, buffers: EventBuffers = threadEventBuffers(), opts: { native?: boolean } = {},
  ) {
    this.buffers = buffers;
    const system = new Set<string>([...SYSTEM_COLUMNS, SOURCE_COLUMN]);
    const fields = layout.columns.filter((c) => !system.has(c.spec.name));
    this.fieldColumns = Int32Array.from(fields, (c) => c.index);
    this.fieldKinds = Uint8Array.from(fields, (c) => {
      switch (c.spec.type) {
        case 'string': return K_STRING;
        case 'int32': return K_INT32;
        case 'bool': return K_BOOL;
        case 'enum': return K_ENUM;
        default: return K_NUMBER;
      }
    });
    this.names = pack(fields.map((c) => nameLiteral(c.spec.name)));
    this.enumLiterals = fields.map((c) => (c.spec.type === 'enum' ? pack(c.spec.enumValues!.map(jsonLiteralBytes)) : null));
    this.stringColumns = Int32Array.from(fields.filter((c) => c.spec.type === 'string'), (c) => c.index);
    const key = layout.byName.get(options.keyField);
    if (!key || key.spec.type !== 'string') {
      throw new ConfigError('input.fields', `the partition key "${options.keyField}" must be a string field of the input`);
    }
    this.keyColumn = key.index;
    this.enrichedName = options.enriched ? nameLiteral(options.enriched.name) : null;
    this.dictionary = options.enriched ? new SharedDictionaryReader(options.enriched.dictionary) : null;
    let fixed = 3 + (this.enrichedName ? 1 + this.enrichedName.length : 0); // '{' '}' '\n' (',' "name":)
    fields.forEach((c, i) => {
      const kind = this.fieldKinds[i];
      const value = kind === K_STRING ? jsonStringMaxBytes(0)
        : kind === K_BOOL ? FALSE.length
          : kind === K_ENUM ? this.enumLiterals[i]!.maxItemBytes
            : NUMBER_MAX_BYTES;
      fixed += 1 + (this.names.ends[i] - (i === 0 ? 0 : this.names.ends[i - 1])) + value;
    });
    this.fixedRowBytes = fixed;
    this.native = opts.native === false ? null : NativeEventWriter.create({
      layout, fields, kinds: this.fieldKinds, names: this.names, enumLiterals: this.enumLiterals, key, enrichedName: this.enrichedName,
    });
  }

  /** Whether appendRows runs in native code. */
  get isNative(): boolean {
    return this.native !== null;
  }

  /**
   * Point at the next batch, after the enrich kernel filled `valueIds` for it (so every id it holds
   * was published, and its bytes are visible, before the dictionary count read here).
   */
  bind(batch: BatchView, valueIds: Int32Array | null): void {
    this.columns = batch.columns;
    if (this.native !== null) {
      this.native.checkLayout(batch.layout);
      this.slot = batch.bytes;
    }
    this.valueIds = valueIds;
    if (this.dictionary !== null) this.dictionaryCount = this.dictionary.count();
    const buffers = this.buffers;
    if (buffers.owner !== this) {
      buffers.reset();
      buffers.owner = this;
    }
  }

  /** Appends rows[0 .. count) of the bound batch, in that order, as one event each. */
  appendRows(rows: Int32Array, count: number): void {
    const native = this.native;
    if (native === null) {
      for (let i = 0; i < count; i++) this.append(rows[i]);
      return;
    }
    let from = 0;
    while (from < count) {
      from = native.appendRows(this.slot!, this.valueIds, this.dictionary, this.dictionaryCount, rows, from, count, this.buffers);
      // A row native leaves to JS (a value id the dictionary does not have): append's check throws.
      if (from < count) this.append(rows[from++]);
    }
  }

  /** Appends row `r` of the bound batch as one event (the JS path, and the twin of the native one). */
  append(r: number): void {
    const cols = this.columns;
    const bit = 1 << (r & 7);
    const byte = r >> 3;
    // Upper bound of this row's bytes, so the writers below never check room.
    let need = this.fixedRowBytes;
    const strings = this.stringColumns;
    for (let s = 0; s < strings.length; s++) {
      const offsets = cols[strings[s]].offsets!;
      need += jsonStringMaxBytes(offsets[r + 1] - offsets[r]) - 2;
    }
    let id = 0;
    const dict = this.dictionary;
    if (dict !== null) {
      id = this.valueIds![r];
      if (id < 0 || id >= this.dictionaryCount) SharedDictionaryReader.unknownId(id, this.dictionaryCount);
      need += dict.end(id) - dict.start(id);
    }
    const keyCol = cols[this.keyColumn];
    const keyOffsets = keyCol.offsets!;
    const keyValid = (keyCol.validity[byte] & bit) !== 0;
    const keyStart = keyOffsets[r];
    const keyEnd = keyValid ? keyOffsets[r + 1] : keyStart;
    const buffers = this.buffers;
    const out = buffers.reserve(need, keyEnd - keyStart);

    let at = buffers.lineBytes;
    out[at++] = 0x7b; // '{'
    let first = true;
    const fieldColumns = this.fieldColumns;
    const kinds = this.fieldKinds;
    const names = this.names.bytes;
    const nameEnds = this.names.ends;
    for (let f = 0; f < fieldColumns.length; f++) {
      const col = cols[fieldColumns[f]];
      if ((col.validity[byte] & bit) === 0) continue;
      if (!first) out[at++] = 0x2c; // ','
      first = false;
      at = copyBytes(names, f === 0 ? 0 : nameEnds[f - 1], nameEnds[f], out, at);
      // One typed-array read per case, so each read site sees a single array type.
      switch (kinds[f]) {
        case K_STRING: {
          const offsets = col.offsets!;
          at = writeJsonString(col.values as Uint8Array, offsets[r], offsets[r + 1], out, at);
          break;
        }
        case K_NUMBER:
          at = writeNumber((col.values as Float64Array)[r], out, at);
          break;
        case K_INT32:
          at = writeInt32((col.values as Int32Array)[r], out, at);
          break;
        case K_BOOL: {
          const lit = (col.values as Uint8Array)[r] !== 0 ? TRUE : FALSE;
          at = copyBytes(lit, 0, lit.length, out, at);
          break;
        }
        default: {
          const e = (col.values as Uint16Array)[r];
          const lits = this.enumLiterals[f]!;
          at = copyBytes(lits.bytes, e === 0 ? 0 : lits.ends[e - 1], lits.ends[e], out, at);
        }
      }
    }
    if (dict !== null) {
      if (!first) out[at++] = 0x2c;
      const name = this.enrichedName!;
      at = copyBytes(name, 0, name.length, out, at);
      at = copyBytes(dict.literals, dict.start(id), dict.end(id), out, at);
    }
    out[at++] = 0x7d; // '}'
    out[at++] = 0x0a;
    buffers.lineBytes = at;
    buffers.lineEnds[buffers.rows] = at;
    buffers.keyBytes = copyBytes(keyCol.values as Uint8Array, keyStart, keyEnd, buffers.keys, buffers.keyBytes);
    buffers.keyEnds[buffers.rows] = buffers.keyBytes;
    buffers.rows++;
  }

  /** Events appended since the last finish, as exact-size transferable arrays; null when none. */
  finish(): EventBatch | null {
    const buffers = this.buffers;
    if (buffers.owner !== this) return null;
    return buffers.finish();
  }

  /** Rows appended since the last finish. */
  get rowCount(): number {
    return this.buffers.owner === this ? this.buffers.rows : 0;
  }
}
