/**
 * Parallel decode (decode pool + in-order late gate on the main thread) must give the same results,
 * row for row, as decoding on the main thread. Tiny pieces and slot batches force every rare path:
 * a piece decoded in several tasks (slot batch full), `__raw` of late rows overflowing the slot
 * column (scatter in segments), a line longer than a piece (decoded on the main thread in between),
 * lines split across pushes (carry), an over-long unterminated line rejected early and skipped across
 * pushes, CRLF, blank lines and a last line without '\n'. Both ways are also checked against the
 * object-based reference where the config is the canonical one.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadRingflowConfig, type RingflowConfig } from '../../../src/daemon/config.js';
import { Pipeline, type PipelineStats } from '../../../src/pipeline/pipeline.js';
import { ClickstreamGenerator } from '../../../src/sources/generators/clickstream-events.js';
import { compareAggregates, compareDeadLetters, compareSummaries, HLL_BOUND, runReferenceOnText } from '../../reference/canonical-reference.js';
import type { DeadLetterEntry, WindowRow } from '../../../src/contracts/index.js';
import { compilePipelinePlan, type IngestOptions } from '../../../src/pipeline/plan.js';

const exampleConfig = join(import.meta.dirname, '../../../examples/clickstream.json');
const T0 = 1767225600000;

interface RunOutput {
  rows: WindowRow[];
  deadLetter: DeadLetterEntry[];
  stats: PipelineStats;
  pushCounts: { accepted: number; invalid: number };
}

/** Push `bytes` in pieces cut at `cuts` (byte offsets), finish, and collect everything, sorted like replay. */
async function run(config: RingflowConfig, ingest: IngestOptions, bytes: Uint8Array, cuts: number[]): Promise<RunOutput> {
  const rows: WindowRow[] = [];
  const deadLetter: DeadLetterEntry[] = [];
  const pipeline = await Pipeline.create(compilePipelinePlan(config, { emitEvents: false, ingest }), {
    onWindowRows: (r) => { rows.push(...r); },
    onDeadLetter: (e) => { deadLetter.push(e); },
  });
  const pushCounts = { accepted: 0, invalid: 0 };
  try {
    const stream = pipeline.openStream(0);
    let at = 0;
    for (const cut of [...cuts, bytes.length]) {
      // A copy per push, reused afterwards like a source's read buffer.
      const chunk = bytes.slice(at, cut);
      const counts = await stream.push(chunk);
      chunk.fill(0x20);
      pushCounts.accepted += counts.acceptedLines;
      pushCounts.invalid += counts.invalidLines;
      at = cut;
    }
    const stats = await pipeline.finish();
    const key = (r: WindowRow): string => `${String(r.window_start).padStart(15, '0')}|${String(r.type)}|${String(r.region)}`;
    rows.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
    deadLetter.sort((a, b) => a.line - b.line);
    return { rows, deadLetter, stats, pushCounts };
  } finally {
    await pipeline.close();
  }
}

function generated(events: number, seed: number): string[] {
  const gen = new ClickstreamGenerator({
    seed, invalidRate: 0.05, duplicateRate: 0.1, lateRate: 0.05, eventsPerSecond: 200, variantRate: 0.05, blankLineRate: 0.02,
  });
  const lines: string[] = [];
  for (let i = 0; i < events; i++) lines.push(gen.nextLine());
  return lines;
}

const event = (id: string, ts: number, extra = ''): string => `{"event_id":"${id}","ts":${ts},"user_id":"u1","type":"view"${extra}}`;

/** Late events whose lines are ~1.5 KiB each: three of them overflow a slot's 4 KiB `__raw` column. */
function lateBurst(): string[] {
  const lines = [event('ahead', T0 + 600_000)];
  for (let i = 0; i < 12; i++) lines.push(event(`late-${i}`, T0 + i, `,"pad":"${'p'.repeat(1500)}"`));
  return lines;
}

const tiny: IngestOptions = { pieceBytes: 2048, rowsPerSlot: 5, decodeSlots: 3, minParallelBytes: 0, decodeThreads: 2 };
const sequential: IngestOptions = { decodeThreads: 0 };

function cutsEvery(total: number, step: number, jitter: number): number[] {
  const cuts: number[] = [];
  let s = 7;
  for (let at = step; at < total; at += step + (s % jitter)) {
    cuts.push(at);
    s = (s * 1103515245 + 12345) & 0x7fffffff;
  }
  return cuts;
}

function expectSameResults(parallel: RunOutput, serial: RunOutput): void {
  expect(parallel.deadLetter).toEqual(serial.deadLetter);
  // Through JSON as replay writes them: a max over 0 and -0 may keep either, depending on merge order.
  expect(JSON.parse(JSON.stringify(parallel.rows))).toEqual(JSON.parse(JSON.stringify(serial.rows)));
  expect(parallel.stats).toEqual({ ...serial.stats, watermarkMs: parallel.stats.watermarkMs });
  expect(parallel.stats.watermarkMs).toBe(serial.stats.watermarkMs);
  expect(parallel.pushCounts).toEqual(serial.pushCounts);
}

describe('parallel decode equals main-thread decode', () => {
  it('on generated streams with late bursts, long lines, CRLF and a last line without a newline', async () => {
    const config = await loadRingflowConfig(exampleConfig);
    const runtime = { ...config.runtime, threads: 2, partitions: 3, batchRows: 16, ringSlots: 2 };
    const cfg = { ...config, runtime };
    const lines = [
      ...generated(1500, 11),
      ...lateBurst(),
      event('long', T0 + 600_001, `,"pad":"${'q'.repeat(5000)}"`), // longer than a piece
      `${event('crlf', T0 + 600_002)}\r`,
      ...generated(1500, 12),
      event('last', T0 + 600_003),
    ];
    const text = lines.join('\n');
    const bytes = new TextEncoder().encode(text);
    const cuts = cutsEvery(bytes.length, 9000, 5000);
    const parallel = await run(cfg, tiny, bytes, cuts);
    const serial = await run(cfg, sequential, bytes, cuts);
    expect(parallel.stats.late).toBeGreaterThan(12);
    expectSameResults(parallel, serial);

    const reference = runReferenceOnText(text);
    const asRecords = (x: readonly object[]): Record<string, unknown>[] => x as unknown as Record<string, unknown>[];
    expect(compareDeadLetters(asRecords(parallel.deadLetter), reference.deadLetter)).toEqual([]);
    expect(compareAggregates(asRecords(parallel.rows), reference.aggregates, HLL_BOUND)).toEqual([]);
    expect(compareSummaries(parallel.stats as unknown as Record<string, unknown>, reference.summary)).toEqual([]);
  }, 120_000);

  it('with one partition: decode-pool pieces scattered into the slot the main thread decodes into directly', async () => {
    // Pushes below minParallelBytes are decoded straight into the ring slot, bigger ones on the pool and
    // scattered into the same slot. `amount` without a default and a min/avg over it make any null
    // published as valid (a validity bit left by a rejected line) change the aggregates.
    const config = await loadRingflowConfig(exampleConfig);
    const { default: _dropped, ...amount } = config.input.fields.amount;
    const cfg: RingflowConfig = {
      ...config,
      input: { ...config.input, fields: { ...config.input.fields, amount } },
      aggregate: { ...config.aggregate, metrics: [...config.aggregate.metrics,
        { name: 'amount_min', op: 'min', field: 'amount' }, { name: 'amount_avg', op: 'avg', field: 'amount' }] },
      runtime: { ...config.runtime, threads: 1, partitions: 1, batchRows: 64, ringSlots: 4 },
    };
    // Alternating pushes: a small one (direct) ending in a line rejected after its amount was read,
    // then a large one (pool) starting with a line without amount, which lands on the rejected line's row.
    const pushes: string[] = [];
    const stream = generated(4000, 31);
    for (let i = 0, at = 0; at < stream.length; i++) {
      const small = stream.slice(at, at + 5);
      small.push(event(`bad-${i}`, T0 + i, ',"amount":3.5,"country":"de"')); // bad country: rejected after amount
      const large = [event(`noamount-${i}`, T0 + i, ',"type":"click"').replace('"type":"view",', ''), ...stream.slice(at + 5, at + 120)];
      pushes.push(`${small.join('\n')}\n`, `${large.join('\n')}\n`);
      at += 120;
    }
    const enc = new TextEncoder();
    const bytes = enc.encode(pushes.join(''));
    const cuts: number[] = [];
    let at = 0;
    for (const p of pushes.slice(0, -1)) cuts.push((at += enc.encode(p).length));
    const mixed = await run(cfg, { ...tiny, decodeThreads: 1, minParallelBytes: 4000 }, bytes, cuts);
    const direct = await run(cfg, sequential, bytes, cuts);
    expect(mixed.deadLetter.filter((d) => d.reason.includes('country')).length).toBeGreaterThanOrEqual(pushes.length / 2);
    expectSameResults(mixed, direct);
  }, 120_000);

  it('on an over-long line split across pushes (rejected at once, the rest skipped)', async () => {
    const config = await loadRingflowConfig(exampleConfig);
    const cfg = { ...config, input: { ...config.input, maxLineBytes: 3000 }, runtime: { ...config.runtime, threads: 2, partitions: 2 } };
    const head = generated(200, 21).join('\n');
    const huge = event('huge', T0 + 1, `,"pad":"${'z'.repeat(10_000)}"`);
    const tail = generated(200, 22).join('\n');
    const text = `${head}\n${huge}\n${tail}\n`;
    const bytes = new TextEncoder().encode(text);
    const hugeStart = head.length + 1;
    // Pushes end inside the huge line, once with more than maxLineBytes of it, then twice more.
    const cuts = [hugeStart + 100, hugeStart + 3500, hugeStart + 6000, hugeStart + 9000];
    const parallel = await run(cfg, tiny, bytes, cuts);
    const serial = await run(cfg, sequential, bytes, cuts);
    expect(parallel.deadLetter.filter((d) => d.reason === 'line_too_long').map((d) => d.line)).toEqual([201]);
    expectSameResults(parallel, serial);
  }, 120_000);
});
