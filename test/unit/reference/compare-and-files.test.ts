import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runNaiveNodePeer } from '../../../bench/peers/naive-node.js';
import { ClickstreamGenerator } from '../../../src/sources/generators/clickstream-events.js';
import {
  compareAggregates,
  compareDeadLetters,
  compareSummaries,
  runReferenceOnFile,
  runReferenceOnText,
  type AggregateRow,
} from '../../reference/canonical-reference.js';

const dir = mkdtempSync(join(tmpdir(), 'ringflow-reference-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// 20K events are ~2.2 MB: more than the splitter's 1 MiB read chunks, so lines straddle chunk ends.
const text = new ClickstreamGenerator({ seed: 21, lateRate: 0.01 }).fillLines(20_000).join('\n') + '\n';
const expected = runReferenceOnText(text);

describe('compareAggregates', () => {
  const rows = expected.aggregates;
  const copy = (): Record<string, unknown>[] => rows.map((r) => ({ ...r }));
  const bigGroup = rows.findIndex((r) => r.users_approx >= 1000);

  it('finds no difference between equal outputs, in any row order', () => {
    expect(bigGroup).toBeGreaterThanOrEqual(0);
    expect(compareAggregates(copy().reverse(), rows, 0.02)).toEqual([]);
  });

  it('reports a count, amount_max or window_end off by one', () => {
    for (const field of ['count', 'amount_max', 'window_end'] as const) {
      const ours = copy();
      ours[3][field] = (ours[3][field] as number) + 1;
      const diffs = compareAggregates(ours, rows, 0.02);
      expect(diffs).toHaveLength(1);
      expect(diffs[0]).toContain(field);
    }
  });

  it('accepts users_approx within max(1, bound x exact) and rejects it beyond', () => {
    const exact = rows[bigGroup].users_approx;
    const ours = copy();
    ours[bigGroup].users_approx = exact + Math.floor(0.02 * exact);
    expect(compareAggregates(ours, rows, 0.02)).toEqual([]);
    ours[bigGroup].users_approx = exact + Math.floor(0.02 * exact) + 1;
    expect(compareAggregates(ours, rows, 0.02)[0]).toContain('users_approx');
    const small = rows.findIndex((r) => r.users_approx === 1);
    const ours2 = copy();
    ours2[small].users_approx = 2; // max(1, 0.02 x 1) = 1
    expect(compareAggregates(ours2, rows, 0.02)).toEqual([]);
  });

  it('tolerates float summation order in amount_sum unless asked for bit equality', () => {
    const i = rows.findIndex((r) => r.amount_sum > 100);
    const ours = copy();
    ours[i].amount_sum = rows[i].amount_sum * (1 + 1e-13);
    expect(compareAggregates(ours, rows, 0.02)).toEqual([]);
    expect(compareAggregates(ours, rows, 0.02, { amountSumRelTolerance: 0 })[0]).toContain('amount_sum');
    ours[i].amount_sum = rows[i].amount_sum + 0.01;
    expect(compareAggregates(ours, rows, 0.02)[0]).toContain('amount_sum');
  });

  it('reports missing, extra, repeated rows and unexpected fields', () => {
    const ours = copy();
    const removed = ours.splice(2, 1)[0];
    ours.push({ ...ours[0] }, { ...ours[1], region: 'atlantis' }, { ...ours[4], extra: 1 });
    ours.splice(4, 1);
    const diffs = compareAggregates(ours, rows, 0.02).join('\n');
    expect(diffs).toContain(`${String(removed.window_start)}|${String(removed.type)}|${String(removed.region)}: missing`);
    expect(diffs).toContain('more than once');
    expect(diffs).toContain('atlantis: in ringflow output but not in the reference');
    expect(diffs).toContain('unexpected fields extra');
  });
});

describe('compareDeadLetters and compareSummaries', () => {
  it('match dead letters by line and compare reason and raw exactly', () => {
    const ours = expected.deadLetter.map((d) => ({ ...d })).reverse();
    expect(compareDeadLetters(ours, expected.deadLetter)).toEqual([]);
    ours[0].reason = 'late';
    ours[1].raw += ' ';
    ours.pop();
    const diffs = compareDeadLetters(ours, expected.deadLetter);
    expect(diffs).toHaveLength(3);
  });

  it('compare the five counters exactly and allow extra summary fields', () => {
    expect(compareSummaries({ ...expected.summary, elapsedMs: 5 }, expected.summary)).toEqual([]);
    expect(compareSummaries({ ...expected.summary, late: expected.summary.late + 1 }, expected.summary)).toHaveLength(1);
  });
});

describe('file input', () => {
  it('gives the same result from a file with either splitter as from the text', async () => {
    const path = join(dir, 'gen.ndjson');
    writeFileSync(path, text);
    expect(await runReferenceOnFile(path)).toEqual(expected);
    expect(await runReferenceOnFile(path, { splitter: 'readline' })).toEqual(expected);
    writeFileSync(path, text.slice(0, -1)); // no final newline: the last line still counts
    expect(await runReferenceOnFile(path)).toEqual(expected);
  });

  it("numbers physical lines exactly with the newline splitter, even around a lone '\\r'", async () => {
    const path = join(dir, 'cr.ndjson');
    const ok = (id: string) => `{"event_id":"${id}","ts":1767225600000,"user_id":"u","type":"view"}`;
    writeFileSync(path, `${ok('a')}\r\n \r \n[1]\n${ok('b')}\n`);
    const exact = await runReferenceOnFile(path);
    expect(exact.deadLetter).toEqual([{ reason: 'not_object', line: 3, raw: '[1]' }]);
    expect(exact.summary).toEqual({ input: 3, accepted: 2, invalid: 1, duplicates: 0, late: 0 });
    // node:readline ends a line at the lone '\r' too: why it is not the reference's default.
    const viaReadline = await runReferenceOnFile(path, { splitter: 'readline' });
    expect(viaReadline.deadLetter[0].line).toBe(4);
  });
});

describe('naive Node peer', () => {
  it('writes aggregates, dead letter and summary in the replay formats', async () => {
    const input = join(dir, 'peer.ndjson');
    writeFileSync(input, text);
    const out = join(dir, 'peer-out');
    const run = await runNaiveNodePeer(input, out);
    expect(run.summary).toEqual(expected.summary);
    expect(run.aggregates).toEqual(expected.aggregates);
    expect(run.eventsPerSec).toBeGreaterThan(0);
    const ndjson = (name: string) => readFileSync(join(out, name), 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as unknown);
    expect(ndjson('aggregates.ndjson')).toEqual(expected.aggregates);
    expect(Object.keys(ndjson('aggregates.ndjson')[0] as AggregateRow)).toEqual([
      'window_start', 'window_end', 'type', 'region', 'count', 'amount_sum', 'amount_max', 'users_approx',
    ]);
    expect(ndjson('dead-letter.ndjson')).toEqual(expected.deadLetter);
    expect(JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'))).toEqual(expected.summary);
  });
});
