/**
 * Scale-out without Kafka: pipelines with per-source-partition cells (plan.sourcePartitionCells) hand
 * their partials, as the partials topic's lines, to a MergeStage, which must give the rows one plain
 * pipeline gives on the same pushes: first with one pipeline owning every source partition, then with
 * the partitions split between two pipelines (two daemons), the records of both interleaved, some
 * sent twice and a daemon's partials for windows it re-read after a marker mixed in.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadRingflowConfig, type RingflowConfig } from '../../../src/daemon/config.js';
import { Pipeline } from '../../../src/pipeline/pipeline.js';
import { compilePipelinePlan } from '../../../src/pipeline/plan.js';
import { decodePartialRecord, encodeMarker, encodePartial } from '../../../src/pipeline/scale-out/partial-records.js';
import { MergeStage, type MergeShape } from '../../../src/pipeline/scale-out/merge-stage.js';
import { decodeMergeState, encodeMergeState, MergeCommits } from '../../../src/pipeline/scale-out/merge-commits.js';
import { accumulatorLayout } from '../../../src/kernels/window/table.js';
import { ClickstreamGenerator } from '../../../src/sources/generators/clickstream-events.js';
import { xxh32 } from '../../../src/kernels/shared/xxhash32.js';
import type { WindowRow } from '../../../src/contracts/index.js';

const exampleConfig = join(import.meta.dirname, '../../../examples/clickstream.json');
const SOURCES = 4;

/**
 * Generated lines split by event_id (the dedupe key) into SOURCES partitions, as a producer keyed by it
 * would, each cut into chunks: every copy of a key is then in one partition, which dedupe across
 * daemons needs.
 */
function partitionedChunks(events: number, seed: number, lateRate: number, eventsPerSecond = 300): Uint8Array[][] {
  const gen = new ClickstreamGenerator({ seed, invalidRate: 0.03, duplicateRate: 0.08, lateRate, eventsPerSecond });
  const lines: string[][] = Array.from({ length: SOURCES }, () => []);
  const enc = new TextEncoder();
  for (let i = 0; i < events; i++) {
    const line = gen.nextLine();
    const key = enc.encode(eventIdOf(line));
    lines[xxh32(key, 0, key.length, 0) % SOURCES].push(line);
  }
  return lines.map((ls) => {
    const chunks: Uint8Array[] = [];
    for (let i = 0; i < ls.length; i += 97) chunks.push(enc.encode(`${ls.slice(i, i + 97).join('\n')}\n`));
    return chunks;
  });
}

/** The decoded event_id (a line may spell it with JSON escapes), or '' for a line without one. */
function eventIdOf(line: string): string {
  try {
    const o = JSON.parse(line) as { event_id?: unknown };
    return typeof o.event_id === 'string' ? o.event_id : '';
  } catch {
    return '';
  }
}

const rowKey = (r: WindowRow): string => JSON.stringify(Object.entries(r).sort(([a], [b]) => (a < b ? -1 : 1)));
const sortedRows = (rows: WindowRow[]): string[] => rows.map(rowKey).sort();

function configFor(base: RingflowConfig): RingflowConfig {
  return { ...base, runtime: { ...base.runtime, threads: 2, partitions: 3, batchRows: 64, ringSlots: 4 } };
}

/** One pipeline over `sources` (round-robin chunk pushes); rows, or the partials topic's lines. */
async function runPipeline(config: RingflowConfig, chunks: Uint8Array[][], sources: number[], partials: boolean): Promise<{ rows: WindowRow[]; lines: string[] }> {
  const rows: WindowRow[] = [];
  const lines: string[] = [];
  const pipeline = await Pipeline.create(compilePipelinePlan(config, { emitEvents: false, ingest: { decodeThreads: 0 }, sourcePartitionCells: partials }), {
    onWindowRows: (r) => { rows.push(...r); },
    onWindowPartials: (cells, throughMs) => {
      for (const c of cells) lines.push(encodePartial(c));
      for (const s of sources) lines.push(encodeMarker({ sourcePartition: s, closedThroughMs: throughMs, sourcePartitions: SOURCES }));
    },
    onDeadLetter: () => undefined,
  });
  try {
    for (const s of sources) pipeline.assignStream(s, false);
    const longest = Math.max(...sources.map((s) => chunks[s].length));
    for (let i = 0; i < longest; i++) {
      for (const s of sources) if (i < chunks[s].length) await pipeline.openStream(s).push(chunks[s][i]);
    }
    await pipeline.finish();
  } finally {
    await pipeline.close();
  }
  return { rows, lines };
}

function shapeOf(config: RingflowConfig): MergeShape {
  const a = config.aggregate;
  return { windowSizeMs: a.window.sizeMs, groupFields: a.groupBy, layout: accumulatorLayout(a.metrics, a.hllPrecision) };
}

function merge(config: RingflowConfig, lines: string[]): { rows: WindowRow[]; stage: MergeStage } {
  const stage = new MergeStage(shapeOf(config));
  const rows: WindowRow[] = [];
  for (const line of lines) {
    stage.apply(decodePartialRecord(line));
    rows.push(...stage.takeFinal());
  }
  return { rows, stage };
}

describe('scale-out merge of per-source-partition partials', () => {
  it('one pipeline owning every source partition: merged partials equal the plain rows', async () => {
    const config = configFor(await loadRingflowConfig(exampleConfig));
    const chunks = partitionedChunks(6000, 21, 0.03);
    const all = [0, 1, 2, 3];
    const plain = await runPipeline(config, chunks, all, false);
    const split = await runPipeline(config, chunks, all, true);
    expect(split.rows).toEqual([]);
    const merged = merge(config, split.lines);
    expect(plain.rows.length).toBeGreaterThan(20);
    expect(sortedRows(merged.rows)).toEqual(sortedRows(plain.rows));
    expect(merged.stage.pendingCells).toBe(0);
    expect(merged.stage.emittedThroughMs).toBe(Number.POSITIVE_INFINITY);
  }, 120_000);

  it('two pipelines sharing the source partitions, records interleaved and redelivered, equal one pipeline', async () => {
    const config = configFor(await loadRingflowConfig(exampleConfig));
    // No event later than allowedLatenessMs: lateness then does not depend on how partitions are split.
    const chunks = partitionedChunks(6000, 22, 0);
    const plain = await runPipeline(config, chunks, [0, 1, 2, 3], false);
    const a = await runPipeline(config, chunks, [0, 3], true);
    const b = await runPipeline(config, chunks, [1, 2], true);
    // Interleave the two daemons' writes; send every 5th record of A twice (a retried produce request).
    const lines: string[] = [];
    for (let i = 0; i < Math.max(a.lines.length, b.lines.length); i++) {
      if (i < a.lines.length) lines.push(a.lines[i], ...(i % 5 === 0 ? [a.lines[i]] : []));
      if (i < b.lines.length) lines.push(b.lines[i]);
    }
    // A daemon that took partition 1 over and re-read it from an old offset writes a partial of a
    // window the marker of partition 1 already passed, with fewer events: it must change nothing.
    const windowMs = config.aggregate.window.sizeMs;
    const stale = b.lines.map(decodePartialRecord).find((r) => r.kind === 'partial' && r.cell.sourcePartition === 1 && r.cell.count > 1);
    expect(stale?.kind).toBe('partial');
    if (stale?.kind === 'partial') {
      const passed = lines.findIndex((l) => {
        const r = decodePartialRecord(l);
        return r.kind === 'marker' && r.marker.sourcePartition === 1 && r.marker.closedThroughMs >= stale.cell.windowStartMs + windowMs;
      });
      expect(passed).toBeGreaterThan(0);
      lines.splice(passed + 1, 0, encodePartial({ ...stale.cell, count: 1 }));
    }
    const merged = merge(config, lines);
    expect(sortedRows(merged.rows)).toEqual(sortedRows(plain.rows));
    expect(merged.stage.counters.replaced).toBeGreaterThan(0);
    expect(merged.stage.counters.ignored).toBeGreaterThan(0);
  }, 120_000);

  it('restores from a restart state and holds windows until every source partition passed them', async () => {
    const config = configFor(await loadRingflowConfig(exampleConfig));
    const chunks = partitionedChunks(3000, 23, 0, 15);
    const plain = await runPipeline(config, chunks, [0, 1, 2, 3], false);
    const a = await runPipeline(config, chunks, [0, 3], true);
    const b = await runPipeline(config, chunks, [1, 2], true);
    // Two daemons' writes interleaved unevenly, so one window's partials arrive far apart.
    const lines: string[] = [];
    for (let i = 0, j = 0; i < a.lines.length || j < b.lines.length;) {
      if (i < a.lines.length) lines.push(a.lines[i++]);
      if (i < a.lines.length) lines.push(a.lines[i++]);
      if (j < b.lines.length) lines.push(b.lines[j++]);
    }
    // The first owner reads up to a cut (one chunk per line), everything it emitted is acknowledged, and
    // it commits what settled (merge-commits.ts); a second owner restores that and reads on from there.
    // Wherever the commit falls, the second owner must neither lose a window's earlier partials nor
    // write a window again from its later partials alone.
    let handovers = 0;
    for (let cut = 10; cut < lines.length; cut += 7) {
      const first = new MergeStage(shapeOf(config));
      const commits = new MergeCommits();
      const rowsByKey = new Map<string, string>();
      const rewritten: string[] = [];
      const note = (rs: WindowRow[]): void => {
        for (const r of rs) {
          const key = `${r.window_start}|${String(r.type)}|${String(r.region)}`;
          const v = rowKey(r);
          if (rowsByKey.has(key) && rowsByKey.get(key) !== v) rewritten.push(key);
          rowsByKey.set(key, v);
        }
      };
      for (let i = 0; i < cut; i++) {
        first.apply(decodePartialRecord(lines[i]));
        note(first.takeFinal());
        commits.read(i + 1, first);
      }
      const settled = commits.settle(first.emittedThroughMs);
      const resumed = new MergeStage(shapeOf(config));
      if (settled) {
        handovers++;
        expect(settled.state.closedThroughMs).toHaveLength(SOURCES);
        // Through the commit metadata's codec, as the next owner reads it.
        resumed.restore(decodeMergeState(encodeMergeState(settled.state)));
      }
      for (const line of lines.slice(settled?.position ?? 0)) {
        resumed.apply(decodePartialRecord(line));
        note(resumed.takeFinal());
      }
      expect(rewritten, `cut ${cut}`).toEqual([]);
      expect([...rowsByKey.values()].sort(), `cut ${cut}`).toEqual(sortedRows(plain.rows));
    }
    expect(handovers).toBeGreaterThan(5);

    // Nothing is final while one source partition has sent no marker.
    const partial = new MergeStage(shapeOf(config));
    for (const line of lines) {
      const r = decodePartialRecord(line);
      if (r.kind === 'marker' && r.marker.sourcePartition === 2) continue;
      partial.apply(r);
    }
    expect(partial.takeFinal()).toEqual([]);
    expect(partial.pendingCells).toBeGreaterThan(0);
  }, 120_000);
});
