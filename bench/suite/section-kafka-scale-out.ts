/**
 * Scale-out (issue: several daemons in one consumer group): the same topic read by 1 daemon without
 * scale-out, then by 1, 2 and 3 daemons with `daemon.scaleOut` on, each daemon its own
 * `ringflow run --until-caught-up` process (started together, as an operator would), files sink only,
 * so what differs is the second stage (partials topic, merge), the rebalances of the start and the
 * dedupe replay they cause. The clock runs from spawning the processes to the last one's exit; CPU is
 * the sum over the daemons (GNU time's user + system) and the broker's over the same span. Each run's
 * window rows (every daemon's files sink, the last row per window and group) must equal the run
 * without scale-out, or the figure is not counted.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Partitioners, type Admin, type Kafka } from 'kafkajs';
import { ClickstreamGenerator } from '../../src/sources/generators/clickstream-events.js';
import { REPO_ROOT } from './child.js';
import type { Progress } from './progress.js';
import type { RunRecord } from './results.js';

export interface ScaleOutOptions {
  brokers: string[];
  kafka: Kafka;
  admin: Admin;
  partitions: number;
  events: number;
  eventsPerMessage: number;
  brokerCpuSeconds: () => number;
}

export interface ScaleOutRun {
  daemons: number;
  scale_out: boolean;
  events_per_sec: number;
  events_per_cpu_sec: number;
  ringflow_cpu_s: number;
  broker_cpu_s: number | null;
  elapsed_ms: number;
  /** Input lines read over all daemons / events in the topic: above 1 when a rebalance made a daemon read again. */
  read_factor: number;
}

const BIN = resolve(REPO_ROOT, 'bin/ringflow.js');

/** FNV-1a of the event id: every copy of an id in one partition, as dedupe across daemons needs. */
function partitionOf(line: string, partitions: number): number {
  const m = /"event_id":"([^"]*)"/.exec(line);
  const id = m ? m[1] : line;
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193);
  return (h >>> 0) % partitions;
}

async function fillKeyedTopic(o: ScaleOutOptions): Promise<string> {
  const topic = `bench_scale_out_${process.pid}_${Date.now().toString(36)}`;
  await o.admin.createTopics({ topics: [{ topic, numPartitions: o.partitions, replicationFactor: 1 }], waitForLeaders: true });
  const per: string[][] = Array.from({ length: o.partitions }, () => []);
  // No JSON escapes in ids (variantRate 0): the regex above reads the id as the decoder does. No late
  // events: lateness is decided per daemon, so with them the runs could differ for that reason alone.
  for (const line of new ClickstreamGenerator({ seed: 11, variantRate: 0, invalidRate: 0.01, lateRate: 0, blankLineRate: 0 }).fillLines(o.events)) {
    per[partitionOf(line, o.partitions)].push(line);
  }
  const producer = o.kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false });
  await producer.connect();
  try {
    for (const [p, lines] of per.entries()) {
      const messages: { value: string; partition: number }[] = [];
      for (let i = 0; i < lines.length; i += o.eventsPerMessage) messages.push({ value: lines.slice(i, i + o.eventsPerMessage).join('\n'), partition: p });
      // 50 messages of 100 lines stay under the broker's 1 MiB request limit.
      for (let i = 0; i < messages.length; i += 50) await producer.send({ topic, acks: 1, messages: messages.slice(i, i + 50) });
    }
  } finally {
    await producer.disconnect();
  }
  return topic;
}

function runDaemon(config: string, cwd: string, cpuFile: string): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn('/usr/bin/time', ['-f', '%U %S', '-o', cpuFile, process.execPath, BIN, 'run', '--config', config, '--until-caught-up'],
      { cwd, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, RINGFLOW_LOG_LEVEL: 'warn', RINGFLOW_LOG_FORMAT: 'json' } });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.on('error', reject);
    child.on('exit', (code) => resolvePromise({ code, stderr }));
  });
}

/** The last row per (window, group) over every daemon's files sink, as sorted JSON lines. */
function windowRows(dirs: string[]): string[] {
  const latest = new Map<string, string>();
  for (const d of dirs) {
    const f = join(d, 'out', 'windows.ndjson');
    if (!existsSync(f)) continue;
    for (const line of readFileSync(f, 'utf8').split('\n').filter(Boolean)) {
      const r = JSON.parse(line) as Record<string, unknown>;
      latest.set(`${String(r.window_start)}|${String(r.type)}|${String(r.region)}`, line);
    }
  }
  return [...latest.values()].sort();
}

const inputOf = (stderr: string): number => Number(/input (\d+) =/.exec(stderr.split('\n').filter((l) => l.includes('stopped (')).join('\n'))?.[1] ?? 0);

export async function runKafkaScaleOut(o: ScaleOutOptions, progress: Progress): Promise<{ runs: ScaleOutRun[]; records: RunRecord[]; problems: string[] }> {
  const t = performance.now();
  const topic = await fillKeyedTopic(o);
  progress.step(`filled ${topic} (${o.partitions} partitions, keyed by event id): ${o.events.toLocaleString('en-US')} events in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  const base = JSON.parse(readFileSync(resolve(REPO_ROOT, 'examples/clickstream.json'), 'utf8')) as Record<string, { table?: string }>;
  const root = mkdtempSync(join(tmpdir(), 'ringflow-bench-scale-out-'));
  const runs: ScaleOutRun[] = [];
  const records: RunRecord[] = [];
  const problems: string[] = [];
  let reference: string[] | null = null;
  try {
    for (const [daemons, scaleOut] of [[1, false], [1, true], [2, true], [3, true]] as const) {
      const tag = `${daemons}_${scaleOut ? 'on' : 'off'}_${Date.now().toString(36)}`;
      const dirs = Array.from({ length: daemons }, (_, i) => join(root, tag, `d${i}`));
      const configs = dirs.map((d) => {
        mkdirSync(d, { recursive: true });
        const path = join(d, 'config.json');
        writeFileSync(path, JSON.stringify({
          ...base,
          enrich: { ...base.enrich, table: resolve(REPO_ROOT, 'examples', base.enrich.table ?? '') },
          source: { type: 'kafka', kafka: { brokers: o.brokers, topic, groupId: `bench_so_${tag}`, clientId: `bench_so_${tag}`, logLevel: 'error',
            maxBytes: 10 * 1024 * 1024, maxBytesPerPartition: 2 * 1024 * 1024, maxWaitTimeMs: 100, memberIdFile: null } },
          sinks: { files: { dir: join(d, 'out') }, deadLetterPath: join(d, 'sinks.deadletter.ndjson') },
          daemon: { deadLetterPath: join(d, 'dead-letter.ndjson'), statusIntervalMs: 600_000, caughtUpPollMs: 200,
            scaleOut: { partialsTopic: scaleOut ? `bench_partials_${tag}` : null } },
        }));
        return path;
      });
      const cpuBefore = o.brokerCpuSeconds();
      const started = performance.now();
      const exits = await Promise.all(configs.map((c, i) => runDaemon(c, dirs[i], join(dirs[i], 'cpu.txt'))));
      const seconds = (performance.now() - started) / 1000;
      const brokerCpu = o.brokerCpuSeconds() - cpuBefore;
      const label = `${daemons} daemon${daemons > 1 ? 's' : ''}, scale-out ${scaleOut ? 'on' : 'off'}`;
      const failed = exits.find((e) => e.code !== 0);
      if (failed) {
        problems.push(`${label}: a daemon exited ${failed.code}: ${failed.stderr.split('\n').slice(-3).join(' ')}`);
        continue;
      }
      const cpu = dirs.reduce((s, d) => s + readFileSync(join(d, 'cpu.txt'), 'utf8').trim().split(/\s+/).slice(-2).reduce((a, v) => a + Number(v), 0), 0);
      const rows = windowRows(dirs);
      if (reference === null) reference = rows;
      else if (rows.join('\n') !== reference.join('\n')) {
        const ref = new Set(reference);
        const differing = rows.filter((r) => !ref.has(r));
        problems.push(`${label}: ${differing.length} of ${rows.length} window rows differ from the run without scale-out (${reference.length} rows), e.g. ${differing[0]}`);
        continue;
      }
      const read = exits.reduce((n, e) => n + inputOf(e.stderr), 0);
      const run: ScaleOutRun = {
        daemons, scale_out: scaleOut, events_per_sec: Math.round(o.events / seconds), events_per_cpu_sec: Math.round(o.events / cpu),
        ringflow_cpu_s: Number(cpu.toFixed(2)), broker_cpu_s: Number.isFinite(brokerCpu) ? Number(brokerCpu.toFixed(2)) : null,
        elapsed_ms: Math.round(seconds * 1000), read_factor: Number((read / o.events).toFixed(2)),
      };
      runs.push(run);
      const record: RunRecord = {
        section: 'kafka',
        name: `ringflow scale-out: ${label}, Kafka (${o.partitions} partitions) -> canonical pipeline -> files`,
        params: { events: o.events, partitions: o.partitions, events_per_message: o.eventsPerMessage, daemons, scale_out: scaleOut,
          ringflow_cpu_s: run.ringflow_cpu_s, broker_cpu_s: run.broker_cpu_s, read_factor: run.read_factor, window_rows: rows.length },
        events_per_sec: run.events_per_sec,
        events_per_cpu_sec: run.events_per_cpu_sec,
        elapsed_ms: run.elapsed_ms,
        note: 'clock: processes spawned -> the last one exited (start-up, group joins, rebalances and the merge included)',
      };
      records.push(record);
      progress.result(record);
    }
  } finally {
    if (process.env.RINGFLOW_BENCH_KEEP === undefined) rmSync(root, { recursive: true, force: true });
  }
  return { runs, records, problems };
}
