/**
 * The Kafka path gives the file's answer: the same lines through `ringflow run` with a Kafka source
 * of 1 or 4 partitions (backlog loaded before the start, or produced while the daemon runs; one line
 * or 1000 lines per message) must give, in ClickHouse (FINAL), Redis and the files sink, exactly the
 * window rows of `ringflow replay` on those lines.
 *
 * Lines go to partitions by their event_id, so every copy of an id is in one partition and keeps its
 * order (the first copy wins in both runs). The input's event-time disorder is within the allowed
 * lateness (the generator's jitter), so replay counts no event late, and neither may the Kafka run:
 * a partition fetched later than the others must hold the watermark back from its assignment on.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testServices, uniqueName } from '../../helpers/services.js';
import { compareAggregates } from '../../reference/compare-outputs.js';
import { loadRingflowConfig } from '../../../src/daemon/config.js';
import { replay } from '../../../src/daemon/replay.js';
import { ClickstreamGenerator } from '../../../src/sources/generators/clickstream-events.js';
import {
  clickhouseRows, connectProducer, createTopics, daemonConfig, DaemonProcess, redisRows, waitUntil,
} from './daemon-kit.js';
import type { Producer } from 'kafkajs';

let dir: string;
const children: DaemonProcess[] = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ringflow-daemon-partitions-'));
});

afterAll(() => {
  for (const c of children) if (c.child.exitCode === null) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

/** FNV-1a of the event id (or of the whole line when it has none): the line's partition. */
function partitionOf(line: string, partitions: number): number {
  const id = /"event_id"\s*:\s*"([^"]*)"/.exec(line)?.[1] ?? line;
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193);
  return (h >>> 0) % partitions;
}

/** Per partition, its lines in input order, cut into messages of `linesPerMessage` lines. */
function messagesByPartition(lines: readonly string[], partitions: number, linesPerMessage: number): string[][] {
  const per: string[][] = Array.from({ length: partitions }, () => []);
  for (const line of lines) per[partitionOf(line, partitions)].push(line);
  return per.map((ls) => {
    const out: string[] = [];
    for (let i = 0; i < ls.length; i += linesPerMessage) out.push(ls.slice(i, i + linesPerMessage).join('\n'));
    return out;
  });
}

/** Sends every partition's messages in order, round-robin over partitions, `batch` messages per send. */
async function produce(producer: Producer, topic: string, perPartition: string[][], batch: number, pauseMs = 0): Promise<void> {
  const at = perPartition.map(() => 0);
  for (;;) {
    let sent = false;
    for (let p = 0; p < perPartition.length; p++) {
      const msgs = perPartition[p].slice(at[p], at[p] + batch);
      if (msgs.length === 0) continue;
      at[p] += msgs.length;
      sent = true;
      await producer.send({ topic, acks: -1, messages: msgs.map((value) => ({ value, partition: p })) });
    }
    if (!sent) return;
    if (pauseMs > 0) await new Promise((r) => setTimeout(r, pauseMs));
  }
}

interface Case {
  partitions: number;
  linesPerMessage: number;
  live: boolean;
  events: number;
  seed: number;
}

async function runCase(c: Case): Promise<void> {
  const services = testServices();
  const names = { topic: uniqueName('in'), groupId: uniqueName('grp'), table: uniqueName('win'), redisPrefix: uniqueName('rf') };
  const testDir = join(dir, names.topic);
  mkdirSync(testDir, { recursive: true });
  await createTopics(services, [{ topic: names.topic, numPartitions: c.partitions }]);
  const lines = new ClickstreamGenerator({ seed: c.seed, eventsPerSecond: 100 }).fillLines(c.events);

  // The oracle: ringflow replay of the same lines.
  const inputPath = join(testDir, 'input.ndjson');
  writeFileSync(inputPath, `${lines.join('\n')}\n`);
  const configPath = daemonConfig(services, names, testDir, {
    sinks: { files: { dir: join(testDir, 'files') } },
    // Live production: once everything is read and nothing arrives for 1.5 s, every window is closed.
    daemon: c.live ? { idleCloseMs: 1_500, caughtUpPollMs: 200 } : { caughtUpPollMs: 200 },
  });
  const oracle = await replay({ inputPath, config: await loadRingflowConfig(configPath), outDir: join(testDir, 'replay'), progress: false });
  expect(oracle.late).toBe(0);
  const expected = readFileSync(join(testDir, 'replay', 'aggregates.ndjson'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  expect(new Set(expected.map((r) => r.window_start)).size).toBeGreaterThanOrEqual(4);

  const producer = await connectProducer(services);
  const messages = messagesByPartition(lines, c.partitions, c.linesPerMessage);
  let daemon: DaemonProcess;
  try {
    if (c.live) {
      daemon = new DaemonProcess(configPath, testDir);
      children.push(daemon);
      await waitUntil('the daemon joined its group', 60_000, () => daemon.stderr.includes('ringflow running') || daemon.child.exitCode !== null, () => daemon.tail());
      await produce(producer, names.topic, messages, Math.max(1, Math.floor(200 / c.linesPerMessage)), 20);
      await waitUntil(`every input line read and the ${expected.length} rows' windows closed`, 90_000,
        () => (daemon.status.input >= oracle.input && daemon.status.windows >= new Set(expected.map((r) => r.window_start)).size)
          || daemon.child.exitCode !== null, () => daemon.tail());
      daemon.kill('SIGTERM');
    } else {
      await produce(producer, names.topic, messages, Math.max(1, Math.floor(500 / c.linesPerMessage)));
      daemon = new DaemonProcess(configPath, testDir, ['--until-caught-up']);
      children.push(daemon);
    }
  } finally {
    await producer.disconnect();
  }
  const exit = await Promise.race([daemon.exited, new Promise<null>((r) => setTimeout(() => r(null), 90_000))]);
  expect(exit, `the daemon did not end by itself\n${daemon.tail()}`).toEqual({ code: 0, signal: null });
  expect(daemon.status.input, daemon.tail()).toBe(oracle.input);
  expect(daemon.status.late).toBe(0);

  const files = readFileSync(join(testDir, 'files', 'windows.ndjson'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  expect(compareAggregates(files, expected, 0)).toEqual([]);
  expect(compareAggregates(await clickhouseRows(services.clickhouseUrl, names.table), expected, 0)).toEqual([]);
  expect(compareAggregates(await redisRows(services.redisUrl, names.redisPrefix), expected, 0)).toEqual([]);
}

describe('ringflow run on a Kafka topic = ringflow replay of the same lines', () => {
  it('1 partition, backlog, 1 line per message, --until-caught-up', () => runCase({ partitions: 1, linesPerMessage: 1, live: false, events: 30_000, seed: 31 }));
  it('4 partitions, backlog, 1 line per message, --until-caught-up', () => runCase({ partitions: 4, linesPerMessage: 1, live: false, events: 30_000, seed: 32 }));
  it('4 partitions, backlog, 1000 lines per message, --until-caught-up', () => runCase({ partitions: 4, linesPerMessage: 1000, live: false, events: 60_000, seed: 33 }));
  it('4 partitions, produced while the daemon runs, windows closed by idleCloseMs', () => runCase({ partitions: 4, linesPerMessage: 1, live: true, events: 30_000, seed: 34 }));
});
