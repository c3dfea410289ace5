/**
 * The dedupe replay start (scale-out): a commit moves back to the first chunk that may hold an event
 * of the last replayMs of event time, never past the settled position, and only forward over time.
 */
import { describe, expect, it } from 'vitest';
import { ReplayStarts } from '../../../src/daemon/scale-out/replay-start.js';

describe('ReplayStarts', () => {
  it('commits the start of the first chunk whose running maximum reached M - replayMs', () => {
    const r = new ReplayStarts(60_000);
    // Chunks of partition 3: [0,100) max 10 s, [100,200) max 50 s, [200,300) max 90 s, [300,400) max 130 s.
    r.pushed(3, 0, 10_000);
    r.pushed(3, 100, 50_000);
    r.pushed(3, 200, 90_000);
    r.pushed(3, 300, 130_000);
    // Settled through 300 with maximum 90 s: events from 30 s on are needed; the chunk from 100 has a 50 s maximum.
    expect(r.commitPosition(3, 300, 90_000)).toBe(100);
    // Settled through 400 with maximum 130 s: from 70 s on; the chunk from 200 is the first to reach 90 s.
    expect(r.commitPosition(3, 400, 130_000)).toBe(200);
    // Never before a position already given: the dropped chunks stay dropped.
    expect(r.commitPosition(3, 400, 130_000)).toBe(200);
    // Other partitions are independent; one never pushed commits as settled.
    expect(r.commitPosition(1, 77, 5_000)).toBe(77);
  });

  it('never returns more than the settled position, and replayMs 0 turns it off', () => {
    const r = new ReplayStarts(1_000_000);
    r.pushed(0, 500, 10);
    expect(r.commitPosition(0, 400, 10)).toBe(400);
    const off = new ReplayStarts(0);
    off.pushed(0, 0, 10);
    expect(off.commitPosition(0, 250, 10)).toBe(250);
  });

  it('forgets a partition and everything on a rebalance', () => {
    const r = new ReplayStarts(60_000);
    r.pushed(2, 10, 1_000);
    r.forget(2);
    expect(r.commitPosition(2, 90, 1_000)).toBe(90);
    r.pushed(2, 10, 1_000);
    r.forgetAll();
    expect(r.commitPosition(2, 90, 1_000)).toBe(90);
  });
});
