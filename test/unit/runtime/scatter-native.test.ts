/**
 * The native scatter copy (native-bindings/src/scatter.rs) against the JS loops of scatter-copy.ts:
 * two partitioners over two identical ring sets get the same staging batches, one copying natively,
 * one in JS; every published slot must hold the same rows: values, validity, string bytes and
 * offsets, key hashes, for every column kind, with nulls, empty strings and string room running out.
 * Bytes no row owns (past a string column's end) are left out: native may write whole words there.
 */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { KernelError } from '../../../src/errors.js';
import { loadNativeModule } from '../../../src/runtime/native-module.js';
import { fmix32 } from '../../../src/runtime/fmix32.js';
import { BatchView, isValid, setValid } from '../../../src/runtime/batch.js';
import { Partitioner } from '../../../src/runtime/partitioner.js';
import { Ring } from '../../../src/runtime/ring.js';
import { NativeSlotCopier } from '../../../src/runtime/scatter/native.js';
import { computeLayout, type BatchLayout, type Schema } from '../../../src/runtime/schema.js';

const schema: Schema = {
  columns: [
    { name: 'id', type: 'string', hashed: true, avgBytes: 6 },
    { name: 'ts', type: 'timestamp_ms' },
    { name: 'n', type: 'int32' },
    { name: 'flag', type: 'bool' },
    { name: 'kind', type: 'enum', enumValues: ['a', 'b', 'c'] },
    { name: 'note', type: 'string', avgBytes: 3 },
  ],
};

interface RowSpec {
  id: string;
  note: string | null;
  n: number | null;
  flag: boolean;
  kind: number;
}

/** Every owned byte of a published slot, as text: what a worker can read of it. */
function ownedContent(b: BatchView): string {
  const parts: string[] = [`rows=${b.rowCount}`];
  for (const c of b.columns) {
    const n = b.rowCount;
    const valid = Array.from({ length: n }, (_, r) => (isValid(c.validity, r) ? 1 : 0)).join('');
    if (c.offsets) {
      const end = c.offsets[n];
      parts.push(`${c.layout.spec.name}:${valid}:${Array.from(c.offsets.subarray(0, n + 1)).join(',')}:${Buffer.from((c.values as Uint8Array).subarray(0, end)).toString('hex')}`);
      if (c.hash) parts.push(`hash:${Array.from(c.hash.subarray(0, 2 * n)).join(',')}`);
    } else {
      parts.push(`${c.layout.spec.name}:${valid}:${Array.from(c.values.subarray(0, n)).join(',')}`);
    }
  }
  return parts.join(' ');
}

function fill(layout: BatchLayout, rows: RowSpec[], seq: number): BatchView {
  const b = BatchView.standalone(layout);
  b.clear();
  const [id, ts, n, flag, kind, note] = b.columns;
  rows.forEach((x, r) => {
    for (const [c, text] of [[id, x.id], [note, x.note]] as const) {
      const at = c.offsets![r];
      const bytes = Buffer.from(text ?? '');
      (c.values as Uint8Array).set(bytes, at);
      c.offsets![r + 1] = at + bytes.length;
      if (text !== null) setValid(c.validity, r);
    }
    id.hash![2 * r] = fmix32(seq + r);
    id.hash![2 * r + 1] = fmix32((seq + r) ^ 0x5bd1e995);
    (ts.values as Float64Array)[r] = 1.7e12 + seq + r;
    setValid(ts.validity, r);
    if (x.n !== null) {
      (n.values as Int32Array)[r] = x.n;
      setValid(n.validity, r);
    }
    (flag.values as Uint8Array)[r] = x.flag ? 1 : 0;
    setValid(flag.validity, r);
    (kind.values as Uint16Array)[r] = x.kind;
    setValid(kind.validity, r);
  });
  b.rowCount = rows.length;
  return b;
}

const nativeBuilt = loadNativeModule() !== null;

describe('native scatter copy', () => {
  test.skipIf(!nativeBuilt)('a native copier is made when the module is built', () => {
    const layout = computeLayout(schema, 8);
    expect(NativeSlotCopier.create(layout, layout)).not.toBeNull();
  });

  test.skipIf(!nativeBuilt)('property: published slots equal the JS copy, row for row and byte for byte', () => {
    const slotLayout = computeLayout(schema, 8); // 48 + 24 string bytes per slot: room runs out often
    const stagingLayout = computeLayout(schema, 64);
    const row: fc.Arbitrary<RowSpec> = fc.record({
      id: fc.string({ maxLength: 14 }),
      note: fc.option(fc.string({ maxLength: 9 }), { nil: null }),
      n: fc.option(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), { nil: null }),
      flag: fc.boolean(),
      kind: fc.integer({ min: 0, max: 2 }),
    });
    fc.assert(fc.property(fc.integer({ min: 1, max: 6 }), fc.array(fc.array(row, { maxLength: 60 }), { minLength: 1, maxLength: 4 }),
      (partitions, batches) => {
        const run = (native: boolean): string[][] => {
          const rings = Array.from({ length: partitions }, () => Ring.create(slotLayout, 2));
          const got: string[][] = rings.map(() => []);
          const drain = (p: number): void => {
            got[p].push(ownedContent(rings[p].peek()!));
            rings[p].release();
          };
          const part = new Partitioner(rings, 'id', drain, { native });
          let seq = 0;
          for (const rows of batches) {
            expect(part.scatter(fill(stagingLayout, rows, seq), 0)).toBe(rows.length);
            seq += rows.length;
          }
          part.flush();
          return got;
        };
        expect(run(true)).toEqual(run(false));
      }), { numRuns: 200 });
  });

  test.skipIf(!nativeBuilt)('a call that would write outside a slot is an error, not a write', () => {
    const layout = computeLayout(schema, 8);
    const copier = NativeSlotCopier.create(layout, layout)!;
    const staging = fill(layout, [{ id: 'abc', note: 'x', n: 1, flag: true, kind: 0 }], 0);
    const slot = BatchView.standalone(layout);
    slot.clear();
    // Slot row 8 is past the slot's 8 rows.
    expect(() => copier.copySegment(staging, [slot.bytes], new Uint16Array([0]), 0, 1, new Int32Array([8]))).toThrow(/do not fit/);
    // A partition index without a slot.
    expect(() => copier.copySegment(staging, [slot.bytes], new Uint16Array([1]), 0, 1, new Int32Array([0, 0]))).toThrow(/partition 1/);
    // A slot buffer shorter than the layout.
    expect(() => copier.copySegment(staging, [new Uint8Array(16)], new Uint16Array([0]), 0, 1, new Int32Array([0]))).toThrow(/do not fit/);
  });

  test.skipIf(!nativeBuilt)('a segment whose strings do not fit fails whole: a KernelError, and the slot is unchanged', () => {
    const slotLayout = computeLayout(schema, 8); // 48 bytes for id
    const stagingLayout = computeLayout(schema, 64);
    const copier = NativeSlotCopier.create(stagingLayout, slotLayout)!;
    const rows = Array.from({ length: 5 }, (_, i) => ({ id: 'x'.repeat(12), note: null, n: i, flag: false, kind: 1 }));
    const staging = fill(stagingLayout, rows, 0); // 60 id bytes for a 48-byte column
    const slot = BatchView.standalone(slotLayout);
    slot.clear();
    const before = Uint8Array.from(slot.bytes);
    let err: unknown;
    try {
      copier.copySegment(staging, [slot.bytes], new Uint16Array(5), 0, 5, new Int32Array([0]));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(KernelError);
    expect((err as Error).message).toMatch(/do not fit its slot column/);
    expect(Buffer.compare(Buffer.from(slot.bytes), Buffer.from(before))).toBe(0);
  });
});
