import { afterEach, describe, expect, it, vi } from 'vitest';
import { Batcher } from '../../../src/sinks/batcher.js';
import { DeliveryLatch } from '../../../src/sinks/sink.js';

/** A deliver function whose batches complete only when the test says so. */
function controlledDeliver() {
  const batches: number[][] = [];
  const finishers: (() => void)[] = [];
  const failers: ((err: unknown) => void)[] = [];
  const deliver = (items: number[]) => {
    batches.push(items);
    return new Promise<void>((resolve, reject) => {
      finishers.push(resolve);
      failers.push(reject);
    });
  };
  const finishNext = async () => {
    finishers.shift()!();
    failers.shift();
    await vi.advanceTimersByTimeAsync(0);
  };
  return { batches, deliver, finishNext, failNext: (err: unknown) => failers.shift()!(err) };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('Batcher', () => {
  it('sends a batch as soon as maxRows rows are buffered, without waiting for the timer', async () => {
    vi.useFakeTimers();
    const d = controlledDeliver();
    const b = new Batcher<number>({ maxRows: 3, maxDelayMs: 60_000, maxBufferedRows: 100, rowsOf: () => 1, deliver: d.deliver });
    for (const i of [1, 2, 3, 4]) await b.add(i);
    expect(d.batches).toEqual([[1, 2, 3]]);
    await d.finishNext();
    // 4 waits for the timer: fewer than maxRows.
    expect(d.batches).toEqual([[1, 2, 3]]);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(d.batches).toEqual([[1, 2, 3], [4]]);
  });

  it('sends a partial batch once the oldest row waited maxDelayMs', async () => {
    vi.useFakeTimers();
    const d = controlledDeliver();
    const b = new Batcher<number>({ maxRows: 100, maxDelayMs: 500, maxBufferedRows: 1000, rowsOf: () => 1, deliver: d.deliver });
    await b.add(1);
    await vi.advanceTimersByTimeAsync(499);
    expect(d.batches).toEqual([]);
    await b.add(2);
    await vi.advanceTimersByTimeAsync(1);
    expect(d.batches).toEqual([[1, 2]]);
  });

  it('counts rows per item (event batches) and never splits an item', async () => {
    vi.useFakeTimers();
    const d = controlledDeliver();
    const b = new Batcher<number>({ maxRows: 10, maxDelayMs: 1000, maxBufferedRows: 1000, rowsOf: (n) => n, deliver: d.deliver });
    await b.add(6);
    await b.add(6);
    expect(d.batches).toEqual([[6]]);
    await d.finishNext();
    await b.add(4);
    expect(d.batches).toEqual([[6], [6, 4]]);
  });

  it('bounds a batch by bytes too: sends once maxBatchBytes are buffered, never joins past it, an oversized item alone', async () => {
    vi.useFakeTimers();
    const d = controlledDeliver();
    let maxBytes = 100;
    const b = new Batcher<number>({
      maxRows: 1000, maxDelayMs: 1000, maxBufferedRows: 1000, rowsOf: () => 1,
      bytesOf: (n) => n, maxBatchBytes: () => maxBytes, deliver: d.deliver,
    });
    await b.add(40);
    await b.add(40);
    expect(d.batches).toEqual([]);
    await b.add(40); // 120 buffered: a batch is full
    expect(d.batches).toEqual([[40, 40]]);
    await b.add(500);
    await d.finishNext();
    expect(d.batches).toEqual([[40, 40], [40]]);
    await d.finishNext();
    expect(d.batches).toEqual([[40, 40], [40], [500]]);
    // The bound is read per batch (the Kafka sink lowers it once it knows the topic's limit).
    maxBytes = 30;
    await b.add(20);
    await b.add(20);
    await d.finishNext();
    expect(d.batches.slice(3)).toEqual([[20]]);
    await d.finishNext();
    await vi.advanceTimersByTimeAsync(1000);
    expect(d.batches.slice(3)).toEqual([[20], [20]]);
  });

  it('makes add() wait while the buffer is full and lets it in when a delivery completes', async () => {
    vi.useFakeTimers();
    const d = controlledDeliver();
    const b = new Batcher<number>({ maxRows: 2, maxDelayMs: 1000, maxBufferedRows: 4, rowsOf: () => 1, deliver: d.deliver });
    for (const i of [1, 2, 3, 4]) await b.add(i);
    let admitted = false;
    const fifth = b.add(5).then(() => {
      admitted = true;
    });
    await vi.advanceTimersByTimeAsync(5000);
    expect(admitted).toBe(false);
    expect(b.bufferedRows).toBe(4);
    await d.finishNext();
    await fifth;
    expect(admitted).toBe(true);
    expect(d.batches).toEqual([[1, 2], [3, 4]]);
  });

  it('admits an item larger than the whole buffer when the buffer is empty', async () => {
    vi.useFakeTimers();
    const d = controlledDeliver();
    const b = new Batcher<number>({ maxRows: 10, maxDelayMs: 1000, maxBufferedRows: 5, rowsOf: (n) => n, deliver: d.deliver });
    await b.add(50);
    expect(d.batches).toEqual([[50]]);
  });

  it('flush() delivers everything buffered, in order, and resolves when settled', async () => {
    const delivered: number[][] = [];
    const b = new Batcher<number>({
      maxRows: 2, maxDelayMs: 60_000, maxBufferedRows: 100, rowsOf: () => 1,
      deliver: async (items) => { delivered.push(items); },
    });
    for (const i of [1, 2, 3, 4, 5]) await b.add(i);
    await b.flush();
    expect(delivered.flat()).toEqual([1, 2, 3, 4, 5]);
    expect(b.bufferedRows).toBe(0);
  });

  it('releases a delivery latch only after every item carrying it is delivered', async () => {
    vi.useFakeTimers();
    const d = controlledDeliver();
    const b = new Batcher<number>({ maxRows: 2, maxDelayMs: 1000, maxBufferedRows: 100, rowsOf: () => 1, deliver: d.deliver });
    let settled = false;
    const latch = new DeliveryLatch(() => {
      settled = true;
    });
    for (const i of [1, 2, 3]) await b.add(i, latch);
    latch.release(); // the owner's reference
    await d.finishNext();
    expect(settled).toBe(false);
    await vi.advanceTimersByTimeAsync(1000);
    await d.finishNext();
    expect(settled).toBe(true);
  });

  it('turns a failed delivery into a fatal error: latches stay held, later calls reject', async () => {
    vi.useFakeTimers();
    const d = controlledDeliver();
    const b = new Batcher<number>({ maxRows: 1, maxDelayMs: 1000, maxBufferedRows: 1, rowsOf: () => 1, deliver: d.deliver });
    let settled = false;
    const latch = new DeliveryLatch(() => {
      settled = true;
    });
    await b.add(1, latch);
    latch.release();
    const waiting = b.add(2);
    d.failNext(new Error('dead letter unwritable'));
    await expect(waiting).rejects.toThrow('dead letter unwritable');
    await expect(b.add(3)).rejects.toThrow('dead letter unwritable');
    await expect(b.flush()).rejects.toThrow('dead letter unwritable');
    expect(settled).toBe(false);
  });
});
