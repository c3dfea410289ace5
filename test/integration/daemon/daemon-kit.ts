/**
 * What the daemon's integration tests share: a config for the canonical pipeline reading a Kafka
 * topic and writing to ClickHouse, Redis and Kafka; `ringflow run` as a child process (bin/ringflow.js,
 * compiled dist/ — run `npx tsc -p tsconfig.json` first); reading back what the sinks hold.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ClickHouseLogLevel, createClient } from '@clickhouse/client';
import { Redis } from 'ioredis';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { loadRingflowConfig } from '../../../src/daemon/config.js';
import { replay, type ReplaySummary } from '../../../src/daemon/replay.js';
import type { ServiceAddresses } from '../../helpers/services.js';
import { classifyLine } from '../../reference/canonical-validate.js';
import type { AggregateRow } from '../../reference/canonical-reference.js';
import { ClickstreamGenerator } from '../../../src/sources/generators/clickstream-events.js';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const BIN = join(ROOT, 'bin', 'ringflow.js');

/** Relative HyperLogLog bound used across the reference comparisons (4 sigma at precision 12). */
export { HLL_BOUND } from '../../reference/compare-outputs.js';

export interface DaemonTestNames {
  topic: string;
  groupId: string;
  table: string;
  redisPrefix: string;
  eventsTopic?: string;
  alertsTopic?: string;
}

/** The canonical config (examples/clickstream.json) with a Kafka source and real sinks. */
export function daemonConfig(services: ServiceAddresses, names: DaemonTestNames, dir: string, overrides: {
  clickhouseUrl?: string;
  sinks?: Record<string, unknown>;
  kafka?: Record<string, unknown>;
  dedupe?: Record<string, unknown>;
  aggregate?: Record<string, unknown>;
  daemon?: Record<string, unknown>;
} = {}): string {
  const base = JSON.parse(readFileSync(join(ROOT, 'examples', 'clickstream.json'), 'utf8'));
  const config = {
    ...base,
    enrich: { ...base.enrich, table: join(ROOT, 'examples', base.enrich.table) },
    dedupe: { ...base.dedupe, ...overrides.dedupe },
    aggregate: { ...base.aggregate, ...overrides.aggregate },
    runtime: { threads: 2, partitions: 4 },
    source: {
      type: 'kafka',
      kafka: {
        brokers: services.kafkaBrokers, topic: names.topic, groupId: names.groupId, clientId: names.groupId,
        // Small fetches: many chunks, so commits and kills fall between chunks of one stream.
        maxBytesPerPartition: 64 * 1024, maxWaitTimeMs: 100, sessionTimeoutMs: 10_000, heartbeatIntervalMs: 1_000, logLevel: 'error',
        ...overrides.kafka,
      },
    },
    sinks: {
      clickhouse: { url: overrides.clickhouseUrl ?? services.clickhouseUrl, table: names.table, maxDelayMs: 50, requestTimeoutMs: 5_000,
        retry: { maxAttempts: 1000, initialBackoffMs: 50, maxBackoffMs: 1_000, maxElapsedMs: 0 } },
      redis: { url: services.redisUrl, keyPrefix: names.redisPrefix, maxDelayMs: 50 },
      ...(names.alertsTopic || names.eventsTopic
        ? { kafka: { brokers: services.kafkaBrokers, alertsTopic: names.alertsTopic, eventsTopic: names.eventsTopic, maxDelayMs: 50 } }
        : {}),
      alerts: { rules: [{ kind: 'threshold', name: 'busy', metric: 'count', op: '>', value: 400, where: { type: 'view' } }] },
      deadLetterPath: join(dir, 'sinks.deadletter.ndjson'),
      logAlerts: false,
      ...overrides.sinks,
    },
    daemon: { deadLetterPath: join(dir, 'dead-letter.ndjson'), commitIntervalMs: 100, statusIntervalMs: 200, shutdownTimeoutMs: 60_000, ...overrides.daemon },
  };
  mkdirSync(dir, { recursive: true });
  const path = join(dir, 'config.json');
  writeFileSync(path, JSON.stringify(config, null, 2));
  return path;
}

/**
 * The sentinel: a DUPLICATE of the first event's id, 10 minutes of event time after the last event.
 * Every valid line advances the watermark (duplicates too), so it closes every window while being
 * counted in none; the reference sees the same line and agrees.
 */
export function canonicalInput(seed: number, events: number, options: { duplicateRate?: number } = {}): { lines: string[]; sentinel: string } {
  // 100 events per second of event time: ~6000 events per 60 s window, several windows.
  const lines = new ClickstreamGenerator({ seed, eventsPerSecond: 100, ...options }).fillLines(events);
  let firstId = '';
  let maxTs = 0;
  for (const line of lines) {
    const v = classifyLine(line);
    if (v.kind !== 'valid') continue;
    if (!firstId) firstId = v.event.eventId;
    maxTs = Math.max(maxTs, v.event.ts);
  }
  const sentinel = JSON.stringify({ event_id: firstId, ts: maxTs + 600_000, user_id: 'u0', type: 'view', amount: 0, country: 'US' });
  return { lines, sentinel };
}

/** Parsed from the daemon's status line on stderr. */
export interface DaemonStatus {
  input: number;
  accepted: number;
  late: number;
  windows: number;
}

export class DaemonProcess {
  readonly child: ChildProcess;
  stderr = '';
  stdout = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  status: DaemonStatus = { input: 0, accepted: 0, late: 0, windows: 0 };
  readonly spawnedAtMs = Date.now();
  /** When a status line first showed input read (restart to consuming), or null. */
  firstInputAtMs: number | null = null;

  constructor(configPath: string, cwd: string, extraArgs: readonly string[] = [], env: Record<string, string> = {}) {
    this.child = spawn(process.execPath, [BIN, 'run', '--config', configPath, ...extraArgs], {
      cwd, env: { ...process.env, RINGFLOW_LOG_LEVEL: 'info', ...env }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout!.on('data', (d: Buffer) => { this.stdout += d.toString(); });
    this.child.stderr!.on('data', (d: Buffer) => {
      this.stderr += d.toString();
      const lines = this.stderr.split('\n').filter((l) => l.startsWith('ringflow: ') && l.includes(' events/s |'));
      const last = lines[lines.length - 1];
      if (last) {
        const num = (re: RegExp): number => Number((re.exec(last)?.[1] ?? '0').replace(/,/g, ''));
        this.status = { input: num(/input ([\d,]+)/), accepted: num(/accepted ([\d,]+)/), late: num(/late ([\d,]+)/), windows: num(/windows ([\d,]+)/) };
      }
      // The line printed once stopped has the final counts (a status line may be up to an interval old).
      const stopped = /ringflow: stopped .*input (\d+) = accepted (\d+) \+ invalid \d+ \+ dups \d+ \+ late (\d+); (\d+) windows emitted/.exec(this.stderr);
      if (stopped) this.status = { input: Number(stopped[1]), accepted: Number(stopped[2]), late: Number(stopped[3]), windows: Number(stopped[4]) };
      if (this.firstInputAtMs === null && this.status.input > 0) this.firstInputAtMs = Date.now();
    });
    this.exited = new Promise((resolve) => this.child.once('exit', (code, signal) => resolve({ code, signal })));
  }

  kill(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }

  /** The last lines of stderr, for failure messages. */
  tail(lines = 30): string {
    return this.stderr.split('\n').slice(-lines).join('\n');
  }
}

/** Polls `check` until it returns true; fails with `what` (and `detail()`) at the deadline. */
export async function waitUntil(what: string, deadlineMs: number, check: () => boolean | Promise<boolean>, detail: () => string = () => ''): Promise<void> {
  const end = Date.now() + deadlineMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > end) throw new Error(`timed out after ${deadlineMs} ms waiting for ${what}\n${detail()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function createTopics(services: ServiceAddresses, topics: { topic: string; numPartitions?: number }[]): Promise<void> {
  const admin = new Kafka({ clientId: 'daemon-test-admin', brokers: services.kafkaBrokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics, waitForLeaders: true });
  } finally {
    await admin.disconnect();
  }
}

/** `patient`: keeps retrying through a broker restart (tens of seconds) instead of kafkajs's default ~10 s. */
export async function connectProducer(services: ServiceAddresses, opts: { patient?: boolean } = {}): Promise<Producer> {
  const retry = opts.patient ? { retries: 30, initialRetryTime: 200, maxRetryTime: 2_000 } : undefined;
  const producer = new Kafka({ clientId: 'daemon-test-producer', brokers: services.kafkaBrokers, logLevel: logLevel.NOTHING, retry })
    .producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  return producer;
}

/** One message per value, in order, to partition 0, in batches of `batchSize`. */
export async function produceValues(producer: Producer, topic: string, values: readonly (Buffer | string | null)[], batchSize = 2000): Promise<void> {
  for (let i = 0; i < values.length; i += batchSize) {
    await producer.send({ topic, acks: -1, messages: values.slice(i, i + batchSize).map((value) => ({ value, partition: 0 })) });
  }
}

/** The group's committed offset of partition 0 (-1 when none). */
export async function committedOffset(services: ServiceAddresses, groupId: string, topic: string): Promise<{ offset: number; metadata: string | null }> {
  const admin = new Kafka({ clientId: 'daemon-test-offsets', brokers: services.kafkaBrokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    let t: Awaited<ReturnType<typeof admin.fetchOffsets>>[number];
    for (let attempt = 1; ; attempt++) {
      try {
        [t] = await admin.fetchOffsets({ groupId, topics: [topic] });
        break;
      } catch (err) {
        // A fresh broker may still be electing the group coordinator.
        if ((err as { retriable?: boolean }).retriable !== true || attempt >= 50) throw err;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    const p = t.partitions.find((x) => x.partition === 0);
    return { offset: p ? Number(p.offset) : -1, metadata: p?.metadata ?? null };
  } finally {
    await admin.disconnect();
  }
}

/** Per topic partition ("topic/p"): the group's committed offset (-1 when none) and the end offset. */
export async function committedVsEnd(services: ServiceAddresses, groupId: string, topics: readonly string[]): Promise<Record<string, { committed: number; end: number }>> {
  const admin = new Kafka({ clientId: 'daemon-test-offsets', brokers: services.kafkaBrokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const out: Record<string, { committed: number; end: number }> = {};
    for (const topic of topics) {
      const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
      const ends = await admin.fetchTopicOffsets(topic);
      for (const e of ends) {
        const c = committed.partitions.find((p) => p.partition === e.partition);
        out[`${topic}/${e.partition}`] = { committed: c ? Number(c.offset) : -1, end: Number(e.high) };
      }
    }
    return out;
  } finally {
    await admin.disconnect();
  }
}

export type StoredRow = Record<string, string | number | null>;

/** Window rows under FINAL, numbers as numbers, without the version column. */
export async function clickhouseRows(url: string, table: string): Promise<StoredRow[]> {
  const ch = createClient({ url, log: { level: ClickHouseLogLevel.OFF } });
  try {
    const rows = await (await ch.query({
      query: `SELECT window_start, window_end, type, region, count, amount_sum, amount_max, users_approx FROM ${table} FINAL`,
      format: 'JSONEachRow',
    })).json<Record<string, string | number | null>>();
    return rows.map((r) => ({
      window_start: Number(r.window_start), window_end: Number(r.window_end), type: String(r.type), region: String(r.region),
      count: Number(r.count), amount_sum: Number(r.amount_sum), amount_max: r.amount_max === null ? null : Number(r.amount_max),
      users_approx: Number(r.users_approx),
    }));
  } finally {
    await ch.close();
  }
}

/** Every `<prefix>:win:*` hash as a window row. */
export async function redisRows(url: string, prefix: string): Promise<StoredRow[]> {
  const redis = new Redis(url);
  try {
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}:win:*`, 'COUNT', 1000);
      cursor = next;
      keys.push(...batch);
    } while (cursor !== '0');
    const rows: StoredRow[] = [];
    for (const key of keys) {
      const [, , start, type, region] = key.split(':');
      const h = await redis.hgetall(key);
      rows.push({
        window_start: Number(start), window_end: Number(h.window_end), type, region,
        count: Number(h.count), amount_sum: Number(h.amount_sum), amount_max: h.amount_max === undefined || h.amount_max === '' ? null : Number(h.amount_max),
        users_approx: Number(h.users_approx),
      });
    }
    return rows;
  } finally {
    redis.disconnect();
  }
}

/** All messages of a topic (partition order within each partition), read from the beginning. */
/** Messages a topic holds: the sum over its partitions of end offset - start offset. */
export async function topicMessageCount(services: ServiceAddresses, topic: string): Promise<number> {
  const admin = new Kafka({ clientId: 'daemon-test-offsets', brokers: services.kafkaBrokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    return (await admin.fetchTopicOffsets(topic)).reduce((n, o) => n + Number(o.high) - Number(o.low), 0);
  } finally {
    await admin.disconnect();
  }
}

export async function readTopic(services: ServiceAddresses, topic: string, expectAtLeast: number, deadlineMs: number): Promise<string[]> {
  const kafka = new Kafka({ clientId: 'daemon-test-reader', brokers: services.kafkaBrokers, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const offsets = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  const total = offsets.reduce((n, o) => n + Number(o.high) - Number(o.low), 0);
  const consumer = kafka.consumer({ groupId: `reader-${topic}-${Date.now()}` });
  const values: string[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => { values.push(message.value?.toString() ?? ''); } });
    // The detail tells a topic that holds too few messages (offsets) from a reader that fell behind.
    await waitUntil(`${Math.max(total, expectAtLeast)} messages on ${topic}`, deadlineMs, () => values.length >= Math.max(total, expectAtLeast),
      () => `read ${values.length}; the topic's offsets hold ${total} (${offsets.map((o) => `${o.partition}: ${o.low}..${o.high}`).join(', ')})`);
  } finally {
    await consumer.disconnect();
  }
  return values;
}

/**
 * FNV-1a of the event id (or of the whole line when it has none): the line's partition. The id is read
 * decoded, so copies of one id written differently (escapes) land in one partition like any copies.
 */
export function partitionOf(line: string, partitions: number): number {
  let id = line;
  try {
    const v = JSON.parse(line) as { event_id?: unknown };
    if (typeof v?.event_id === 'string') id = v.event_id;
  } catch {
    // not JSON: keyed by the line itself
  }
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193);
  return (h >>> 0) % partitions;
}

/** Per partition, its lines in input order, cut into messages of `linesPerMessage` lines; `keyed`: by event id. */
export function messagesByPartition(lines: readonly string[], partitions: number, linesPerMessage: number, keyed = true): string[][] {
  const per: string[][] = Array.from({ length: partitions }, () => []);
  // Unkeyed: line i goes to partition i mod P, as a round-robin producer would spread it.
  lines.forEach((line, i) => per[keyed ? partitionOf(line, partitions) : i % partitions].push(line));
  return per.map((ls) => {
    const out: string[] = [];
    for (let i = 0; i < ls.length; i += linesPerMessage) out.push(ls.slice(i, i + linesPerMessage).join('\n'));
    return out;
  });
}

/** Sends every partition's messages in order, round-robin over partitions, `batch` messages per send; `onSent` gets the running total. */
export async function producePartitioned(producer: Producer, topic: string, perPartition: string[][], batch: number, pauseMs = 0,
  onSent: (messages: number) => void = () => undefined): Promise<void> {
  let total = 0;
  const at = perPartition.map(() => 0);
  for (;;) {
    let sent = false;
    for (let p = 0; p < perPartition.length; p++) {
      const msgs = perPartition[p].slice(at[p], at[p] + batch);
      if (msgs.length === 0) continue;
      at[p] += msgs.length;
      sent = true;
      await producer.send({ topic, acks: -1, messages: msgs.map((value) => ({ value, partition: p })) });
      total += msgs.length;
      onSent(total);
    }
    if (!sent) return;
    if (pauseMs > 0) await new Promise((r) => setTimeout(r, pauseMs));
  }
}

/** The oracle of a Kafka run: `ringflow replay` of the same lines with the same config; its window rows. */
export async function replayOracle(configPath: string, lines: readonly string[], dir: string): Promise<{ summary: ReplaySummary; rows: AggregateRow[] }> {
  const inputPath = join(dir, 'replay-input.ndjson');
  writeFileSync(inputPath, `${lines.join('\n')}\n`);
  const outDir = join(dir, 'replay');
  const summary = await replay({ inputPath, config: await loadRingflowConfig(configPath), outDir, progress: false });
  const rows = readFileSync(join(outDir, 'aggregates.ndjson'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as AggregateRow);
  return { summary, rows };
}

/** The files sink's window rows, the last one per (window, group): a re-emitted window overwrites, as in ClickHouse and Redis. */
export function latestFileRows(path: string, groupFields: readonly string[] = ['type', 'region']): Record<string, unknown>[] {
  const latest = new Map<string, Record<string, unknown>>();
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (!line) continue;
    const row = JSON.parse(line) as Record<string, unknown>;
    latest.set([row.window_start, ...groupFields.map((f) => row[f])].join('|'), row);
  }
  return [...latest.values()];
}
