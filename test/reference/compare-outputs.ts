/**
 * Differences between ringflow's replay output and the reference's, as readable strings (an empty
 * list means equal). Rows are matched by (window_start, type, region), dead letters by line number,
 * so neither side's row order matters.
 *
 * Tolerances, and why:
 * - users_approx: ringflow uses HyperLogLog; |ringflow - exact| <= max(1, hllRelativeBound * exact).
 * - amount_sum: float addition is not associative and ringflow adds per partition before merging,
 *   so the last bits can differ from the reference's input-order sum. Default relative tolerance
 *   1e-9 (amounts with 2 decimals summed over millions of events err by ~1e-12 relative); pass
 *   `amountSumRelTolerance: 0` to demand bit equality.
 * - everything else (window bounds, count, amount_max, the set of rows) is exact.
 */
import type { AggregateRow, DeadLetterRow, ReplaySummary } from './canonical-reference.js';

export interface CompareOptions {
  /** Relative tolerance on amount_sum. Default: 1e-9. */
  amountSumRelTolerance?: number;
  /** Stop listing after this many differences (one more entry says how many were left off). Default: 50. */
  maxDifferences?: number;
}

/** Registers of the canonical HyperLogLog (precision 12) and its bound: 4 standard errors of 1.04 / sqrt(m). */
export const HLL_REGISTERS = 4096;
export const HLL_BOUND = 4 * (1.04 / Math.sqrt(HLL_REGISTERS));

/**
 * How far a small distinct count may land from the exact one. For small n the estimate is linear
 * counting over the empty registers: each pair of values sharing a register takes one off, and the
 * estimate adds back the expected number of such pairs. The pairs are about Poisson with mean
 * n(n-1)/2m, so the error is that count minus its mean; allowed: the deviation exceeded with
 * probability < 1e-6. (The relative bound alone allowed 1 at n = 14, which two colliding pairs,
 * p ~ 2e-4 per group, broke.) Past a mean of 50 the relative bound is the wider one.
 */
export function smallCountAllowance(exact: number, registers = HLL_REGISTERS): number {
  const mean = (exact * (exact - 1)) / (2 * registers);
  if (mean > 50) return 0;
  let term = Math.exp(-mean);
  let cumulative = term;
  let x = 0;
  while (1 - cumulative > 1e-6) {
    x++;
    term *= mean / x;
    cumulative += term;
  }
  return Math.ceil(x - mean);
}

const AGGREGATE_KEYS = [
  'window_start',
  'window_end',
  'type',
  'region',
  'count',
  'amount_sum',
  'amount_max',
  'users_approx',
] as const;

function rowKey(row: { window_start: unknown; type: unknown; region: unknown }): string {
  return `${String(row.window_start)}|${String(row.type)}|${String(row.region)}`;
}

function capped(differences: string[], max: number): string[] {
  if (differences.length <= max) return differences;
  return [...differences.slice(0, max), `... and ${differences.length - max} more differences`];
}

export function compareAggregates(
  ringflowRows: readonly Record<string, unknown>[],
  referenceRows: readonly AggregateRow[],
  hllRelativeBound: number,
  options: CompareOptions = {},
): string[] {
  const sumTolerance = options.amountSumRelTolerance ?? 1e-9;
  const differences: string[] = [];
  const ours = new Map<string, Record<string, unknown>>();
  for (const row of ringflowRows) {
    const key = rowKey(row as { window_start: unknown; type: unknown; region: unknown });
    if (ours.has(key)) differences.push(`ringflow emitted window/group ${key} more than once`);
    ours.set(key, row);
    // `revision` numbers the updates of a row (aggregate.allowedLatenessMs); the reference has final rows only.
    const extra = Object.keys(row).filter((k) => !(AGGREGATE_KEYS as readonly string[]).includes(k) && k !== 'revision');
    if (extra.length > 0) differences.push(`${key}: unexpected fields ${extra.join(', ')}`);
  }
  const seen = new Set<string>();
  for (const expected of referenceRows) {
    const key = rowKey(expected);
    seen.add(key);
    const actual = ours.get(key);
    if (actual === undefined) {
      differences.push(`${key}: missing in ringflow output (reference count ${expected.count})`);
      continue;
    }
    for (const name of ['window_end', 'count', 'amount_max'] as const) {
      if (actual[name] !== expected[name]) differences.push(`${key}: ${name} ${String(actual[name])} != reference ${expected[name]}`);
    }
    const sum = actual.amount_sum;
    if (typeof sum !== 'number' || Math.abs(sum - expected.amount_sum) > sumTolerance * Math.max(1, Math.abs(expected.amount_sum))) {
      differences.push(`${key}: amount_sum ${String(sum)} != reference ${expected.amount_sum}`);
    }
    const users = actual.users_approx;
    const allowed = Math.max(1, hllRelativeBound * expected.users_approx, smallCountAllowance(expected.users_approx));
    if (typeof users !== 'number' || !Number.isInteger(users) || Math.abs(users - expected.users_approx) > allowed) {
      differences.push(`${key}: users_approx ${String(users)} not within ${allowed} of exact ${expected.users_approx}`);
    }
  }
  for (const key of ours.keys()) {
    if (!seen.has(key)) differences.push(`${key}: in ringflow output but not in the reference`);
  }
  return capped(differences, options.maxDifferences ?? 50);
}

/** Exact comparison of dead letters, matched by line number. */
export function compareDeadLetters(
  ringflowRows: readonly Record<string, unknown>[],
  referenceRows: readonly DeadLetterRow[],
  options: CompareOptions = {},
): string[] {
  const differences: string[] = [];
  const ours = new Map<unknown, Record<string, unknown>>();
  for (const row of ringflowRows) {
    if (ours.has(row.line)) differences.push(`line ${String(row.line)}: dead-lettered more than once`);
    ours.set(row.line, row);
  }
  const expectedLines = new Set<number>();
  for (const expected of referenceRows) {
    expectedLines.add(expected.line);
    const actual = ours.get(expected.line);
    if (actual === undefined) {
      differences.push(`line ${expected.line}: missing in ringflow dead letter (reference reason ${expected.reason})`);
      continue;
    }
    if (actual.reason !== expected.reason) differences.push(`line ${expected.line}: reason ${String(actual.reason)} != reference ${expected.reason}`);
    if (actual.raw !== expected.raw) differences.push(`line ${expected.line}: raw differs (${JSON.stringify(actual.raw)?.slice(0, 80)} vs ${JSON.stringify(expected.raw).slice(0, 80)})`);
  }
  for (const [line, row] of ours) {
    if (!expectedLines.has(line as number)) differences.push(`line ${String(line)}: dead-lettered by ringflow (${String(row.reason)}) but not by the reference`);
  }
  return capped(differences, options.maxDifferences ?? 50);
}

/** Exact comparison of the five reconciliation counters (extra summary fields are allowed). */
export function compareSummaries(ringflowSummary: Record<string, unknown>, referenceSummary: ReplaySummary): string[] {
  const differences: string[] = [];
  for (const name of ['input', 'accepted', 'invalid', 'duplicates', 'late'] as const) {
    if (ringflowSummary[name] !== referenceSummary[name]) {
      differences.push(`summary.${name} ${String(ringflowSummary[name])} != reference ${referenceSummary[name]}`);
    }
  }
  return differences;
}
