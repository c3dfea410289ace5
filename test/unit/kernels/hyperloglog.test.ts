import { describe, expect, it } from 'vitest';
import { xxh32 } from '@node-rs/xxhash';
import { HyperLogLog, hllStandardError, hllBytesFor } from '../../../src/kernels/window/hyperloglog.js';
import { prng } from '../../helpers/prng.js';


const sketch = (p = 12): HyperLogLog => new HyperLogLog(new SharedArrayBuffer(hllBytesFor(p)), 0, p);

describe('hyperloglog', () => {
  it('documents a standard error of 1.04 / sqrt(2^p)', () => {
    expect(hllStandardError(12)).toBeCloseTo(0.01625, 5);
  });

  it('is exact-ish for tiny sets and 0 for none', () => {
    const h = sketch();
    expect(h.estimate()).toBe(0);
    const rnd = prng(1);
    for (let i = 0; i < 10; i++) h.add(rnd(), rnd());
    expect(Math.round(h.estimate())).toBe(10);
  });

  it('estimates within ~3 standard errors over many sets, from small to large, without bias', () => {
    const se = hllStandardError(12);
    const sizes = [100, 1000, 5000, 10_000, 20_000, 50_000, 100_000, 300_000];
    const errors: number[] = [];
    for (const n of sizes) {
      for (let trial = 0; trial < 6; trial++) {
        const h = sketch();
        const rnd = prng(n * 31 + trial);
        for (let i = 0; i < n; i++) h.add(rnd(), rnd());
        const rel = (h.estimate() - n) / n;
        errors.push(rel);
        expect(Math.abs(rel)).toBeLessThan(4 * se);
      }
    }
    // Normal errors exceed 3 standard errors 0.27% of the time: about 0.13 of these 48 estimates.
    expect(errors.filter((e) => Math.abs(e) > 3 * se).length).toBeLessThanOrEqual(2);
    const mean = errors.reduce((s, e) => s + e, 0) / errors.length;
    expect(Math.abs(mean)).toBeLessThan(se / 2);
    // The spread matches the documented error (a broken estimator with a bias would exceed it).
    const rms = Math.sqrt(errors.reduce((s, e) => s + e * e, 0) / errors.length);
    expect(rms).toBeLessThan(1.3 * se);
  });

  it('counts duplicates once and works from real string hashes', () => {
    const h = sketch();
    const enc = new TextEncoder();
    for (let rep = 0; rep < 3; rep++) {
      for (let i = 0; i < 20_000; i++) {
        const b = enc.encode(`user-${i}`);
        h.add(xxh32(b, 0), xxh32(b, 0x9e3779b1));
      }
    }
    expect(Math.abs(h.estimate() - 20_000) / 20_000).toBeLessThan(3 * hllStandardError(12));
  });

  it('merge of two sketches equals the sketch of the union', () => {
    const a = sketch();
    const b = sketch();
    const u = sketch();
    const rnd = prng(99);
    for (let i = 0; i < 30_000; i++) {
      const lo = rnd();
      const hi = rnd();
      if (i % 3 !== 0) a.add(lo, hi);
      if (i % 3 !== 1) b.add(lo, hi);
      u.add(lo, hi);
    }
    a.merge(b);
    expect(Array.from(a.registers)).toEqual(Array.from(u.registers));
    expect(a.estimate()).toBe(u.estimate());
  });

  it('works at other precisions with their own error', () => {
    for (const p of [8, 14]) {
      const h = sketch(p);
      const rnd = prng(p);
      for (let i = 0; i < 50_000; i++) h.add(rnd(), rnd());
      expect(Math.abs(h.estimate() - 50_000) / 50_000).toBeLessThan(3 * hllStandardError(p));
    }
  });
});
