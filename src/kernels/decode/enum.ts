/**
 * Enum values of all declared enum fields in one hash table, for the compiled tier's big enums (small
 * ones it compares inline): a value is hashed (FNV-1a), then looked up with one probe and a byte compare.
 */

/** FNV-1a over bytes: the enum table's hash (a few ns for a short value, no allocation). */
export const FNV_BASIS = 0x811c9dc5 | 0;
export const FNV_PRIME = 0x01000193;

/**
 * Every enum field's values in one open-addressing hash table (so a lookup costs the same for 4 or
 * 65535 values and touches no per-field objects):
 *
 *   valueBytes  [ view | click | add_to_cart | purchase | (next enum field's values) ... ]
 *   valueStart  [ 0, 4, 9, 20, 28, ... ]           value id v spans valueStart[v] .. valueStart[v+1]
 *   slots       [ field f's 2^k slots | ... ]      slot = v + 1 (0 = empty), probed linearly
 *   per field:  slotBase[f], slotMask[f], firstValue[f]  (the enum index is v - firstValue[f])
 */
export class EnumTable {
  private readonly valueBytes: Uint8Array;
  private readonly valueStart: Int32Array;
  private readonly slots: Int32Array;
  private readonly slotBase: Int32Array;
  private readonly slotMask: Int32Array;
  private readonly firstValue: Int32Array;

  constructor(enumBytes: readonly (readonly Uint8Array[])[]) {
    const all = enumBytes.flat();
    this.valueStart = new Int32Array(all.length + 1);
    all.forEach((v, i) => { this.valueStart[i + 1] = this.valueStart[i] + v.length; });
    this.valueBytes = new Uint8Array(this.valueStart[all.length]);
    all.forEach((v, i) => this.valueBytes.set(v, this.valueStart[i]));
    const n = enumBytes.length;
    this.slotBase = new Int32Array(n);
    this.slotMask = new Int32Array(n);
    this.firstValue = new Int32Array(n);
    let slotCount = 0;
    let first = 0;
    enumBytes.forEach((values, f) => {
      let size = 1;
      while (size < 2 * values.length) size *= 2;
      this.slotBase[f] = slotCount;
      this.slotMask[f] = size - 1;
      this.firstValue[f] = first;
      slotCount += values.length > 0 ? size : 0;
      first += values.length;
    });
    this.slots = new Int32Array(slotCount);
    enumBytes.forEach((values, f) => {
      values.forEach((v, i) => {
        let h = FNV_BASIS;
        for (const c of v) h = Math.imul(h ^ c, FNV_PRIME);
        let s = h & this.slotMask[f];
        while (this.slots[this.slotBase[f] + s] !== 0) s = (s + 1) & this.slotMask[f];
        this.slots[this.slotBase[f] + s] = this.firstValue[f] + i + 1;
      });
    });
  }

  /** Index of field f's enum value equal to bytes[from, to) whose FNV-1a hash is h, or -1. */
  lookup(f: number, h: number, bytes: Uint8Array, from: number, to: number): number {
    const base = this.slotBase[f];
    const mask = this.slotMask[f];
    const len = to - from;
    for (let s = h & mask; ; s = (s + 1) & mask) {
      const id = this.slots[base + s] - 1;
      if (id < 0) return -1;
      const vs = this.valueStart[id];
      if (this.valueStart[id + 1] - vs !== len) continue;
      let k = 0;
      while (k < len && this.valueBytes[vs + k] === bytes[from + k]) k++;
      if (k === len) return id - this.firstValue[f];
    }
  }
}
