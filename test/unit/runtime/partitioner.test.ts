import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { BatchView, isValid, setValid } from '../../../src/runtime/batch.js';
import { createNdjsonDecoder } from '../../../src/kernels/decode/ndjson.js';
import { inputSchemaToBatchSchema, parseInputConfig } from '../../../src/kernels/input/config.js';
import { fmix32 } from '../../../src/runtime/fmix32.js';
import { Partitioner, partitionOfFloat64, partitionOfHash, partitionOfInt32 } from '../../../src/runtime/partitioner.js';
import { Ring } from '../../../src/runtime/ring.js';
import { computeLayout, type Schema } from '../../../src/runtime/schema.js';

const P = 8;

describe('partition choice', () => {
  test('int32 keys spread evenly over partitions, also consecutive ones', () => {
    const counts = new Array<number>(P).fill(0);
    for (let i = 0; i < 80_000; i++) counts[partitionOfInt32(i, P)]++;
    for (const c of counts) expect(Math.abs(c - 10_000)).toBeLessThan(500);
  });

  test('equal float64 keys land together, -0 with 0', () => {
    expect(partitionOfFloat64(-0, 64)).toBe(partitionOfFloat64(0, 64));
    expect(partitionOfFloat64(1.5e12, 64)).toBe(partitionOfFloat64(1.5e12, 64));
  });

  test('inside one partition the Bloom hash bits (lo, hi) stay uniform', () => {
    // Keys whose partition is 3: their lo mod 64 and hi mod 64 (what a Bloom of 64-bit words uses
    // first) must still cover all buckets evenly; partition = lo mod P would leave 1/P of them.
    const loBuckets = new Array<number>(64).fill(0);
    const hiBuckets = new Array<number>(64).fill(0);
    let n = 0;
    for (let i = 0; n < 64_000; i++) {
      const lo = fmix32(i);
      const hi = fmix32(i ^ 0x5bd1e995);
      if (partitionOfHash(lo, hi, P) !== 3) continue;
      loBuckets[lo & 63]++;
      hiBuckets[hi & 63]++;
      n++;
    }
    for (let b = 0; b < 64; b++) {
      expect(Math.abs(loBuckets[b] - 1000)).toBeLessThan(150);
      expect(Math.abs(hiBuckets[b] - 1000)).toBeLessThan(150);
    }
  });
});

describe.each([['native copy', true], ['JS copy', false]])('Partitioner.scatter (rings consumed on this thread), %s', (_name, native) => {
  const schema: Schema = {
    columns: [{ name: 'id', type: 'string', hashed: true, avgBytes: 4 }, { name: 'n', type: 'float64' }],
  };
  const layout = computeLayout(schema, 8); // 32 string bytes per slot

  // The staging batch needs room for every row it holds; the slots' 32 bytes are what runs out.
  const stagingLayout = computeLayout(schema, 32);

  function staging(lengths: number[]): BatchView {
    const b = BatchView.standalone(stagingLayout);
    b.clear();
    const id = b.column('id');
    const n = b.column('n');
    for (let r = 0; r < lengths.length; r++) {
      const at = id.offsets![r];
      for (let k = 0; k < lengths[r]; k++) (id.values as Uint8Array)[at + k] = 65 + (r % 26);
      id.offsets![r + 1] = at + lengths[r];
      id.hash![2 * r] = fmix32(r);
      id.hash![2 * r + 1] = fmix32(r + 1000);
      setValid(id.validity, r);
      (n.values as Float64Array)[r] = r;
      setValid(n.validity, r);
    }
    b.rowCount = lengths.length;
    return b;
  }

  test('publishes a slot when its string bytes run out and places the row in the next slot', () => {
    const rings = [Ring.create(layout, 8)];
    const published: number[] = [];
    const part = new Partitioner(rings, 'id', (p) => published.push(p), { native });
    const st = staging([10, 10, 10, 10, 3]); // 40 + 3 bytes > 32
    expect(part.scatter(st, 0)).toBe(5);
    expect(published).toEqual([0]);
    part.flush();
    expect(published).toEqual([0, 0]);
    const first = rings[0].peek()!;
    expect(first.rowCount).toBe(3);
    rings[0].release();
    const second = rings[0].peek()!;
    expect(second.rowCount).toBe(2);
    expect(Array.from(second.column('n').values.subarray(0, 2))).toEqual([3, 4]);
    const id = second.column('id');
    expect(id.offsets![1]).toBe(10);
    expect((id.values as Uint8Array)[0]).toBe(65 + 3);
    expect(second.column('id').hash![0]).toBe(fmix32(3));
  });

  test('stops at the first row whose ring is full and resumes from it', () => {
    const rings = [Ring.create(layout, 2), Ring.create(layout, 2)];
    const part = new Partitioner(rings, 'id', () => {}, { native });
    const st = staging(new Array(8).fill(1));
    let stopped = -1;
    for (let round = 0; round < 6 && stopped < 0; round++) {
      const at = part.scatter(st, 0);
      if (at < 8) stopped = part.blockedPartition;
    }
    expect(stopped).toBeGreaterThanOrEqual(0);
    expect(rings[stopped].pending).toBe(2);
    rings[stopped].release();
    expect(part.scatter(st, 0)).toBeGreaterThan(0);
  });

  test('property: every row reaches its partition once, in order, bytes and nulls intact, no slot over its string room', () => {
    const two: Schema = {
      columns: [
        { name: 'id', type: 'string', hashed: true, avgBytes: 4 },
        { name: 'tag', type: 'string', avgBytes: 2 },
        { name: 'n', type: 'float64' },
      ],
    };
    const slotLayout = computeLayout(two, 8); // 32 + 16 string bytes per slot
    const wideLayout = computeLayout(two, 64);
    const row = fc.record({ idLen: fc.integer({ min: 0, max: 12 }), tagLen: fc.integer({ min: 0, max: 9 }), tagNull: fc.boolean() });
    fc.assert(fc.property(fc.integer({ min: 1, max: 5 }), fc.array(fc.array(row, { maxLength: 40 }), { minLength: 1, maxLength: 4 }),
      (partitions, batches) => {
        const rings = Array.from({ length: partitions }, () => Ring.create(slotLayout, 2));
        const got: string[][] = rings.map(() => []);
        const drain = (p: number): void => {
          const b = rings[p].peek()!;
          const [id, tag, n] = b.columns;
          expect(id.offsets![b.rowCount]).toBeLessThanOrEqual(id.layout.stringBytes);
          expect(tag.offsets![b.rowCount]).toBeLessThanOrEqual(tag.layout.stringBytes);
          for (let r = 0; r < b.rowCount; r++) {
            const text = (c: typeof id): string => (isValid(c.validity, r)
              ? Buffer.from((c.values as Uint8Array).subarray(c.offsets![r], c.offsets![r + 1])).toString('latin1') : 'null');
            got[p].push(`${text(id)}|${text(tag)}|${n.values[r]}`);
          }
          rings[p].release();
        };
        const part = new Partitioner(rings, 'id', drain, { native });
        const want: string[][] = rings.map(() => []);
        let seq = 0;
        for (const rows of batches) {
          const b = BatchView.standalone(wideLayout);
          b.clear();
          const [id, tag, n] = b.columns;
          rows.forEach((x, r) => {
            const k = seq++;
            const idText = String.fromCharCode(...Array.from({ length: x.idLen }, (_, i) => 97 + ((k + i) % 26)));
            const tagText = 'T'.repeat(x.tagLen);
            for (const [c, text, valid] of [[id, idText, true], [tag, tagText, !x.tagNull]] as const) {
              const at = c.offsets![r];
              const bytes = valid ? text : '';
              for (let i = 0; i < bytes.length; i++) (c.values as Uint8Array)[at + i] = bytes.charCodeAt(i);
              c.offsets![r + 1] = at + bytes.length;
              if (valid) setValid(c.validity, r);
            }
            id.hash![2 * r] = fmix32(k);
            id.hash![2 * r + 1] = fmix32(k ^ 0x5bd1e995);
            (n.values as Float64Array)[r] = k;
            setValid(n.validity, r);
            b.rowCount = r + 1;
            want[partitionOfHash(id.hash![2 * r], id.hash![2 * r + 1], partitions)].push(`${idText}|${x.tagNull ? 'null' : tagText}|${k}`);
          });
          expect(part.scatter(b, 0)).toBe(rows.length);
        }
        part.flush();
        expect(got).toEqual(want);
      }), { numRuns: 200 });
  });
});

describe('Partitioner direct slots (one partition: rows written straight into the open ring slot)', () => {
  const schema: Schema = {
    columns: [{ name: 'id', type: 'string', hashed: true, avgBytes: 4 }, { name: 'n', type: 'float64' }],
  };
  const layout = computeLayout(schema, 8); // 32 string bytes per slot

  /** What a decoder does: append row slot.rowCount (false when the string has no room). */
  function append(slot: BatchView, text: string, n: number): boolean {
    const r = slot.rowCount;
    const id = slot.column('id');
    const at = id.offsets![r];
    if (r >= slot.layout.rowCapacity || at + text.length > id.values.length) return false;
    for (let k = 0; k < text.length; k++) (id.values as Uint8Array)[at + k] = text.charCodeAt(k);
    id.offsets![r + 1] = at + text.length;
    id.hash![2 * r] = fmix32(n);
    id.hash![2 * r + 1] = fmix32(n + 1);
    setValid(id.validity, r);
    (slot.column('n').values as Float64Array)[r] = n;
    setValid(slot.column('n').validity, r);
    slot.rowCount = r + 1;
    return true;
  }

  const rowsOf = (b: BatchView): string[] => Array.from({ length: b.rowCount }, (_, r) => {
    const id = b.column('id');
    return `${Buffer.from((id.values as Uint8Array).subarray(id.offsets![r], id.offsets![r + 1])).toString('latin1')}:${b.column('n').values[r]}`;
  });

  test('a slot is published when full or shipped, stays open otherwise, and keeps its rows across calls', () => {
    const ring = Ring.create(layout, 4);
    const published: number[] = [];
    const part = new Partitioner([ring], 'id', (p) => published.push(p));
    let slot = part.directSlot()!;
    for (let i = 0; i < 3; i++) append(slot, 'ab', i);
    part.commitDirect(false);
    expect(ring.pending).toBe(0); // 3 of 8 rows: still open
    slot = part.directSlot()!;
    expect(slot.rowCount).toBe(3); // the same slot, its rows kept
    for (let i = 3; i < 8; i++) append(slot, 'ab', i);
    part.commitDirect(false);
    expect(published).toEqual([0]); // full
    slot = part.directSlot()!;
    expect(slot.rowCount).toBe(0);
    append(slot, 'x'.repeat(30), 8);
    expect(append(slot, 'yyy', 9)).toBe(false); // no string room: the decoder ships the slot
    part.commitDirect(true);
    expect(published).toEqual([0, 0]);
    expect(rowsOf(ring.peek()!)).toEqual(['ab:0', 'ab:1', 'ab:2', 'ab:3', 'ab:4', 'ab:5', 'ab:6', 'ab:7']);
    ring.release();
    expect(rowsOf(ring.peek()!)).toEqual([`${'x'.repeat(30)}:8`]);
  });

  test('rows scattered and rows written directly share the open slot, in order', () => {
    const ring = Ring.create(layout, 4);
    const part = new Partitioner([ring], 'id', () => {});
    const st = BatchView.standalone(computeLayout(schema, 8));
    st.clear();
    append(st, 'sa', 0);
    append(st, 'sb', 1);
    expect(part.scatter(st, 0)).toBe(2);
    const slot = part.directSlot()!;
    expect(slot.rowCount).toBe(2);
    append(slot, 'da', 2);
    part.commitDirect(false);
    st.clear();
    append(st, 'sc', 3);
    expect(part.scatter(st, 0)).toBe(1);
    part.flush();
    expect(rowsOf(ring.peek()!)).toEqual(['sa:0', 'sb:1', 'da:2', 'sc:3']);
    expect(part.unpublishedRows).toBe(0);
  });

  test('a full ring gives no slot (blockedPartition 0) until the consumer releases one', () => {
    const ring = Ring.create(layout, 2);
    const part = new Partitioner([ring], 'id', () => {});
    for (let b = 0; b < 2; b++) {
      const slot = part.directSlot()!;
      append(slot, 'a', b);
      part.commitDirect(true);
    }
    expect(part.directSlot()).toBeNull();
    expect(part.blockedPartition).toBe(0);
    ring.release();
    expect(part.directSlot()).not.toBeNull();
    expect(part.blockedPartition).toBe(-1);
  });

  test('a line the decoder gave up on leaves no validity bit behind for rows scattered into the slot later', () => {
    // The rejected line sets `note` valid at row 1 before its bad enum stops it; a later scattered row
    // whose note is null must still publish it null (scatter only ORs validity bits in).
    const cfg = parseInputConfig({ format: 'ndjson', fields: {
      event_id: { type: 'string', required: true, maxBytes: 16, hashed: true, partitionKey: true },
      ts: { type: 'timestamp_ms', required: true, eventTime: true },
      note: { type: 'float64' },
      kind: { type: 'enum', required: true, values: ['a', 'b'] },
    } });
    const inputLayout = computeLayout(inputSchemaToBatchSchema(cfg), 8);
    const ring = Ring.create(inputLayout, 4);
    const part = new Partitioner([ring], 'event_id', () => {});
    const decoder = createNdjsonDecoder(cfg);
    const enc = new TextEncoder();
    const text = enc.encode('{"event_id":"e1","ts":1000,"note":5,"kind":"a"}\n{"event_id":"e2","ts":1000,"note":7,"kind":"zzz"}\n');
    const slot = part.directSlot()!;
    const rejects: string[] = [];
    decoder.decode(text, 0, text.length, 1, slot, (_line, reason) => rejects.push(reason));
    expect(rejects).toEqual(['bad_enum:kind']);
    expect(slot.rowCount).toBe(1);
    part.commitDirect(false);
    // Also when the rejected line is all a slot got: no row, so the caller commits nothing.
    const onlyRejected = enc.encode('{"event_id":"e9","ts":1000,"note":9,"kind":"zzz"}\n');
    decoder.decode(onlyRejected, 0, onlyRejected.length, 9, part.directSlot()!, () => {});
    const staging = BatchView.standalone(inputLayout);
    staging.clear();
    const nullNote = enc.encode('{"event_id":"e3","ts":1000,"kind":"b"}\n');
    decoder.decode(nullNote, 0, nullNote.length, 3, staging, () => {});
    expect(part.scatter(staging, 0)).toBe(1);
    part.flush();
    const published = ring.peek()!;
    const note = inputLayout.byName.get('note')!.index;
    expect(published.rowCount).toBe(2);
    expect(isValid(published.columns[note].validity, 0)).toBe(true);
    expect(isValid(published.columns[note].validity, 1)).toBe(false);
  });

  test('rows appended to a direct slot without commitDirect() are an error, not silently dropped', () => {
    const part = new Partitioner([Ring.create(layout, 2)], 'id', () => {});
    append(part.directSlot()!, 'a', 0);
    expect(() => part.directSlot()).toThrow(/commitDirect\(\) was not called/);
    part.commitDirect(false);
    expect(part.directSlot()!.rowCount).toBe(1);
  });

  test('needs a single partition', () => {
    const part = new Partitioner([Ring.create(layout, 2), Ring.create(layout, 2)], 'id', () => {});
    expect(() => part.directSlot()).toThrow(/single partition/);
  });
});
