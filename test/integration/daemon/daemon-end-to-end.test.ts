/**
 * `ringflow run` end to end on the real servers: the canonical clickstream events (with invalid lines,
 * duplicates, and malformed Kafka messages: invalid UTF-8 (`bad_utf8`), a truncated JSON, a tombstone) produced to
 * a topic with kafkajs; the daemon (a child process) reads it and writes ClickHouse, Redis, the
 * processed-events topic and the alerts topic; the stored rows must equal the reference implementation's aggregates.
 *
 * How the test knows the last windows are out: windows close only when the watermark passes them,
 * and an unbounded source never "ends". The input therefore ends with a sentinel: a DUPLICATE of the
 * first event's id with an event time 10 minutes after the last event. Every valid event, duplicates
 * included, advances the watermark (ARCHITECTURE.md), so it closes every real window, while being
 * counted in none — the reference sees the same line and agrees. Once the daemon's status shows all
 * input read and the reference's number of windows emitted, SIGTERM stops it; the graceful stop
 * flushes the sinks and commits, and the exit code must be 0.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testServices, uniqueName } from '../../helpers/services.js';
import { compareAggregates, runReferenceOnLines } from '../../reference/canonical-reference.js';
import { decodeCommitMetadata } from '../../../src/daemon/restart-state.js';
import {
  canonicalInput, clickhouseRows, committedOffset, connectProducer, createTopics, daemonConfig, DaemonProcess, HLL_BOUND, produceValues,
  readTopic, redisRows, waitUntil,
} from './daemon-kit.js';

let dir: string;
const children: DaemonProcess[] = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ringflow-daemon-e2e-'));
});

afterAll(() => {
  for (const c of children) if (c.child.exitCode === null) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

describe('ringflow run: Kafka -> pipeline -> ClickHouse, Redis, Kafka alerts', () => {
  it('stores exactly the reference aggregates, alerts once per window and rule, dead-letters malformed messages and goes on', async () => {
    const services = testServices();
    const names = {
      topic: uniqueName('in'), groupId: uniqueName('grp'), table: uniqueName('win'), redisPrefix: uniqueName('rf'), alertsTopic: uniqueName('alerts'),
      eventsTopic: uniqueName('events'),
    };
    await createTopics(services, [{ topic: names.topic, numPartitions: 1 }, { topic: names.alertsTopic! }, { topic: names.eventsTopic! }]);
    const { lines, sentinel } = canonicalInput(11, 20_000);
    // Malformed messages in the middle of the stream: bytes that are not UTF-8, a cut-off object.
    const garbage = Buffer.from([0xff, 0xfe, 0x00, 0x7b, 0x22, 0xc3]);
    const truncated = '{"event_id":"e-cut","ts":17672256';
    const values: (Buffer | string | null)[] = [...lines.slice(0, 9000), garbage, truncated, null, ...lines.slice(9000), sentinel];
    // The reference gets the garbage as bytes: it is not well-formed UTF-8, so `bad_utf8` (text would hide that).
    const referenceLines = [...lines.slice(0, 9000), garbage, truncated, ...lines.slice(9000), sentinel];
    const reference = runReferenceOnLines(referenceLines);
    const referenceWindows = new Set(reference.aggregates.map((r) => r.window_start)).size;
    expect(referenceWindows).toBeGreaterThanOrEqual(3);
    expect(reference.summary.duplicates).toBeGreaterThan(0);

    const producer = await connectProducer(services);
    await produceValues(producer, names.topic, values.slice(0, -1));

    const testDir = join(dir, names.topic);
    const configPath = daemonConfig(services, names, testDir);
    const daemon = new DaemonProcess(configPath, testDir);
    children.push(daemon);
    await waitUntil('all input but the sentinel read', 90_000,
      () => daemon.status.input >= reference.summary.input - 1 || daemon.child.exitCode !== null, () => daemon.tail());
    // Alone, the sentinel arrives as a one-message fetch whose value has no '\n': it must still count
    // as a complete line (a message is a whole event), not wait for a next message to end it.
    await produceValues(producer, names.topic, values.slice(-1));
    await producer.disconnect();
    await waitUntil('all input read and every reference window emitted', 90_000,
      () => daemon.status.input >= reference.summary.input && daemon.status.windows >= referenceWindows || daemon.child.exitCode !== null,
      () => daemon.tail());
    expect(daemon.child.exitCode, daemon.tail()).toBeNull();
    daemon.kill('SIGTERM');
    const exit = await Promise.race([daemon.exited, new Promise<null>((r) => setTimeout(() => r(null), 60_000))]);
    expect(exit, `daemon did not stop within 60 s after SIGTERM\n${daemon.tail()}`).toEqual({ code: 0, signal: null });

    expect(daemon.status.input).toBe(reference.summary.input);
    expect(compareAggregates(await clickhouseRows(services.clickhouseUrl, names.table), reference.aggregates, HLL_BOUND)).toEqual([]);
    expect(compareAggregates(await redisRows(services.redisUrl, names.redisPrefix), reference.aggregates, HLL_BOUND)).toEqual([]);

    // Alerts: one per (window, group) over the threshold, each exactly once.
    const expectedAlerts = reference.aggregates.filter((r) => r.type === 'view' && r.count > 400).map((r) => `busy:${r.window_start}:${r.type}|${r.region}`).sort();
    expect(expectedAlerts.length).toBeGreaterThan(0);
    const alerts = (await readTopic(services, names.alertsTopic!, expectedAlerts.length, 30_000)).map((v) => JSON.parse(v).alert_id as string).sort();
    expect(alerts).toEqual(expectedAlerts);

    // Processed events: every accepted event exactly once (no restart here), enriched with its region;
    // per (type, region) they add up to the reference's window counts.
    const events = (await readTopic(services, names.eventsTopic!, reference.summary.accepted, 30_000))
      .map((v) => JSON.parse(v) as { event_id: string; type: string; region: string; country: string });
    expect(events.length).toBe(reference.summary.accepted);
    expect(new Set(events.map((e) => e.event_id)).size).toBe(reference.summary.accepted);
    const byGroup = (pairs: [string, number][]) => pairs.reduce<Record<string, number>>((m, [k, n]) => ({ ...m, [k]: (m[k] ?? 0) + n }), {});
    expect(byGroup(events.map((e) => [`${e.type}|${e.region}`, 1]))).toEqual(byGroup(reference.aggregates.map((r) => [`${r.type}|${r.region}`, r.count])));

    // Dead letter: the same reasons, as many times, as the reference (the malformed messages among them).
    const deadLetter = readFileSync(join(testDir, 'dead-letter.ndjson'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { reason: string });
    const count = (reasons: string[]) => reasons.reduce<Record<string, number>>((m, r) => ({ ...m, [r]: (m[r] ?? 0) + 1 }), {});
    expect(count(deadLetter.map((d) => d.reason))).toEqual(count(reference.deadLetter.map((d) => d.reason)));
    expect(deadLetter.filter((d) => d.reason === 'malformed_json').length).toBeGreaterThanOrEqual(1);
    expect(deadLetter.filter((d) => d.reason === 'bad_utf8').length).toBe(1);

    // Committed: everything before the sentinel's chunk (its own window never closes), with the watermark state.
    const committed = await committedOffset(services, names.groupId, names.topic);
    expect(committed.offset).toBeGreaterThan(values.length / 2);
    expect(committed.offset).toBeLessThanOrEqual(values.length);
    const meta = decodeCommitMetadata(committed.metadata);
    expect(meta).not.toBeNull();
    expect(meta!.floorMs).toBeGreaterThanOrEqual(Math.max(...reference.aggregates.map((r) => r.window_end)));
  });
});
