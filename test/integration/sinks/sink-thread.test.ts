/**
 * The sink thread end to end on the real servers: window rows and event batches sent from this
 * thread, acknowledged per delivery only once ClickHouse, Redis, Kafka and the files hold them.
 * The worker runs compiled code: `npm run build` (npx tsc -p tsconfig.json) must have run.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import type { Worker } from 'node:worker_threads';
import { join } from 'node:path';
import { createClient, ClickHouseLogLevel } from '@clickhouse/client';
import { Redis } from 'ioredis';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testServices, uniqueName } from '../../helpers/services.js';
import { eventBatchFromLines } from '../../../src/sinks/event-batch.js';
import { parseSinksConfig } from '../../../src/sinks/sink-config.js';
import { SinkThread } from '../../../src/sinks/thread/client.js';
import { CANONICAL_WINDOW_SHAPE } from '../../../src/sinks/sink.js';
import { startFaultProxy, type FaultProxy } from './fault-proxy.js';
import { findFreePort } from '../../services/host.js';
import type { FromSinkThread } from '../../../src/sinks/thread/protocol.js';
import type { WindowRow } from '../../../src/contracts/index.js';

const MIN = 60_000;
const T0 = 1_764_000_000_000;
const THRESHOLD = 25;

function windowRows(window: number): WindowRow[] {
  return ['click', 'purchase'].flatMap((type, ti) =>
    ['eu', 'us'].map((region, ri) => {
      const count = window * 10 + ti * 5 + ri * 3 + 1;
      return {
        window_start: T0 + window * MIN, window_end: T0 + (window + 1) * MIN, type, region,
        count, amount_sum: count * 2, amount_max: count, users_approx: count % 3,
      };
    }));
}

let dir: string;
const threads: SinkThread[] = [];
const proxies: FaultProxy[] = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ringflow-sink-thread-'));
});

afterAll(async () => {
  for (const t of threads) await t.close().catch(() => undefined);
  for (const p of proxies) await p.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('sink thread', () => {
  it('acknowledges each delivery once every sink holds it, and routes windows, events and alerts', async () => {
    const services = testServices();
    const table = uniqueName('win');
    const eventsTable = uniqueName('events');
    const prefix = uniqueName('rf');
    const eventsTopic = uniqueName('events');
    const alertsTopic = uniqueName('alerts');
    const kafka = new Kafka({ clientId: 'sink-thread-test', brokers: services.kafkaBrokers, logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: eventsTopic, numPartitions: 2 }, { topic: alertsTopic }], waitForLeaders: true });
    await admin.disconnect();
    const filesDir = join(dir, uniqueName('files'));
    const config = parseSinksConfig({
      clickhouse: { url: services.clickhouseUrl, table, eventsTable, maxDelayMs: 20 },
      redis: { url: services.redisUrl, keyPrefix: prefix, maxDelayMs: 20 },
      kafka: { brokers: services.kafkaBrokers, eventsTopic, alertsTopic, maxDelayMs: 20 },
      files: { dir: filesDir, events: true, maxDelayMs: 20 },
      alerts: { rules: [{ kind: 'threshold', name: 'busy', metric: 'count', op: '>', value: THRESHOLD }] },
      deadLetterPath: join(dir, `${table}.dl.ndjson`),
      logAlerts: false,
    });
    const thread = await SinkThread.start({ config, shape: CANONICAL_WINDOW_SHAPE, logLevel: 'silent' });
    threads.push(thread);
    const acked: number[] = [];
    thread.onAck((id) => acked.push(id));

    const rows = [...windowRows(0), ...windowRows(1), ...windowRows(2)];
    const lines = Array.from({ length: 40 }, (_, i) => JSON.stringify({ event_id: `e${i}`, ts: T0 + i, user_id: `u${i % 4}`, type: 'click', region: 'eu', amount: i }));
    const keys = lines.map((_, i) => `u${i % 4}`);
    const batch = eventBatchFromLines(lines.slice(0, 20), keys.slice(0, 20));
    const deliveries = [
      await thread.sendWindows(rows.slice(0, 4)),
      await thread.sendEvents(batch),
      await thread.sendWindows(rows.slice(4)),
      await thread.sendEvents(eventBatchFromLines(lines.slice(20), keys.slice(20))),
    ];
    // The batch's buffers moved to the sink thread.
    expect(batch.lines.byteLength).toBe(0);
    await Promise.all(deliveries.map((d) => d.acked));
    expect([...acked].sort((a, b) => a - b)).toEqual(deliveries.map((d) => d.id));
    expect(thread.ackedThrough).toBeGreaterThanOrEqual(deliveries[3].id);

    // ClickHouse: every window row under FINAL, every event.
    const ch = createClient({ url: services.clickhouseUrl, log: { level: ClickHouseLogLevel.OFF } });
    const stored = await (await ch.query({ query: `SELECT type, region, window_start, count FROM ${table} FINAL ORDER BY window_start, type, region`, format: 'JSONEachRow' })).json<Record<string, string>>();
    expect(stored.map((r) => [r.type, r.region, Number(r.window_start), Number(r.count)])).toEqual(
      rows.map((r) => [r.type, r.region, r.window_start, r.count]));
    const [{ n }] = await (await ch.query({ query: `SELECT count() AS n FROM ${eventsTable} FINAL`, format: 'JSONEachRow' })).json<{ n: string }>();
    expect(Number(n)).toBe(40);
    await ch.close();

    // Redis: one hash per window and group.
    const redis = new Redis(services.redisUrl);
    for (const r of rows) expect(await redis.hget(`${prefix}:win:${r.window_start}:${r.type}:${r.region}`, 'count')).toBe(String(r.count));
    await redis.quit();

    // Alerts: exactly the rows over the threshold, in the file and on the topic.
    const expectedAlertIds = rows.filter((r) => Number(r.count) > THRESHOLD).map((r) => `busy:${r.window_start}:${r.type}|${r.region}`);
    expect(expectedAlertIds.length).toBeGreaterThan(0);
    const fileAlerts = readFileSync(join(filesDir, 'alerts.ndjson'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(fileAlerts.map((a) => a.alert_id)).toEqual(expectedAlertIds);
    const consumer = kafka.consumer({ groupId: uniqueName('reader') });
    await consumer.connect();
    await consumer.subscribe({ topic: alertsTopic, fromBeginning: true });
    const topicAlerts: string[] = [];
    await new Promise<void>((resolve, reject) => {
      consumer.run({
        eachMessage: async ({ message }) => {
          topicAlerts.push(JSON.parse(message.value!.toString()).alert_id);
          if (topicAlerts.length >= expectedAlertIds.length) resolve();
        },
      }).catch(reject);
    });
    await consumer.disconnect();
    expect(topicAlerts).toEqual(expectedAlertIds);

    // Files: windows and events as sent.
    const fileRows = readFileSync(join(filesDir, 'windows.ndjson'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(fileRows).toEqual(rows);
    expect(readFileSync(join(filesDir, 'events.ndjson'), 'utf8')).toBe(lines.map((l) => `${l}\n`).join(''));

    const { sinks, deadLetterRecords } = await thread.counters();
    expect(deadLetterRecords).toBe(0);
    expect(sinks['clickhouse.windows'].writtenRows).toBe(rows.length);
    expect(sinks['kafka.events'].writtenRows).toBe(40);
    expect(sinks['kafka.alerts'].writtenRows).toBe(expectedAlertIds.length);
  });

  it('holds acks and blocks senders at the in-flight bound while a sink cannot write, then catches up', async () => {
    const services = testServices();
    const url = new URL(services.clickhouseUrl);
    const proxy = await startFaultProxy(url.hostname, Number(url.port));
    proxies.push(proxy);
    const table = uniqueName('win');
    const config = parseSinksConfig({
      clickhouse: {
        url: `http://127.0.0.1:${proxy.port}`, table, maxDelayMs: 10, requestTimeoutMs: 2000,
        retry: { maxAttempts: 1000, initialBackoffMs: 10, maxBackoffMs: 50, maxElapsedMs: 0 },
      },
      deadLetterPath: join(dir, `${table}.dl.ndjson`),
      maxInFlightDeliveries: 2,
    });
    const thread = await SinkThread.start({ config, shape: CANONICAL_WINDOW_SHAPE, logLevel: 'silent' });
    threads.push(thread);
    proxy.setDown(true);
    const first = await thread.sendWindows(windowRows(0));
    const second = await thread.sendWindows(windowRows(1));
    let thirdSent = false;
    const third = thread.sendWindows(windowRows(2)).then((d) => {
      thirdSent = true;
      return d;
    });
    // Acks cannot arrive while ClickHouse is unreachable (retries are unbounded here).
    while ((await thread.counters()).sinks['clickhouse.windows'].retriedAttempts < 3) await new Promise((r) => setTimeout(r, 20));
    expect(thirdSent).toBe(false);
    expect(thread.ackedThrough).toBe(0);
    expect(thread.inFlightDeliveries).toBe(2);

    proxy.setDown(false);
    const d3 = await third;
    await Promise.all([first.acked, second.acked, d3.acked]);
    await thread.flush();
    const ch = createClient({ url: services.clickhouseUrl, log: { level: ClickHouseLogLevel.OFF } });
    const [{ n }] = await (await ch.query({ query: `SELECT count() AS n FROM ${table}`, format: 'JSONEachRow' })).json<{ n: string }>();
    await ch.close();
    expect(Number(n)).toBe(12);
  });

  it('acknowledges window deliveries while the events sink is stuck retrying, and reports its dead letters before their acks', async () => {
    // Nothing listens on this port: every produce attempt fails with a connection error and is retried.
    const deadPort = await findFreePort();
    const filesDir = join(dir, uniqueName('lanes'));
    const config = parseSinksConfig({
      kafka: {
        brokers: [`127.0.0.1:${deadPort}`], eventsTopic: uniqueName('unreachable'), maxDelayMs: 10, maxBufferedRows: 10,
        requestTimeoutMs: 500, retry: { maxAttempts: 1000, initialBackoffMs: 50, maxBackoffMs: 200, maxElapsedMs: 2500 },
      },
      files: { dir: filesDir, maxDelayMs: 10 },
      deadLetterPath: join(filesDir, 'dead.ndjson'),
      logAlerts: false,
    });
    const thread = await SinkThread.start({ config, shape: CANONICAL_WINDOW_SHAPE, logLevel: 'silent' });
    threads.push(thread);
    // The client does not consume `deadLettered` yet: watch the thread's messages directly.
    const seen: FromSinkThread[] = [];
    (thread as unknown as { worker: Worker }).worker.on('message', (m: FromSinkThread) => seen.push(m));
    const acked = new Set<number>();
    thread.onAck((id) => acked.add(id));

    const lines = Array.from({ length: 20 }, (_, i) => JSON.stringify({ event_id: `x${i}`, user_id: `u${i % 3}` }));
    const keys = lines.map((_, i) => `u${i % 3}`);
    // The first batch fills the events buffer (maxBufferedRows 10); the second waits for room behind it.
    const e1 = await thread.sendEvents(eventBatchFromLines(lines.slice(0, 10), keys.slice(0, 10)));
    const e2 = await thread.sendEvents(eventBatchFromLines(lines.slice(10), keys.slice(10)));
    const w1 = await thread.sendWindows(windowRows(0));
    const w2 = await thread.sendWindows(windowRows(1));
    await Promise.all([w1.acked, w2.acked]);
    // Windows are stored while the events sink still retries its first batch.
    expect(acked.has(e1.id) || acked.has(e2.id)).toBe(false);
    expect(readFileSync(join(filesDir, 'windows.ndjson'), 'utf8').trim().split('\n').map((l) => JSON.parse(l))).toEqual([...windowRows(0), ...windowRows(1)]);

    // Once the retry budget is spent the events are dead-lettered: acknowledged, but counted and announced.
    await Promise.all([e1.acked, e2.acked]);
    const { sinks, deadLetterRecords } = await thread.counters();
    expect(sinks['kafka.events']).toMatchObject({ writtenRows: 0, deadLetteredRows: 20 });
    expect(sinks['files.windows']).toMatchObject({ writtenRows: 8, deadLetteredRows: 0 });
    expect(deadLetterRecords).toBe(20);
    const announced = seen.filter((m): m is Extract<FromSinkThread, { t: 'deadLettered' }> => m.t === 'deadLettered');
    expect(announced.reduce((n, m) => n + m.rows, 0)).toBe(20);
    expect(announced.every((m) => m.sink === 'kafka.events')).toBe(true);
    const firstAnnounced = seen.findIndex((m) => m.t === 'deadLettered');
    const e1Ack = seen.findIndex((m) => m.t === 'ack' && m.id === e1.id);
    expect(firstAnnounced).toBeGreaterThanOrEqual(0);
    expect(firstAnnounced).toBeLessThan(e1Ack);
  });

  it('fails to start with the full config path when a rule names an unknown metric', async () => {
    const config = parseSinksConfig({
      files: { dir: join(dir, uniqueName('bad')) },
      alerts: { rules: [{ kind: 'threshold', name: 'x', metric: 'revenue', op: '>', value: 1 }] },
    });
    await expect(SinkThread.start({ config, shape: CANONICAL_WINDOW_SHAPE, logLevel: 'silent' })).rejects.toThrow(
      /sinks\.alerts\.rules\[0\]\.metric: "revenue" is not a metric/,
    );
  });

  it('runs the local-files sink set alone (the embedded default)', async () => {
    const filesDir = join(dir, uniqueName('default'));
    const config = parseSinksConfig({
      files: { dir: filesDir, maxDelayMs: 10 },
      alerts: { rules: [{ kind: 'change', name: 'jump', metric: 'count', mode: 'absolute', direction: 'increase', atLeast: 10 }] },
      deadLetterPath: join(filesDir, 'dead.ndjson'),
      logAlerts: false,
    });
    const thread = await SinkThread.start({ config, shape: CANONICAL_WINDOW_SHAPE, logLevel: 'silent' });
    threads.push(thread);
    const rows = [...windowRows(0), ...windowRows(1)];
    const d = await thread.sendWindows(rows);
    await d.acked;
    await thread.close();
    expect(readFileSync(join(filesDir, 'windows.ndjson'), 'utf8').trim().split('\n').map((l) => JSON.parse(l))).toEqual(rows);
    // Every group's count grows by exactly 10 from window 0 to 1.
    const alerts = readFileSync(join(filesDir, 'alerts.ndjson'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(alerts.map((a) => [a.alert_id, a.previous_value, a.value, a.change])).toEqual(
      windowRows(1).map((r) => [`jump:${r.window_start}:${r.type}|${r.region}`, Number(r.count) - 10, r.count, 10]));
  });
});
