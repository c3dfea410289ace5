/** The 16-byte row every runtime benchmark moves: two float64 columns (x, y). */
import type { Schema } from '../../src/runtime/schema.js';

export const xySchema: Schema = { columns: [{ name: 'x', type: 'float64' }, { name: 'y', type: 'float64' }] };
/** For partitioned runs: an int32 key + a float64 value, padded to 16 bytes by an int32 column. */
export const keyedSchema: Schema = {
  columns: [{ name: 'k', type: 'int32' }, { name: 'pad', type: 'int32' }, { name: 'v', type: 'float64' }],
};
export const ROW_BYTES = 16;

export interface BenchResult {
  name: string;
  batchRows: number;
  rows: number;
  seconds: number;
  rowsPerSec: number;
  gbPerSec: number;
  /** Free text: what bounds it, what the consumer checked. */
  note?: string;
}

export function result(name: string, batchRows: number, rows: number, seconds: number, note?: string): BenchResult {
  return {
    name, batchRows, rows, seconds,
    rowsPerSec: rows / seconds,
    gbPerSec: (rows * ROW_BYTES) / seconds / 1e9,
    note,
  };
}
