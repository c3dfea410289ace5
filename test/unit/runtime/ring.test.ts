import { describe, expect, test } from 'vitest';
import { Ring, HEAD, TAIL } from '../../../src/runtime/ring.js';
import { computeLayout } from '../../../src/runtime/schema.js';
import { seqSchema } from './feed.js';

const layout = computeLayout(seqSchema, 8);

describe('Ring (single thread)', () => {
  test('rejects a slot count that is not a power of two, naming the setting', () => {
    expect(() => Ring.create(layout, 6)).toThrow('runtime.ringSlots: must be a power of two from 2 to 1024, got 6');
  });

  test('fills to capacity, stamps seq, and hands batches over in order across wrap-around', () => {
    const ring = Ring.create(layout, 4);
    let produced = 0;
    let consumed = 0;
    for (let round = 0; round < 10; round++) {
      for (let b = ring.tryAcquire(); b !== null; b = ring.tryAcquire()) {
        expect(b.seq).toBe(produced);
        (b.column('pseq').values as Float64Array)[0] = produced * 10;
        b.rowCount = 1;
        ring.publish();
        produced++;
      }
      expect(ring.pending).toBe(4);
      // Release a varying number, so the producer's position moves around the ring.
      for (let i = 0; i <= round % 4; i++) {
        const b = ring.peek()!;
        expect(b.seq).toBe(consumed);
        expect((b.column('pseq').values as Float64Array)[0]).toBe(consumed * 10);
        ring.release();
        consumed++;
      }
    }
    expect(produced).toBeGreaterThan(20);
    expect(ring.control[HEAD]).toBe(produced);
    expect(ring.control[TAIL]).toBe(consumed);
  });

  test('a consumer view built from the buffer sees what the producer published', () => {
    const ring = Ring.create(layout, 2);
    const other = new Ring(layout, ring.buffer);
    expect(other.peek()).toBeNull();
    ring.tryAcquire()!.rowCount = 3;
    ring.publish();
    expect(other.peek()!.rowCount).toBe(3);
  });

  test('waitWritable stays pending while full and resolves after a release', async () => {
    const ring = Ring.create(layout, 2);
    ring.tryAcquire(); ring.publish();
    ring.tryAcquire(); ring.publish();
    expect(ring.tryAcquire()).toBeNull();
    let resolved = false;
    const w = ring.waitWritable().then(() => { resolved = true; });
    await new Promise((r) => setImmediate(r));
    expect(resolved).toBe(false);
    ring.release();
    await w;
    expect(resolved).toBe(true);
    expect(ring.tryAcquire()).not.toBeNull();
  });
});
