/**
 * Reference implementation of the canonical clickstream pipeline (issue 4, ARCHITECTURE.md): the
 * plain object-based version that ringflow's output is checked against, and the "hand-written Node
 * pipeline" peer of the benchmark. Line classification and its documented choices are in
 * canonical-validate.ts; the comparison helpers in compare-outputs.ts.
 *
 * Per line, in input order (one source partition, as a file or stdin is):
 *   skip (whitespace) | invalid -> dead letter | valid: first the skew guard (skew-guard-reference.ts):
 *     candidate = maxTs = -Infinity or ts > maxTs + S   (S = maxFutureSkewMs, 1 h; null: no guard)
 *     a candidate is decided by the next valid lines' ts (K = jumpConfirmEvents, 16): ceil(K/2) of them
 *     within S accept it, K + 1 - ceil(K/2) beyond S reject it -> dead letter `future_ts`/`past_ts`,
 *     counted invalid, maxTs and the ids untouched
 *   then (normal rows and accepted candidates):
 *     lateCandidate = windowEnd(ts) + allowedLatenessMs <= maxTs - outOfOrdernessMs   (maxTs before this event;
 *                     -Infinity at start; allowedLatenessMs 0 unless given: within it a late event still counts)
 *     maxTs = max(maxTs, ts)                                         (duplicates and late events included)
 *     id seen before      -> duplicate   (first occurrence wins; the Set never forgets, so inputs must
 *                                         keep duplicates within ringflow's 1 h dedupe horizon)
 *     else record id; lateCandidate -> dead letter `late`; else accepted into its window
 * Lines after an undecided candidate wait for its decision (the dead letter stays in line order). At
 * end of input what waits is decided, then every window is closed. `users_approx` is the exact
 * distinct count (a Set).
 */
import { createReadStream, existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { isUtf8 } from 'node:buffer';
import { classifyLine, classifyLineBytes, cutRaw, cutRawBytes, stripTrailingCr, stripTrailingCrBytes, type CanonicalEvent } from './canonical-validate.js';
import { SkewGuardQueue, type SkewVerdict } from './skew-guard-reference.js';

export { compareAggregates, compareDeadLetters, compareSummaries, HLL_BOUND } from './compare-outputs.js';
export type { CompareOptions } from './compare-outputs.js';
export { JUMP_CONFIRM_EVENTS, MAX_FUTURE_SKEW_MS } from './skew-guard-reference.js';

export const WINDOW_SIZE_MS = 60_000;
/** The example's aggregate.outOfOrdernessMs: the watermark trails the max event time by this. */
export const OUT_OF_ORDERNESS_MS = 5_000;
export const UNKNOWN_REGION = 'unknown';

/** One line of aggregates.ndjson; keys in this order when serialized. */
export interface AggregateRow {
  window_start: number;
  window_end: number;
  type: string;
  region: string;
  count: number;
  amount_sum: number;
  amount_max: number;
  users_approx: number;
}

/** One line of dead-letter.ndjson. `line` is the 1-based physical line number. */
export interface DeadLetterRow {
  reason: string;
  line: number;
  raw: string;
}

/** summary.json: input = accepted + invalid + duplicates + late; whitespace lines are not input. */
export interface ReplaySummary {
  input: number;
  accepted: number;
  invalid: number;
  duplicates: number;
  late: number;
}

export interface ReferenceResult {
  aggregates: AggregateRow[];
  deadLetter: DeadLetterRow[];
  summary: ReplaySummary;
}

export interface ReferenceOptions {
  /** country -> region; default: examples/dims/countries.csv of this repository. */
  regions?: ReadonlyMap<string, string>;
  /**
   * Receives each dead-letter row as it happens instead of keeping it (the result's deadLetter is then
   * empty). Lines from node:readline are slices of its read chunks, so keeping them would keep the
   * whole file in memory.
   */
  onDeadLetter?: (row: DeadLetterRow) => void;
  /** The engine's `aggregate.maxFutureSkewMs`; null turns the skew guard off. Default: MAX_FUTURE_SKEW_MS. */
  maxFutureSkewMs?: number | null;
  /** The engine's `aggregate.jumpConfirmEvents` (>= 2). Default: JUMP_CONFIRM_EVENTS. */
  jumpConfirmEvents?: number;
  /** The engine's `aggregate.allowedLatenessMs`: a window takes late events this long after it closed. Default: 0. */
  allowedLatenessMs?: number;
}

/** A line that produces output, as it waits in the skew guard: a dead letter already made, or a row. */
type GuardedLine = DeadLetterRow | { event: CanonicalEvent; line: number; text: string };

interface GroupState {
  windowStart: number;
  type: string;
  region: string;
  count: number;
  amountSum: number;
  amountMax: number;
  users: Set<string>;
}

/** Parses a `country,region` CSV (header required, one trailing '\r' per line tolerated). */
export function parseCountryRegionsCsv(text: string): Map<string, string> {
  const lines = text.split('\n').map(stripTrailingCr);
  if (lines[0] !== 'country,region') throw new Error(`countries CSV: header must be "country,region", got "${lines[0]}"`);
  const regions = new Map<string, string>();
  for (let i = 1; i < lines.length; i++) {
    if (lines[i].trim() === '') continue;
    const cells = lines[i].split(',');
    if (cells.length !== 2) throw new Error(`countries CSV line ${i + 1}: expected 2 cells, got ${cells.length}`);
    regions.set(cells[0], cells[1]);
  }
  return regions;
}

export function loadCountryRegions(csvPath: string): Map<string, string> {
  return parseCountryRegionsCsv(readFileSync(csvPath, 'utf8'));
}

/** examples/dims/countries.csv found upwards from this module (works from test/ and from dist/test/). */
export function defaultCountriesCsvPath(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'examples', 'dims', 'countries.csv');
    if (existsSync(candidate)) return candidate;
    const parent = resolve(dir, '..');
    if (parent === dir) throw new Error('examples/dims/countries.csv not found above ' + fileURLToPath(import.meta.url));
    dir = parent;
  }
}

let defaultRegions: Map<string, string> | undefined;
function getDefaultRegions(): Map<string, string> {
  defaultRegions ??= loadCountryRegions(defaultCountriesCsvPath());
  return defaultRegions;
}

export function windowStartOf(ts: number): number {
  return Math.floor(ts / WINDOW_SIZE_MS) * WINDOW_SIZE_MS;
}

/** The pipeline as a push API: feed physical lines (without '\n') in file order, then finish(). */
export class CanonicalReference {
  private readonly regions: ReadonlyMap<string, string>;
  private physicalLine = 0;
  private maxTs = -Infinity;
  private readonly allowedLatenessMs: number;
  private readonly seenIds = new Set<string>();
  private readonly groups = new Map<string, GroupState>();
  private readonly deadLetter: DeadLetterRow[] = [];
  private readonly onDeadLetter: (row: DeadLetterRow) => void;
  private readonly summary: ReplaySummary = { input: 0, accepted: 0, invalid: 0, duplicates: 0, late: 0 };
  private readonly guard: SkewGuardQueue<GuardedLine>;

  constructor(options: ReferenceOptions = {}) {
    this.regions = options.regions ?? getDefaultRegions();
    this.onDeadLetter = options.onDeadLetter ?? ((row) => this.deadLetter.push(row));
    this.allowedLatenessMs = options.allowedLatenessMs ?? 0;
    this.guard = new SkewGuardQueue<GuardedLine>(options, () => this.maxTs, (item, verdict) => this.take(item, verdict));
  }

  pushLine(physicalLine: string): void {
    this.physicalLine++;
    const line = stripTrailingCr(physicalLine);
    const verdict = classifyLine(line);
    if (verdict.kind === 'skip') return;
    if (verdict.kind === 'invalid') this.guard.push({ reason: verdict.reason, line: this.physicalLine, raw: cutRaw(line) }, null);
    else this.guard.push({ event: verdict.event, line: this.physicalLine, text: line }, verdict.event.ts);
  }

  /** A line's turn, in input order, with the skew guard's verdict (always `pass` for invalid lines). */
  private take(item: GuardedLine, verdict: SkewVerdict): void {
    this.summary.input++;
    if ('reason' in item) {
      this.summary.invalid++;
      this.onDeadLetter(item);
      return;
    }
    const { event, line, text } = item;
    if (verdict !== 'pass') {
      this.summary.invalid++;
      this.onDeadLetter({ reason: verdict, line, raw: cutRaw(text) });
      return;
    }
    const windowStart = windowStartOf(event.ts);
    const lateCandidate = windowStart + WINDOW_SIZE_MS + this.allowedLatenessMs <= this.maxTs - OUT_OF_ORDERNESS_MS;
    this.maxTs = Math.max(this.maxTs, event.ts);
    if (this.seenIds.has(event.eventId)) {
      this.summary.duplicates++;
      return;
    }
    this.seenIds.add(event.eventId);
    if (lateCandidate) {
      this.summary.late++;
      this.onDeadLetter({ reason: 'late', line, raw: cutRaw(text) });
      return;
    }
    this.summary.accepted++;
    const region = this.regions.get(event.country) ?? UNKNOWN_REGION;
    const key = `${windowStart}|${event.type}|${region}`;
    let group = this.groups.get(key);
    if (group === undefined) {
      group = { windowStart, type: event.type, region, count: 0, amountSum: 0, amountMax: -Infinity, users: new Set() };
      this.groups.set(key, group);
    }
    group.count++;
    group.amountSum += event.amount;
    group.amountMax = Math.max(group.amountMax, event.amount);
    group.users.add(event.userId);
  }

  /**
   * End of input: decides what waits in the skew guard, closes every window and returns rows sorted
   * by (window_start, type, region).
   */
  finish(): ReferenceResult {
    this.guard.finish();
    const groups = [...this.groups.values()].sort(
      (a, b) => a.windowStart - b.windowStart || compareStrings(a.type, b.type) || compareStrings(a.region, b.region),
    );
    const aggregates = groups.map((g) => ({
      window_start: g.windowStart,
      window_end: g.windowStart + WINDOW_SIZE_MS,
      type: g.type,
      region: g.region,
      count: g.count,
      amount_sum: g.amountSum,
      amount_max: g.amountMax,
      users_approx: g.users.size,
    }));
    return { aggregates, deadLetter: [...this.deadLetter], summary: { ...this.summary } };
  }

  /**
   * A physical line given as bytes (without '\n'): pushLine of its text when it is well-formed UTF-8;
   * otherwise invalid, `bad_utf8` or `line_too_long` (classifyLineBytes), with cutRawBytes as raw.
   */
  pushLineBytes(physicalLine: Uint8Array): void {
    const bytes = Buffer.from(physicalLine.buffer, physicalLine.byteOffset, physicalLine.byteLength);
    if (isUtf8(bytes)) {
      this.pushLine(bytes.toString('utf8'));
      return;
    }
    const line = stripTrailingCrBytes(bytes);
    const verdict = classifyLineBytes(line);
    if (verdict.kind !== 'invalid') throw new Error('reference: a line of ill-formed UTF-8 must be invalid');
    this.physicalLine++;
    this.guard.push({ reason: verdict.reason, line: this.physicalLine, raw: cutRawBytes(line) }, null);
  }
}

/** Code-unit order, the order of `<` on strings (not locale order). */
function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * A physical line (without its '\n') as text, or as bytes when it may not be UTF-8: bytes go through
 * pushLineBytes, which is where `bad_utf8` is decided (text cannot hold ill-formed UTF-8).
 */
export type ReferenceLine = string | Uint8Array;

function pushReferenceLine(reference: CanonicalReference, line: ReferenceLine): void {
  if (typeof line === 'string') reference.pushLine(line);
  else reference.pushLineBytes(line);
}

/** Runs the reference over physical lines (each without its '\n'). */
export function runReferenceOnLines(lines: Iterable<ReferenceLine>, options: ReferenceOptions = {}): ReferenceResult {
  const reference = new CanonicalReference(options);
  for (const line of lines) pushReferenceLine(reference, line);
  return reference.finish();
}

export async function runReference(
  lines: Iterable<ReferenceLine> | AsyncIterable<ReferenceLine>,
  options: ReferenceOptions = {},
): Promise<ReferenceResult> {
  const reference = new CanonicalReference(options);
  for await (const line of lines) pushReferenceLine(reference, line);
  return reference.finish();
}

/** Physical lines of an NDJSON text: split on '\n'; a final '\n' does not start another line. */
export function splitNdjsonLines(text: string): string[] {
  const lines = text.split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

export function runReferenceOnText(text: string, options: ReferenceOptions = {}): ReferenceResult {
  return runReferenceOnLines(splitNdjsonLines(text), options);
}

/** Physical lines of NDJSON bytes, as splitNdjsonLines (views into `input`, which may hold any bytes). */
export function splitNdjsonLineBytes(input: Uint8Array): Uint8Array[] {
  const lines: Uint8Array[] = [];
  let start = 0;
  while (start < input.length) {
    const nl = input.indexOf(0x0a, start);
    const end = nl < 0 ? input.length : nl;
    lines.push(input.subarray(start, end));
    start = end + 1;
  }
  return lines;
}

/** The reference over an input's bytes: what `ringflow replay` of a file holding them must give. */
export function runReferenceOnBytes(input: Uint8Array, options: ReferenceOptions = {}): ReferenceResult {
  return runReferenceOnLines(splitNdjsonLineBytes(input), options);
}

/**
 * 'newline' splits on '\n' only: exact physical line numbers, and lines that are not well-formed
 * UTF-8 are found (`bad_utf8`). 'readline' is node:readline, what a user writes by hand; it also ends
 * a line at a lone '\r' (not followed by '\n'), so on inputs with such bytes its line numbers and
 * lines differ from the contract, and it decodes text, so ill-formed UTF-8 becomes U+FFFD unseen.
 */
export type LineSplitter = 'newline' | 'readline';

/** A line's bytes as text when they are well-formed UTF-8, else the bytes (for pushLineBytes). */
function lineOf(bytes: Buffer): ReferenceLine {
  return isUtf8(bytes) ? bytes.toString('utf8') : bytes;
}

export async function* readNewlineSplitLines(path: string): AsyncGenerator<ReferenceLine> {
  let pending: Buffer[] = [];
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    let start = 0;
    let nl = chunk.indexOf(0x0a);
    if (nl !== -1 && pending.length > 0) {
      pending.push(chunk.subarray(0, nl));
      yield lineOf(Buffer.concat(pending));
      pending = [];
      start = nl + 1;
    }
    // The chunk's whole lines are checked for UTF-8 at once; a line on its own only when that fails.
    const lastNl = chunk.lastIndexOf(0x0a);
    const wellFormed = lastNl < start || isUtf8(chunk.subarray(start, lastNl));
    for (nl = chunk.indexOf(0x0a, start); nl !== -1; nl = chunk.indexOf(0x0a, start)) {
      yield wellFormed ? chunk.toString('utf8', start, nl) : lineOf(chunk.subarray(start, nl));
      start = nl + 1;
    }
    if (start < chunk.length) pending.push(chunk.subarray(start));
  }
  if (pending.length > 0) yield lineOf(Buffer.concat(pending));
}

export function readLines(path: string, splitter: LineSplitter = 'newline'): AsyncIterable<ReferenceLine> {
  if (splitter === 'newline') return readNewlineSplitLines(path);
  return createInterface({ input: createReadStream(path, { highWaterMark: 1 << 20 }), crlfDelay: Infinity });
}

export async function runReferenceOnFile(
  path: string,
  options: ReferenceOptions & { splitter?: LineSplitter } = {},
): Promise<ReferenceResult> {
  return runReference(readLines(path, options.splitter), options);
}

/** The three output files' contents, in the formats of `ringflow replay`. */
export function formatAggregatesNdjson(rows: readonly AggregateRow[]): string {
  return rows
    .map((r) =>
      JSON.stringify({
        window_start: r.window_start,
        window_end: r.window_end,
        type: r.type,
        region: r.region,
        count: r.count,
        amount_sum: r.amount_sum,
        amount_max: r.amount_max,
        users_approx: r.users_approx,
      }) + '\n',
    )
    .join('');
}

export function formatDeadLetterLine(row: DeadLetterRow): string {
  return JSON.stringify({ reason: row.reason, line: row.line, raw: row.raw }) + '\n';
}

export function formatDeadLetterNdjson(rows: readonly DeadLetterRow[]): string {
  return rows.map(formatDeadLetterLine).join('');
}

export function formatSummaryJson(summary: ReplaySummary): string {
  const { input, accepted, invalid, duplicates, late } = summary;
  return JSON.stringify({ input, accepted, invalid, duplicates, late }, null, 2) + '\n';
}
