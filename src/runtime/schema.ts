/**
 * Column schema and the byte layout of one columnar batch inside shared memory.
 *
 * A batch is a fixed-size region (a "slot") of a SharedArrayBuffer. Its layout depends only on the
 * schema and two capacities, so the producer and every worker compute the same offsets independently
 * and never exchange pointers: they exchange slot numbers.
 *
 *   slot (all regions 8-byte aligned)
 *   +-----------------+---------------------------------------------------------------+
 *   | header 64 B     | Float64 x 8: rowCount, seq, watermarkMs, firstSourceOffset,    |
 *   |                 |              stringOverflowRow, reserved x 3                   |
 *   +-----------------+---------------------------------------------------------------+
 *   | column 0 values | int32: Int32[rows] | int64/timestamp_ms/float64: Float64[rows] |
 *   |                 | bool: Uint8[rows]  | enum: Uint16[rows] (index into enumValues)|
 *   |                 | string: Int32 offsets[rows+1] + Uint8 bytes[stringBytes]       |
 *   | column 0 hash   | only `hashed` strings: Uint32[rows*2] = (lo, hi) of a 64-bit key hash |
 *   | column 0 valid  | Uint8[ceil(rows/8)] validity bitmap, bit set = value present    |
 *   | column 1 ...    |                                                               |
 *   +-----------------+---------------------------------------------------------------+
 *
 * int64 and timestamp_ms are held as float64: exact for |x| < 2^53, which covers epoch
 * milliseconds for the next 285,000 years; BigInt64Array would cost an allocation per read.
 */
import { ConfigError } from '../errors.js';

export type ColumnType = 'int32' | 'int64' | 'timestamp_ms' | 'float64' | 'bool' | 'enum' | 'string';

export interface ColumnSpec {
  name: string;
  type: ColumnType;
  /** enum only: the allowed values; a row stores the index. */
  enumValues?: readonly string[];
  /** string only: also keep a 64-bit hash per row (for partitioning, dedupe, joins). */
  hashed?: boolean;
  /** string only: average UTF-8 bytes reserved per row in a batch (default 32). */
  avgBytes?: number;
  /**
   * string only: the longest value one row may hold. A batch always reserves at least this much, so a
   * row that fits nowhere else still fits an empty batch (default: avgBytes).
   */
  maxRowBytes?: number;
}

export interface Schema {
  columns: readonly ColumnSpec[];
}

export const BATCH_HEADER_FIELDS = 8;
export const BATCH_HEADER_BYTES = BATCH_HEADER_FIELDS * 8;
/** Header field indices (Float64Array over the first 64 bytes of a slot). */
export const H_ROW_COUNT = 0;
export const H_SEQ = 1;
export const H_WATERMARK_MS = 2;
export const H_FIRST_SOURCE_OFFSET = 3;
export const H_STRING_OVERFLOW_ROW = 4;

export interface ColumnLayout {
  spec: ColumnSpec;
  index: number;
  valuesOffset: number;
  valuesBytes: number;
  /** string: byte offset of the Int32 offsets array (rows + 1 entries). */
  offsetsOffset: number;
  /** string: capacity of the bytes region. */
  stringBytes: number;
  /** hashed string: byte offset of the Uint32 (lo, hi) hash pairs, else -1. */
  hashOffset: number;
  validityOffset: number;
}

export interface BatchLayout {
  schema: Schema;
  rowCapacity: number;
  columns: readonly ColumnLayout[];
  byName: ReadonlyMap<string, ColumnLayout>;
  /** Total bytes of one slot, a multiple of 64 so slots start on cache lines. */
  slotBytes: number;
}

const align = (n: number, to: number): number => Math.ceil(n / to) * to;

const VALUE_BYTES: Record<Exclude<ColumnType, 'string'>, number> = {
  int32: 4,
  int64: 8,
  timestamp_ms: 8,
  float64: 8,
  bool: 1,
  enum: 2,
};

export function validateSchema(schema: Schema, path = 'schema'): void {
  const seen = new Set<string>();
  schema.columns.forEach((c, i) => {
    const at = `${path}.columns[${i}]`;
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(c.name)) throw new ConfigError(`${at}.name`, `"${c.name}" is not an identifier`);
    if (seen.has(c.name)) throw new ConfigError(`${at}.name`, `duplicate column "${c.name}"`);
    seen.add(c.name);
    if (c.type === 'enum' && (!c.enumValues || c.enumValues.length === 0 || c.enumValues.length > 65535)) {
      throw new ConfigError(`${at}.enumValues`, 'an enum needs 1 to 65535 values');
    }
    if (c.hashed && c.type !== 'string') throw new ConfigError(`${at}.hashed`, 'only string columns can be hashed');
  });
}

export function computeLayout(schema: Schema, rowCapacity: number): BatchLayout {
  validateSchema(schema);
  if (!Number.isInteger(rowCapacity) || rowCapacity < 1 || rowCapacity > 1 << 20) {
    throw new ConfigError('runtime.batchRows', `must be an integer from 1 to ${1 << 20}, got ${rowCapacity}`);
  }
  let at = BATCH_HEADER_BYTES;
  const columns: ColumnLayout[] = schema.columns.map((spec, index) => {
    const col: ColumnLayout = {
      spec, index, valuesOffset: -1, valuesBytes: 0, offsetsOffset: -1, stringBytes: 0, hashOffset: -1, validityOffset: -1,
    };
    if (spec.type === 'string') {
      col.offsetsOffset = at;
      at = align(at + (rowCapacity + 1) * 4, 8);
      const avg = spec.avgBytes ?? 32;
      col.stringBytes = align(Math.max(rowCapacity * avg, spec.maxRowBytes ?? avg), 8);
      col.valuesOffset = at;
      col.valuesBytes = col.stringBytes;
      at += col.stringBytes;
      if (spec.hashed) {
        col.hashOffset = at;
        at = align(at + rowCapacity * 8, 8);
      }
    } else {
      col.valuesOffset = at;
      col.valuesBytes = rowCapacity * VALUE_BYTES[spec.type];
      at = align(at + col.valuesBytes, 8);
    }
    col.validityOffset = at;
    at = align(at + Math.ceil(rowCapacity / 8), 8);
    return col;
  });
  return {
    schema,
    rowCapacity,
    columns,
    byName: new Map(columns.map((c) => [c.spec.name, c])),
    slotBytes: align(at, 64),
  };
}
