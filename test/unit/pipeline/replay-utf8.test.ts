/**
 * Issue 15, end to end: lines that are not well-formed UTF-8 are dead letters with reason `bad_utf8`
 * (after `line_too_long` only) in `ringflow replay` (one partition decoded straight into the ring slot,
 * and the scatter into several) and with the parallel decode pool (pieces decoded on worker threads),
 * equal to the reference on the same bytes (runReferenceOnBytes, runReferenceOnFile): reasons, line
 * numbers, `raw` (U+FFFD for each ill-formed sequence, cut at 4096 bytes), aggregates and counts.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadRingflowConfig } from '../../../src/daemon/config.js';
import { replay } from '../../../src/daemon/replay.js';
import { Pipeline } from '../../../src/pipeline/pipeline.js';
import { compilePipelinePlan } from '../../../src/pipeline/plan.js';
import { ClickstreamGenerator } from '../../../src/sources/generators/clickstream-events.js';
import type { DeadLetterEntry, WindowRow } from '../../../src/contracts/index.js';
import {
  compareAggregates, compareDeadLetters, compareSummaries, HLL_BOUND, runReferenceOnBytes, runReferenceOnFile, type ReferenceResult,
} from '../../reference/canonical-reference.js';
import { MARK_SEQUENCES } from '../kernels/decode-oracle.js';

const exampleConfig = join(import.meta.dirname, '../../../examples/clickstream.json');
const work = mkdtempSync(join(tmpdir(), 'ringflow-replay-utf8-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const enc = new TextEncoder();
const T0 = 1767225600000;
const ISSUE_LINE = [...enc.encode('{"event_id":"'), 0xff, 0xfe, ...enc.encode(`","ts":${T0 + 5},"user_id":"u1","type":"view"}`)];

/**
 * Generated clickstream lines (invalid, duplicate, late and blank ones included), about 3% of them
 * given an ill-formed (or, for some, a well-formed) byte sequence at a random place, and the edge lines:
 * the issue's line, one whose raw is cut inside a run of continuation bytes, one over 1 MiB with bad
 * bytes (line_too_long), and a bad last line without '\n'. Returns the bytes and where lines start.
 */
function input(events: number, seed: number): { bytes: Uint8Array; lineStarts: number[] } {
  const gen = new ClickstreamGenerator({ seed, invalidRate: 0.05, duplicateRate: 0.1, lateRate: 0.02, eventsPerSecond: 200, variantRate: 0.05, blankLineRate: 0.01 });
  let s = seed;
  const rand = (n: number): number => ((s = (s * 1103515245 + 12345) & 0x7fffffff) % n);
  const lines: number[][] = [];
  for (let i = 0; i < events; i++) {
    const line = [...enc.encode(gen.nextLine())];
    if (rand(100) < 3) line.splice(rand(line.length + 1), 0, ...MARK_SEQUENCES[rand(MARK_SEQUENCES.length)]);
    lines.push(line);
    if (i === 100) lines.push(ISSUE_LINE);
    if (i === 200) {
      const head = [...enc.encode(`{"event_id":"long","ts":${T0},"user_id":"u1","type":"view","pad":"`)];
      lines.push([...head, ...new Array(4090 - head.length).fill(0x61), 0xff, ...new Array(30).fill(0x80), ...enc.encode('x"}')]);
    }
    if (i === 300) lines.push([...enc.encode(`{"event_id":"huge","pad":"${'y'.repeat(1024 * 1024)}`), 0xc0, 0xaf, ...enc.encode('"}')]);
    if (i === 400) {
      // A BOM is well-formed UTF-8: before the JSON it is malformed_json with the BOM kept in raw;
      // inside a value it is a character like any other (this country then breaks its pattern).
      lines.push([0xef, 0xbb, 0xbf, ...enc.encode(`{"event_id":"bom1","ts":${T0},"user_id":"u1","type":"view"}`)]);
      lines.push([...enc.encode(`{"event_id":"bom2","ts":${T0},"user_id":"u1","type":"view","country":"`), 0xef, 0xbb, 0xbf, ...enc.encode('US"}')]);
    }
  }
  lines.push([...enc.encode(`{"event_id":"last","ts":${T0},"user_id":"u1","type":"view","x":"`), 0xed, 0xa0, 0x80, 0x22, 0x7d]);
  const lineStarts: number[] = [];
  const out: number[] = [];
  lines.forEach((l, i) => {
    lineStarts.push(out.length);
    for (const c of l) out.push(c);
    if (i < lines.length - 1) out.push(10);
  });
  return { bytes: Uint8Array.from(out), lineStarts };
}

function differences(reference: ReferenceResult, rows: readonly object[], deadLetter: readonly object[], summary: object): string[] {
  const records = (x: readonly object[]): Record<string, unknown>[] => x as unknown as Record<string, unknown>[];
  return [
    ...compareAggregates(records(rows), reference.aggregates, HLL_BOUND),
    ...compareDeadLetters(records(deadLetter), reference.deadLetter),
    ...compareSummaries(summary as Record<string, unknown>, reference.summary),
  ];
}

function expectBadUtf8Lines(reference: ReferenceResult): void {
  const reasons = new Map(reference.deadLetter.map((d) => [d.line, d]));
  const bad = reference.deadLetter.filter((d) => d.reason === 'bad_utf8');
  expect(bad.length).toBeGreaterThan(20);
  const issue = [...reasons.values()].find((d) => d.raw.startsWith('{"event_id":"\ufffd\ufffd"'));
  expect(issue?.reason).toBe('bad_utf8');
  const long = [...reasons.values()].find((d) => d.raw.includes('"event_id":"long"'))!;
  // Cut at 4096 moved back over the 0x80 run to the 0xFF before it: raw ends with the 'a's.
  expect([long.reason, long.raw.length, long.raw.endsWith('aaa')]).toEqual(['bad_utf8', 4090, true]);
  expect([...reasons.values()].find((d) => d.raw.startsWith('{"event_id":"huge"'))?.reason).toBe('line_too_long');
  expect([...reasons.values()].at(-1)?.raw.startsWith('{"event_id":"last"')).toBe(true);
  expect([...reasons.values()].at(-1)?.reason).toBe('bad_utf8');
  expect([...reasons.values()].find((d) => d.raw.startsWith('\ufeff{"event_id":"bom1"'))?.reason).toBe('malformed_json');
  expect([...reasons.values()].find((d) => d.raw.includes('"event_id":"bom2"'))?.reason).toBe('bad_pattern:country');
}

const readNdjson = (path: string): Record<string, unknown>[] =>
  readFileSync(path, 'utf8').split('\n').filter((l) => l.length > 0).map((l) => JSON.parse(l) as Record<string, unknown>);

describe('ill-formed UTF-8 through the whole pipeline equals the reference', () => {
  it.each([
    ['one partition, decoded straight into its ring slots', { threads: 1, partitions: 1, batchRows: 64, ringSlots: 4 }],
    ['scatter into 3 partitions', { threads: 2, partitions: 3, batchRows: 16, ringSlots: 2 }],
  ])('ringflow replay (%s)', async (name, runtime) => {
    const { bytes } = input(3000, 7);
    const path = join(work, `${name.length}.ndjson`);
    writeFileSync(path, bytes);
    const reference = runReferenceOnBytes(bytes);
    expect(await runReferenceOnFile(path)).toEqual(reference);
    expectBadUtf8Lines(reference);
    const base = await loadRingflowConfig(exampleConfig);
    const outDir = join(work, `out-${name.length}`);
    const summary = await replay({ inputPath: path, config: { ...base, runtime: { ...base.runtime, ...runtime } }, outDir, progress: false });
    const diffs = differences(reference, readNdjson(join(outDir, 'aggregates.ndjson')), readNdjson(join(outDir, 'dead-letter.ndjson')), summary);
    expect(diffs).toEqual([]);
  }, 120_000);

  it('parallel decode: pieces on worker threads, pushes cut at bad lines and inside their sequences', async () => {
    const { bytes, lineStarts } = input(3000, 8);
    const reference = runReferenceOnBytes(bytes);
    const badStarts = reference.deadLetter.filter((d) => d.reason === 'bad_utf8').map((d) => lineStarts[d.line - 1]);
    const cuts = [...new Set(badStarts.flatMap((at, i) => [at, at + 13 + (i % 40)]))].filter((c) => c < bytes.length).sort((a, b) => a - b);
    const config = await loadRingflowConfig(exampleConfig);
    const ingest = { pieceBytes: 2048, rowsPerSlot: 5, decodeSlots: 3, minParallelBytes: 0, decodeThreads: 2 };
    const rows: WindowRow[] = [];
    const deadLetter: DeadLetterEntry[] = [];
    const pipeline = await Pipeline.create(
      compilePipelinePlan({ ...config, runtime: { ...config.runtime, threads: 2, partitions: 2, batchRows: 16, ringSlots: 2 } }, { emitEvents: false, ingest }),
      { onWindowRows: (r) => { rows.push(...r); }, onDeadLetter: (e) => { deadLetter.push(e); } },
    );
    try {
      const stream = pipeline.openStream(0);
      let at = 0;
      for (const cut of [...cuts, bytes.length]) {
        const chunk = bytes.slice(at, cut);
        await stream.push(chunk);
        chunk.fill(0x20); // a source reuses its buffer
        at = cut;
      }
      const stats = await pipeline.finish();
      deadLetter.sort((a, b) => a.line - b.line);
      expect(differences(reference, rows, deadLetter, stats)).toEqual([]);
    } finally {
      await pipeline.close();
    }
  }, 120_000);
});
