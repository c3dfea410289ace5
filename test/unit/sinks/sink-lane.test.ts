import { describe, expect, it } from 'vitest';
import { SinkLane } from '../../../src/sinks/sink-lane.js';
import { DeliveryLatch, newCounters, type Sink, type SinkCounters } from '../../../src/sinks/sink.js';

/**
 * A sink that stores every accepted item at once, or (when `stuck`) holds every write() pending the
 * way a BufferedSink does while its buffer is full and its destination keeps failing.
 */
class FakeSink implements Sink<string> {
  readonly accepted: string[] = [];
  private readonly held: (() => void)[] = [];
  failWith: Error | undefined;

  constructor(readonly name: string, public stuck = false) {}

  write(item: string, latch?: DeliveryLatch): Promise<void> {
    if (this.failWith) return Promise.reject(this.failWith);
    latch?.retain();
    const accept = () => {
      this.accepted.push(item);
      latch?.release(); // stored at once
    };
    if (!this.stuck) {
      accept();
      return Promise.resolve();
    }
    return new Promise((resolve) => this.held.push(() => {
      accept();
      resolve();
    }));
  }

  unstick(): void {
    this.stuck = false;
    for (const go of this.held.splice(0)) go();
  }

  flush(): Promise<void> {
    return Promise.resolve();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  counters(): SinkCounters {
    return newCounters();
  }
}

const tick = () => new Promise((r) => setTimeout(r, 0));

describe('SinkLane', () => {
  it('a stuck sink holds back only its own writes; the delivery is acknowledged once both parts are stored', async () => {
    const windows = new FakeSink('files.windows');
    const events = new FakeSink('kafka.events', true);
    const windowLane = new SinkLane(windows);
    const eventLane = new SinkLane(events);
    const acked: number[] = [];
    const latches = [1, 2, 3].map((id) => new DeliveryLatch(() => acked.push(id)));

    // Deliveries alternate events / windows, as the pipeline sends them.
    eventLane.write(['e1'], latches[0]);
    windowLane.write(['w1', 'w2'], latches[0]);
    eventLane.write(['e2'], latches[1]);
    windowLane.write(['w3'], latches[2]);
    for (const l of latches) l.release();
    await tick();

    expect(windows.accepted).toEqual(['w1', 'w2', 'w3']);
    expect(events.accepted).toEqual([]);
    expect(eventLane.queued).toBe(2);
    expect(acked).toEqual([3]); // windows only: settled; the others wait for their events

    events.unstick();
    await windowLane.flush();
    await eventLane.flush();
    expect(events.accepted).toEqual(['e1', 'e2']);
    expect([...acked].sort()).toEqual([1, 2, 3]);
  });

  it('fails the latch (never acknowledging it) and flush() when the sink refuses a write for good', async () => {
    const sink = new FakeSink('clickhouse.windows');
    sink.failWith = new Error('dead letter unwritable');
    const lane = new SinkLane(sink);
    const outcome: string[] = [];
    const latch = new DeliveryLatch(() => outcome.push('ack'), (err) => outcome.push(`failed: ${(err as Error).message}`));
    lane.write(['w1'], latch);
    latch.release();
    await expect(lane.flush()).rejects.toThrow('dead letter unwritable');
    expect(outcome).toEqual(['failed: dead letter unwritable']);
  });
});
