/**
 * A sink that cannot store its rows is loud, and never starves the others:
 *   - rows it refuses for good go to the sinks' dead letter, the daemon stops committing offsets and
 *     exits non-zero, so a restart reads those events again instead of having lost them (here the
 *     ClickHouse table exists with columns the window rows do not fit);
 *   - SIGTERM while it is retrying (ClickHouse down): Redis keeps receiving rows meanwhile, the shutdown
 *     gives up after daemon.shutdownTimeoutMs with exit 1, and commits nothing ClickHouse lacks.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClickHouseLogLevel, createClient } from '@clickhouse/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testServices, uniqueName } from '../../helpers/services.js';
import { startClickHouse, type ClickHouseServer } from '../../services/index.js';
import { ClickstreamGenerator } from '../../../src/sources/generators/clickstream-events.js';
import { committedOffset, connectProducer, createTopics, daemonConfig, DaemonProcess, produceValues, redisRows, waitUntil } from './daemon-kit.js';

let dir: string;
const children: DaemonProcess[] = [];
let clickhouse: ClickHouseServer | undefined;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ringflow-daemon-sink-failure-'));
});

afterAll(async () => {
  for (const c of children) if (c.child.exitCode === null) c.kill('SIGKILL');
  await clickhouse?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('ringflow run: a sink that dead-letters', () => {
  it('exits non-zero and commits no offset past the rows it could not store', async () => {
    const services = testServices();
    const names = { topic: uniqueName('in'), groupId: uniqueName('grp'), table: uniqueName('win'), redisPrefix: uniqueName('rf') };
    const ch = createClient({ url: services.clickhouseUrl, log: { level: ClickHouseLogLevel.OFF } });
    try {
      await ch.command({ query: `CREATE TABLE ${names.table} (unrelated UInt8) ENGINE = Memory` });
    } finally {
      await ch.close();
    }
    await createTopics(services, [{ topic: names.topic, numPartitions: 1 }]);
    const lines = new ClickstreamGenerator({ seed: 51, eventsPerSecond: 100 }).fillLines(20_000);
    const producer = await connectProducer(services);
    try {
      await produceValues(producer, names.topic, lines);
    } finally {
      await producer.disconnect();
    }
    const testDir = join(dir, names.topic);
    const configPath = daemonConfig(services, names, testDir, { daemon: { caughtUpPollMs: 200 } });
    const daemon = new DaemonProcess(configPath, testDir, ['--until-caught-up']);
    children.push(daemon);
    const exit = await Promise.race([daemon.exited, new Promise<null>((r) => setTimeout(() => r(null), 90_000))]);
    expect(exit, daemon.tail()).toEqual({ code: 1, signal: null });
    expect(daemon.stderr).toMatch(/rows went to the sinks' dead letter/);
    const deadLetter = join(testDir, 'sinks.deadletter.ndjson');
    expect(existsSync(deadLetter)).toBe(true);
    expect(readFileSync(deadLetter, 'utf8').split('\n').filter(Boolean).length).toBeGreaterThan(0);
    // Every window is closed only at the end of this input, so no offset may have been committed.
    expect((await committedOffset(services, names.groupId, names.topic)).offset).toBeLessThan(lines.length);
  });

  it('SIGTERM while ClickHouse is down: Redis still got its rows, exit 1 after the shutdown limit, nothing committed past ClickHouse', async () => {
    const services = testServices();
    clickhouse = await startClickHouse();
    const names = { topic: uniqueName('in'), groupId: uniqueName('grp'), table: uniqueName('win'), redisPrefix: uniqueName('rf') };
    // One partition: produceValues writes to partition 0, and empty partitions would hold the windows for idleTimeoutMs.
    await createTopics(services, [{ topic: names.topic, numPartitions: 1 }]);
    const lines = new ClickstreamGenerator({ seed: 52, eventsPerSecond: 100 }).fillLines(20_000);
    const producer = await connectProducer(services);
    try {
      await produceValues(producer, names.topic, lines);
    } finally {
      await producer.disconnect();
    }
    await clickhouse.stop();
    const testDir = join(dir, names.topic);
    const configPath = daemonConfig(services, names, testDir, { clickhouseUrl: clickhouse.url, daemon: { shutdownTimeoutMs: 5_000, caughtUpPollMs: 200 } });
    const daemon = new DaemonProcess(configPath, testDir);
    children.push(daemon);
    await waitUntil('window rows in Redis while ClickHouse is down', 60_000,
      async () => (await redisRows(services.redisUrl, names.redisPrefix)).length > 0 || daemon.child.exitCode !== null, () => daemon.tail());
    daemon.kill('SIGTERM');
    const exit = await Promise.race([daemon.exited, new Promise<null>((r) => setTimeout(() => r(null), 30_000))]);
    expect(exit, daemon.tail()).toEqual({ code: 1, signal: null });
    expect(daemon.stderr).toContain('shutdown took too long');
    // Every window delivery needs ClickHouse's ack too: no offset may be committed.
    expect((await committedOffset(services, names.groupId, names.topic)).offset).toBe(-1);
  });
});
