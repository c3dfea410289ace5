import { describe, expect, it } from 'vitest';
import { WindowAssigner } from '../../../src/kernels/window/assign.js';
import { chunkBoundMs, OffsetTracker, WindowAckClock, windowEndAfter } from '../../../src/daemon/offsets.js';

const MIN = 60_000;
const tumbling = new WindowAssigner({ type: 'tumbling', sizeMs: MIN });
const hopping = new WindowAssigner({ type: 'hopping', sizeMs: MIN, slideMs: 20_000 });

describe('window bounds of a chunk', () => {
  it('windowEndAfter is the smallest window end strictly after the time', () => {
    expect(windowEndAfter(tumbling, 0)).toBe(MIN);
    expect(windowEndAfter(tumbling, MIN - 1)).toBe(MIN);
    expect(windowEndAfter(tumbling, MIN)).toBe(2 * MIN);
    expect(windowEndAfter(hopping, MIN)).toBe(80_000);
    expect(windowEndAfter(hopping, 79_999)).toBe(80_000);
    expect(windowEndAfter(tumbling, Number.NEGATIVE_INFINITY)).toBe(Number.NEGATIVE_INFINITY);
  });

  it('covers the last window containing the max event time, and the next window end after the watermark', () => {
    // max ts 61 s: tumbling window [60 s, 120 s) ends at 120 s.
    expect(chunkBoundMs(tumbling, 61_000, 10_000)).toBe(2 * MIN);
    // hopping: the windows containing 61 s end at 80, 100 and 120 s; the last one counts.
    expect(chunkBoundMs(hopping, 61_000, 10_000)).toBe(120_000);
    // A partition behind the watermark: the bound is the first window end after the watermark.
    expect(chunkBoundMs(tumbling, 5_000, 3 * MIN)).toBe(4 * MIN);
    // Nothing seen yet (only invalid lines): settled by the first window end after the watermark.
    expect(chunkBoundMs(tumbling, Number.NEGATIVE_INFINITY, Number.NEGATIVE_INFINITY)).toBe(Number.NEGATIVE_INFINITY);
  });
});

describe('WindowAckClock', () => {
  it('advances only through deliveries the sinks acknowledged, in order', () => {
    const clock = new WindowAckClock();
    const a = clock.sending(MIN);
    const b = clock.sending(2 * MIN);
    // Ids not assigned yet (sendWindows still waiting for room): nothing is acked.
    expect(clock.ackedThroughMs(2 * MIN, 10)).toBe(Number.NEGATIVE_INFINITY);
    clock.delivered(a, 3);
    clock.delivered(b, 5);
    expect(clock.ackedThroughMs(2 * MIN, 2)).toBe(Number.NEGATIVE_INFINITY);
    expect(clock.ackedThroughMs(2 * MIN, 4)).toBe(MIN);
    expect(clock.outstanding).toBe(1);
    expect(clock.ackedThroughMs(2 * MIN, 5)).toBe(2 * MIN);
  });

  it('with nothing outstanding, empty windows count as acked through the emitted-through time', () => {
    const clock = new WindowAckClock();
    expect(clock.ackedThroughMs(5 * MIN, 0)).toBe(5 * MIN);
    const c = clock.sending(6 * MIN);
    clock.delivered(c, 1);
    // Emission moved on to 9 min with no rows after delivery 1: acked through 9 min only once 1 is acked.
    expect(clock.ackedThroughMs(9 * MIN, 0)).toBe(5 * MIN);
    expect(clock.ackedThroughMs(9 * MIN, 1)).toBe(9 * MIN);
  });

  it('never goes backwards', () => {
    const clock = new WindowAckClock();
    expect(clock.ackedThroughMs(4 * MIN, 0)).toBe(4 * MIN);
    expect(clock.ackedThroughMs(2 * MIN, 0)).toBe(4 * MIN);
  });
});

describe('OffsetTracker', () => {
  it('commits the highest contiguous settled end per partition', () => {
    const t = new OffsetTracker();
    t.pushed(0, { endPosition: 100, boundMs: MIN, maxTsMs: 59_000 });
    t.pushed(0, { endPosition: 200, boundMs: 2 * MIN, maxTsMs: 61_000 });
    t.pushed(0, { endPosition: 300, boundMs: 2 * MIN, maxTsMs: 119_000 });
    t.pushed(1, { endPosition: 50, boundMs: 3 * MIN, maxTsMs: 150_000 });
    expect(t.settle(MIN - 1)).toEqual([]);
    expect(t.settle(MIN)).toEqual([{ sourcePartition: 0, position: 100, maxTsMs: 59_000 }]);
    expect(t.unsettledChunks).toBe(3);
    expect(t.settle(2 * MIN)).toEqual([{ sourcePartition: 0, position: 300, maxTsMs: 119_000 }]);
    expect(t.settle(2 * MIN)).toEqual([]);
    expect(t.settle(3 * MIN)).toEqual([{ sourcePartition: 1, position: 50, maxTsMs: 150_000 }]);
    expect(t.unsettledChunks).toBe(0);
  });

  it('a chunk behind an unsettled one waits for it (contiguity), even if its own bound is lower', () => {
    const t = new OffsetTracker();
    t.pushed(0, { endPosition: 10, boundMs: 3 * MIN, maxTsMs: 170_000 });
    // Out-of-order event time: a later chunk of older events; its bound cannot be below the partition max anyway,
    // but the tracker must not skip over the first chunk either way.
    t.pushed(0, { endPosition: 20, boundMs: MIN, maxTsMs: 170_000 });
    expect(t.settle(2 * MIN)).toEqual([]);
    expect(t.settle(3 * MIN)).toEqual([{ sourcePartition: 0, position: 20, maxTsMs: 170_000 }]);
  });

  it('rejects positions that go backwards, and forgets revoked partitions', () => {
    const t = new OffsetTracker();
    t.pushed(2, { endPosition: 10, boundMs: MIN, maxTsMs: 1 });
    expect(() => t.pushed(2, { endPosition: 5, boundMs: MIN, maxTsMs: 1 })).toThrow(RangeError);
    t.forget(2);
    expect(t.unsettledChunks).toBe(0);
    expect(t.settle(Number.POSITIVE_INFINITY)).toEqual([]);
  });

  it('a chunk ending after the first line its stream holds for a skew decision settles only once that line is decided', () => {
    const t = new OffsetTracker();
    t.pushed(0, { endPosition: 10, boundMs: MIN, maxTsMs: 59_000, endLine: 101 });
    // Lines from 150 on wait for a decision: this chunk (lines up to 200) and the next stay unsettled.
    t.pushed(0, { endPosition: 20, boundMs: MIN, maxTsMs: 59_000, endLine: 201, heldFromLine: 150 });
    t.pushed(0, { endPosition: 30, boundMs: MIN, maxTsMs: 59_000, endLine: 301, heldFromLine: 150 });
    expect(t.settle(Number.POSITIVE_INFINITY)).toEqual([{ sourcePartition: 0, position: 10, maxTsMs: 59_000 }]);
    // Decided with this push, which holds again from line 350: the chunks ending before it take its bound.
    t.pushed(0, { endPosition: 40, boundMs: 2 * MIN, maxTsMs: 119_000, endLine: 401, heldFromLine: 350 });
    expect(t.settle(MIN)).toEqual([]);
    expect(t.settle(2 * MIN)).toEqual([{ sourcePartition: 0, position: 30, maxTsMs: 119_000 }]);
    // A hold in every push (a bad clock in a busy partition) still lets the chunks before it settle.
    t.pushed(0, { endPosition: 50, boundMs: 2 * MIN, maxTsMs: 119_000, endLine: 501, heldFromLine: 480 });
    expect(t.settle(2 * MIN)).toEqual([{ sourcePartition: 0, position: 40, maxTsMs: 119_000 }]);
    t.released(0, 3 * MIN, 170_000);
    expect(t.settle(3 * MIN)).toEqual([{ sourcePartition: 0, position: 50, maxTsMs: 170_000 }]);
  });

  it('keeps working over many chunks (queue compaction)', () => {
    const t = new OffsetTracker();
    for (let i = 1; i <= 5000; i++) t.pushed(0, { endPosition: i, boundMs: i, maxTsMs: i });
    for (let through = 1000; through <= 5000; through += 1000) {
      expect(t.settle(through)).toEqual([{ sourcePartition: 0, position: through, maxTsMs: through }]);
      expect(t.unsettledChunks).toBe(5000 - through);
    }
  });
});
