/**
 * A dimension table (key column -> value column) from a CSV file, held in shared memory so every
 * worker looks keys up in place, and reloadable while the pipeline runs.
 *
 * Keys are stored by their 64-bit key hash (xxhash32.ts `hash64Into`, the same hash the decoder
 * writes for hashed string columns); values by a small integer id into a string dictionary that only
 * the main thread holds. The dictionary is append-only across reloads (id 0 = the configured default,
 * e.g. "unknown"), so an id means the same string for the whole run and aggregates can group by it.
 *
 * Double-buffered regions and a control block, all SharedArrayBuffers created once:
 *
 *   control  Int32[1 + maxReaders]: [0] = version (region = version & 1),
 *                                   [1 + r] = version + 1 that reader r is using, 0 = idle
 *   region i Int32 header x 2: [rows, distinctValues]
 *            Uint32[slots * 2]  key hash (lo, hi) per slot, open addressing, linear probing
 *            Int32[slots]       value id + 1 per slot, 0 = empty
 *
 * Reload: the loader writes the new table into the region the current version does NOT use, after
 * waiting until no reader still uses the version before (the only other user of that region), then
 * publishes version + 1 with Atomics.store. Readers pin a version per batch (store, then re-check the
 * version, so a pin never races a publish) and pick up the new table at their next batch.
 */
import { ConfigError } from '../../errors.js';
import { createSharedDictionary, type SharedDictionaryShared } from './shared-dictionary.js';

export interface DimTableShared {
  control: SharedArrayBuffer;
  regions: [SharedArrayBuffer, SharedArrayBuffer];
  /** Power of two, at least 2 * maxRows. */
  slots: number;
  maxRows: number;
  maxValues: number;
  maxReaders: number;
  /** Value id -> JSON literal, for workers that write enriched events (shared-dictionary.ts). */
  dictionary: SharedDictionaryShared;
}

const REGION_HEADER_BYTES = 8;

export function createDimTableShared(maxRows: number, maxValues: number, maxReaders: number): DimTableShared {
  if (!Number.isInteger(maxRows) || maxRows < 1 || maxRows > 1 << 24) {
    throw new ConfigError('enrich.maxRows', `must be an integer from 1 to ${1 << 24}, got ${maxRows}`);
  }
  if (!Number.isInteger(maxValues) || maxValues < 2 || maxValues > 65536) {
    throw new ConfigError('enrich.maxValues', `must be an integer from 2 to 65536, got ${maxValues}`);
  }
  const slots = 2 ** Math.ceil(Math.log2(maxRows * 2));
  const regionBytes = REGION_HEADER_BYTES + slots * 8 + slots * 4;
  return {
    control: new SharedArrayBuffer(4 * (1 + maxReaders)),
    regions: [new SharedArrayBuffer(regionBytes), new SharedArrayBuffer(regionBytes)],
    slots,
    maxRows,
    maxValues,
    maxReaders,
    dictionary: createSharedDictionary(maxValues),
  };
}

interface RegionViews {
  header: Int32Array;
  keys: Uint32Array;
  values: Int32Array;
}

function regionViews(shared: DimTableShared, i: number): RegionViews {
  const buf = shared.regions[i];
  return {
    header: new Int32Array(buf, 0, 2),
    keys: new Uint32Array(buf, REGION_HEADER_BYTES, shared.slots * 2),
    values: new Int32Array(buf, REGION_HEADER_BYTES + shared.slots * 8, shared.slots),
  };
}

function slotOf(lo: number, hi: number, mask: number): number {
  // The partitioner and Bloom filter use lo and hi directly; mix so a dim table sees independent bits.
  let h = Math.imul(lo ^ (hi >>> 16), 0x85ebca6b);
  h ^= h >>> 13;
  return h & mask;
}

/** Worker side: pin the current version for a batch, look keys up, unpin. Allocates nothing per lookup. */
export class DimTableReader {
  private readonly control: Int32Array;
  private readonly views: [RegionViews, RegionViews];
  private readonly mask: number;
  private readonly readerSlot: number;
  private keys: Uint32Array;
  private values: Int32Array;

  constructor(shared: DimTableShared, reader: number) {
    if (!Number.isInteger(reader) || reader < 0 || reader >= shared.maxReaders) {
      throw new RangeError(`dim table reader ${reader} is outside 0..${shared.maxReaders - 1}`);
    }
    this.control = new Int32Array(shared.control);
    this.views = [regionViews(shared, 0), regionViews(shared, 1)];
    this.mask = shared.slots - 1;
    this.readerSlot = 1 + reader;
    this.keys = this.views[0].keys;
    this.values = this.views[0].values;
  }

  /** Pin the newest published table until `end()`. Returns its version. */
  begin(): number {
    const c = this.control;
    for (;;) {
      const v = Atomics.load(c, 0);
      Atomics.store(c, this.readerSlot, v + 1);
      if (Atomics.load(c, 0) === v) {
        const r = this.views[v & 1];
        this.keys = r.keys;
        this.values = r.values;
        return v;
      }
    }
  }

  end(): void {
    Atomics.store(this.control, this.readerSlot, 0);
  }

  /** Value id for the key hash, or `missing` when the key is not in the table. */
  lookup(lo: number, hi: number, missing: number): number {
    const keys = this.keys;
    const values = this.values;
    const mask = this.mask;
    let s = slotOf(lo, hi, mask);
    for (;;) {
      const v = values[s];
      if (v === 0) return missing;
      if (keys[2 * s] === lo >>> 0 && keys[2 * s + 1] === hi >>> 0) return v - 1;
      s = (s + 1) & mask;
    }
  }
}

/** Main-thread side: write tables into the free region and publish them. */
export class DimTableWriter {
  readonly shared: DimTableShared;
  private readonly control: Int32Array;
  private readonly views: [RegionViews, RegionViews];

  constructor(shared: DimTableShared) {
    this.shared = shared;
    this.control = new Int32Array(shared.control);
    this.views = [regionViews(shared, 0), regionViews(shared, 1)];
  }

  get version(): number {
    return Atomics.load(this.control, 0);
  }

  /** True when no reader still uses the version that shares a region with the next one. */
  canPublish(): boolean {
    const previous = this.version - 1;
    if (previous < 0) return true;
    for (let r = 1; r < this.control.length; r++) {
      if (Atomics.load(this.control, r) === previous + 1) return false;
    }
    return true;
  }

  /**
   * Write (key hash -> value id) pairs into the free region and publish them as the next version.
   * The caller checks `canPublish()` first (DimTableLoader waits for it). Returns the new version.
   */
  publish(keyHashes: Uint32Array, valueIds: Int32Array, distinctValues: number): number {
    const rows = valueIds.length;
    if (rows > this.shared.maxRows) {
      throw new ConfigError('enrich.maxRows', `the table has ${rows} rows, over the configured ${this.shared.maxRows}`);
    }
    if (!this.canPublish()) throw new Error('dim table region still in use by a reader; wait for canPublish()');
    const next = this.version + 1;
    const r = this.views[next & 1];
    r.keys.fill(0);
    r.values.fill(0);
    const mask = this.shared.slots - 1;
    for (let i = 0; i < rows; i++) {
      const lo = keyHashes[2 * i];
      const hi = keyHashes[2 * i + 1];
      let s = slotOf(lo, hi, mask);
      while (r.values[s] !== 0 && !(r.keys[2 * s] === lo && r.keys[2 * s + 1] === hi)) s = (s + 1) & mask;
      r.keys[2 * s] = lo;
      r.keys[2 * s + 1] = hi;
      r.values[s] = valueIds[i] + 1; // a repeated key: the last row wins, as a later CSV line overrides
    }
    r.header[0] = rows;
    r.header[1] = distinctValues;
    Atomics.store(this.control, 0, next);
    return next;
  }
}
