/**
 * The operator's view through a real Prometheus (Debian's `prometheus`): a daemon fed from a
 * 4-partition Kafka topic serves /metrics behind a bearer token, Prometheus scrapes it every 250 ms,
 * and PromQL gives what `ringflow replay` of the same lines gives (input, each outcome, dead letters
 * by reason), every emitted window row written once by each window sink, and a consumer lag that is above zero while the backlog waits for its commit and falls
 * to zero once it is committed. /healthz and /readyz answer without the token, /metrics refuses a
 * request without it, and neither the token nor the Redis sink's password (the daemon writes to a
 * Redis that requires one) appears in a log line, /metrics or the dashboard.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testServices, uniqueName } from '../../helpers/services.js';
import { findFreePort } from '../../services/host.js';
import { startPrometheus, type PrometheusServer } from '../../services/prometheus.js';
import { startRedis, type RedisServer } from '../../services/redis.js';
import { ClickstreamGenerator } from '../../../src/sources/generators/clickstream-events.js';
import {
  connectProducer, createTopics, daemonConfig, DaemonProcess, messagesByPartition, producePartitioned, replayOracle, waitUntil,
} from './daemon-kit.js';

let dir: string;
const children: DaemonProcess[] = [];
let prometheus: PrometheusServer | undefined;
let securedRedis: RedisServer | undefined;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ringflow-daemon-metrics-'));
});

afterAll(async () => {
  for (const c of children) if (c.child.exitCode === null) c.kill('SIGKILL');
  await prometheus?.stop();
  await securedRedis?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const TOKEN_ENV = 'RINGFLOW_TEST_METRICS_TOKEN';

describe('metrics scraped by a real Prometheus', () => {
  it('PromQL gives replay\'s counts and a consumer lag that rises with a backlog and falls to 0 once committed', async () => {
    const services = testServices();
    const names = { topic: uniqueName('in'), groupId: uniqueName('grp'), table: uniqueName('win'), redisPrefix: uniqueName('rf') };
    const token = `tok-${uniqueName('secret')}`;
    const testDir = join(dir, names.topic);
    mkdirSync(testDir, { recursive: true });
    await createTopics(services, [{ topic: names.topic, numPartitions: 4 }]);
    const lines = new ClickstreamGenerator({ seed: 171, eventsPerSecond: 100 }).fillLines(30_000);
    const port = await findFreePort();
    // Credentials in the config: a Redis that requires a password, given in the sink's URL.
    const redisPassword = `pw-${uniqueName('redis')}`;
    securedRedis = await startRedis({ extraArgs: ['--requirepass', redisPassword] });
    const configPath = daemonConfig(services, names, testDir, {
      sinks: { files: { dir: join(testDir, 'files') }, redis: { url: `redis://:${redisPassword}@127.0.0.1:${securedRedis.port}`, keyPrefix: names.redisPrefix, maxDelayMs: 50 } },
      // Commits every 4 s: the produced backlog shows as lag for a few scrapes before it is committed.
      daemon: { commitIntervalMs: 4_000, caughtUpPollMs: 200, idleCloseMs: 1_500, metrics: { listen: `127.0.0.1:${port}`, bearerTokenEnv: TOKEN_ENV } },
    });
    const { summary: oracle } = await replayOracle(configPath, lines, testDir);
    const oracleReasons = new Map<string, number>();
    for (const l of readFileSync(join(testDir, 'replay', 'dead-letter.ndjson'), 'utf8').split('\n').filter(Boolean)) {
      const reason = (JSON.parse(l) as { reason: string }).reason;
      oracleReasons.set(reason, (oracleReasons.get(reason) ?? 0) + 1);
    }
    expect(oracle.invalid).toBeGreaterThan(0);

    prometheus = await startPrometheus({ targets: [`127.0.0.1:${port}`], scrapeIntervalMs: 250, bearerToken: token });
    const daemon = new DaemonProcess(configPath, testDir, [], { [TOKEN_ENV]: token });
    children.push(daemon);
    const base = `http://127.0.0.1:${port}`;
    await waitUntil('/readyz 200', 30_000, async () => (await fetch(`${base}/readyz`).catch(() => null))?.status === 200, () => daemon.tail());
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect((await fetch(`${base}/metrics`)).status).toBe(401);
    const prom = prometheus;
    const scalar = async (q: string): Promise<number | null> => {
      const r = await prom.query(q);
      return r.length === 0 ? null : r[0].value;
    };
    await waitUntil('Prometheus scraping the daemon (up == 1)', 30_000, async () => (await scalar('up{job="ringflow"}')) === 1,
      () => readFileSync(prom.logFile, 'utf8').slice(-2000));

    const producer = await connectProducer(services);
    try {
      await producePartitioned(producer, names.topic, messagesByPartition(lines, 4, 1), 500);
    } finally {
      await producer.disconnect();
    }
    let peakLag = 0;
    await waitUntil('a scrape with consumer lag above 0', 30_000, async () => {
      peakLag = Math.max(peakLag, (await scalar('sum(ringflow_source_lag{job="ringflow"})')) ?? 0);
      return peakLag > 0;
    }, () => daemon.tail());
    await waitUntil('every line counted and the lag back to 0', 60_000, async () =>
      (await scalar('ringflow_input_events_total{job="ringflow"}')) === oracle.input
      && (await scalar('sum(ringflow_source_lag{job="ringflow"})')) === 0,
    () => daemon.tail());

    const outcome = (o: string): Promise<number | null> => scalar(`ringflow_events_total{job="ringflow",outcome="${o}"}`);
    expect(await outcome('accepted')).toBe(oracle.accepted);
    expect(await outcome('invalid')).toBe(oracle.invalid);
    expect(await outcome('duplicate')).toBe(oracle.duplicates);
    expect(await outcome('late')).toBe(oracle.late);
    const reasons = new Map((await prom.query('ringflow_dead_letter_lines_total{job="ringflow"}')).map((r) => [r.metric.reason, r.value]));
    expect(reasons).toEqual(oracleReasons);
    expect(await scalar('max_over_time(sum(ringflow_source_lag{job="ringflow"})[5m:250ms])')).toBeGreaterThan(0);
    expect(await scalar('ringflow_ready{job="ringflow"}')).toBe(1);
    // Every emitted window row stored once in ClickHouse and in Redis (no retries in this run), each write timed.
    const rowsEmitted = await scalar('ringflow_window_rows_emitted_total{job="ringflow"}');
    expect(rowsEmitted).toBeGreaterThan(0);
    for (const sink of ['clickhouse.windows', 'redis.windows']) {
      expect(await scalar(`ringflow_sink_rows_written_total{job="ringflow",sink="${sink}"}`)).toBe(rowsEmitted);
      expect(await scalar(`ringflow_sink_write_seconds_count{job="ringflow",sink="${sink}"}`)).toBeGreaterThan(0);
    }
    expect(await scalar('ringflow_process_resident_memory_bytes{job="ringflow"}')).toBeGreaterThan(0);

    const text = await (await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${token}` } })).text();
    const json = await (await fetch(`${base}/dashboard.json`, { headers: { authorization: `Bearer ${token}` } })).text();
    const page = await (await fetch(`${base}/`)).text();
    expect(text).toMatch(/^ringflow_events_total\{[^}]*outcome="accepted"[^}]*\} \d+$/m);
    daemon.kill('SIGTERM');
    expect((await daemon.exited).code).toBe(0);
    for (const output of [daemon.stderr, daemon.stdout, text, json, page]) {
      expect(output.includes(token)).toBe(false);
      expect(output.includes(redisPassword)).toBe(false);
    }
    expect(daemon.stderr).toContain('ringflow stopped');
  }, 180_000);
});
