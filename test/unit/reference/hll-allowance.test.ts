import { describe, expect, it } from 'vitest';
import { HLL_BOUND, HLL_REGISTERS, smallCountAllowance } from '../../reference/compare-outputs.js';

describe('smallCountAllowance (distinct counts compared against the exact reference)', () => {
  it('allows the register collisions linear counting makes at small counts', () => {
    expect(smallCountAllowance(1)).toBe(0);
    // 14 users: two colliding pairs happen about once in 4000 groups; the allowance covers them.
    expect(smallCountAllowance(14)).toBeGreaterThanOrEqual(2);
    expect(smallCountAllowance(14)).toBeLessThanOrEqual(3);
  });

  it('stays below the relative bound once counts are large', () => {
    for (const n of [700, 1000, 5000]) expect(smallCountAllowance(n)).toBeLessThan(HLL_BOUND * n);
  });

  it('matches a simulation of linear counting at n = 40 (deviation beyond the allowance in none of 20000 trials)', () => {
    const n = 40;
    const allowed = smallCountAllowance(n);
    const used = new Uint8Array(HLL_REGISTERS);
    let s = 12345;
    let worst = 0;
    for (let t = 0; t < 20000; t++) {
      used.fill(0);
      let empty = HLL_REGISTERS;
      for (let i = 0; i < n; i++) {
        s = (Math.imul(s, 1103515245) + 12345) >>> 0;
        const r = s >>> 20;
        if (used[r] === 0) { used[r] = 1; empty--; }
      }
      const estimate = Math.round(HLL_REGISTERS * Math.log(HLL_REGISTERS / empty));
      worst = Math.max(worst, Math.abs(estimate - n));
    }
    expect(worst).toBeGreaterThan(0);
    expect(worst).toBeLessThanOrEqual(allowed);
  });
});
