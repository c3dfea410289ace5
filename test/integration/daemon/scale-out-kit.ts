/**
 * Runs one scale-out case (several `ringflow run` daemons sharing one consumer group with
 * daemon.scaleOut) against `ringflow replay` of the same lines, and reports what every sink holds:
 * the integration test asserts on it, the reliability run (RELIABILITY.md) writes it down.
 *
 * Lines go to partitions by event_id, so every copy of an id is in one partition (dedupe is exact
 * across daemons then); the input's disorder is within the allowed lateness, so no event is late.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ServiceAddresses } from '../../helpers/services.js';
import { uniqueName } from '../../helpers/services.js';
import { compareAggregates } from '../../reference/compare-outputs.js';
import { ClickstreamGenerator } from '../../../src/sources/generators/clickstream-events.js';
import {
  clickhouseRows, committedVsEnd, connectProducer, createTopics, daemonConfig, DaemonProcess, messagesByPartition,
  producePartitioned, readTopic, redisRows, replayOracle, waitUntil,
} from './daemon-kit.js';

export interface ScaleOutCase {
  daemons: number;
  partitions: number;
  /** Produced while the daemons run (ended with SIGTERM once every row is stored), else a backlog read with --until-caught-up. */
  live: boolean;
  events: number;
  seed: number;
  /**
   * Live only, after windows were emitted: `add` starts the last daemon then; `kill9` kills a daemon
   * with SIGKILL and starts it again; `sigterm` stops the last daemon for good.
   */
  midStream?: 'add' | 'kill9' | 'sigterm';
  /** How many times the mid-stream fault happens, at even points of the production (kill9 only; default 1). */
  faults?: number;
}

export interface ScaleOutResult {
  expectedRows: number;
  /** Per sink, the rows that differ from replay's (empty: equal). */
  sinks: { sink: string; differences: string[] }[];
  /** Keys whose rows were written to a files sink with different values (a row written again must be the same). */
  rewrittenDifferently: string[];
  eventsTopic: { expected: number; distinct: number; copies: number };
  late: number;
  /** Exit of every daemon still running at the end (SIGTERM or --until-caught-up). */
  exits: ({ code: number | null; signal: NodeJS.Signals | null } | null)[];
  /** Per fault: from the fault until every partition is owned again by the running daemons. */
  rebalanceMs: number[];
  /** Per restarted daemon: from its spawn to its first status line with input read. */
  restartToConsumingMs: number[];
  /** Backlog: partitions whose committed offset is not their end. */
  uncommitted: string[];
}

/** The source partitions a daemon was given at its last join, and when it logged it. */
function lastAssignment(d: DaemonProcess): { parts: number[]; atMs: number } | null {
  const lines = d.stderr.split('\n').filter((l) => l.includes('scale-out: assigned source partitions'));
  const last = lines[lines.length - 1];
  const m = last ? /"time":(\d+).*"partitions":\[([\d,]*)\]/.exec(last) : null;
  return m ? { atMs: Number(m[1]), parts: m[2].split(',').filter((x) => x !== '').map(Number) } : null;
}

/**
 * Together the running daemons own every partition, each some, and the ones in `fresh` (started since
 * the fault) joined after `sinceMs`. The others may keep their assignment: a daemon restarted with its
 * old member id gets its partitions back without a rebalance of the rest.
 */
function settled(daemons: readonly DaemonProcess[], partitions: number, sinceMs = 0, fresh: readonly DaemonProcess[] = []): boolean {
  const owned = daemons.map((d) => ({ d, a: lastAssignment(d) }));
  return owned.every(({ d, a }) => a !== null && a.parts.length > 0 && (!fresh.includes(d) || a.atMs >= sinceMs))
    && new Set(owned.flatMap(({ a }) => a!.parts)).size === partitions;
}

export async function runScaleOutCase(c: ScaleOutCase, ctx: { services: ServiceAddresses; dir: string; children: DaemonProcess[] }): Promise<ScaleOutResult> {
  const { services } = ctx;
  const names = { topic: uniqueName('in'), groupId: uniqueName('grp'), table: uniqueName('win'), redisPrefix: uniqueName('rf'), eventsTopic: uniqueName('events') };
  const partialsTopic = uniqueName('partials');
  await createTopics(services, [{ topic: names.topic, numPartitions: c.partitions }, { topic: names.eventsTopic, numPartitions: c.partitions }]);
  const lines = new ClickstreamGenerator({ seed: c.seed, eventsPerSecond: 100 }).fillLines(c.events);
  const daemonDirs = Array.from({ length: c.daemons }, (_, i) => join(ctx.dir, names.topic, `daemon-${i}`));
  const configs = daemonDirs.map((d) => {
    mkdirSync(d, { recursive: true });
    return daemonConfig(services, names, d, {
      sinks: { files: { dir: join(d, 'files') } },
      // Live: the last windows close once nothing arrives for a while; longer than the pause while a daemon joins.
      daemon: { scaleOut: { partialsTopic }, caughtUpPollMs: 200, ...(c.live ? { idleCloseMs: c.midStream ? 15_000 : 1_500 } : {}) },
    });
  });
  const { summary: oracle, rows: expected } = await replayOracle(configs[0], lines, daemonDirs[0]);
  if (oracle.late !== 0 || new Set(expected.map((r) => r.window_start)).size < 4) throw new Error('the input must have no late event and 4 windows or more');

  const producer = await connectProducer(services);
  /** The process of each daemon slot now (a restart replaces it). */
  const running: DaemonProcess[] = [];
  const all: DaemonProcess[] = [];
  const rebalanceMs: number[] = [];
  const restarted: DaemonProcess[] = [];
  const tails = () => running.map((d, i) => `--- daemon ${i}\n${d.tail(15)}`).join('\n');
  const start = (i: number): DaemonProcess => {
    const d = new DaemonProcess(configs[i], daemonDirs[i], c.live ? [] : ['--until-caught-up']);
    running[i] = d;
    all.push(d);
    ctx.children.push(d);
    return d;
  };
  const perPartition = messagesByPartition(lines, c.partitions, 1);
  try {
    if (!c.live) await producePartitioned(producer, names.topic, perPartition, 500);
    const firstWave = c.midStream === 'add' ? c.daemons - 1 : c.daemons;
    for (let i = 0; i < firstWave; i++) start(i);
    if (c.live) {
      await waitUntil('the group settled', 90_000, () => settled(running, c.partitions), tails);
      const faults = c.midStream ? (c.midStream === 'kill9' ? c.faults ?? 1 : 1) : 0;
      // Production in faults + 1 segments, a fault between two (once windows were emitted).
      for (let seg = 0; seg <= faults; seg++) {
        const cut = (k: number) => (m: string[]) => m.slice(Math.floor((m.length * k) / (faults + 1)), Math.floor((m.length * (k + 1)) / (faults + 1)));
        await producePartitioned(producer, names.topic, perPartition.map(cut(seg)), 200, 20);
        if (seg === faults) break;
        if (seg === 0) await waitUntil('windows emitted', 90_000, () => running.some((d) => d.status.windows >= 2), tails);
        const faultAt = Date.now();
        const slot = c.midStream === 'kill9' ? seg % c.daemons : c.daemons - 1;
        const fresh: DaemonProcess[] = [];
        if (c.midStream === 'add') fresh.push(start(slot));
        else {
          const victim = running[slot];
          victim.kill(c.midStream === 'kill9' ? 'SIGKILL' : 'SIGTERM');
          const exit = await victim.exited;
          if (c.midStream === 'sigterm' && exit.code !== 0) throw new Error(`the stopped daemon exited ${exit.code}\n${victim.tail()}`);
          if (c.midStream === 'kill9') {
            fresh.push(start(slot));
            restarted.push(fresh[0]);
          } else running.splice(slot, 1);
        }
        await waitUntil('the group settled after the fault', 90_000, () => settled(running, c.partitions, faultAt, fresh), tails);
        rebalanceMs.push(Date.now() - faultAt);
      }
      const storedEqual = async (): Promise<boolean> => compareAggregates(await clickhouseRows(services.clickhouseUrl, names.table), expected, 0).length === 0
        && compareAggregates(await redisRows(services.redisUrl, names.redisPrefix), expected, 0).length === 0;
      let diff = '';
      await waitUntil(`the ${expected.length} rows stored in ClickHouse and Redis`, 180_000, async () => {
        if (running.some((d) => d.child.exitCode !== null) || await storedEqual()) return true;
        diff = compareAggregates(await clickhouseRows(services.clickhouseUrl, names.table), expected, 0).slice(0, 5).join('\n');
        return false;
      }, () => `${diff}\n${tails()}`);
      for (const d of running) d.kill('SIGTERM');
    }
  } finally {
    await producer.disconnect();
  }
  const exits = await Promise.all(running.map((d) => Promise.race([d.exited, new Promise<null>((r) => setTimeout(() => r(null), 120_000))])));

  // The files sinks of whichever daemons ran the merge: a row written again after a handover must be
  // the same row, so every row ever written is checked, not only the last one per key.
  const versions = new Map<string, Set<string>>();
  const latest = new Map<string, Record<string, unknown>>();
  for (const d of daemonDirs) {
    const p = join(d, 'files', 'windows.ndjson');
    if (!existsSync(p)) continue;
    for (const line of readFileSync(p, 'utf8').split('\n').filter(Boolean)) {
      const r = JSON.parse(line) as Record<string, unknown>;
      const key = `${String(r.window_start)}|${String(r.type)}|${String(r.region)}`;
      versions.set(key, (versions.get(key) ?? new Set()).add(line));
      latest.set(key, r);
    }
  }
  const stored = (await readTopic(services, names.eventsTopic, oracle.accepted, 120_000)).flatMap((m) => m.split('\n')).filter(Boolean);
  const ids = new Set(stored.map((l) => (JSON.parse(l) as { event_id: string }).event_id));
  const uncommitted: string[] = [];
  if (!c.live) {
    const offsets = await committedVsEnd(services, names.groupId, [names.topic]);
    for (const [tp, o] of Object.entries(offsets)) if (o.committed !== o.end) uncommitted.push(`${tp}: ${o.committed} of ${o.end}`);
  }
  return {
    expectedRows: expected.length,
    sinks: [
      { sink: 'clickhouse', differences: compareAggregates(await clickhouseRows(services.clickhouseUrl, names.table), expected, 0) },
      { sink: 'redis', differences: compareAggregates(await redisRows(services.redisUrl, names.redisPrefix), expected, 0) },
      { sink: 'files', differences: latest.size === 0 ? ['no files sink rows'] : compareAggregates([...latest.values()], expected, 0) },
    ],
    rewrittenDifferently: [...versions].filter(([, v]) => v.size > 1).map(([k, v]) => `${k}: ${[...v].join(' / ')}`),
    eventsTopic: { expected: oracle.accepted, distinct: ids.size, copies: stored.length - ids.size },
    late: all.reduce((n, d) => n + d.status.late, 0),
    exits,
    rebalanceMs,
    restartToConsumingMs: restarted.map((d) => d.firstInputAtMs === null ? Number.NaN : d.firstInputAtMs - d.spawnedAtMs),
    uncommitted,
  };
}
