import { describe, expect, it } from 'vitest';
import { decodeCommitMetadata, encodeCommitMetadata, restoredMaxTsMs } from '../../../src/daemon/restart-state.js';

describe('commit metadata', () => {
  it('round-trips the max event time and the acked-through floor', () => {
    const m = encodeCommitMetadata(1_767_225_659_000, 1_767_225_600_000);
    expect(decodeCommitMetadata(m)).toEqual({ maxTsMs: 1_767_225_659_000, floorMs: 1_767_225_600_000, checkpoint: null });
    expect(decodeCommitMetadata(encodeCommitMetadata(5, 6, 42))).toEqual({ maxTsMs: 5, floorMs: 6, checkpoint: 42 });
    // Fits the broker's default offset.metadata.max.bytes (4096) with room to spare.
    expect(m.length).toBeLessThan(100);
  });

  it('encodes "nothing yet" and "everything" without losing them', () => {
    expect(decodeCommitMetadata(encodeCommitMetadata(Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY)))
      .toEqual({ maxTsMs: Number.NEGATIVE_INFINITY, floorMs: Number.NEGATIVE_INFINITY, checkpoint: null });
  });

  it('ignores metadata ringflow did not write', () => {
    expect(decodeCommitMetadata(null)).toBeNull();
    expect(decodeCommitMetadata('')).toBeNull();
    expect(decodeCommitMetadata('not json')).toBeNull();
    expect(decodeCommitMetadata('{"maxTs":1}')).toBeNull();
  });

  it('restores the larger of the partition max and floor + lateness, so the watermark reaches the floor', () => {
    const s = { sourcePartition: 0, offset: 10, maxTsMs: 100_000, floorMs: 120_000, checkpoint: null };
    expect(restoredMaxTsMs(s, 5_000)).toBe(125_000);
    expect(restoredMaxTsMs({ ...s, maxTsMs: 200_000 }, 5_000)).toBe(200_000);
  });
});
