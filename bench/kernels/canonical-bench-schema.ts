/**
 * The canonical clickstream batch schema, value pools and PRNG that the kernel benchmarks fill their
 * batches from (the columns inputSchemaToBatchSchema gives for examples/clickstream.json, with string
 * room sized for the generated values), so every kernel bench measures the same rows.
 */
import { fileURLToPath } from 'node:url';
import { hash64Into } from '../../src/kernels/shared/xxhash32.js';
import { setValid, type BatchView } from '../../src/runtime/batch.js';
import type { Schema } from '../../src/runtime/schema.js';

export const COUNTRIES_CSV = fileURLToPath(new URL('../../../examples/dims/countries.csv', import.meta.url));
export const TYPES = ['view', 'click', 'add_to_cart', 'purchase'];
export const COUNTRIES = ['US', 'DE', 'FR', 'JP', 'BR', 'IN', 'GB', 'CA', 'XX', 'NZ', 'KE'];

export const CANONICAL_BENCH_SCHEMA: Schema = {
  columns: [
    { name: 'event_id', type: 'string', hashed: true, avgBytes: 24 },
    { name: 'ts', type: 'timestamp_ms' },
    { name: 'user_id', type: 'string', hashed: true, avgBytes: 12 },
    { name: 'type', type: 'enum', enumValues: TYPES },
    { name: 'amount', type: 'float64' },
    { name: 'country', type: 'string', avgBytes: 2 },
    { name: '__line', type: 'float64' },
    { name: '__late', type: 'bool' },
    { name: '__raw', type: 'string', avgBytes: 4 },
  ],
};

/** xorshift32: a few ns per draw, never 0. */
export function xorshift(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    return s;
  };
}

const utf8 = new TextEncoder();

/** Row r of string column `name` (cold path: bench setup), with its key hash when the column has one. */
export function putString(b: BatchView, name: string, r: number, s: string): void {
  const col = b.column(name);
  const at = col.offsets![r];
  const bytes = utf8.encode(s);
  (col.values as Uint8Array).set(bytes, at);
  col.offsets![r + 1] = at + bytes.length;
  if (col.hash) hash64Into(col.values as Uint8Array, at, at + bytes.length, col.hash, 2 * r);
  setValid(col.validity, r);
}

/** Row r of a fixed-width column `name`. */
export function putNumber(b: BatchView, name: string, r: number, v: number): void {
  const col = b.column(name);
  col.values[r] = v;
  setValid(col.validity, r);
}
