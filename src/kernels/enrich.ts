/**
 * Enrich kernel (worker side): look a string column up in a shared dimension table and write one
 * value id per row into a scratch column the processor owns. Rows carry ids, not strings; the main
 * thread turns ids back into strings with the loader's dictionary when it emits rows.
 *
 * The key hash comes from the batch when the column is `hashed` (the decoder computed it); otherwise it
 * is computed here from the row's bytes with the same function the loader used (xxhash32.ts), which for
 * short keys such as two-letter country codes costs about as much as reading the hash would.
 * A null key and a key not in the table both get the missing id (0 = the configured default).
 */
import type { BatchView } from '../runtime/batch.js';
import { DimTableReader, type DimTableShared } from './dim-table.js';
import { hash64Into } from './xxhash32.js';

export interface EnrichOptions {
  table: DimTableShared;
  /** Input string column to look up. */
  joinOn: string;
  /** Name of the enriched field (a group-by field for the aggregate). */
  as: string;
}

export const MISSING_VALUE_ID = 0;

export class EnrichKernel {
  readonly options: EnrichOptions;
  private readonly reader: DimTableReader;
  private readonly scratch = new Uint32Array(2);

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
    try {
      for (let r = 0; r < n; r++) {
        if ((validity[r >> 3] & (1 << (r & 7))) === 0) {
          out[r] = MISSING_VALUE_ID;
        } else if (hash !== null) {
          out[r] = reader.lookup(hash[2 * r], hash[2 * r + 1], MISSING_VALUE_ID);
        } else {
          hash64Into(bytes, offsets[r], offsets[r + 1], scratch, 0);
          out[r] = reader.lookup(scratch[0], scratch[1], MISSING_VALUE_ID);
        }
      }
    } finally {
      reader.end();
    }
    return version;
  }
}
