/**
 * Issue 15, the engine's own pieces (the replay-level rule is in replay-skew.test.ts against the
 * reference): the skew decision, the watermark's candidate stop and per-partition lateness, the Bloom
 * keeping its newest generation across a jump, and the dedupe horizon counted in watermark time.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadRingflowConfig } from '../../../src/daemon/config.js';
import { GenerationalBloom, bloomBytesFor } from '../../../src/kernels/dedupe/bloom.js';
import {
  decideCandidate, SKEW_ACCEPT, SKEW_NEED_MORE, SKEW_REJECT_FUTURE, SKEW_REJECT_PAST,
} from '../../../src/kernels/event-time/skew-guard.js';
import { SKEW_AHEAD_OF_CLOCK, SKEW_CANDIDATE, SKEW_NONE, WatermarkTracker } from '../../../src/kernels/event-time/watermark.js';
import { WindowAssigner } from '../../../src/kernels/window/assign.js';
import { Pipeline } from '../../../src/pipeline/pipeline.js';
import { compilePipelinePlan } from '../../../src/pipeline/plan.js';

const HOUR = 3_600_000;
const T0 = 1767225600000;
const times = (...t: number[]): Float64Array => Float64Array.from(t);

describe('decideCandidate (K = 4: 2 agreements accept, 3 disagreements reject)', () => {
  const decide = (t: Float64Array, maxTs: number, ended: boolean): number => decideCandidate(t, 0, t.length, maxTs, HOUR, 4, ended);

  it('accepts a jump that the events after it follow, at the second agreement', () => {
    expect(decide(times(T0 + 48 * HOUR, T0 + 48 * HOUR + 1, T0 + 48 * HOUR + 2), T0, false)).toBe(SKEW_ACCEPT);
  });
  it('rejects an outlier that the events after it contradict, at the third disagreement', () => {
    expect(decide(times(T0 + 9e11, T0 + 1, T0 + 2), T0, false)).toBe(SKEW_NEED_MORE);
    expect(decide(times(T0 + 9e11, T0 + 1, T0 + 2, T0 + 3), T0, false)).toBe(SKEW_REJECT_FUTURE);
  });
  it('at the end of the input: a majority decides, a tie rejects a jump and accepts a first event', () => {
    expect(decide(times(T0 + 9e11), T0, true)).toBe(SKEW_REJECT_FUTURE);
    expect(decide(times(T0 + 9e11, T0 + 9e11 + 5, T0 + 9e11 + 6, T0 + 1), T0, true)).toBe(SKEW_ACCEPT);
    expect(decide(times(T0 + 9e11, T0 + 1), T0, true)).toBe(SKEW_REJECT_FUTURE);
    expect(decide(times(T0), -Infinity, true)).toBe(SKEW_ACCEPT);
    expect(decide(times(T0, T0 + 9e11), -Infinity, true)).toBe(SKEW_REJECT_PAST);
  });
  it('a rejected first event is past_ts when what followed is mostly ahead of it, else future_ts', () => {
    expect(decide(times(T0 - 9e11, T0, T0 + 1, T0 + 2), -Infinity, false)).toBe(SKEW_REJECT_PAST);
    expect(decide(times(T0 + 9e11, T0, T0 + 1, T0 + 2), -Infinity, false)).toBe(SKEW_REJECT_FUTURE);
  });
});

describe('WatermarkTracker with the skew guard', () => {
  const assigner = new WindowAssigner({ type: 'tumbling', sizeMs: 60_000 });

  it('stops a run before a candidate, and a live source rejects what is ahead of the wall clock', () => {
    let now = T0;
    const wm = new WatermarkTracker({ outOfOrdernessMs: 0, idleTimeoutMs: 1e9, maxFutureSkewMs: HOUR, wallClockSkew: true, now: () => now }, assigner);
    expect(wm.skewCandidate(0, T0 - 5000)).toBe(SKEW_CANDIDATE); // a first event
    wm.observe(0, T0 - 5000);
    expect(wm.observeUntilLate(0, times(T0 - 4000, T0 - 3000, T0 + 2 * HOUR, T0 - 2000), 0, 4)).toBe(2);
    expect(wm.skewCandidate(0, T0 - 2000)).toBe(SKEW_NONE);
    expect(wm.skewCandidate(0, T0 + 2 * HOUR)).toBe(SKEW_AHEAD_OF_CLOCK);
    now = T0 + 2 * HOUR;
    wm.tick();
    expect(wm.skewCandidate(0, T0 + 2 * HOUR)).toBe(SKEW_CANDIDATE); // the clock moved on; the partition did not
  });

  it('an event far behind its own partition is late while another partition still holds the watermark at -Infinity', () => {
    const wm = new WatermarkTracker({ outOfOrdernessMs: 5000, idleTimeoutMs: 1e9, maxFutureSkewMs: HOUR }, assigner);
    wm.register(1);
    wm.observe(0, T0 + 600_000);
    expect(wm.watermark).toBe(-Infinity);
    expect(wm.isLateFor(0, T0)).toBe(true);
    // Partition 1 has no event: only the watermark judges it.
    expect(wm.isLateFor(1, T0)).toBe(false);
    expect(wm.observeUntilLate(0, times(T0 + 600_001, T0), 0, 2)).toBe(1);
  });
});

describe('GenerationalBloom across a jump of many generations', () => {
  it('keeps the newest generation, so keys recorded just before the rotation are still known', () => {
    const options = { expectedKeysPerHorizon: 1000, falsePositiveRate: 1e-9, generations: 2, horizonMs: 60_000 };
    const bloom = new GenerationalBloom(new ArrayBuffer(bloomBytesFor(options)), 0, options, { native: false });
    expect(bloom.checkAndAdd(1, 2, T0)).toBe(false);
    expect(bloom.checkAndAdd(3, 4, T0 + 100 * 60_000)).toBe(false); // 100 generations later
    expect(bloom.contains(1, 2)).toBe(true);
    expect(bloom.checkAndAdd(5, 6, T0 + 101 * 60_000)).toBe(false); // one more: the old newest leaves
    expect(bloom.contains(1, 2)).toBe(false);
    expect(bloom.contains(3, 4)).toBe(true);
  });

  it('with 3 generations the kept one lasts two more rotations, as any key recorded just before one', () => {
    const options = { expectedKeysPerHorizon: 1000, falsePositiveRate: 1e-9, generations: 3, horizonMs: 120_000 };
    const bloom = new GenerationalBloom(new ArrayBuffer(bloomBytesFor(options)), 0, options, { native: false });
    const span = 60_000;
    expect(bloom.checkAndAdd(1, 2, T0)).toBe(false);
    expect(bloom.checkAndAdd(3, 4, T0 + 100 * span)).toBe(false);
    expect(bloom.checkAndAdd(5, 6, T0 + 101 * span)).toBe(false);
    expect([bloom.contains(1, 2), bloom.contains(3, 4)]).toEqual([true, true]);
    expect(bloom.checkAndAdd(7, 8, T0 + 102 * span)).toBe(false);
    expect([bloom.contains(1, 2), bloom.contains(3, 4), bloom.contains(5, 6)]).toEqual([false, true, true]);
  });
});

describe('dedupe horizon in watermark time', () => {
  it('events of another partition far ahead of the watermark do not make the filter forget', async () => {
    const base = await loadRingflowConfig(join(import.meta.dirname, '../../../examples/clickstream.json'));
    const config = {
      ...base,
      dedupe: { ...base.dedupe!, horizonMs: 60_000, generations: 2 },
      runtime: { ...base.runtime, partitions: 1, threads: 1, batchRows: 64 },
    };
    const pipeline = await Pipeline.create(compilePipelinePlan(config, { emitEvents: false, ingest: { decodeThreads: 0 } }), {
      onWindowRows: () => undefined, onDeadLetter: () => undefined,
    });
    const line = (id: string, ts: number): string => `{"event_id":"${id}","ts":${ts},"user_id":"u1","type":"view"}\n`;
    const push = (source: number, from: number, to: number, prefix: string, extra = ''): Promise<unknown> => {
      let text = extra;
      for (let t = from; t < to; t += 1000) text += line(`${prefix}${t}`, t);
      return pipeline.openStream(source).push(new TextEncoder().encode(text));
    };
    try {
      pipeline.openStream(1);
      await push(0, T0, T0 + 65_000, 'a', line('k', T0 + 1000));
      // Partition 1 starts 6 and then 8 minutes ahead (within maxFutureSkewMs: accepted), two rotations' worth.
      await push(1, T0 + 360_000, T0 + 380_000, 'b');
      await push(1, T0 + 480_000, T0 + 500_000, 'c');
      await push(0, T0 + 65_000, T0 + 70_000, 'd', line('k', T0 + 65_500));
      const stats = await pipeline.finish();
      expect(stats.duplicates).toBe(1);
      expect(stats.late).toBe(0);
    } finally {
      await pipeline.close();
    }
  });
});

describe('held lines (a skew candidate at the end of a push)', () => {
  it('wait for the next push, or are decided with what followed by decideHeld; nothing is counted twice', async () => {
    const base = await loadRingflowConfig(join(import.meta.dirname, '../../../examples/clickstream.json'));
    const config = { ...base, runtime: { ...base.runtime, partitions: 2, threads: 1, batchRows: 64 } };
    const deadLetter: { reason: string; line: number }[] = [];
    const pipeline = await Pipeline.create(compilePipelinePlan(config, { emitEvents: false, ingest: { decodeThreads: 0 } }), {
      onWindowRows: () => undefined, onDeadLetter: (e) => { deadLetter.push(e); },
    });
    const line = (id: string, ts: number): string => `{"event_id":"${id}","ts":${ts},"user_id":"u1","type":"view"}\n`;
    const bytes = (from: number, n: number, prefix: string, ts: (i: number) => number): Uint8Array => {
      let text = '';
      for (let i = 0; i < n; i++) text += line(`${prefix}${from + i}`, ts(from + i));
      return new TextEncoder().encode(text);
    };
    const DAY = 86_400_000;
    try {
      const s = pipeline.openStream(0);
      let counts = await s.push(bytes(0, 20, 'a', (i) => T0 + i * 1000));
      expect([counts.acceptedLines, s.heldSinceMs]).toEqual([20, null]);
      // A gap of 3 days: its first 3 events alone cannot decide (K = 16: 8 must agree).
      counts = await s.push(bytes(20, 3, 'b', (i) => T0 + 3 * DAY + i * 1000));
      expect(counts.acceptedLines).toBe(0);
      expect(s.heldSinceMs).not.toBeNull();
      expect(s.lineNumber).toBe(21);
      counts = await s.push(bytes(23, 10, 'b', (i) => T0 + 3 * DAY + i * 1000));
      expect([counts.acceptedLines, s.heldSinceMs, s.lineNumber]).toEqual([13, null, 34]);
      // One stamp years ahead as the last line: held, then decided alone (rejected) by decideHeld.
      await s.push(bytes(33, 1, 'c', () => T0 + 3 * DAY + 9e11));
      expect([s.heldSinceMs !== null, s.lineNumber, s.pushedLinesEnd]).toEqual([true, 34, 35]);
      expect(await s.decideHeld(60_000)).toBe(false); // not held that long yet
      expect(await s.decideHeld()).toBe(true);
      expect([s.heldSinceMs, s.pushedLinesEnd]).toEqual([null, 35]);
      const stats = await pipeline.finish();
      expect([stats.input, stats.accepted, stats.invalid, stats.late]).toEqual([34, 33, 1, 0]);
      expect(deadLetter).toEqual([expect.objectContaining({ reason: 'future_ts', line: 34 })]);
    } finally {
      await pipeline.close();
    }
  });
});
