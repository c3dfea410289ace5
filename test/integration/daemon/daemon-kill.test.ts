/**
 * kill -9 while events are produced into a 4-partition topic, at seeded random points, then a restart:
 * ClickHouse (FINAL), Redis and the files sink (last row per window and group) must equal `ringflow
 * replay` of the same lines, and the restarted daemon must consume again within seconds (it rejoins
 * as the member the killed one was: member-id-file.ts). `npm run reliability` runs the same scenarios
 * with more kills and writes RELIABILITY.md.
 *
 * Default mode keeps the watermark in the commit metadata but no dedupe state, so its input has no
 * duplicates; checkpoint mode restores the Bloom filters and open windows, so its input has them.
 * One case reads two topics as one source, so commits, their metadata and checkpoints are mapped
 * to the right (topic, partition) across restarts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DaemonProcess } from './daemon-kit.js';
import { runFaultScenario } from './fault-scenario.js';

let dir: string;
const children: DaemonProcess[] = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ringflow-daemon-kill-'));
});

afterAll(() => {
  for (const c of children) if (c.child.exitCode === null) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

describe('ringflow run: kill -9 on a 4-partition topic', () => {
  for (const [name, checkpoints, duplicateRate, seed] of [
    ['default mode (watermark in the commit metadata), no duplicates', false, 0, 41],
    ['checkpoint mode, with duplicates', true, 0.05, 42],
  ] as const) {
    it(`${name}: every window equals replay; consuming again within seconds`, async () => {
      const r = await runFaultScenario({ dir, seed, partitions: 4, events: 40_000, fault: { kind: 'kill', times: 2 }, checkpoints, duplicateRate, children });
      expect(r.exit).toEqual({ code: 0, signal: null });
      for (const s of r.sinks) expect(s.differences, s.sink).toEqual([]);
      // The processed-events topic: every accepted event is there (re-read ranges may add copies).
      expect(r.eventsTopic.distinct).toBe(r.eventsTopic.expected);
      expect(r.restartToConsumingMs).toHaveLength(2);
      // Without the member id the restart waits out the killed member's session (10 s in this config).
      for (const ms of r.restartToConsumingMs) expect(ms).toBeLessThan(8_000);
    });
  }

  it('two topics (4 + 2 partitions) in one source, checkpoint mode, with duplicates: every window equals replay', async () => {
    const r = await runFaultScenario({ dir, seed: 43, partitions: 4, moreTopics: [2], events: 40_000, fault: { kind: 'kill', times: 2 }, checkpoints: true, duplicateRate: 0.05, children });
    expect(r.exit).toEqual({ code: 0, signal: null });
    for (const s of r.sinks) expect(s.differences, s.sink).toEqual([]);
    expect(r.eventsTopic.distinct).toBe(r.eventsTopic.expected);
    expect(r.restartToConsumingMs).toHaveLength(2);
  });
});
