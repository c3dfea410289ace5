/**
 * Enrich kernel (worker side): look a string column up in a shared dimension table and write one
 * value id per row into a scratch column the processor owns. Rows carry ids, not strings; the main
 * thread turns ids back into strings with the loader's dictionary when it emits rows.
 *
 * The key hash comes from the batch when the column is `hashed` (the decoder computed it); otherwise it
 * is computed here from the row's bytes with the same function the loader used (xxhash32.ts), which for
 * short keys such as two-letter country codes costs about as much as reading the hash would.
 * A null key and a key not in the table both get the missing id (0 = the configured default).
 *
 * Keys of at most 3 bytes (country codes, currency codes) also go through a direct-mapped cache of
 * value ids, keyed by the bytes themselves packed with the length into one int (exact, no hash
 * collision possible): a repeated short key then costs two loads instead of a hash and a probe. The
 * cache is cleared whenever the pinned table version changes. Why: enrich by hash alone was a visible
 * share of the worker's CPU on the canonical replay.
 *
 *   packed key (int32): [ byte 2 | byte 1 | byte 0 | length 0..3 ]   (bits 31..24 | ... | 7..0)
 *   cacheKeys[slot] = packed key (-1: empty; length 255 never occurs), cacheIds[slot] = its value id
 */
import type { BatchView } from '../../runtime/batch.js';
import { DimTableReader, type DimTableShared } from './dim-table.js';
import { hash64Into } from '../shared/xxhash32.js';

export interface EnrichOptions {
  table: DimTableShared;
  /** Input string column to look up. */
  joinOn: string;
  /** Name of the enriched field (a group-by field for the aggregate). */
  as: string;
}

export const MISSING_VALUE_ID = 0;

/** Direct-mapped cache slots (a power of two): far more than the distinct short keys of a dimension. */
const CACHE_BITS = 10;
const EMPTY = -1;

export class EnrichKernel {
  readonly options: EnrichOptions;
  private readonly reader: DimTableReader;
  private readonly scratch = new Uint32Array(2);
  private readonly cacheKeys = new Int32Array(1 << CACHE_BITS).fill(EMPTY);
  private readonly cacheIds = new Int32Array(1 << CACHE_BITS);
  /** The table version the cache holds ids of. */
  private cacheVersion = -1;

  constructor(options: EnrichOptions, reader: number) {
    this.options = options;
    this.reader = new DimTableReader(options.table, reader);
  }

  /** Value id per row of the batch into out[0 .. rowCount). Returns the table version used. */
  run(batch: BatchView, out: Int32Array): number {
    const col = batch.column(this.options.joinOn);
    const n = batch.rowCount;
    const validity = col.validity;
    const hash = col.hash;
    const bytes = col.values as Uint8Array;
    const offsets = col.offsets!;
    const scratch = this.scratch;
    const reader = this.reader;
    const version = reader.begin();
    const cacheKeys = this.cacheKeys;
    const cacheIds = this.cacheIds;
    if (version !== this.cacheVersion) {
      cacheKeys.fill(EMPTY);
      this.cacheVersion = version;
    }
    try {
      for (let r = 0; r < n; r++) {
        if ((validity[r >> 3] & (1 << (r & 7))) === 0) {
          out[r] = MISSING_VALUE_ID;
          continue;
        }
        const start = offsets[r];
        const length = offsets[r + 1] - start;
        let packed = EMPTY;
        let slot = 0;
        if (length <= 3) {
          packed = length;
          if (length > 0) packed |= bytes[start] << 8;
          if (length > 1) packed |= bytes[start + 1] << 16;
          if (length > 2) packed |= bytes[start + 2] << 24;
          slot = Math.imul(packed, 0x9e3779b1) >>> (32 - CACHE_BITS);
          if (cacheKeys[slot] === packed) {
            out[r] = cacheIds[slot];
            continue;
          }
        }
        let id: number;
        if (hash !== null) {
          id = reader.lookup(hash[2 * r], hash[2 * r + 1], MISSING_VALUE_ID);
        } else {
          hash64Into(bytes, start, start + length, scratch, 0);
          id = reader.lookup(scratch[0], scratch[1], MISSING_VALUE_ID);
        }
        out[r] = id;
        if (packed !== EMPTY) {
          cacheKeys[slot] = packed;
          cacheIds[slot] = id;
        }
      }
    } finally {
      reader.end();
    }
    return version;
  }
}
