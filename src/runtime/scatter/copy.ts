/**
 * Column-at-a-time copy of a run of staging rows into the partitions' open ring slots, for the
 * partitioner's scatter. The partitioner first decides, row by row, where each row goes (part[i]),
 * then the segment is grouped by partition and each column is copied in its own loop:
 *
 *   segment row i      0    1    2    3    4   ...   (staging row = start + i)
 *   part[i]            3    0    3    7    0
 *   order (grouped)   [1 4 | 0 2 | 3]                first[] marks where each partition starts
 *   slot rows          base[0], base[0]+1 | base[3], base[3]+1 | base[7]
 *
 * Each inner loop holds one destination typed array and writes consecutive rows; the row-at-a-time
 * copyRow went through every column type at one call site and reloaded the destination per row.
 *
 * Destinations are per column, indexed by partition: dst[c][p] = the values array of column c in
 * partition p's open slot (refreshed by the partitioner whenever it opens a slot). Validity bits of an
 * open slot's free rows are clear (Ring.tryAcquire clears the slot, and Partitioner.commitDirect clears
 * the row a decoder writing into the slot directly may have left half-written), so only set bits are
 * copied.
 */
import { allValid, dataViewOf, setValidRange, type BatchView } from '../batch.js';
import type { BatchLayout } from '../schema.js';
import { KIND_F64, KIND_I32, KIND_U16, KIND_U8 } from './column-kinds.js';
import type { NativeSlotCopier } from './native.js';

/** Per column c, per partition p: the open slot's arrays (null entries for absent parts). */
export interface SlotArrays {
  values: (Float64Array | Int32Array | Uint8Array | Uint16Array)[][];
  offsets: Int32Array[][];
  hash: Uint32Array[][];
  validity: Uint8Array[][];
}

/**
 * Counting sort of the segment by partition: after it, order[first[p] .. first[p + 1]) are the
 * staging rows of partition p in input order, and they go to slot rows base[p], base[p] + 1, ...
 * Copying partition by partition keeps one destination array in a register per inner loop.
 */
export interface SegmentScratch {
  /** Partition of segment row i (staging row start + i); filled by the partitioner. */
  part: Uint16Array;
  /** Staging rows grouped by partition. */
  order: Int32Array;
  /** first[p] = index in `order` of partition p's first row; P + 1 entries. */
  first: Int32Array;
  /** Slot row of each partition's first row in this segment. */
  base: Int32Array;
}

function groupByPartition(start: number, count: number, partitions: number, g: SegmentScratch): void {
  const first = g.first;
  for (let p = 0; p <= partitions; p++) first[p] = 0;
  for (let i = 0; i < count; i++) first[g.part[i] + 1]++;
  for (let p = 0; p < partitions; p++) first[p + 1] += first[p];
  // first[p] is used as a cursor, then restored by shifting back one partition.
  for (let i = 0; i < count; i++) g.order[first[g.part[i]]++] = start + i;
  for (let p = partitions; p > 0; p--) first[p] = first[p - 1];
  first[0] = 0;
}

function copyF64(src: Float64Array, dst: Float64Array[], g: SegmentScratch, partitions: number): void {
  const order = g.order;
  for (let p = 0; p < partitions; p++) {
    const d = dst[p];
    const shift = g.base[p] - g.first[p];
    for (let j = g.first[p], end = g.first[p + 1]; j < end; j++) d[shift + j] = src[order[j]];
  }
}

function copyI32(src: Int32Array, dst: Int32Array[], g: SegmentScratch, partitions: number): void {
  const order = g.order;
  for (let p = 0; p < partitions; p++) {
    const d = dst[p];
    const shift = g.base[p] - g.first[p];
    for (let j = g.first[p], end = g.first[p + 1]; j < end; j++) d[shift + j] = src[order[j]];
  }
}

function copyU8(src: Uint8Array, dst: Uint8Array[], g: SegmentScratch, partitions: number): void {
  const order = g.order;
  for (let p = 0; p < partitions; p++) {
    const d = dst[p];
    const shift = g.base[p] - g.first[p];
    for (let j = g.first[p], end = g.first[p + 1]; j < end; j++) d[shift + j] = src[order[j]];
  }
}

function copyU16(src: Uint16Array, dst: Uint16Array[], g: SegmentScratch, partitions: number): void {
  const order = g.order;
  for (let p = 0; p < partitions; p++) {
    const d = dst[p];
    const shift = g.base[p] - g.first[p];
    for (let j = g.first[p], end = g.first[p + 1]; j < end; j++) d[shift + j] = src[order[j]];
  }
}

function copyStrings(src: Uint8Array, srcOffsets: Int32Array, dst: Uint8Array[], dstOffsets: Int32Array[], g: SegmentScratch,
  partitions: number, start: number, count: number): void {
  const order = g.order;
  // A column empty in this segment's rows (e.g. __raw without late rows): only the offsets move.
  const empty = srcOffsets[start + count] === srcOffsets[start];
  const from = empty ? null : dataViewOf(src);
  for (let p = 0; p < partitions; p++) {
    const first = g.first[p];
    const end = g.first[p + 1];
    if (first === end) continue;
    const offsets = dstOffsets[p];
    let row = g.base[p];
    let at = offsets[row];
    if (from === null) {
      for (let j = first; j < end; j++) offsets[++row] = at;
      continue;
    }
    const bytes = dst[p];
    const to = dataViewOf(bytes);
    for (let j = first; j < end; j++) {
      const r = order[j];
      const s = srcOffsets[r];
      const len = srcOffsets[r + 1] - s;
      // 4 bytes per DataView access (unaligned is fine), then the tail byte by byte: faster than a
      // byte loop on short ids, with no subarray() allocation per row.
      let k = 0;
      for (; k + 4 <= len; k += 4) to.setUint32(at + k, from.getUint32(s + k, true), true);
      for (; k < len; k++) bytes[at + k] = src[s + k];
      at += len;
      offsets[++row] = at;
    }
  }
}

function copyHashes(src: Uint32Array, dst: Uint32Array[], g: SegmentScratch, partitions: number): void {
  const order = g.order;
  for (let p = 0; p < partitions; p++) {
    const h = dst[p];
    const shift = g.base[p] - g.first[p];
    for (let j = g.first[p], end = g.first[p + 1]; j < end; j++) {
      const r = 2 * order[j];
      const row = 2 * (shift + j);
      h[row] = src[r];
      h[row + 1] = src[r + 1];
    }
  }
}

function copyValidity(src: Uint8Array, dst: Uint8Array[], g: SegmentScratch, partitions: number, start: number, count: number): void {
  const order = g.order;
  if (allValid(src, start, start + count)) {
    // The usual case (required and defaulted fields): each partition's rows are consecutive in its slot.
    for (let p = 0; p < partitions; p++) {
      const n = g.first[p + 1] - g.first[p];
      if (n > 0) setValidRange(dst[p], g.base[p], g.base[p] + n);
    }
    return;
  }
  for (let p = 0; p < partitions; p++) {
    const d = dst[p];
    const shift = g.base[p] - g.first[p];
    for (let j = g.first[p], end = g.first[p + 1]; j < end; j++) {
      const r = order[j];
      if ((src[r >> 3] & (1 << (r & 7))) !== 0) {
        const row = shift + j;
        d[row >> 3] |= 1 << (row & 7);
      }
    }
  }
}

/** The native twin of the column loops below (scatter/native.ts), and each partition's open slot as bytes. */
export interface NativeCopy {
  copier: NativeSlotCopier;
  /** slotBytes[p]: partition p's open slot (kept by the partitioner; stale for partitions without rows). */
  slotBytes: Uint8Array[];
}

/**
 * Copy staging rows [start, start + count) to their partitions' open slots (g.part, g.base), column by
 * column, or in one native call when `native` is given. String room was checked by the caller.
 */
export function copySegment(staging: BatchView, kinds: Uint8Array, start: number, count: number, partitions: number,
  g: SegmentScratch, slots: SlotArrays, native: NativeCopy | null = null): void {
  if (native !== null) {
    native.copier.copySegment(staging, native.slotBytes, g.part, start, count, g.base);
    return;
  }
  groupByPartition(start, count, partitions, g);
  const cols = staging.columns;
  for (let c = 0; c < cols.length; c++) {
    const s = cols[c];
    switch (kinds[c]) {
      case KIND_F64: copyF64(s.values as Float64Array, slots.values[c] as Float64Array[], g, partitions); break;
      case KIND_I32: copyI32(s.values as Int32Array, slots.values[c] as Int32Array[], g, partitions); break;
      case KIND_U8: copyU8(s.values as Uint8Array, slots.values[c] as Uint8Array[], g, partitions); break;
      case KIND_U16: copyU16(s.values as Uint16Array, slots.values[c] as Uint16Array[], g, partitions); break;
      default:
        copyStrings(s.values as Uint8Array, s.offsets!, slots.values[c] as Uint8Array[], slots.offsets[c], g, partitions, start, count);
        if (s.hash) copyHashes(s.hash, slots.hash[c], g, partitions);
    }
    copyValidity(s.validity, slots.validity[c], g, partitions, start, count);
  }
}
