/**
 * One fault scenario of the Kafka path, shared by the CI tests (daemon-kill.test.ts) and the
 * reliability run (test/reliability/): clickstream lines produced into a topic of several partitions
 * while `ringflow run` consumes them, faults injected at seeded points (kill -9 and a restart, or the
 * ClickHouse server stopped for a while), then every sink read back and compared with `ringflow
 * replay` of the same lines.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { prng } from '../../helpers/prng.js';
import { testServices, uniqueName } from '../../helpers/services.js';
import type { AggregateRow } from '../../reference/canonical-reference.js';
import { compareAggregates } from '../../reference/compare-outputs.js';
import type { ClickHouseServer, KafkaServer } from '../../services/index.js';
import { ClickstreamGenerator } from '../../../src/sources/generators/clickstream-events.js';
import {
  clickhouseRows, connectProducer, createTopics, daemonConfig, DaemonProcess, latestFileRows, messagesByPartition, partitionOf, producePartitioned, topicMessageCount,
  readTopic, redisRows, replayOracle, waitUntil,
} from './daemon-kit.js';

export type Fault =
  | { kind: 'kill'; times: number }
  | { kind: 'clickhouse-down'; server: ClickHouseServer; downMs: number }
  /** A broker of the scenario's own (its topics live there), stopped and started again on the same data. */
  | { kind: 'broker-restart'; server: KafkaServer; downMs: number };

export interface ScenarioOptions {
  dir: string;
  seed: number;
  partitions: number;
  /** Several topics in one source: partitions of each topic after the first (which has `partitions`). */
  moreTopics?: readonly number[];
  events: number;
  fault: Fault;
  checkpoints: boolean;
  duplicateRate: number;
  /** Every daemon process started, so the caller can kill what is left after a failure. */
  children: DaemonProcess[];
}

export interface SinkComparison {
  sink: 'clickhouse' | 'redis' | 'files';
  differences: string[];
  /** Events missing from the stored counts, summed over rows below the oracle. */
  lostEvents: number;
  /** Events counted more than once, summed over rows above the oracle. */
  doubleCountedEvents: number;
}

export interface ScenarioResult {
  expectedRows: number;
  expectedEvents: number;
  sinks: SinkComparison[];
  /** The processed-events topic: accepted events of the oracle, distinct event ids stored, and copies beyond one. */
  eventsTopic: { expected: number; distinct: number; duplicates: number };
  /** Per restart: spawn of the new process to its first status line with input read. */
  restartToConsumingMs: number[];
  peakRssMiB: number;
  exit: { code: number | null; signal: NodeJS.Signals | null };
}

/** VmHWM of a live process (peak resident set), MiB; 0 when it cannot be read. */
function peakRssMiB(pid: number | undefined): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

function compareSink(sink: SinkComparison['sink'], rows: readonly Record<string, unknown>[], expected: readonly AggregateRow[]): SinkComparison {
  const key = (r: Record<string, unknown>): string => `${r.window_start}|${r.type}|${r.region}`;
  const stored = new Map(rows.map((r) => [key(r), Number(r.count)]));
  let lostEvents = 0;
  let doubleCountedEvents = 0;
  for (const e of expected) {
    const d = (stored.get(key(e as unknown as Record<string, unknown>)) ?? 0) - e.count;
    if (d < 0) lostEvents -= d;
    else doubleCountedEvents += d;
  }
  return { sink, differences: compareAggregates(rows, expected, 0), lostEvents, doubleCountedEvents };
}

export async function runFaultScenario(o: ScenarioOptions): Promise<ScenarioResult> {
  const services = o.fault.kind === 'broker-restart' ? { ...testServices(), kafkaBrokers: o.fault.server.brokers } : testServices();
  const names = { topic: uniqueName('in'), groupId: uniqueName('grp'), table: uniqueName('win'), redisPrefix: uniqueName('rf'), eventsTopic: uniqueName('events') };
  const testDir = join(o.dir, names.topic);
  mkdirSync(testDir, { recursive: true });
  const topics = [{ topic: names.topic, numPartitions: o.partitions }, ...(o.moreTopics ?? []).map((n, i) => ({ topic: `${names.topic}_${i + 2}`, numPartitions: n }))];
  await createTopics(services, [...topics, { topic: names.eventsTopic, numPartitions: o.partitions }]);
  const lines = new ClickstreamGenerator({ seed: o.seed, eventsPerSecond: 100, duplicateRate: o.duplicateRate }).fillLines(o.events);
  // Several topics: a line's topic follows its event_id (hash mod 3, independent of the partition's hash).
  const linesOf = topics.map(() => [] as string[]);
  for (const line of lines) linesOf[topics.length === 1 ? 0 : partitionOf(line, 3) % topics.length].push(line);
  const clickhouseUrl = o.fault.kind === 'clickhouse-down' ? o.fault.server.url : services.clickhouseUrl;
  const configPath = daemonConfig(services, names, testDir, {
    clickhouseUrl,
    sinks: { files: { dir: join(testDir, 'files') } },
    ...(topics.length > 1 ? { kafka: { topic: topics.map((t) => t.topic) } } : {}),
    daemon: {
      // A broker restart stalls the producers too (their retries back off to seconds): a daemon that sees
      // its partitions caught up and quiet for idleCloseMs closes every window, by design, and the events
      // produced after the stall are late. So that scenario closes windows only after a longer quiet.
      idleCloseMs: o.fault.kind === 'broker-restart' ? 30_000 : 1_500, caughtUpPollMs: 200,
      ...(o.checkpoints ? { checkpoint: { dir: join(testDir, 'checkpoints'), intervalMs: 300 } } : {}),
    },
    dedupe: { expectedKeysPerHorizon: 200_000 },
  });
  const { summary: oracle, rows: expected } = await replayOracle(configPath, lines, testDir);
  if (oracle.late !== 0) throw new Error(`the input has ${oracle.late} late events under replay: not a valid oracle for a partitioned run`);

  const random = prng(o.seed);
  const faults = o.fault.kind === 'kill' ? o.fault.times : 1;
  // Fault when the producer has sent these shares of the input (seeded, in order).
  const faultAt = Array.from({ length: faults }, () => 0.15 + 0.6 * (random() / 2 ** 32)).sort((a, b) => a - b);
  let sent = 0;
  const producer = await connectProducer(services, { patient: o.fault.kind === 'broker-restart' });
  const pauseMs = o.fault.kind === 'kill' ? 10 : 60;
  const sentPerTopic = topics.map(() => 0);
  const producing = Promise.all(topics.map((t, i) => producePartitioned(producer, t.topic, messagesByPartition(linesOf[i], t.numPartitions, 1), 50, pauseMs,
    (n) => { sentPerTopic[i] = n; sent = sentPerTopic.reduce((a, b) => a + b, 0); })))
    .finally(() => producer.disconnect());

  const restartToConsumingMs: number[] = [];
  let peak = 0;
  let daemon = new DaemonProcess(configPath, testDir);
  o.children.push(daemon);
  const fault = o.fault;
  for (const share of faultAt) {
    await waitUntil(`${Math.round(share * 100)}% produced`, 180_000, () => sent >= share * lines.length || daemon.child.exitCode !== null, () => daemon.tail());
    await waitUntil('the daemon consuming', 60_000, () => daemon.status.input > 0 || daemon.child.exitCode !== null, () => daemon.tail());
    if (fault.kind === 'clickhouse-down') {
      await fault.server.stop();
      await new Promise((r) => setTimeout(r, fault.downMs));
      await fault.server.start();
      continue;
    }
    if (fault.kind === 'broker-restart') {
      await fault.server.restart({ downMs: fault.downMs });
      continue;
    }
    peak = Math.max(peak, peakRssMiB(daemon.child.pid));
    daemon.kill('SIGKILL');
    await daemon.exited;
    // Events keep arriving while it is down: the restart has a backlog to read.
    await new Promise((r) => setTimeout(r, 300));
    const startedAt = Date.now();
    daemon = new DaemonProcess(configPath, testDir);
    o.children.push(daemon);
    await waitUntil('the restarted daemon consuming', 60_000, () => daemon.status.input > 0 || daemon.child.exitCode !== null, () => daemon.tail());
    restartToConsumingMs.push(Date.now() - startedAt);
  }
  await producing;
  await waitUntil(`all ${expected.length} window rows stored`, 180_000,
    async () => (await clickhouseRows(clickhouseUrl, names.table)).length >= expected.length || daemon.child.exitCode !== null,
    () => daemon.tail());
  peak = Math.max(peak, peakRssMiB(daemon.child.pid));
  daemon.kill('SIGTERM');
  const exit = await daemon.exited;
  // The window sinks first: if the processed-events topic comes up short, the failure says whether the
  // input itself was short (the input topics' offsets) and whether the window sinks still match.
  const sinks = [
    compareSink('clickhouse', await clickhouseRows(clickhouseUrl, names.table), expected),
    compareSink('redis', await redisRows(services.redisUrl, names.redisPrefix), expected),
    compareSink('files', latestFileRows(join(testDir, 'files', 'windows.ndjson')), expected),
  ];
  // At-least-once across restarts: every accepted event at least once, the extra copies counted.
  let stored: string[];
  try {
    stored = (await readTopic(services, names.eventsTopic, oracle.accepted, 120_000)).flatMap((m) => m.split('\n')).filter(Boolean);
  } catch (err) {
    const inputMessages = (await Promise.all(topics.map((t) => topicMessageCount(services, t.topic)))).reduce((a, b) => a + b, 0);
    const sinkState = sinks.map((s) => `${s.sink} ${s.differences.length} rows differing, ${s.lostEvents} lost`).join('; ');
    // The daemon's last lines: its own input = accepted + invalid + dups + late, against the oracle's.
    throw new Error(`processed-events topic short; input topics hold ${inputMessages} of ${lines.length} produced lines; ${sinkState}; `
      + `oracle: input ${oracle.input}, accepted ${oracle.accepted}, late ${oracle.late}\n${(err as Error).message}\n${daemon.tail(4)}`);
  }
  const ids = new Set(stored.map((l) => (JSON.parse(l) as { event_id: string }).event_id));
  return {
    eventsTopic: { expected: oracle.accepted, distinct: ids.size, duplicates: stored.length - ids.size },
    expectedRows: expected.length,
    expectedEvents: expected.reduce((n, r) => n + r.count, 0),
    sinks,
    restartToConsumingMs,
    peakRssMiB: peak,
    exit,
  };
}
