import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { WatermarkTracker } from '../../../src/kernels/event-time/watermark.js';
import { WindowAssigner } from '../../../src/kernels/window/assign.js';

function tracker(lateness = 5000, idle = 1000) {
  let now = 0;
  const clock = { advance: (ms: number) => { now += ms; } };
  const wm = new WatermarkTracker({ outOfOrdernessMs: lateness, idleTimeoutMs: idle, now: () => now },
    new WindowAssigner({ type: 'tumbling', sizeMs: 60_000 }));
  return { wm, clock };
}

describe('watermark', () => {
  it('is max event time minus allowed lateness for one source, and never goes back', () => {
    const { wm } = tracker();
    expect(wm.watermark).toBe(-Infinity);
    wm.observe(0, 100_000);
    expect(wm.watermark).toBe(95_000);
    wm.observe(0, 50_000);
    expect(wm.watermark).toBe(95_000);
  });

  it('decides late before the event counts: windowEnd(ts) <= watermark', () => {
    const { wm } = tracker();
    // The event that moves the watermark past its own window end is not late itself.
    expect(wm.lateThenObserve(0, 119_999)).toBe(false); // wm -> 114999
    expect(wm.lateThenObserve(0, 125_000)).toBe(false); // window [60000,120000) still open: wm 114999 -> 120000
    expect(wm.lateThenObserve(0, 119_999)).toBe(true); // its window ended at 120000 <= 120000
    expect(wm.lateThenObserve(0, 120_000)).toBe(false);
    expect(wm.isLateFor(0, 60_000)).toBe(true);
  });

  it('a source that is not caught up never goes idle; caught up and quiet, it does; a new backlog holds it again', () => {
    const { wm, clock } = tracker(0, 1000);
    wm.register(0);
    wm.register(1);
    wm.setCaughtUp(1, false);
    wm.observe(0, 10_000);
    clock.advance(60_000);
    wm.tick();
    expect(wm.watermark).toBe(-Infinity); // source 1 has a backlog: however long it is quiet, it holds
    wm.setCaughtUp(1, true);
    wm.tick();
    expect(wm.watermark).toBe(10_000); // caught up and quiet for longer than the idle timeout
    wm.observe(0, 20_000);
    wm.setCaughtUp(1, false); // records arrived after it went idle: it holds again from here
    wm.observe(0, 30_000);
    expect(wm.watermark).toBe(10_000); // held where it was: source 1 has delivered nothing yet
    wm.observe(1, 25_000);
    expect(wm.watermark).toBe(25_000);
  });

  it('advanceTo moves the watermark forward only', () => {
    const { wm } = tracker(0, 1000);
    wm.observe(0, 10_000);
    wm.advanceTo(5_000);
    expect(wm.watermark).toBe(10_000);
    wm.advanceTo(120_000);
    expect(wm.watermark).toBe(120_000);
    wm.observe(0, 50_000);
    expect(wm.watermark).toBe(120_000);
    expect(wm.maxEventTime()).toBe(50_000);
  });

  it('takes the minimum over active sources; an idle source stops holding it back', () => {
    const { wm, clock } = tracker(0, 1000);
    wm.register(0);
    wm.register(1);
    wm.observe(0, 10_000);
    expect(wm.watermark).toBe(-Infinity); // source 1 has seen nothing yet and is not idle
    wm.observe(1, 4000);
    expect(wm.watermark).toBe(4000);
    clock.advance(600);
    wm.tick();
    wm.observe(0, 20_000);
    clock.advance(600); // source 1 idle for 1200 ms, source 0 for 600 ms
    wm.tick();
    expect(wm.watermark).toBe(20_000);
    wm.observe(1, 5000); // wakes up behind: active again but the watermark does not go back
    expect(wm.watermark).toBe(20_000);
    wm.observe(1, 30_000);
    wm.observe(0, 25_000);
    expect(wm.watermark).toBe(25_000);
  });

  it('when every source is idle the highest one counts, and an unregistered source is ignored', () => {
    const { wm, clock } = tracker(0, 100);
    wm.observe(0, 1000);
    wm.observe(1, 3000);
    expect(wm.watermark).toBe(1000);
    clock.advance(200);
    wm.tick();
    expect(wm.watermark).toBe(3000);
    const t2 = tracker(0, 100);
    t2.wm.observe(0, 1000);
    t2.wm.observe(1, 9000);
    t2.wm.unregister(0);
    expect(t2.wm.watermark).toBe(9000);
  });

  it('observeUntilLate makes the per-row decisions: same stop row, watermark and later decisions (property)', () => {
    // Steps: a run of rows from one source (the batch call on one tracker, isLate/observe per row on
    // the other), or a clock tick that may retire idle sources.
    const step = fc.oneof(
      fc.record({ source: fc.integer({ min: 0, max: 2 }),
        times: fc.array(fc.oneof(fc.integer({ min: -200_000, max: 400_000 }), fc.constantFrom(Number.NaN, -Infinity, Infinity, 2 ** 60)), { maxLength: 30 }) }),
      fc.integer({ min: 0, max: 3000 }),
    );
    fc.assert(fc.property(fc.array(step, { maxLength: 40 }), fc.integer({ min: 1, max: 3 }), (steps, sources) => {
      const a = tracker(5000, 1000);
      const b = tracker(5000, 1000);
      for (let s = 1; s < sources; s++) { a.wm.register(s); b.wm.register(s); }
      for (const st of steps) {
        if (typeof st === 'number') {
          a.clock.advance(st); a.wm.tick();
          b.clock.advance(st); b.wm.tick();
          continue;
        }
        const source = st.source % sources;
        const times = Float64Array.from(st.times);
        // The batch form stops at each late row; the caller observes it and goes on, as finishRows does.
        const batchLate: number[] = [];
        for (let r = 0; r < times.length;) {
          r = a.wm.observeUntilLate(source, times, r, times.length);
          if (r === times.length) break;
          batchLate.push(r);
          a.wm.observe(source, times[r]);
          r++;
        }
        const rowLate: number[] = [];
        times.forEach((t, r) => { if (b.wm.lateThenObserve(source, t)) rowLate.push(r); });
        expect(batchLate).toEqual(rowLate);
        expect(a.wm.watermark).toBe(b.wm.watermark);
        expect(a.wm.maxEventTimeOf(source)).toBe(b.wm.maxEventTimeOf(source));
      }
    }), { numRuns: 300 });
  });
});
