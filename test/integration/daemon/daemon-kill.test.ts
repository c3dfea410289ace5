/**
 * kill -9 while events are produced into a 4-partition topic, at seeded random points, then a restart:
 * ClickHouse (FINAL), Redis and the files sink (last row per window and group) must equal `ringflow
 * replay` of the same lines, and the restarted daemon must consume again within seconds (it rejoins
 * as the member the killed one was: member-id-file.ts).
 *
 * Default mode keeps the watermark in the commit metadata but no dedupe state, so its input has no
 * duplicates; checkpoint mode restores the Bloom filters and open windows, so its input has them.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prng } from '../../helpers/prng.js';
import { testServices, uniqueName } from '../../helpers/services.js';
import { compareAggregates } from '../../reference/compare-outputs.js';
import { ClickstreamGenerator } from '../../../src/sources/generators/clickstream-events.js';
import {
  clickhouseRows, connectProducer, createTopics, daemonConfig, DaemonProcess, latestFileRows, messagesByPartition, producePartitioned,
  redisRows, replayOracle, waitUntil,
} from './daemon-kit.js';

let dir: string;
const children: DaemonProcess[] = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ringflow-daemon-kill-'));
});

afterAll(() => {
  for (const c of children) if (c.child.exitCode === null) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

const PARTITIONS = 4;

async function killAndRestart(opts: { seed: number; kills: number; checkpoints: boolean; duplicateRate: number }): Promise<number[]> {
  const services = testServices();
  const names = { topic: uniqueName('in'), groupId: uniqueName('grp'), table: uniqueName('win'), redisPrefix: uniqueName('rf') };
  const testDir = join(dir, names.topic);
  mkdirSync(testDir, { recursive: true });
  await createTopics(services, [{ topic: names.topic, numPartitions: PARTITIONS }]);
  const lines = new ClickstreamGenerator({ seed: opts.seed, eventsPerSecond: 100, duplicateRate: opts.duplicateRate }).fillLines(40_000);
  const configPath = daemonConfig(services, names, testDir, {
    sinks: { files: { dir: join(testDir, 'files') } },
    daemon: {
      idleCloseMs: 1_500, caughtUpPollMs: 200,
      ...(opts.checkpoints ? { checkpoint: { dir: join(testDir, 'checkpoints'), intervalMs: 300 } } : {}),
    },
    dedupe: { expectedKeysPerHorizon: 200_000 },
  });
  const { summary: oracle, rows: expected } = await replayOracle(configPath, lines, testDir);
  expect(oracle.late).toBe(0);

  // Kill when the producer has sent these shares of the input (seeded, in order).
  const random = prng(opts.seed);
  const killAt = Array.from({ length: opts.kills }, () => 0.15 + 0.6 * (random() / 2 ** 32)).sort((a, b) => a - b);
  const messages = messagesByPartition(lines, PARTITIONS, 1);
  let sent = 0;
  const producer = await connectProducer(services);
  const producing = producePartitioned(producer, names.topic, messages, 50, 10, (n) => { sent = n; }).finally(() => producer.disconnect());

  const restartToConsumingMs: number[] = [];
  let daemon = new DaemonProcess(configPath, testDir);
  children.push(daemon);
  for (const share of killAt) {
    await waitUntil(`${Math.round(share * 100)}% produced`, 120_000, () => sent >= share * lines.length || daemon.child.exitCode !== null, () => daemon.tail());
    await waitUntil('the daemon consuming', 60_000, () => daemon.status.input > 0 || daemon.child.exitCode !== null, () => daemon.tail());
    daemon.kill('SIGKILL');
    expect(await daemon.exited).toEqual({ code: null, signal: 'SIGKILL' });
    // Events keep arriving while it is down: the restart has a backlog to read.
    await new Promise((r) => setTimeout(r, 300));
    const startedAt = Date.now();
    daemon = new DaemonProcess(configPath, testDir);
    children.push(daemon);
    await waitUntil('the restarted daemon consuming', 60_000, () => daemon.status.input > 0 || daemon.child.exitCode !== null, () => daemon.tail());
    restartToConsumingMs.push(Date.now() - startedAt);
  }
  await producing;
  const windows = new Set(expected.map((r) => r.window_start)).size;
  await waitUntil(`all ${windows} windows emitted after the last restart`, 120_000,
    async () => (await clickhouseRows(services.clickhouseUrl, names.table)).length >= expected.length || daemon.child.exitCode !== null,
    () => daemon.tail());
  daemon.kill('SIGTERM');
  expect(await daemon.exited, daemon.tail()).toEqual({ code: 0, signal: null });
  // The last run may count events late: re-read events of windows emitted before a kill are (by design).

  expect(compareAggregates(await clickhouseRows(services.clickhouseUrl, names.table), expected, 0)).toEqual([]);
  expect(compareAggregates(await redisRows(services.redisUrl, names.redisPrefix), expected, 0)).toEqual([]);
  expect(compareAggregates(latestFileRows(join(testDir, 'files', 'windows.ndjson')), expected, 0)).toEqual([]);
  return restartToConsumingMs;
}

describe('ringflow run: kill -9 on a 4-partition topic', () => {
  it('default mode (watermark in the commit metadata): every window equals replay; consuming again within seconds', async () => {
    const times = await killAndRestart({ seed: 41, kills: 2, checkpoints: false, duplicateRate: 0 });
    // Without the member id the restart waits out the killed member's session (10 s in this config).
    for (const ms of times) expect(ms).toBeLessThan(8_000);
  });

  it('checkpoint mode, with duplicates: every window equals replay', async () => {
    const times = await killAndRestart({ seed: 42, kills: 2, checkpoints: true, duplicateRate: 0.05 });
    for (const ms of times) expect(ms).toBeLessThan(8_000);
  });
});
