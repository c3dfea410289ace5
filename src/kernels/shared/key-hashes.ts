/**
 * The 64-bit key hashes of a batch's hashed string columns, computed on the worker. With a single
 * partition nothing on the decoding thread needs them (no row is routed by key), so the native decoder
 * leaves them out (NdjsonDecoder.setNativeKeyHashes(false)) and the partition's worker fills them here
 * before dedupe and distinct read them: work moved off the main thread, which bounds replay, onto the
 * worker, which has time to spare there.
 *
 * Every row is hashed, whichever decoder tier wrote it (the JS tiers still hash theirs, the few lines
 * native declines: same result), as the decoders do: hash64 of the value's bytes, (0, 0) for a null.
 */
import type { BatchView } from '../../runtime/batch.js';
import type { BatchLayout } from '../../runtime/schema.js';
import { loadNativeModule, type NativeModule } from '../../runtime/native-module.js';
import { hash64Into } from './xxhash32.js';

export class KeyHasher {
  private readonly columns: Int32Array;
  private readonly native: NativeModule['hashColumn'];

  /** `native: false` hashes in JS even when the native module is built (tests). */
  constructor(layout: BatchLayout, opts: { native?: boolean } = {}) {
    this.columns = Int32Array.from(layout.columns.filter((c) => c.spec.type === 'string' && c.hashOffset >= 0), (c) => c.index);
    this.native = opts.native === false ? undefined : loadNativeModule()?.hashColumn;
  }

  /** Key hashes of rows 0 .. rowCount - 1 of every hashed column of `batch`. */
  fill(batch: BatchView): void {
    const rows = batch.rowCount;
    for (let i = 0; i < this.columns.length; i++) {
      const col = batch.columns[this.columns[i]];
      const bytes = col.values as Uint8Array;
      const offsets = col.offsets!;
      const hash = col.hash!;
      if (this.native !== undefined) {
        this.native(bytes, offsets, col.validity, hash, rows);
        continue;
      }
      for (let r = 0; r < rows; r++) {
        if ((col.validity[r >> 3] & (1 << (r & 7))) !== 0) hash64Into(bytes, offsets[r], offsets[r + 1], hash, 2 * r);
        else { hash[2 * r] = 0; hash[2 * r + 1] = 0; }
      }
    }
  }
}
