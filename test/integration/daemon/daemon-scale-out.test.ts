/**
 * Several daemons in one consumer group (daemon.scaleOut) give the one-daemon answer: the same lines
 * through 1, 2 or 3 `ringflow run` processes sharing a Kafka topic of 4 or 8 partitions must give, in
 * ClickHouse (FINAL), Redis, the files sink and the processed-events topic, exactly what `ringflow
 * replay` gives on those lines, whatever joins, leaves or is killed in between (scale-out-kit.ts).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testServices } from '../../helpers/services.js';
import type { DaemonProcess } from './daemon-kit.js';
import { runScaleOutCase, type ScaleOutCase } from './scale-out-kit.js';

let dir: string;
const children: DaemonProcess[] = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ringflow-scale-out-'));
});

afterAll(() => {
  for (const c of children) if (c.child.exitCode === null) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

async function check(c: ScaleOutCase): Promise<void> {
  const r = await runScaleOutCase(c, { services: testServices(), dir, children });
  for (const e of r.exits) expect(e).toEqual({ code: 0, signal: null });
  expect(r.late).toBe(0);
  for (const s of r.sinks) expect(s.differences, s.sink).toEqual([]);
  expect(r.rewrittenDifferently).toEqual([]);
  // Every accepted event is in the processed-events topic (re-read spans may add copies).
  expect(r.eventsTopic.distinct).toBe(r.eventsTopic.expected);
  // A finished run commits every partition to its end.
  expect(r.uncommitted).toEqual([]);
}

describe('several daemons in one consumer group = ringflow replay of the same lines', () => {
  it('1 daemon with scale-out on, 4 partitions, backlog, --until-caught-up', () => check({ daemons: 1, partitions: 4, live: false, events: 30_000, seed: 51 }), 300_000);
  it('2 daemons, 4 partitions, produced while they run', () => check({ daemons: 2, partitions: 4, live: true, events: 30_000, seed: 52 }), 300_000);
  it('2 daemons, 4 partitions, backlog, --until-caught-up', () => check({ daemons: 2, partitions: 4, live: false, events: 30_000, seed: 53 }), 300_000);
  it('a second daemon joins mid-stream, 4 partitions, produced while they run', () => check({ daemons: 2, partitions: 4, live: true, events: 30_000, seed: 54, midStream: 'add' }), 300_000);
  it('one of 2 daemons killed with SIGKILL mid-stream and started again, 4 partitions', () => check({ daemons: 2, partitions: 4, live: true, events: 30_000, seed: 55, midStream: 'kill9' }), 300_000);
  it('one of 2 daemons stopped with SIGTERM mid-stream, 4 partitions', () => check({ daemons: 2, partitions: 4, live: true, events: 30_000, seed: 56, midStream: 'sigterm' }), 300_000);
  it('3 daemons, 8 partitions, produced while they run', () => check({ daemons: 3, partitions: 8, live: true, events: 40_000, seed: 57 }), 300_000);
  it('3 daemons, 8 partitions, backlog, --until-caught-up', () => check({ daemons: 3, partitions: 8, live: false, events: 40_000, seed: 58 }), 300_000);
});
