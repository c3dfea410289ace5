/**
 * Row -> partition, and the scatter of a staging batch into the partitions' ring slots.
 *
 * Partition choice. A string key arrives with a 64-bit hash (lo, hi) written by the decode kernel.
 * Inside a partition, the dedupe Bloom filter probes bit (lo + i * (hi | 1)) mod m. If the partition
 * were taken from those same bits (say lo mod P), every key of partition p would share lo's low bits
 * and the Bloom's first probes would crowd into 1/P of the bit array. So the partition is taken from
 * a *different* function of the pair: fmix32(hi ^ imul(lo, GOLDEN)) — murmur3's finalizer, in which
 * every output bit depends on every input bit — reduced to [0, P) by multiply-high (floor(x * P / 2^32),
 * Lemire), which uses the top bits of the mix. Given the partition, lo and hi stay ~uniform, so the
 * Bloom sees full-entropy probes in every partition.
 *
 * Numeric keys (int32, and int64/timestamp/float64 stored as float64) go through the same mix:
 * int32 as (lo = v, hi = 0); float64 by its IEEE bits (lo, hi), with -0 folded into 0 so equal
 * numbers land together. Integers that differ in one bit spread over all partitions.
 */
import { clearValidRange, type BatchView } from './batch.js';
import type { Ring } from './ring.js';
import { columnKinds } from './scatter/column-kinds.js';
import { copySegment, type NativeCopy, type SegmentScratch, type SlotArrays } from './scatter/copy.js';
import { NativeSlotCopier } from './scatter/native.js';
import type { BatchLayout } from './schema.js';
import { ConfigError, RingflowError } from '../errors.js';
import { fmix32 } from './fmix32.js';

const GOLDEN = 0x9e3779b1 | 0;
const TWO_POW_32 = 4294967296;


/** Partition of a 64-bit key hash given as two unsigned 32-bit halves. */
export function partitionOfHash(lo: number, hi: number, partitions: number): number {
  return Math.floor((fmix32(hi ^ Math.imul(lo, GOLDEN)) * partitions) / TWO_POW_32);
}

export function partitionOfInt32(v: number, partitions: number): number {
  return partitionOfHash(v | 0, 0, partitions);
}

// One scratch pair for reading float bits: no allocation per row.
const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);

export function partitionOfFloat64(v: number, partitions: number): number {
  f64[0] = v === 0 ? 0 : v;
  return partitionOfHash(u32[0], u32[1], partitions);
}

/** slotBytes entry of a partition without an open slot: a published one belongs to a worker now. */
const NO_SLOT = new Uint8Array(0);

/** Called after a slot of `partition` was published (the runtime schedules its task). */
export type OnPublish = (partition: number) => void;

export class Partitioner {
  readonly partitions: number;
  private readonly rings: readonly Ring[];
  private readonly keyIndex: number;
  private readonly keyKind: 'hash' | 'int32' | 'float64';
  private readonly open: (BatchView | null)[];
  private readonly openRows: Int32Array;
  private readonly onPublish: OnPublish;
  /** The partition whose full ring stopped the last scatter, or -1. */
  blockedPartition = -1;
  /** Staging watermark at the last scatter; stamped on every slot published after it. */
  private watermarkMs = 0;
  private readonly rowCapacity: number;
  private readonly kinds: Uint8Array;
  /** Column indices of the string columns and their byte room per slot. */
  private readonly stringColumns: Int32Array;
  private readonly stringRoom: Int32Array;
  /** Longest value per string column among the rows of the current scatter() call. */
  private readonly stringMaxLen: Int32Array;
  /**
   * Rows partition p's open slot is sure to take before its string room needs a look (0 when no slot
   * is open): min over string columns of free bytes / longest value in this call. Counting this down
   * replaces a per-row, per-column room check; at 0 the exact check runs (see scatter()).
   */
  private readonly fitRows: Int32Array;
  private readonly slotArrays: SlotArrays;
  /** Segment scratch (see scatter/copy.ts). */
  private readonly segment: SegmentScratch;
  /** Partition of each staging row, computed for the whole call in one tight loop. */
  private rowPart = new Uint16Array(0);
  private readonly srcOffsets: Int32Array[] = [];

  /** Native row copy per staging layout (null: none available, the JS loops copy); see nativeCopyFor. */
  private readonly nativeCopies = new Map<BatchLayout, NativeCopy | null>();
  private readonly useNative: boolean;
  /** Each partition's open slot as bytes, for the native copy (NO_SLOT when none is open). */
  private readonly slotBytes: Uint8Array[];
  /** directSlot() handed out the open slot since the last settleDirect(): its free rows may hold stale validity bits. */
  private directWritten = false;

  /** @param options.native copy rows with the native module when it is built (default); false: always JS. */
  constructor(rings: readonly Ring[], keyColumn: string, onPublish: OnPublish, options: { native?: boolean } = {}) {
    this.useNative = options.native ?? true;
    if (rings.length === 0) throw new ConfigError('runtime.partitions', 'must be at least 1, got 0');
    const layout = rings[0].layout;
    const col = layout.byName.get(keyColumn);
    if (!col) throw new ConfigError('runtime.keyColumn', `no column "${keyColumn}" in the batch schema`);
    const t = col.spec.type;
    if (t === 'string' && !col.spec.hashed) {
      throw new ConfigError('runtime.keyColumn', `string key "${keyColumn}" must be declared hashed: true`);
    }
    if (t === 'bool' || t === 'enum') {
      throw new ConfigError('runtime.keyColumn', `key "${keyColumn}" must be string, int32, int64, timestamp_ms or float64, got ${t}`);
    }
    this.rings = rings;
    this.partitions = rings.length;
    this.keyIndex = col.index;
    this.keyKind = t === 'string' ? 'hash' : t === 'int32' ? 'int32' : 'float64';
    this.open = rings.map(() => null);
    this.slotBytes = rings.map(() => NO_SLOT);
    this.openRows = new Int32Array(rings.length);
    this.fitRows = new Int32Array(rings.length);
    this.onPublish = onPublish;
    this.rowCapacity = layout.rowCapacity;
    this.kinds = columnKinds(layout);
    const strings = layout.columns.filter((c) => c.spec.type === 'string');
    this.stringColumns = Int32Array.from(strings, (c) => c.index);
    this.stringRoom = Int32Array.from(strings, (c) => c.stringBytes);
    this.stringMaxLen = new Int32Array(strings.length);
    const perColumn = <T>(): T[][] => layout.columns.map(() => new Array<T>(rings.length));
    this.slotArrays = { values: perColumn(), offsets: perColumn(), hash: perColumn(), validity: perColumn() };
    this.segment = { part: new Uint16Array(0), order: new Int32Array(0), first: new Int32Array(rings.length + 1), base: new Int32Array(rings.length) };
  }

  /** rowPart[r] for r in [from, n): one loop per key kind, so the row loop of scatter() only reads it. */
  private partitionRows(staging: BatchView, from: number, n: number): void {
    const out = this.rowPart;
    const partitions = this.partitions;
    const c = staging.columns[this.keyIndex];
    if (this.keyKind === 'hash') {
      const h = c.hash!;
      for (let r = from; r < n; r++) out[r] = partitionOfHash(h[2 * r], h[2 * r + 1], partitions);
    } else if (this.keyKind === 'int32') {
      const v = c.values as Int32Array;
      for (let r = from; r < n; r++) out[r] = partitionOfInt32(v[r], partitions);
    } else {
      const v = c.values as Float64Array;
      for (let r = from; r < n; r++) out[r] = partitionOfFloat64(v[r], partitions);
    }
  }

  /** The native copy for batches of this staging layout, made on first use; null for the JS loops. */
  private nativeCopyFor(staging: BatchView): NativeCopy | null {
    let n = this.nativeCopies.get(staging.layout);
    if (n === undefined) {
      const copier = this.useNative ? NativeSlotCopier.create(staging.layout, this.rings[0].layout) : null;
      n = copier === null ? null : { copier, slotBytes: this.slotBytes };
      this.nativeCopies.set(staging.layout, n);
    }
    return n;
  }

  /** Bytes used so far in partition p's open slot by string column s (its rows are all copied). */
  private usedBytes(p: number, s: number): number {
    return this.slotArrays.offsets[this.stringColumns[s]][p][this.openRows[p]];
  }

  /** See fitRows (0 when partition p has no open slot). */
  private rowsThatFit(p: number): number {
    if (this.open[p] === null) return 0;
    let fit = this.rowCapacity;
    for (let s = 0; s < this.stringColumns.length; s++) {
      const longest = this.stringMaxLen[s];
      if (longest > 0) fit = Math.min(fit, Math.floor((this.stringRoom[s] - this.usedBytes(p, s)) / longest));
    }
    return fit;
  }

  /** Exact check: does staging row r fit into partition p's open slot? */
  private rowFits(p: number, r: number): boolean {
    for (let s = 0; s < this.stringColumns.length; s++) {
      const off = this.srcOffsets[s];
      if (this.usedBytes(p, s) + off[r + 1] - off[r] > this.stringRoom[s]) return false;
    }
    return true;
  }

  /**
   * Copy rows [fromRow, staging.rowCount) into their partitions' open slots. Returns staging.rowCount
   * when all rows were placed, or the first row not placed because its partition's ring is full
   * (`blockedPartition` says which): await the ring and call again from that row.
   *
   * Rows go in segments: a row loop picks (partition, slot row) per row, up to the first row whose
   * slot fills up, may lack string room, or cannot be opened; then copySegment moves the segment
   * column by column. A slot is published as soon as it is full.
   */
  scatter(staging: BatchView, fromRow: number): number {
    this.settleDirect();
    const n = staging.rowCount;
    this.watermarkMs = staging.watermarkMs;
    this.blockedPartition = -1;
    const g = this.segment;
    const capacity = staging.layout.rowCapacity;
    if (g.part.length < capacity) {
      g.part = new Uint16Array(capacity);
      g.order = new Int32Array(capacity);
      this.rowPart = new Uint16Array(capacity);
    }
    const part = g.part;
    const base = g.base;
    const partitions = this.partitions;
    const openRows = this.openRows;
    const fit = this.fitRows;
    const rowPart = this.rowPart;
    const cap = this.rowCapacity;
    const strings = this.stringColumns.length;
    const srcOffsets = this.srcOffsets;
    for (let s = 0; s < strings; s++) {
      const off = (srcOffsets[s] = staging.columns[this.stringColumns[s]].offsets!);
      let longest = 0;
      for (let r = fromRow; r < n; r++) longest = Math.max(longest, off[r + 1] - off[r]);
      this.stringMaxLen[s] = longest;
    }
    this.partitionRows(staging, fromRow, n);
    // rowsThatFit is called for every partition, open slot or not: a call site that the first
    // scatter() calls skipped (no slot open yet) deoptimized this function again and again.
    for (let p = 0; p < partitions; p++) fit[p] = this.rowsThatFit(p);
    let r = fromRow;
    while (r < n) {
      const segmentStart = r;
      let count = 0;
      let publish = -1;
      let blocked = -1;
      let recheck = -1;
      // A partition opened during the segment starts at row 0, which openRows already says.
      for (let p = 0; p < partitions; p++) base[p] = openRows[p];
      for (; r < n; r++) {
        const p = rowPart[r];
        if (fit[p] === 0) {
          if (this.open[p] !== null || !this.openSlot(p)) {
            // Full ring, or string room to measure exactly (needs this segment copied first).
            if (this.open[p] === null) blocked = p;
            else recheck = p;
            break;
          }
          fit[p] = this.rowsThatFit(p);
          if (fit[p] === 0) { recheck = p; break; }
        }
        fit[p]--;
        const row = openRows[p];
        part[count++] = p;
        openRows[p] = row + 1;
        if (row + 1 === cap) {
          publish = p;
          r++;
          break;
        }
      }
      if (count > 0) copySegment(staging, this.kinds, segmentStart, count, partitions, g, this.slotArrays, this.nativeCopyFor(staging));
      if (publish >= 0) this.publishOpen(publish);
      if (blocked >= 0) {
        this.blockedPartition = blocked;
        return r;
      }
      if (recheck >= 0) this.makeRoom(recheck, r);
    }
    return n;
  }

  /**
   * Single partition only: partition 0's open slot itself (opened if none is), for a decoder to append
   * rows to from its rowCount on, which saves the copy scatter() would make of every row. Null while
   * the ring is full (blockedPartition = 0): await the ring and ask again. The rows count once
   * commitDirect() is called, which must come before any other call of this partitioner.
   */
  directSlot(): BatchView | null {
    if (this.partitions !== 1) throw new RingflowError('DIRECT_SLOT', `direct slots need a single partition, not ${this.partitions}`);
    this.blockedPartition = -1;
    if (this.open[0] === null && !this.openSlot(0)) {
      this.blockedPartition = 0;
      return null;
    }
    const slot = this.open[0]!;
    this.checkCommitted(slot);
    slot.rowCount = this.openRows[0];
    this.directWritten = true;
    return slot;
  }

  /**
   * A decoder that appended rows to the direct slot without commitDirect() would lose rows already
   * counted and already seen by the watermark. (Fewer is fine: scatter() appends without touching
   * slot.rowCount.)
   */
  private checkCommitted(slot: BatchView): void {
    if (slot.rowCount > this.openRows[0]) {
      throw new RingflowError('DIRECT_SLOT', `direct slot holds ${slot.rowCount} rows, ${this.openRows[0]} committed: commitDirect() was not called`);
    }
  }

  /**
   * The decoder may have written rows of the direct slot past the committed ones that it did not
   * publish: a line it gave up on (rejected, or no room) writes row `rowCount` before it stops, even
   * into a slot that keeps no row; a native block cut short by a late row whose line did not fit
   * `__raw` leaves whole rows. scatter() only ORs validity bits into an open slot, so before it copies
   * rows in, the free rows' bits are cleared again (their values and offsets it overwrites).
   */
  private settleDirect(): void {
    if (!this.directWritten) return;
    this.directWritten = false;
    const slot = this.open[0];
    if (slot === null) return;
    this.checkCommitted(slot);
    for (const c of slot.columns) clearValidRange(c.validity, this.openRows[0], this.rowCapacity);
  }

  /**
   * The rows a decoder appended to directSlot() belong to the slot now; it is published when full, or
   * when `ship` (the decoder found no room in it for the next line) and it has rows. Nothing to do when
   * no slot is open (nothing was decoded since the last publish).
   */
  commitDirect(ship: boolean): void {
    const slot = this.open[0];
    if (slot === null) return;
    const rows = slot.rowCount;
    this.openRows[0] = rows;
    // scatter() measures the string room again from the offsets the decoder left.
    this.fitRows[0] = 0;
    if (rows > 0 && (ship || rows >= this.rowCapacity)) this.publishOpen(0);
  }

  /**
   * Partition p's slot may lack string room for row r: let exactly that row in when it fits,
   * otherwise ship the slot (the row then opens the next one).
   */
  private makeRoom(p: number, r: number): void {
    this.fitRows[p] = this.rowsThatFit(p);
    if (this.fitRows[p] > 0) return;
    if (this.rowFits(p, r)) {
      this.fitRows[p] = 1;
      return;
    }
    if (this.openRows[p] === 0) {
      throw new RingflowError('ROW_TOO_LARGE', `row ${r} does not fit an empty batch slot`, { details: { partition: p } });
    }
    this.publishOpen(p);
  }

  /** Open partition p's next ring slot for writing; false when its ring is full. */
  private openSlot(p: number): boolean {
    const slot = this.rings[p].tryAcquire();
    if (slot === null) return false;
    this.open[p] = slot;
    this.slotBytes[p] = slot.bytes;
    this.openRows[p] = 0;
    const a = this.slotArrays;
    for (let c = 0; c < slot.columns.length; c++) {
      const col = slot.columns[c];
      a.values[c][p] = col.values;
      a.validity[c][p] = col.validity;
      if (col.offsets) a.offsets[c][p] = col.offsets;
      if (col.hash) a.hash[c][p] = col.hash;
    }
    return true;
  }

  /** Publish every partially filled slot (before a control change or at shutdown). */
  flush(): void {
    for (let p = 0; p < this.partitions; p++) {
      if (this.open[p] !== null && this.openRows[p] > 0) this.publishOpen(p);
    }
  }

  /** Rows sitting in open, unpublished slots. */
  get unpublishedRows(): number {
    let s = 0;
    for (let p = 0; p < this.partitions; p++) s += this.openRows[p];
    return s;
  }

  private publishOpen(p: number): void {
    const slot = this.open[p]!;
    slot.rowCount = this.openRows[p];
    slot.watermarkMs = this.watermarkMs;
    this.open[p] = null;
    this.slotBytes[p] = NO_SLOT;
    this.openRows[p] = 0;
    this.fitRows[p] = 0;
    this.rings[p].publish();
    this.onPublish(p);
  }
}

