/**
 * The scatter's column copy in native code (native-bindings/src/scatter.rs), when the native module
 * is built: one call per segment copies its staging rows into the open ring slots of their
 * partitions, every column, with the same results as the JS loops of scatter/copy.ts (property test:
 * test/unit/runtime/scatter-native.test.ts).
 *
 * Both layouts go to native once, flattened (scatter.rs has the format); a call then passes the
 * staging bytes, each partition's open slot bytes, the row -> partition array and where each
 * partition's rows start in its slot.
 */
import { KernelError } from '../../errors.js';
import { loadNativeModule, type NativeSlotScatterHandle } from '../native-module.js';
import type { BatchView } from '../batch.js';
import type { BatchLayout } from '../schema.js';
import { columnKinds } from './column-kinds.js';

const COLUMN_INTS = 6;

/** A layout as scatter.rs reads it. */
export function flattenLayout(layout: BatchLayout): Int32Array {
  const kinds = columnKinds(layout);
  const ints = new Int32Array(3 + COLUMN_INTS * layout.columns.length);
  ints.set([layout.slotBytes, layout.rowCapacity, layout.columns.length]);
  layout.columns.forEach((c, i) => {
    ints.set([kinds[i], c.valuesOffset, Math.max(0, c.offsetsOffset), c.stringBytes, c.hashOffset, c.validityOffset], 3 + COLUMN_INTS * i);
  });
  return ints;
}

export class NativeSlotCopier {
  private constructor(private readonly handle: NativeSlotScatterHandle) {}

  /**
   * A copier from batches of `staging` to slots of `slot` layout, or null when the native module is
   * not available (not built, RINGFLOW_NATIVE=0, an older build without the scatter).
   */
  static create(staging: BatchLayout, slot: BatchLayout): NativeSlotCopier | null {
    const mod = loadNativeModule();
    if (mod === null || typeof mod.SlotScatter !== 'function') return null;
    try {
      return new NativeSlotCopier(new mod.SlotScatter(flattenLayout(staging), flattenLayout(slot)));
    } catch (err) {
      throw new KernelError(`native scatter rejected its layouts: ${(err as Error).message}`, { cause: err });
    }
  }

  /**
   * Staging rows [start, start + count) -> slots[part[i]] (the partitions' open slots, as bytes),
   * partition p's rows from slot row base[p] on. String room was checked by the caller; native
   * checks every bound again first and throws a KernelError, having written nothing.
   */
  copySegment(staging: BatchView, slots: Uint8Array[], part: Uint16Array, start: number, count: number, base: Int32Array): void {
    try {
      this.handle.copySegment(staging.bytes, slots, part, start, count, base);
    } catch (err) {
      // Native checks every bound before it writes, so a failed call changed no slot.
      throw new KernelError(`native scatter: ${(err as Error).message}`, { cause: err });
    }
  }
}
