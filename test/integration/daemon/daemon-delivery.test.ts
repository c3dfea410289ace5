/**
 * Delivery guarantees of `ringflow run` on the real servers, with events produced WHILE the daemon
 * runs (mid-stream):
 *   - SIGKILL, then a restart: the restart resumes at the committed offset with the watermark stored
 *     in the commit metadata; ClickHouse (FINAL) and Redis must still equal the reference.
 *   - ClickHouse stopped for 20 s and started again (same port and data): nothing lost.
 * The input ends with the sentinel of daemon-end-to-end.test.ts, which closes every window.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testServices, uniqueName } from '../../helpers/services.js';
import { startClickHouse, type ClickHouseServer } from '../../services/index.js';
import { compareAggregates, runReferenceOnLines, type ReferenceResult } from '../../reference/canonical-reference.js';
import { decodeCommitMetadata } from '../../../src/daemon/restart-state.js';
import {
  canonicalInput, clickhouseRows, committedOffset, connectProducer, createTopics, daemonConfig, DaemonProcess, HLL_BOUND, produceValues,
  redisRows, waitUntil,
} from './daemon-kit.js';

let dir: string;
const children: DaemonProcess[] = [];
let clickhouse: ClickHouseServer | undefined;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ringflow-daemon-delivery-'));
});

afterAll(async () => {
  for (const c of children) if (c.child.exitCode === null) c.kill('SIGKILL');
  await clickhouse?.close();
  rmSync(dir, { recursive: true, force: true });
});

const BLANK = /^[ \t\r]*$/;
/** Input lines among values[from..]: what a daemon starting at offset `from` counts as input. */
const inputLinesFrom = (values: readonly string[], from: number): number => values.slice(from).filter((v) => !BLANK.test(v)).length;

interface Scenario {
  values: string[];
  reference: ReferenceResult;
}

function scenario(seed: number, events: number, options: { duplicateRate?: number } = {}): Scenario {
  const { lines, sentinel } = canonicalInput(seed, events, options);
  const values = [...lines, sentinel];
  const reference = runReferenceOnLines(values);
  expect(new Set(reference.aggregates.map((r) => r.window_start)).size).toBeGreaterThanOrEqual(4);
  return { values, reference };
}

/** Produces `values` in small batches with pauses, so the daemon consumes while they arrive. */
function produceSlowly(services: ReturnType<typeof testServices>, topic: string, values: readonly string[], batch: number, pauseMs: number) {
  const state = { done: false, produced: 0 };
  const run = (async () => {
    const producer = await connectProducer(services);
    try {
      for (let i = 0; i < values.length; i += batch) {
        await produceValues(producer, topic, values.slice(i, i + batch));
        state.produced = Math.min(values.length, i + batch);
        await new Promise((r) => setTimeout(r, pauseMs));
      }
    } finally {
      await producer.disconnect();
      state.done = true;
    }
  })();
  return { state, run };
}

async function stopGracefully(daemon: DaemonProcess): Promise<void> {
  daemon.kill('SIGTERM');
  const exit = await Promise.race([daemon.exited, new Promise<null>((r) => setTimeout(() => r(null), 60_000))]);
  expect(exit, `daemon did not stop within 60 s after SIGTERM\n${daemon.tail()}`).toEqual({ code: 0, signal: null });
}

describe('ringflow run: delivery', () => {
  it('SIGKILL mid-stream and a restart from the last checkpoint: ClickHouse and Redis still equal the reference', async () => {
    const services = testServices();
    const names = { topic: uniqueName('in'), groupId: uniqueName('grp'), table: uniqueName('win'), redisPrefix: uniqueName('rf') };
    await createTopics(services, [{ topic: names.topic, numPartitions: 1 }]);
    const { values, reference } = scenario(21, 40_000);
    const testDir = join(dir, names.topic);
    // Checkpoints every 300 ms; a Bloom sized for this test keeps each checkpoint small (4 x ~1 MB).
    const configPath = daemonConfig(services, names, testDir, {
      daemon: { checkpoint: { dir: join(testDir, 'checkpoints'), intervalMs: 300 } },
      dedupe: { expectedKeysPerHorizon: 200_000 },
    });

    const producing = produceSlowly(services, names.topic, values, 400, 40);
    const first = new DaemonProcess(configPath, testDir);
    children.push(first);
    // Kill once something is committed and windows were emitted after it is possible, while events still arrive.
    await waitUntil('a first commit', 90_000, async () => (await committedOffset(services, names.groupId, names.topic)).offset > 0 || first.child.exitCode !== null,
      () => first.tail());
    await waitUntil('one more emitted window after the first commit', 60_000, () => first.status.windows >= 2 || producing.state.done, () => first.tail());
    expect(producing.state.done, 'the producer finished before the kill: not mid-stream').toBe(false);
    first.kill('SIGKILL');
    expect(await first.exited).toEqual({ code: null, signal: 'SIGKILL' });
    const resumeAt = (await committedOffset(services, names.groupId, names.topic)).offset;
    expect(resumeAt).toBeGreaterThan(0);
    expect(resumeAt).toBeLessThan(values.length);

    const second = new DaemonProcess(configPath, testDir);
    children.push(second);
    await producing.run;
    const expectedInput = inputLinesFrom(values, resumeAt);
    await waitUntil(`the restarted daemon reading the ${expectedInput} input lines after offset ${resumeAt}`, 90_000,
      () => second.status.input >= expectedInput || second.child.exitCode !== null, () => second.tail());
    expect(second.stderr).toContain('restored partition state from a checkpoint');
    await stopGracefully(second);
    expect(second.status.input).toBe(expectedInput);

    expect(compareAggregates(await clickhouseRows(services.clickhouseUrl, names.table), reference.aggregates, HLL_BOUND)).toEqual([]);
    expect(compareAggregates(await redisRows(services.redisUrl, names.redisPrefix), reference.aggregates, HLL_BOUND)).toEqual([]);

    // A run with nothing new to read must leave the checkpoint the committed offset names in place.
    const third = new DaemonProcess(configPath, testDir);
    children.push(third);
    await waitUntil('the third run restoring its checkpoint', 60_000,
      () => third.stderr.includes('restored partition state from a checkpoint') || third.child.exitCode !== null, () => third.tail());
    await new Promise((r) => setTimeout(r, 1_500)); // several checkpoint intervals with no input
    third.kill('SIGKILL');
    await third.exited;
    const named = decodeCommitMetadata((await committedOffset(services, names.groupId, names.topic)).metadata)?.checkpoint;
    expect(named).toBeGreaterThan(0);
    expect(existsSync(join(testDir, 'checkpoints', `checkpoint-${named}.bin`))).toBe(true);
  });

  it('without checkpoints, SIGKILL and a restart with the watermark stored in the commit metadata: exact when no duplicate spans the restart', async () => {
    // Without checkpoints the dedupe state is lost in a crash, so this scenario has no duplicates
    // (duplicateRate 0); what it checks is that windows emitted before the crash are not re-opened
    // and overwritten with partial rows by the events re-read after the committed offset.
    const services = testServices();
    const names = { topic: uniqueName('in'), groupId: uniqueName('grp'), table: uniqueName('win'), redisPrefix: uniqueName('rf') };
    await createTopics(services, [{ topic: names.topic, numPartitions: 1 }]);
    const { values, reference } = scenario(23, 40_000, { duplicateRate: 0 });
    const testDir = join(dir, names.topic);
    const configPath = daemonConfig(services, names, testDir);

    const producing = produceSlowly(services, names.topic, values, 400, 40);
    const first = new DaemonProcess(configPath, testDir);
    children.push(first);
    await waitUntil('a first commit', 90_000, async () => (await committedOffset(services, names.groupId, names.topic)).offset > 0 || first.child.exitCode !== null,
      () => first.tail());
    await waitUntil('two emitted windows', 60_000, () => first.status.windows >= 2 || producing.state.done, () => first.tail());
    expect(producing.state.done, 'the producer finished before the kill: not mid-stream').toBe(false);
    first.kill('SIGKILL');
    await first.exited;
    const resumeAt = (await committedOffset(services, names.groupId, names.topic)).offset;
    expect(resumeAt).toBeGreaterThan(0);

    const second = new DaemonProcess(configPath, testDir);
    children.push(second);
    await producing.run;
    const expectedInput = inputLinesFrom(values, resumeAt);
    await waitUntil(`the restarted daemon reading the ${expectedInput} input lines after offset ${resumeAt}`, 90_000,
      () => second.status.input >= expectedInput || second.child.exitCode !== null, () => second.tail());
    expect(second.stderr).toContain('restored the watermark from the committed offsets');
    await stopGracefully(second);
    // Events re-read after the commit point whose windows were emitted before the crash are late now.
    expect(second.status.late).toBeGreaterThan(0);

    expect(compareAggregates(await clickhouseRows(services.clickhouseUrl, names.table), reference.aggregates, HLL_BOUND)).toEqual([]);
    expect(compareAggregates(await redisRows(services.redisUrl, names.redisPrefix), reference.aggregates, HLL_BOUND)).toEqual([]);
  });

  it('ClickHouse stopped for 20 s mid-stream: nothing is lost once it is back', async () => {
    const services = testServices();
    clickhouse = await startClickHouse();
    const names = { topic: uniqueName('in'), groupId: uniqueName('grp'), table: uniqueName('win'), redisPrefix: uniqueName('rf') };
    await createTopics(services, [{ topic: names.topic, numPartitions: 1 }]);
    const { values, reference } = scenario(22, 40_000);
    const testDir = join(dir, names.topic);
    const configPath = daemonConfig(services, names, testDir, { clickhouseUrl: clickhouse.url });

    // ~100 batches with 250 ms pauses: events keep arriving through the whole outage.
    const producing = produceSlowly(services, names.topic, values, 400, 250);
    const daemon = new DaemonProcess(configPath, testDir);
    children.push(daemon);
    await waitUntil('a first emitted window', 90_000, () => daemon.status.windows >= 1 || daemon.child.exitCode !== null, () => daemon.tail());
    expect(producing.state.done, 'the producer finished before ClickHouse went away: not mid-stream').toBe(false);
    await clickhouse.stop();
    // The outage (20 s) is the input of this test, not a measured duration.
    await new Promise((r) => setTimeout(r, 5_000));
    const windowsEarlyInOutage = daemon.status.windows;
    const committedWhileDown = (await committedOffset(services, names.groupId, names.topic)).offset;
    await new Promise((r) => setTimeout(r, 15_000));
    // Redis kept acknowledging, ClickHouse could not: the commit position must not move meanwhile.
    expect((await committedOffset(services, names.groupId, names.topic)).offset).toBe(committedWhileDown);
    expect(daemon.status.windows, 'no window was emitted during the outage: the test did not exercise it').toBeGreaterThan(windowsEarlyInOutage);
    await clickhouse.start();
    await producing.run;
    const expectedInput = inputLinesFrom(values, 0);
    await waitUntil('all input read', 120_000, () => daemon.status.input >= expectedInput || daemon.child.exitCode !== null, () => daemon.tail());
    await stopGracefully(daemon);

    const committedAfter = (await committedOffset(services, names.groupId, names.topic)).offset;
    expect(committedAfter).toBeGreaterThan(committedWhileDown);
    expect(compareAggregates(await clickhouseRows(clickhouse.url, names.table), reference.aggregates, HLL_BOUND)).toEqual([]);
    expect(compareAggregates(await redisRows(services.redisUrl, names.redisPrefix), reference.aggregates, HLL_BOUND)).toEqual([]);
  });
});
