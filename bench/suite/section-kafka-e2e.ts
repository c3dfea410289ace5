/**
 * Kafka end to end (issue: the Kafka path gives the file's answer): one topic of several partitions
 * filled with clickstream events, read by the ringflow daemon with every sink of the seed on:
 * ClickHouse and Redis (window rows), the processed-events Kafka topic and the local files. The clock
 * runs from the group join (Daemon.start resolves there, before the first record is read) to the end
 * of the finish: every window closed and every sink's write acknowledged, so the last row is in
 * ClickHouse. ClickHouse and Redis are started here like the broker (test/services, loopback).
 * The CPU seconds of ringflow (this process, from Daemon.start, so worker start-up and the group
 * join are in, to the end of the finish) and of the broker over the same span are reported too: on a
 * machine of few cores they bound the rate.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ClickHouseLogLevel, createClient } from '@clickhouse/client';
import type { Admin, Kafka } from 'kafkajs';
import { parseRingflowConfig } from '../../src/daemon/config.js';
import { Daemon } from '../../src/daemon/daemon.js';
import { createDaemonLogger } from '../../src/daemon/logger.js';
import { compileRunPlan } from '../../src/daemon/plan.js';
import { startClickHouse, startRedis } from '../../test/services/index.js';
import { fillTopic } from '../sources/kafka-consume-bench.js';
import { REPO_ROOT } from './child.js';
import type { Progress } from './progress.js';
import type { RunRecord } from './results.js';

export interface EndToEndOptions {
  brokers: string[];
  kafka: Kafka;
  admin: Admin;
  partitions: number;
  messages: number;
  eventsPerMessage: number;
  /** Processed events packed per Kafka message (sinks.kafka.eventsPerMessage). */
  processedEventsPerMessage: number;
  /** CPU seconds the broker has used so far (KafkaServer.cpuSeconds): the run reports the broker's share. */
  brokerCpuSeconds: () => number;
}

export interface EndToEndResult {
  record: RunRecord;
  /** Problems that make the figure void (counts that do not add up, rows missing in ClickHouse). */
  problems: string[];
}

async function clickhouseCount(url: string, table: string): Promise<number> {
  const ch = createClient({ url, log: { level: ClickHouseLogLevel.OFF } });
  try {
    const rows = await (await ch.query({ query: `SELECT count() AS n FROM ${table} FINAL`, format: 'JSONEachRow' })).json<{ n: string | number }>();
    return Number(rows[0]?.n ?? 0);
  } finally {
    await ch.close();
  }
}

export async function runKafkaEndToEnd(o: EndToEndOptions, progress: Progress): Promise<EndToEndResult> {
  const [clickhouse, redis] = await Promise.all([startClickHouse(), startRedis()]);
  const dir = mkdtempSync(join(tmpdir(), 'ringflow-bench-e2e-'));
  try {
    const t = performance.now();
    const fixture = await fillTopic(o.kafka, o.admin, o.messages, o.eventsPerMessage, o.partitions);
    const eventsTopic = `${fixture.topic}_processed`;
    await o.admin.createTopics({ topics: [{ topic: eventsTopic, numPartitions: o.partitions, replicationFactor: 1 }], waitForLeaders: true });
    const events = fixture.messages * fixture.eventsPerMessage;
    progress.step(`filled ${fixture.topic} (${o.partitions} partitions): ${events.toLocaleString('en-US')} events in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    const table = `bench_windows_${process.pid}`;
    const groupId = `bench_e2e_${Date.now().toString(36)}`;
    const base = JSON.parse(readFileSync(resolve(REPO_ROOT, 'examples/clickstream.json'), 'utf8')) as Record<string, unknown>;
    const config = parseRingflowConfig({
      ...base,
      source: {
        type: 'kafka',
        kafka: {
          brokers: o.brokers, topic: fixture.topic, groupId, clientId: groupId, fromBeginning: true, logLevel: 'error',
          maxBytes: 10 * 1024 * 1024, maxBytesPerPartition: 2 * 1024 * 1024, maxWaitTimeMs: 100, memberIdFile: null,
        },
      },
      sinks: {
        clickhouse: { url: clickhouse.url, table },
        redis: { url: redis.url, keyPrefix: groupId },
        kafka: { brokers: o.brokers, eventsTopic, eventsPerMessage: o.processedEventsPerMessage },
        files: { dir: join(dir, 'out') },
        deadLetterPath: join(dir, 'sinks.deadletter.ndjson'),
      },
      daemon: { deadLetterPath: join(dir, 'dead-letter.ndjson'), statusIntervalMs: 0 },
    }, resolve(REPO_ROOT, 'examples'));
    // CPU from Daemon.start on (start-up and join included): this process is the daemon, besides the status poll below.
    const cpuBefore = { ringflow: process.cpuUsage(), broker: o.brokerCpuSeconds() };
    const daemon = await Daemon.start({ plan: compileRunPlan(config), logger: createDaemonLogger('ringflow-bench', 'warn') });
    const startedAt = performance.now();
    const failure: { err?: Error } = {};
    daemon.onFatal((err) => { failure.err = err; });
    try {
      while (daemon.status().stats.input < events) {
        if (failure.err) throw failure.err;
        if (performance.now() - startedAt > 600_000) throw new Error(`not all input read after 600 s: ${JSON.stringify(daemon.status().stats)}`);
        await new Promise((r) => setTimeout(r, 2));
      }
    } catch (err) {
      await daemon.shutdown('stop').catch(() => undefined);
      throw err;
    }
    const readMs = performance.now() - startedAt;
    const summary = await daemon.shutdown('finish');
    const seconds = (performance.now() - startedAt) / 1000;
    const ringflowCpu = process.cpuUsage(cpuBefore.ringflow);
    const ringflowCpuSeconds = (ringflowCpu.user + ringflowCpu.system) / 1e6;
    const brokerCpuSeconds = o.brokerCpuSeconds() - cpuBefore.broker;
    const s = summary.stats;
    const problems: string[] = [];
    if (s.input !== events) problems.push(`pipeline input ${s.input} != ${events} produced`);
    const settled = s.accepted + s.invalid + s.duplicates + s.late + s.failed;
    if (settled !== events) problems.push(`accepted + invalid + duplicates + late + failed = ${settled} != ${events}`);
    if (summary.deadLetterRecords !== 0) problems.push(`${summary.deadLetterRecords} input dead letters`);
    const stored = await clickhouseCount(clickhouse.url, table);
    if (stored !== s.windowRowsEmitted) problems.push(`ClickHouse holds ${stored} window rows, the pipeline emitted ${s.windowRowsEmitted}`);
    const ends = await o.admin.fetchTopicOffsets(eventsTopic);
    const processedMessages = ends.reduce((n, p) => n + Number(p.high) - Number(p.low), 0);
    return {
      problems,
      record: {
        section: 'kafka',
        name: `ringflow daemon end to end: Kafka (${o.partitions} partitions) -> canonical pipeline -> ClickHouse + Redis + processed-events topic + files`,
        params: {
          events, partitions: o.partitions, events_per_message: o.eventsPerMessage, processed_events_per_message: o.processedEventsPerMessage,
          accepted: s.accepted, duplicates: s.duplicates, window_rows: s.windowRowsEmitted, clickhouse_rows: stored,
          processed_messages: processedMessages, read_ms: Math.round(readMs), late: s.late,
          ringflow_cpu_s: Number(ringflowCpuSeconds.toFixed(2)),
          broker_cpu_s: Number.isFinite(brokerCpuSeconds) ? Number(brokerCpuSeconds.toFixed(2)) : null,
        },
        events_per_sec: Math.round(events / seconds),
        elapsed_ms: Math.round(seconds * 1000),
        note: 'clock: group joined -> finish done (every window closed, every sink acknowledged: the last row is in ClickHouse)',
      },
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await Promise.allSettled([clickhouse.close(), redis.stop()]);
  }
}
