import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { blockedFalsePositiveRate, bloomBytesFor, bloomSizing, GenerationalBloom, type BloomOptions } from '../../../src/kernels/dedupe/bloom.js';
import { bestBlocked } from '../../../src/kernels/dedupe/bloom-sizing.js';
import { KernelError } from '../../../src/errors.js';
import { loadNativeModule } from '../../../src/runtime/native-module.js';
import { prng } from '../../helpers/prng.js';


function make(o: BloomOptions, opts: { native?: boolean } = {}): GenerationalBloom {
  return new GenerationalBloom(new SharedArrayBuffer(bloomBytesFor(o)), 0, o, opts);
}

const nativeBuilt = loadNativeModule()?.BloomKernel !== undefined;
if (!nativeBuilt) console.warn('bloom native tests SKIPPED: native module with BloomKernel not built (bash scripts/build-native.sh)');

describe('bloom sizing', () => {
  it('sizes blocked generations at p / G from the Poisson block-load model', () => {
    const s = bloomSizing({ falsePositiveRate: 1e-9, expectedKeysPerHorizon: 1_000_000, horizonMs: 3_600_000, generations: 2 });
    expect(s.keysPerGeneration).toBe(1_000_000);
    expect(s.probes).toBe(23);
    expect(s.bitsPerKey).toBeGreaterThan(84);
    expect(s.bitsPerKey).toBeLessThan(86);
    expect(s.bitsPerGeneration % 512).toBe(0);
    expect(blockedFalsePositiveRate(s.bitsPerKey, s.probes)).toBeLessThanOrEqual(5e-10);
    expect(s.modelFalsePositiveRate).toBeLessThanOrEqual(1e-9);
    expect(s.modelFalsePositiveRate).toBeGreaterThan(0.9e-9);
    expect(s.generationSpanMs).toBe(3_600_000);
    const s4 = bloomSizing({ falsePositiveRate: 1e-2, expectedKeysPerHorizon: 3000, horizonMs: 3000, generations: 4 });
    expect(s4.keysPerGeneration).toBe(1000);
    expect(s4.generationSpanMs).toBe(1000);
  });

  it('the block model tends to the standard formula for light blocks', () => {
    // 1 key per block of 512 bits with k = 7: (1 - (1 - 1/512)^7)^7 weighted by Poisson(1) loads.
    const standard = (bitsPerKey: number, k: number): number => (1 - Math.exp(-k / bitsPerKey)) ** k;
    expect(blockedFalsePositiveRate(10, 7) / standard(10, 7)).toBeGreaterThan(1);
    expect(blockedFalsePositiveRate(10, 7) / standard(10, 7)).toBeLessThan(1.3);
  });

  it('the pruned search picks the same (k, bitsPerKey) as halving bitsPerKey for every k', () => {
    // The plain search: for each k in order, the least bitsPerKey by 40 halvings of [1, 512]; keep the first minimum.
    const exhaustive = (p: number): { k: number; bitsPerKey: number } => {
      let best = { k: 1, bitsPerKey: Infinity };
      for (let k = 1; k <= 48; k++) {
        let lo = 1;
        let hi = 512;
        if (blockedFalsePositiveRate(hi, k) > p) continue;
        for (let i = 0; i < 40; i++) {
          const mid = (lo + hi) / 2;
          if (blockedFalsePositiveRate(mid, k) <= p) hi = mid;
          else lo = mid;
        }
        if (hi < best.bitsPerKey) best = { k, bitsPerKey: hi };
      }
      return best;
    };
    for (const p of [0.3, 0.05, 1e-2 / 3, 5e-4, 1e-4 / 4, 5e-10, 1e-12, 1e-15, 1e-20]) {
      expect(bestBlocked(p), `p = ${p}`).toEqual(exhaustive(p));
    }
  });

  it('rejects rates outside (0, 1)', () => {
    expect(() => bloomSizing({ falsePositiveRate: 0, expectedKeysPerHorizon: 1, horizonMs: 1, generations: 2 })).toThrow(/falsePositiveRate/);
  });
});

describe('generational bloom', () => {
  it('has no false negatives within the horizon (property)', () => {
    const horizonMs = 10_000;
    fc.assert(
      fc.property(
        fc.array(fc.record({ key: fc.integer({ min: 0, max: 300 }), dt: fc.integer({ min: -3000, max: 2000 }) }), { minLength: 1, maxLength: 400 }),
        fc.integer({ min: 2, max: 5 }),
        (events, generations) => {
          const bloom = make({ falsePositiveRate: 1e-3, expectedKeysPerHorizon: 1000, horizonMs, generations });
          const firstSeen = new Map<number, number>();
          let t = 1_700_000_000_000;
          let maxTs = -Infinity;
          for (const e of events) {
            t += e.dt;
            maxTs = Math.max(maxTs, t);
            // A key hash pair derived from the key: distinct keys, distinct pairs.
            const lo = Math.imul(e.key + 1, 0x9e3779b1) >>> 0;
            const hi = Math.imul(e.key + 7, 0x85ebca77) >>> 0;
            const seen = bloom.checkAndAdd(lo, hi, t);
            const first = firstSeen.get(e.key);
            // Guarantee: seen before, and the max event time is within horizonMs of the first sighting.
            if (first !== undefined && maxTs <= first + horizonMs && !seen) return false;
            if (!seen) firstSeen.set(e.key, t);
          }
          return true;
        },
      ),
      { numRuns: 200 },
    );
  });

  it('forgets keys once they leave all G generations', () => {
    const bloom = make({ falsePositiveRate: 1e-6, expectedKeysPerHorizon: 100, horizonMs: 1000, generations: 2 });
    // Real key hashes are uniform 32-bit words (fastrange maps small integers all to bit 0).
    const [a1, a2, b1, b2] = [0x1b873593, 0xcc9e2d51, 0xe6546b64, 0x85ebca6b];
    expect(bloom.checkAndAdd(a1, a2, 500)).toBe(false);
    expect(bloom.checkAndAdd(a1, a2, 1999)).toBe(true); // generation 1: generation 0 still live
    expect(bloom.checkAndAdd(b1, b2, 2000)).toBe(false); // generation 2 clears generation 0
    expect(bloom.contains(a1, a2)).toBe(false);
    expect(bloom.contains(b1, b2)).toBe(true);
    expect(bloom.newestGeneration).toBe(2);
  });

  it('keeps the first occurrence when a later copy has an older event time', () => {
    const bloom = make({ falsePositiveRate: 1e-6, expectedKeysPerHorizon: 100, horizonMs: 1000, generations: 2 });
    expect(bloom.checkAndAdd(0x9e3779b1, 0x7f4a7c15, 5000)).toBe(false);
    expect(bloom.checkAndAdd(0x9e3779b1, 0x7f4a7c15, 4200)).toBe(true);
  });

  // The native batch path (native-bindings/src/bloom.rs) must match the JS per-row path bit for bit:
  // a checkpoint written by either is read by the other.
  function batchEqualsPerRow(native: boolean): void {
    const event = fc.record({
      key: fc.integer({ min: 0, max: 400 }),
      // Mostly small steps, some jumps over one or more generations, some steps back in time.
      dt: fc.oneof(fc.integer({ min: -300, max: 60 }), fc.integer({ min: -3000, max: 5000 })),
      // Just below the next generation boundary, inside the rounding margin of the no-rotation bound:
      // the batch paths stop there for a rotation that then starts no new generation.
      nearBoundary: fc.boolean(),
    });
    fc.assert(
      fc.property(
        fc.array(fc.array(event, { maxLength: 300 }), { minLength: 1, maxLength: 6 }),
        fc.integer({ min: 2, max: 4 }),
        (batches, generations) => {
          // Small and loose (p = 1e-2, 300 keys): false positives happen, and must match too.
          const o = { falsePositiveRate: 1e-2, expectedKeysPerHorizon: 300, horizonMs: 1000, generations };
          const perRow = make(o, { native: false });
          const batched = make(o, { native });
          expect(batched.isNative).toBe(native);
          const hashes = new Uint32Array(600);
          const times = new Float64Array(300);
          const flags = new Uint8Array(300);
          let t = 1_700_000_000_000;
          for (const batch of batches) {
            const expected: number[] = [];
            const spanMs = batched.sizing.generationSpanMs;
            batch.forEach((e, r) => {
              t += e.dt;
              if (e.nearBoundary) t = (Math.floor(t / spanMs) + 1) * spanMs * (1 - 3e-13);
              times[r] = t;
              hashes[2 * r] = Math.imul(e.key + 1, 0x9e3779b1) >>> 0;
              hashes[2 * r + 1] = Math.imul(e.key + 7, 0x85ebca77) >>> 0;
              expected.push(perRow.checkAndAdd(hashes[2 * r], hashes[2 * r + 1], t) ? 1 : 0);
            });
            flags.fill(7);
            const duplicates = batched.checkAndAddBatch(hashes, times, batch.length, flags);
            expect(Array.from(flags.subarray(0, batch.length))).toEqual(expected);
            expect(flags[batch.length] ?? 7).toBe(7); // rows past rowCount untouched
            expect(duplicates).toBe(expected.reduce((a, b) => a + b, 0));
            expect(batched.newestGeneration).toBe(perRow.newestGeneration);
          }
          const stateOf = (b: GenerationalBloom): Uint8Array => new Uint8Array((b as unknown as { words: Uint32Array }).words.buffer);
          expect(Buffer.compare(stateOf(batched), stateOf(perRow))).toBe(0);
        },
      ),
      { numRuns: 150 },
    );
  }

  it('checkAndAddBatch (JS) gives the per-row flags and state, with repeats within and across batches and rotations (property)', () => {
    batchEqualsPerRow(false);
  });

  it.skipIf(!nativeBuilt)('checkAndAddBatch (native) gives the per-row flags and state, with repeats within and across batches and rotations (property)', () => {
    batchEqualsPerRow(true);
  });

  it.skipIf(!nativeBuilt)('native batch path: used by default, and a bad call is a KernelError that changes nothing', () => {
    const o = { falsePositiveRate: 1e-6, expectedKeysPerHorizon: 100, horizonMs: 1000, generations: 2 };
    const bloom = make(o);
    expect(bloom.isNative).toBe(true);
    expect(make(o, { native: false }).isNative).toBe(false);
    // 4 rows claimed, hashes for 1: native checks bounds before touching anything.
    expect(() => bloom.checkAndAddBatch(new Uint32Array(2), new Float64Array(4).fill(500), 4, new Uint8Array(4))).toThrow(KernelError);
    expect(bloom.contains(0, 0)).toBe(false);
  });

  it('rotates exactly when an event time reaches floor(t / spanMs) of a newer generation', () => {
    // spanMs = 1000 / 3 is not an integer: times at and a few ulps below each boundary, where rounding decides.
    const bloom = make({ falsePositiveRate: 1e-3, expectedKeysPerHorizon: 100, horizonMs: 1000, generations: 4 });
    const spanMs = bloom.sizing.generationSpanMs;
    const rnd = prng(99);
    let newest = 0;
    for (let e = 5_000_000_000; e < 5_000_000_040; e++) {
      for (const t of [e * spanMs - 1e-3, e * spanMs * (1 - Number.EPSILON), e * spanMs, (e + 1) * spanMs - 1e-3]) {
        bloom.checkAndAdd(rnd(), rnd(), t);
        newest = Math.max(newest, Math.floor(t / spanMs));
        expect(bloom.newestGeneration).toBe(newest);
      }
    }
  });

  it('a state reopened under another horizon (same size) rotates by the new generation span', () => {
    const o = { falsePositiveRate: 1e-6, expectedKeysPerHorizon: 100, horizonMs: 2000, generations: 2 };
    const buffer = new SharedArrayBuffer(bloomBytesFor(o));
    expect(new GenerationalBloom(buffer, 0, o).checkAndAdd(0x1b873593, 0xcc9e2d51, 500)).toBe(false);
    const shorter = { ...o, horizonMs: 1000 };
    expect(bloomBytesFor(shorter)).toBe(buffer.byteLength);
    const reopened = new GenerationalBloom(buffer, 0, shorter);
    expect(reopened.checkAndAdd(0xe6546b64, 0x85ebca6b, 1500)).toBe(false);
    expect(reopened.newestGeneration).toBe(1); // floor(1500 / 1000), as the first event's generation 0 was
    expect(reopened.contains(0x1b873593, 0xcc9e2d51)).toBe(true);
    expect(reopened.checkAndAdd(0x9e3779b1, 0x7f4a7c15, 2000)).toBe(false); // generation 2 clears generation 0
    expect(reopened.contains(0x1b873593, 0xcc9e2d51)).toBe(false);
  });

  // Fill every generation with its expected number of keys, then probe keys never added.
  function measuredRate(p: number, keysPerGeneration: number, generations: number, trials: number, seed: number): number {
    const horizonMs = 1000 * (generations - 1);
    const bloom = make({ falsePositiveRate: p, expectedKeysPerHorizon: keysPerGeneration * (generations - 1), horizonMs, generations });
    const rnd = prng(seed);
    for (let g = 0; g < generations; g++) {
      for (let i = 0; i < keysPerGeneration; i++) bloom.checkAndAdd(rnd(), rnd(), g * 1000 + 1);
    }
    let positives = 0;
    for (let i = 0; i < trials; i++) if (bloom.contains(rnd(), rnd())) positives++;
    return positives / trials;
  }

  it.each([
    [1e-2, 20_000, 2, 400_000],
    [1e-3, 20_000, 2, 2_000_000],
    [1e-3, 10_000, 3, 2_000_000],
    [1e-4, 20_000, 2, 4_000_000],
  ])('measured false-positive rate at p = %d is within 2x of it', (p, n, g, trials) => {
    const rate = measuredRate(p, n, g, trials, 12345);
    expect(rate).toBeLessThanOrEqual(2 * p);
    expect(rate).toBeGreaterThanOrEqual(p / 2);
  });
});
