/**
 * The Kafka path gives the file's answer: the same lines through `ringflow run` with a Kafka source
 * of 1 or 4 partitions (backlog loaded before the start, or produced while the daemon runs; one line
 * or 1000 lines per message) must give, in ClickHouse (FINAL), Redis and the files sink, exactly the
 * window rows of `ringflow replay` on those lines.
 *
 * Several topics read by one source are one stream too: the lines are split between them (by
 * event_id), and the daemon's answer must still be replay's of all the lines.
 *
 * Lines go to partitions by their event_id, so every copy of an id is in one partition and keeps its
 * order (the first copy wins in both runs); the unkeyed case spreads lines round-robin and has no
 * duplicates, since which copy comes first would then depend on how partitions interleave. The input's event-time disorder is within the allowed
 * lateness (the generator's jitter), so replay counts no event late, and neither may the Kafka run:
 * a partition fetched later than the others must hold the watermark back from its assignment on.
 *
 * Issue 15: with 0.1% of the events stamped years off, the daemon's windows must equal replay's of the
 * same lines and replay's of the clean lines (the skewed events left out), with every skewed event in
 * the dead letter.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testServices, uniqueName } from '../../helpers/services.js';
import { compareAggregates } from '../../reference/compare-outputs.js';
import { ClickstreamGenerator } from '../../../src/sources/generators/clickstream-events.js';
import { prng } from '../../helpers/prng.js';
import { TS_END_MS, TS_MIN_MS } from '../../reference/canonical-validate.js';
import {
  clickhouseRows, committedVsEnd, connectProducer, createTopics, daemonConfig, DaemonProcess, messagesByPartition, partitionOf, producePartitioned, redisRows,
  latestFileRows, replayOracle, waitUntil,
} from './daemon-kit.js';

let dir: string;
const children: DaemonProcess[] = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ringflow-daemon-partitions-'));
});

afterAll(() => {
  for (const c of children) if (c.child.exitCode === null) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

interface Case {
  /** Partitions of the (first) topic. */
  partitions: number;
  /** Several topics read by one source: partitions per extra topic (the first has `partitions`). */
  moreTopics?: number[];
  linesPerMessage: number;
  live: boolean;
  events: number;
  seed: number;
  /** Round-robin instead of by event id: copies of an id may land in different partitions, so no duplicates. */
  unkeyed?: boolean;
  /** Issue 15: this share of the events (of ids seen once) stamped 1 to 30 years off, either way, anywhere. */
  skewRate?: number;
  /** Issue 15: late events (2 to 10 min behind) at this rate, and aggregate.allowedLatenessMs: windows take updates. */
  late?: { rate: number; allowedLatenessMs: number };
}

const YEAR_MS = 365 * 86_400_000;

/** Lines with a share of their events stamped years off (the line indices returned too); ts keeps its place in the line. */
function withSkewedStamps(lines: readonly string[], rate: number, seed: number): { lines: string[]; skewed: Set<number> } {
  const next = prng(seed);
  const uniform = (): number => next() / 2 ** 32;
  const idCount = new Map<string, number>();
  const parsed = lines.map((l) => { try { return JSON.parse(l) as { event_id?: unknown; ts?: unknown }; } catch { return null; } });
  for (const e of parsed) if (e && typeof e.event_id === 'string') idCount.set(e.event_id, (idCount.get(e.event_id) ?? 0) + 1);
  const out = [...lines];
  const skewed = new Set<number>();
  parsed.forEach((e, i) => {
    if (!e || typeof e.ts !== 'number' || idCount.get(e.event_id as string) !== 1 || uniform() >= rate) return;
    const offset = (uniform() < 0.5 ? -1 : 1) * Math.round((1 + uniform() * 29) * YEAR_MS);
    // Within the field's valid range (else the line is out_of_range, not skewed): the other way if needed.
    const moved = e.ts + offset >= TS_MIN_MS && e.ts + offset < TS_END_MS ? e.ts + offset : e.ts - offset;
    out[i] = lines[i].replace(`"ts":${e.ts}`, `"ts":${moved}`);
    if (out[i] !== lines[i]) skewed.add(i);
  });
  return { lines: out, skewed };
}

async function runCase(c: Case): Promise<void> {
  const services = testServices();
  const names = { topic: uniqueName('in'), groupId: uniqueName('grp'), table: uniqueName('win'), redisPrefix: uniqueName('rf') };
  const testDir = join(dir, names.topic);
  mkdirSync(testDir, { recursive: true });
  const topics = [{ topic: names.topic, numPartitions: c.partitions }, ...(c.moreTopics ?? []).map((n, i) => ({ topic: `${names.topic}_${i + 2}`, numPartitions: n }))];
  await createTopics(services, topics);
  const generated = new ClickstreamGenerator({ seed: c.seed, eventsPerSecond: 100, ...(c.unkeyed ? { duplicateRate: 0 } : {}),
    ...(c.late ? { lateRate: c.late.rate } : {}) }).fillLines(c.events);
  const { lines, skewed } = c.skewRate ? withSkewedStamps(generated, c.skewRate, c.seed) : { lines: generated, skewed: new Set<number>() };
  // Several topics: a line's topic follows its event_id too (hash mod 3, independent of the partition's
  // hash mod 2^k), so every copy of an id is in one partition of one topic.
  const linesOf = topics.map(() => [] as string[]);
  for (const line of lines) linesOf[topics.length === 1 ? 0 : partitionOf(line, 3) % topics.length].push(line);

  const configPath = daemonConfig(services, names, testDir, {
    sinks: { files: { dir: join(testDir, 'files') } },
    ...(topics.length > 1 ? { kafka: { topic: topics.map((t) => t.topic) } } : {}),
    // Live production: once everything is read and nothing arrives for 1.5 s, every window is closed.
    daemon: c.live ? { idleCloseMs: 1_500, caughtUpPollMs: 200 } : { caughtUpPollMs: 200 },
    ...(c.late ? { aggregate: { allowedLatenessMs: c.late.allowedLatenessMs } } : {}),
  });
  const { summary: oracle, rows: expected } = await replayOracle(configPath, lines, testDir);
  if (skewed.size > 0) {
    // The clean file: the same lines without the skewed events. Every window must be the same.
    mkdirSync(join(testDir, 'clean'));
    const clean = await replayOracle(configPath, lines.filter((_, i) => !skewed.has(i)), join(testDir, 'clean'));
    expect(compareAggregates(expected as unknown as Record<string, unknown>[], clean.rows, 0)).toEqual([]);
    expect(oracle.input - clean.summary.input).toBe(skewed.size);
  } else if (!c.late) expect(oracle.late).toBe(0);
  expect(new Set(expected.map((r) => r.window_start)).size).toBeGreaterThanOrEqual(4);

  const producer = await connectProducer(services);
  const produceAll = (batch: number, pauseMs?: number) => Promise.all(topics.map((t, i) =>
    producePartitioned(producer, t.topic, messagesByPartition(linesOf[i], t.numPartitions, c.linesPerMessage, !c.unkeyed), batch, pauseMs)));
  let daemon: DaemonProcess;
  try {
    if (c.live) {
      daemon = new DaemonProcess(configPath, testDir);
      children.push(daemon);
      await waitUntil('the daemon joined its group', 60_000, () => daemon.stderr.includes('ringflow running') || daemon.child.exitCode !== null, () => daemon.tail());
      await produceAll(Math.max(1, Math.floor(200 / c.linesPerMessage)), 20);
      await waitUntil(`every input line read and the ${expected.length} rows' windows closed`, 90_000,
        () => (daemon.status.input >= oracle.input && daemon.status.windows >= new Set(expected.map((r) => r.window_start)).size)
          || daemon.child.exitCode !== null, () => daemon.tail());
      daemon.kill('SIGTERM');
    } else {
      await produceAll(Math.max(1, Math.floor(500 / c.linesPerMessage)));
      daemon = new DaemonProcess(configPath, testDir, ['--until-caught-up']);
      children.push(daemon);
    }
  } finally {
    await producer.disconnect();
  }
  const exit = await Promise.race([daemon.exited, new Promise<null>((r) => setTimeout(() => r(null), 90_000))]);
  expect(exit, `the daemon did not end by itself\n${daemon.tail()}`).toEqual({ code: 0, signal: null });
  expect(daemon.status.input, daemon.tail()).toBe(oracle.input);
  if (skewed.size > 0) {
    // Every skewed event is in the dead letter: future_ts / past_ts, or late when years behind its partition.
    const deadLetter = readFileSync(join(testDir, 'dead-letter.ndjson'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { reason: string; raw: string });
    const stamped = new Set([...skewed].map((i) => lines[i]));
    const theirs = deadLetter.filter((e) => stamped.has(e.raw));
    const missing = [...stamped].filter((l) => !theirs.some((e) => e.raw === l));
    expect(missing, daemon.tail()).toEqual([]);
    for (const e of theirs) expect(['future_ts', 'past_ts', 'late']).toContain(e.reason);
    expect(daemon.status.accepted).toBe(oracle.accepted);
  } else expect(daemon.status.late).toBe(oracle.late);

  const files = readFileSync(join(testDir, 'files', 'windows.ndjson'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  if (c.late) {
    // Late events within allowedLatenessMs came after their window's first row: the row was written
    // again, whole. Every version is in the files sink; the last one per key is the final row.
    const revisions = new Map<string, unknown[]>();
    for (const r of files) {
      const key = `${String(r.window_start)}|${String(r.type)}|${String(r.region)}`;
      revisions.set(key, [...(revisions.get(key) ?? []), r.revision]);
    }
    expect(files.length).toBeGreaterThan(revisions.size);
    // Each row's versions in the order written: revision 0, 1, 2, ...
    for (const [key, seq] of revisions) expect(seq, key).toEqual(seq.map((_, i) => i));
    expect(oracle.late).toBeGreaterThan(0); // and some were later than that: dead-lettered
    expect(compareAggregates(latestFileRows(join(testDir, 'files', 'windows.ndjson')), expected, 0)).toEqual([]);
  } else expect(compareAggregates(files, expected, 0)).toEqual([]);
  expect(compareAggregates(await clickhouseRows(services.clickhouseUrl, names.table), expected, 0)).toEqual([]);
  expect(compareAggregates(await redisRows(services.redisUrl, names.redisPrefix), expected, 0)).toEqual([]);
  // Every window is closed and acknowledged, so every partition of every topic is committed to its end
  // (a commit mapped to the wrong topic or partition would leave one behind and move another past).
  const offsets = await committedVsEnd(services, names.groupId, topics.map((t) => t.topic));
  expect(Object.keys(offsets).length).toBe(topics.reduce((n, t) => n + t.numPartitions, 0));
  for (const [tp, o] of Object.entries(offsets)) {
    // Stopped while its last windows still take updates (allowedLatenessMs): their events stay
    // uncommitted, for a restart to compute those windows whole again.
    if (c.late && c.live) expect(o.committed, tp).toBeLessThan(o.end);
    else expect(o.committed, tp).toBe(o.end);
  }
}

describe('ringflow run on a Kafka topic = ringflow replay of the same lines', () => {
  it('1 partition, backlog, 1 line per message, --until-caught-up', () => runCase({ partitions: 1, linesPerMessage: 1, live: false, events: 30_000, seed: 31 }));
  it('4 partitions, backlog, 1 line per message, --until-caught-up', () => runCase({ partitions: 4, linesPerMessage: 1, live: false, events: 30_000, seed: 32 }));
  it('4 partitions, backlog, 1000 lines per message, --until-caught-up', () => runCase({ partitions: 4, linesPerMessage: 1000, live: false, events: 60_000, seed: 33 }));
  it('4 partitions, unkeyed (round-robin), backlog, 1 line per message, --until-caught-up', () => runCase({ partitions: 4, linesPerMessage: 1, live: false, events: 30_000, seed: 35, unkeyed: true }));
  it('4 partitions, produced while the daemon runs, windows closed by idleCloseMs', () => runCase({ partitions: 4, linesPerMessage: 1, live: true, events: 30_000, seed: 34 }));
  it('two topics (4 + 2 partitions) in one source, backlog, --until-caught-up', () => runCase({ partitions: 4, moreTopics: [2], linesPerMessage: 1, live: false, events: 30_000, seed: 36 }));
  it('issue 15: 0.1% of events years off, 4 partitions, backlog: every window equals the clean file\'s', () =>
    runCase({ partitions: 4, linesPerMessage: 1, live: false, events: 30_000, seed: 38, skewRate: 0.001 }));
  it('issue 15: 0.1% of events years off, 4 partitions, 10 lines per message, produced while the daemon runs', () =>
    runCase({ partitions: 4, linesPerMessage: 10, live: true, events: 30_000, seed: 39, skewRate: 0.001 }));
  it('issue 15: late events, 5 min of allowed lateness: updated rows in ClickHouse, Redis and files, 1 partition, backlog', () =>
    runCase({ partitions: 1, linesPerMessage: 1, live: false, events: 30_000, seed: 40, late: { rate: 0.01, allowedLatenessMs: 300_000 } }));
  it('issue 15: late events, 5 min of allowed lateness, 1 partition, produced while the daemon runs', () =>
    runCase({ partitions: 1, linesPerMessage: 10, live: true, events: 30_000, seed: 41, late: { rate: 0.01, allowedLatenessMs: 300_000 } }));
  it('two topics (4 + 1 partitions) in one source, 100 lines per message, produced while the daemon runs', () => runCase({ partitions: 4, moreTopics: [1], linesPerMessage: 100, live: true, events: 40_000, seed: 37 }));
});
