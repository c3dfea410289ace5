import { CompressionTypes } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { uniqueName } from '../../helpers/services.js';
import { KafkaSource, type KafkaSourceOptions } from '../../../src/sources/kafka/source.js';
import type { SourceChunk } from '../../../src/sources/source.js';
import { createTopic, linesOf, openKafkaKit, produce, sleep, waitFor, type Delivered, type KafkaKit } from './kafka-test-kit.js';

let kit: KafkaKit;
beforeAll(async () => {
  kit = await openKafkaKit();
});
afterAll(async () => {
  await kit?.close();
});

function source(topic: string, groupId: string, extra: Partial<KafkaSourceOptions> = {}): KafkaSource {
  return new KafkaSource({ brokers: kit.brokers, topic, groupId, logLevel: 'nothing', maxWaitTimeMs: 100, ...extra });
}

const event = (p: number, i: number): string => `{"p":${p},"i":${i}}`;

describe('KafkaSource on a real broker', () => {
  test('delivers single-event and multi-line messages; restart resumes at the committed offset', async () => {
    const topic = await createTopic(kit, 2);
    // Partition 0: one event per message. Partition 1: 10 events per message (offset o holds i = 10o..10o+9).
    const p0 = Array.from({ length: 300 }, (_, i) => event(0, i));
    const p1 = Array.from({ length: 30 }, (_, o) => Array.from({ length: 10 }, (_, k) => event(1, o * 10 + k)).join('\n'));
    await produce(kit, topic, 0, p0, 20);
    await produce(kit, topic, 1, p1, 3);
    const groupId = uniqueName('grp');

    // Run 1: small fetches so each partition arrives in several chunks; commit only the first half.
    const first = source(topic, groupId, { maxBytesPerPartition: 1024 });
    const run1: Delivered[] = [];
    const chunkEnds = new Map<number, number[]>();
    await first.start((chunk: SourceChunk) => {
      run1.push(...linesOf(chunk));
      chunkEnds.set(chunk.sourcePartition, [...(chunkEnds.get(chunk.sourcePartition) ?? []), chunk.endPosition]);
    });
    await waitFor('all 600 lines', () => run1.length >= 600);
    expect(run1.filter((d) => d.partition === 0).map((d) => d.line)).toEqual(p0);
    expect(run1.filter((d) => d.partition === 1).map((d) => d.line)).toEqual(p1.flatMap((m) => m.split('\n')));
    expect(chunkEnds.get(0)!.length).toBeGreaterThan(1);
    expect(chunkEnds.get(1)![chunkEnds.get(1)!.length - 1]).toBe(30);

    const ackedEnd = new Map<number, number>();
    for (const p of [0, 1]) {
      const ends = chunkEnds.get(p)!;
      ackedEnd.set(p, ends[Math.floor(ends.length / 2) - 1] ?? ends[0]);
      await first.commit(p, ackedEnd.get(p)!);
    }
    // Lag: high watermark minus the committed offset, per partition.
    const lag = await first.lag();
    expect(lag.map((l) => [l.sourcePartition, l.endPosition, l.committedPosition, l.lag])).toEqual([
      [0, 300, ackedEnd.get(0), 300 - ackedEnd.get(0)!],
      [1, 30, ackedEnd.get(1), 30 - ackedEnd.get(1)!],
    ]);
    expect(lag.map((l) => l.deliveredPosition)).toEqual([300, 30]);
    await first.stop();
    await first.close();

    // Run 2, same group: exactly the un-acked part comes back; nothing acked is re-delivered.
    const second = source(topic, groupId);
    const run2: Delivered[] = [];
    const firstStart = new Map<number, number>();
    await second.start((chunk) => {
      if (!firstStart.has(chunk.sourcePartition)) firstStart.set(chunk.sourcePartition, chunk.startPosition);
      run2.push(...linesOf(chunk));
    });
    const expected0 = p0.slice(ackedEnd.get(0));
    const expected1 = p1.slice(ackedEnd.get(1)).flatMap((m) => m.split('\n'));
    await waitFor('the un-acked lines', () => run2.length >= expected0.length + expected1.length);
    await sleep(300); // anything beyond the expected lines would be a duplicate
    expect(firstStart.get(0)).toBe(ackedEnd.get(0));
    expect(firstStart.get(1)).toBe(ackedEnd.get(1));
    expect(run2.filter((d) => d.partition === 0).map((d) => d.line)).toEqual(expected0);
    expect(run2.filter((d) => d.partition === 1).map((d) => d.line)).toEqual(expected1);
    await second.stop();
    await second.close();
  });

  test('record batches read undecoded: a committed offset inside a batch, gzip, null values and headers', async () => {
    const topic = await createTopic(kit, 2);
    // One send per partition, so each partition holds one record batch (gzip on partition 1).
    const values = (p: number): (string | null)[] => Array.from({ length: 100 }, (_, i) => (i % 10 === 9 ? null : event(p, i)));
    for (const p of [0, 1]) {
      await kit.producer.send({
        topic,
        compression: p === 1 ? CompressionTypes.GZIP : CompressionTypes.None,
        messages: values(p).map((value, i) => ({ value, partition: p, key: `k${i}`, headers: { h: String(i) } })),
      });
    }
    const groupId = uniqueName('grp');
    await kit.admin.setOffsets({ groupId, topic, partitions: [{ partition: 0, offset: '37' }, { partition: 1, offset: '64' }] });

    const src = source(topic, groupId, { fromBeginning: true });
    const got: Delivered[] = [];
    const starts = new Map<number, number>();
    await src.start((chunk) => {
      if (!starts.has(chunk.sourcePartition)) starts.set(chunk.sourcePartition, chunk.startPosition);
      got.push(...linesOf(chunk));
    });
    const expected = (p: number, from: number): string[] => values(p).slice(from).filter((v): v is string => v !== null);
    await waitFor('the lines from the committed offsets', () => got.length >= expected(0, 37).length + expected(1, 64).length);
    await sleep(300); // a record below a committed offset would arrive as one line too many
    expect(src.groupState().recordBlockDecoder).toBe(true);
    expect(got.filter((d) => d.partition === 0).map((d) => d.line)).toEqual(expected(0, 37));
    expect(got.filter((d) => d.partition === 1).map((d) => d.line)).toEqual(expected(1, 64));
    expect([starts.get(0), starts.get(1)]).toEqual([37, 64]);
    await src.stop();
    await src.close();
  });

  test('a handler that rejects stops the source: finished() rejects, nothing is committed', async () => {
    const topic = await createTopic(kit, 1);
    await produce(kit, topic, 0, ['{"i":0}', '{"i":1}']);
    const groupId = uniqueName('grp');
    const src = source(topic, groupId);
    let calls = 0;
    await src.start(() => {
      calls++;
      return Promise.reject(new Error('ring closed'));
    });
    await expect(src.finished()).rejects.toMatchObject({ code: 'SOURCE_FAILED' });
    await sleep(300);
    expect(calls).toBe(1); // not retried in a loop
    expect((await src.lag())[0]).toMatchObject({ committedPosition: -1, lag: 2 });
    await src.close();
  });

  test('a consumer thread that dies surfaces as a SourceError: finished(), commit() and lag() reject, nothing hangs', async () => {
    const topic = await createTopic(kit, 1);
    await produce(kit, topic, 0, ['{"i":0}', '{"i":1}', '{"i":2}']);
    const src = source(topic, uniqueName('grp'));
    const delivered: Delivered[] = [];
    await src.start((chunk) => {
      delivered.push(...linesOf(chunk));
    });
    await waitFor('the first lines', () => delivered.length === 3);
    await src.killConsumerThreadForTest();
    await expect(src.finished()).rejects.toMatchObject({ code: 'SOURCE_FAILED', retriable: true, message: expect.stringContaining('consumer thread exited') });
    await expect(src.commit(0, 3)).rejects.toMatchObject({ code: 'SOURCE_FAILED' });
    await expect(src.lag()).rejects.toMatchObject({ code: 'SOURCE_FAILED' });
    await src.close();
  });

  test('a handler slower than the session timeout, and pause/resume, keep the group stable', async () => {
    const topic = await createTopic(kit, 1);
    await produce(kit, topic, 0, Array.from({ length: 2000 }, (_, i) => event(0, i)));
    const src = source(topic, uniqueName('grp'), { sessionTimeoutMs: 6_000, heartbeatIntervalMs: 500, maxBytesPerPartition: 4096 });
    const delivered: Delivered[] = [];
    let chunks = 0;
    let deliveredWhilePaused = 0;
    let pausedFromHandler = false;
    let released = false;
    await src.start(async (chunk) => {
      if (src.stats().paused) deliveredWhilePaused++;
      chunks++;
      delivered.push(...linesOf(chunk));
      if (chunks === 1) {
        // Ring backpressure: the first chunk is held for longer than the session timeout, and the
        // source is paused meanwhile, as the pipeline does when its rings are full.
        src.pause();
        pausedFromHandler = true;
        await sleep(8_000);
        released = true;
      }
    });
    await waitFor('the held chunk to be released', () => pausedFromHandler && released, 30_000);
    await sleep(7_000); // paused with no handler call pending, again longer than the session timeout
    expect(chunks).toBe(1);
    src.resume();
    await waitFor('all lines', () => delivered.length >= 2000);
    expect(delivered.map((d) => d.line)).toEqual(Array.from({ length: 2000 }, (_, i) => event(0, i)));
    expect(deliveredWhilePaused).toBe(0);
    // One join at start, no rebalance: heartbeats went on while the handler and the pause waited.
    expect(src.groupState()).toMatchObject({ joins: 1, rebalances: 0, assigned: [0] });
    await src.close();
  }, 60_000);

  test('on rebalance, revoked partitions are settled (committed) before another member takes them', async () => {
    const topic = await createTopic(kit, 4);
    const groupId = uniqueName('grp');
    const all: string[] = [];
    for (let p = 0; p < 4; p++) {
      const values = Array.from({ length: 100 }, (_, i) => event(p, i));
      all.push(...values);
      await produce(kit, topic, p, values);
    }
    const a = source(topic, groupId, { sessionTimeoutMs: 10_000, heartbeatIntervalMs: 300, rebalanceTimeoutMs: 20_000 });
    const seenA: Delivered[] = [];
    const revokedA: number[][] = [];
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let heldOnce = false;
    await a.start(
      async (chunk) => {
        seenA.push(...linesOf(chunk));
        // A never commits from its handler; the first chunk after 400 lines is held while B joins.
        if (!heldOnce && seenA.length >= 400) {
          heldOnce = true;
          await held;
        }
      },
      {
        onRevoke: async (partitions) => {
          revokedA.push([...partitions]);
          // Settling = committing everything delivered for the revoked partitions.
          for (const l of await a.lag()) if (partitions.includes(l.sourcePartition) && l.deliveredPosition > 0) await a.commit(l.sourcePartition, l.deliveredPosition);
        },
      },
    );
    await waitFor('A to hold a chunk', () => heldOnce);

    const b = source(topic, groupId, { sessionTimeoutMs: 10_000, heartbeatIntervalMs: 300, rebalanceTimeoutMs: 20_000 });
    const seenB: Delivered[] = [];
    const bStarted = b.start(async (chunk) => {
      seenB.push(...linesOf(chunk));
      await b.commit(chunk.sourcePartition, chunk.endPosition);
    });
    await sleep(2_000); // B's join is pending on A; A keeps heartbeating and learns of the rebalance
    release();
    await bStarted;
    expect(revokedA).toEqual([[0, 1, 2, 3]]);
    await waitFor('A to rejoin', () => a.groupState().joins === 2);
    expect(b.groupState().assigned.length + a.groupState().assigned.length).toBe(4);
    expect(b.groupState().assigned.length).toBeGreaterThan(0);

    // New events after the rebalance go to whichever member owns the partition now.
    for (let p = 0; p < 4; p++) {
      const values = Array.from({ length: 50 }, (_, i) => event(p, 100 + i));
      all.push(...values);
      await produce(kit, topic, p, values);
    }
    await waitFor('every line once', () => seenA.length + seenB.length >= all.length);
    await sleep(500);
    const lines = [...seenA, ...seenB].map((d) => d.line);
    expect(new Set(lines).size).toBe(lines.length); // nothing twice: B started where A's settle committed
    expect([...lines].sort()).toEqual([...all].sort()); // nothing lost

    // A late commit from A for a partition B owns now is dropped, not written over B's progress.
    const movedToB = b.groupState().assigned[0];
    const before = (await b.lag()).find((l) => l.sourcePartition === movedToB)!.committedPosition;
    expect(before).toBe(150);
    await a.commit(movedToB, 10_000);
    expect(a.groupState().droppedCommits).toBe(1);
    expect((await b.lag()).find((l) => l.sourcePartition === movedToB)!.committedPosition).toBe(before);
    await Promise.all([a.close(), b.close()]);
  }, 90_000);
});
