/**
 * Several daemons in one consumer group (daemon.scaleOut) give the one-daemon answer: the same lines
 * through 1 or 2 `ringflow run` processes sharing a Kafka topic of several partitions must give, in
 * ClickHouse (FINAL), Redis and the files sink, exactly the window rows of `ringflow replay` on those
 * lines. Each daemon writes its window cells per source partition to the partials topic; the daemon
 * that owns the merge group's partition merges them and writes the rows.
 *
 * Lines go to partitions by event_id, so every copy of an id is in one partition (dedupe is exact
 * across daemons then); the input's disorder is within the allowed lateness, so no event is late.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testServices, uniqueName } from '../../helpers/services.js';
import { compareAggregates } from '../../reference/compare-outputs.js';
import { ClickstreamGenerator } from '../../../src/sources/generators/clickstream-events.js';
import {
  clickhouseRows, committedVsEnd, connectProducer, createTopics, daemonConfig, DaemonProcess, messagesByPartition,
  producePartitioned, readTopic, redisRows, replayOracle, waitUntil,
} from './daemon-kit.js';

let dir: string;
const children: DaemonProcess[] = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ringflow-scale-out-'));
});

afterAll(() => {
  for (const c of children) if (c.child.exitCode === null) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

interface Case {
  daemons: number;
  partitions: number;
  /** Produced while the daemons run (ended with SIGTERM once every row is stored), else a backlog read with --until-caught-up. */
  live: boolean;
  events: number;
  seed: number;
  /**
   * Live only, once windows of the first half were emitted: `add` starts the last daemon then; `kill9`
   * kills the last daemon with SIGKILL and starts it again; `sigterm` stops the last daemon for good.
   */
  midStream?: 'add' | 'kill9' | 'sigterm';
}

/** The source partitions a daemon was given at its last join, from its log. */
function lastAssignment(d: DaemonProcess): number[] | null {
  const lines = d.stderr.split('\n').filter((l) => l.includes('scale-out: assigned source partitions'));
  const last = lines[lines.length - 1];
  if (!last) return null;
  const m = /"partitions":\[([\d,]*)\]/.exec(last) ?? /partitions: \[([\d, ]*)\]/.exec(last);
  return m ? m[1].split(',').filter((x) => x.trim() !== '').map(Number) : null;
}

async function runCase(c: Case): Promise<void> {
  const services = testServices();
  const names = { topic: uniqueName('in'), groupId: uniqueName('grp'), table: uniqueName('win'), redisPrefix: uniqueName('rf'), eventsTopic: uniqueName('events') };
  const partialsTopic = uniqueName('partials');
  await createTopics(services, [{ topic: names.topic, numPartitions: c.partitions }, { topic: names.eventsTopic, numPartitions: c.partitions }]);
  const lines = new ClickstreamGenerator({ seed: c.seed, eventsPerSecond: 100 }).fillLines(c.events);
  const daemonDirs = Array.from({ length: c.daemons }, (_, i) => join(dir, names.topic, `daemon-${i}`));
  const configs = daemonDirs.map((d) => {
    mkdirSync(d, { recursive: true });
    return daemonConfig(services, names, d, {
      sinks: { files: { dir: join(d, 'files') } },
      // Live: the last windows close once nothing arrives for a while; longer than the pause while a daemon joins.
      daemon: { scaleOut: { partialsTopic }, caughtUpPollMs: 200, ...(c.live ? { idleCloseMs: c.midStream ? 15_000 : 1_500 } : {}) },
    });
  });
  const { summary: oracle, rows: expected } = await replayOracle(configs[0], lines, daemonDirs[0]);
  expect(oracle.late).toBe(0);
  expect(new Set(expected.map((r) => r.window_start)).size).toBeGreaterThanOrEqual(4);

  const producer = await connectProducer(services);
  const daemons: DaemonProcess[] = [];
  /** Killed or stopped mid-stream: not expected to exit 0 at the end. */
  const stopped = new Set<DaemonProcess>();
  const tails = () => daemons.map((d, i) => `--- daemon ${i}\n${d.tail(15)}`).join('\n');
  try {
    if (!c.live) await producePartitioned(producer, names.topic, messagesByPartition(lines, c.partitions, 1), 500);
    const start = (i: number): DaemonProcess => {
      const d = new DaemonProcess(configs[i], daemonDirs[i], c.live ? [] : ['--until-caught-up']);
      daemons.push(d);
      children.push(d);
      return d;
    };
    const firstWave = c.midStream === 'add' ? c.daemons - 1 : c.daemons;
    for (let i = 0; i < firstWave; i++) start(i);
    const perPartition = messagesByPartition(lines, c.partitions, 1);
    if (c.midStream) {
      await waitUntil('the first daemons own every partition', 90_000, () => {
        const owned = daemons.map(lastAssignment);
        return owned.every((o) => o !== null && o.length > 0) && new Set(owned.flat()).size === c.partitions;
      }, tails);
      // The first half, then wait until windows of it were emitted: after the newcomer's join the others
      // read again from their commits (the dedupe replay start), and the merge must ignore what they emit
      // again for those windows.
      await producePartitioned(producer, names.topic, perPartition.map((m) => m.slice(0, m.length >> 1)), 200, 20);
      await waitUntil('windows of the first half emitted', 90_000, () => daemons[0].status.windows >= 2, tails);
      const last = daemons[daemons.length - 1];
      if (c.midStream === 'add') start(c.daemons - 1);
      else {
        last.kill(c.midStream === 'kill9' ? 'SIGKILL' : 'SIGTERM');
        const exit = await last.exited;
        if (c.midStream === 'sigterm') expect(exit, last.tail()).toEqual({ code: 0, signal: null });
        stopped.add(last);
        if (c.midStream === 'kill9') start(c.daemons - 1);
      }
    }
    if (c.live) {
      // Every daemon joined and the group settled (every partition owned, each daemon some) before production.
      await waitUntil('the group settled', 90_000, () => {
        const owned = daemons.map(lastAssignment);
        return owned.every((o) => o !== null && o.length > 0) && new Set(owned.flat()).size === c.partitions;
      }, tails);
      await producePartitioned(producer, names.topic, c.midStream ? perPartition.map((m) => m.slice(m.length >> 1)) : perPartition, 200, 20);
      const storedEqual = async (): Promise<boolean> => compareAggregates(await clickhouseRows(services.clickhouseUrl, names.table), expected, 0).length === 0
        && compareAggregates(await redisRows(services.redisUrl, names.redisPrefix), expected, 0).length === 0;
      let diff = '';
      await waitUntil(`the ${expected.length} rows stored in ClickHouse and Redis`, 120_000, async () => {
        if (daemons.some((d) => !stopped.has(d) && d.child.exitCode !== null) || await storedEqual()) return true;
        diff = compareAggregates(await clickhouseRows(services.clickhouseUrl, names.table), expected, 0).slice(0, 5).join('\n');
        return false;
      }, () => `${diff}\n${tails()}`);
      for (const d of daemons) if (!stopped.has(d)) d.kill('SIGTERM');
    }
  } finally {
    await producer.disconnect();
  }
  for (const [i, d] of daemons.entries()) {
    if (stopped.has(d)) continue;
    const exit = await Promise.race([d.exited, new Promise<null>((r) => setTimeout(() => r(null), 120_000))]);
    expect(exit, `daemon ${i} did not end by itself\n${tails()}`).toEqual({ code: 0, signal: null });
  }
  expect(daemons.reduce((n, d) => n + d.status.late, 0)).toBe(0);

  // The files sinks of whichever daemons ran the merge: a row written again after a handover must be
  // the same row, so every row ever written is compared, not only the last one per key.
  const files = daemonDirs.map((d) => join(d, 'files', 'windows.ndjson')).filter((p) => existsSync(p) && readFileSync(p, 'utf8').trim() !== '');
  expect(files.length).toBeGreaterThan(0);
  const versions = new Map<string, Set<string>>();
  const latest = new Map<string, Record<string, unknown>>();
  for (const p of files) {
    for (const line of readFileSync(p, 'utf8').split('\n').filter(Boolean)) {
      const r = JSON.parse(line) as Record<string, unknown>;
      const key = `${String(r.window_start)}|${String(r.type)}|${String(r.region)}`;
      versions.set(key, (versions.get(key) ?? new Set()).add(line));
      latest.set(key, r);
    }
  }
  expect([...versions].filter(([, v]) => v.size > 1).map(([k, v]) => `${k}: ${[...v].join(' / ')}`)).toEqual([]);
  expect(compareAggregates([...latest.values()], expected, 0)).toEqual([]);
  expect(compareAggregates(await clickhouseRows(services.clickhouseUrl, names.table), expected, 0)).toEqual([]);
  expect(compareAggregates(await redisRows(services.redisUrl, names.redisPrefix), expected, 0)).toEqual([]);
  // The processed-events topic: every accepted event is there (re-read spans may add copies).
  const stored = (await readTopic(services, names.eventsTopic, oracle.accepted, 120_000)).flatMap((m) => m.split('\n')).filter(Boolean);
  expect(new Set(stored.map((l) => (JSON.parse(l) as { event_id: string }).event_id)).size).toBe(oracle.accepted);
  if (!c.live) {
    // Finished: every source partition is committed to its end.
    const offsets = await committedVsEnd(services, names.groupId, [names.topic]);
    for (const [tp, o] of Object.entries(offsets)) expect(o.committed, tp).toBe(o.end);
  }
}

describe('several daemons in one consumer group = ringflow replay of the same lines', () => {
  it('1 daemon with scale-out on, 4 partitions, backlog, --until-caught-up', () => runCase({ daemons: 1, partitions: 4, live: false, events: 30_000, seed: 51 }), 300_000);
  it('2 daemons, 4 partitions, produced while they run', () => runCase({ daemons: 2, partitions: 4, live: true, events: 30_000, seed: 52 }), 300_000);
  it('2 daemons, 4 partitions, backlog, --until-caught-up', () => runCase({ daemons: 2, partitions: 4, live: false, events: 30_000, seed: 53 }), 300_000);
  it('a second daemon joins mid-stream, 4 partitions, produced while they run', () => runCase({ daemons: 2, partitions: 4, live: true, events: 30_000, seed: 54, midStream: 'add' }), 300_000);
  it('one of 2 daemons killed with SIGKILL mid-stream and started again, 4 partitions', () => runCase({ daemons: 2, partitions: 4, live: true, events: 30_000, seed: 55, midStream: 'kill9' }), 300_000);
  it('one of 2 daemons stopped with SIGTERM mid-stream, 4 partitions', () => runCase({ daemons: 2, partitions: 4, live: true, events: 30_000, seed: 56, midStream: 'sigterm' }), 300_000);
  it('3 daemons, 8 partitions, produced while they run', () => runCase({ daemons: 3, partitions: 8, live: true, events: 40_000, seed: 57 }), 300_000);
  it('3 daemons, 8 partitions, backlog, --until-caught-up', () => runCase({ daemons: 3, partitions: 8, live: false, events: 40_000, seed: 58 }), 300_000);
});
