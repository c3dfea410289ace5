/**
 * Deterministic generator of canonical clickstream events as NDJSON lines (~110 bytes each): the
 * input of the examples, the tests' differential runs and the benchmarks. Same seed and options ->
 * the same bytes, on every machine.
 *
 * Distribution (per non-blank line, one uniform draw r picks the kind):
 *   r < invalidRate                         invalid: one of INVALID_KINDS (every reject reason)
 *   r < invalidRate + duplicateRate         re-emits an id of the last 4096 fresh events (ts within half
 *                                           the dedupe horizon): half exact copies, half with ts/user/
 *                                           type/amount/country redrawn
 *   r < invalidRate + dup + lateRate        late: ts 2..10 min behind, checked to be late for the
 *                                           canonical watermark (5 s lateness, 60 s windows)
 *   otherwise                               a fresh event; variantRate of them in unusual legal JSON
 *   Blank (whitespace) lines are extra lines, blankLineRate per event, and are not events.
 * Fresh event fields:
 *   event_id  "e" + 6 hex digits of the seed + 12 hex digits of a sequence number (19 chars, unique)
 *   ts        startTsMs + floor(i * 1000 / eventsPerSecond) for the i-th event, minus with probability
 *             jitterFraction a uniform 0..maxJitterMs (disorder that is never late: <= 5 s lateness)
 *   user_id   "u" + floor(userCardinality * U^userSkewExponent), U uniform [0,1): exponent 2 gives the
 *             lowest 10% of ids ~32% of events
 *   type      view 80%, click 14%, add_to_cart 4%, purchase 2%
 *   amount    view 0; click absent; add_to_cart 1.00-200.00; purchase 5.00-500.00 (cents uniform,
 *             written as the shortest decimal, e.g. 12.5)
 *   country   absent 3%, null 1%, unknown code (XX, QQ, YY) 3%, US 20%, else uniform over the other
 *             23 codes of examples/dims/countries.csv
 * Counts of what was emitted are in `stats`; they predict the canonical pipeline's summary exactly.
 */
import { parseConfigSection } from '../../config-error.js';
import { SourceError } from '../../errors.js';
import { BLANK_LINES, INVALID_KINDS, renderVariantLine, type FieldTexts } from './clickstream-faults.js';
import { clickstreamGeneratorConfigSchema, type ClickstreamGeneratorConfig, type ClickstreamGeneratorOptions } from './clickstream-config.js';
import { Prng } from './prng.js';
import type { LineGenerator } from './line-generator.js';

export { clickstreamGeneratorConfigSchema, type ClickstreamGeneratorConfig, type ClickstreamGeneratorOptions };

/** No generated line (including its '\n') is longer; writeNdjson needs this much room. */
export const MAX_GENERATED_LINE_BYTES = 1024;
export const EVENT_TYPE_NAMES = ['view', 'click', 'add_to_cart', 'purchase'] as const;
const TYPE_CUMULATIVE = [0.8, 0.94, 0.98, 1];
export const KNOWN_COUNTRY_CODES = [
  'US', 'CA', 'MX', 'BR', 'AR', 'DE', 'FR', 'GB', 'ES', 'IT', 'PL', 'NL',
  'SE', 'IN', 'JP', 'CN', 'KR', 'SG', 'AU', 'NZ', 'ZA', 'NG', 'EG', 'KE',
] as const;
const COUNTRY_CODES = [...KNOWN_COUNTRY_CODES, 'XX', 'QQ', 'YY'];
const COUNTRY_ABSENT = -1;
const COUNTRY_NULL = -2;
const AMOUNT_ABSENT = -1;
const RECENT_CAPACITY = 4096; // power of two: ring index by mask
const LATE_MIN_MS = 120_000;
const LATE_SPREAD_MS = 480_000;
const WINDOW_MS = 60_000;
const LATENESS_MS = 5_000;

export interface ClickstreamStats {
  /** Physical lines written, blank ones included. */
  lines: number;
  blankLines: number;
  /** Non-blank lines: the pipeline's `input`. */
  events: number;
  invalid: number;
  duplicates: number;
  late: number;
  /** Valid fresh events written in an unusual spelling (they are accepted). */
  variants: number;
  /** Count per expected dead-letter reason of the invalid lines. */
  invalidByReason: Record<string, number>;
}

const ascii = (text: string): Buffer => Buffer.from(text, 'latin1');
const HEX = ascii('0123456789abcdef');
const F_OPEN_ID = ascii('{"event_id":"e');
const F_TS = ascii('","ts":');
const F_USER = ascii(',"user_id":"u');
const F_TYPE = ascii('","type":"');
const F_TYPE_NAMES = EVENT_TYPE_NAMES.map((t) => ascii(`${t}"`));
const F_AMOUNT = ascii(',"amount":');
const F_COUNTRY = COUNTRY_CODES.map((c) => ascii(`,"country":"${c}"`));
const F_COUNTRY_NULL = ascii(',"country":null');

function put(buf: Buffer, offset: number, fragment: Buffer): number {
  for (let i = 0; i < fragment.length; i++) buf[offset + i] = fragment[i];
  return offset + fragment.length;
}

/** Decimal digits of a non-negative int32, without creating a string. */
function putSmallUint(buf: Buffer, offset: number, value: number): number {
  let digits = 1;
  for (let v = value; v >= 10; v = (v / 10) | 0) digits++;
  let v = value;
  for (let i = offset + digits - 1; i >= offset; i--) {
    const q = (v / 10) | 0;
    buf[i] = 48 + v - q * 10;
    v = q;
  }
  return offset + digits;
}

/**
 * Decimal digits of a non-negative integer < 2^53. Values above int32 (every epoch-ms ts) are split
 * into two int32 halves, because `%` and division on doubles go through slow fmod-like paths.
 */
function putUint(buf: Buffer, offset: number, value: number): number {
  if (value < 0x80000000) return putSmallUint(buf, offset, value);
  const high = Math.floor(value / 1e6);
  let low = value - high * 1e6;
  const at = putSmallUint(buf, offset, high);
  for (let i = at + 5; i >= at; i--) {
    const q = (low / 10) | 0;
    buf[i] = 48 + low - q * 10;
    low = q;
  }
  return at + 6;
}

/** Shortest decimal of cents / 100: 1250 -> "12.5", 1200 -> "12", 1234 -> "12.34". */
function putCents(buf: Buffer, offset: number, cents: number): number {
  const whole = (cents / 100) | 0;
  let at = putSmallUint(buf, offset, whole);
  const frac = cents - whole * 100;
  if (frac === 0) return at;
  buf[at++] = 46; // '.'
  const tens = (frac / 10) | 0;
  buf[at++] = 48 + tens;
  if (frac !== tens * 10) buf[at++] = 48 + frac - tens * 10;
  return at;
}

function centsText(cents: number): string {
  const frac = cents % 100;
  const whole = String(Math.floor(cents / 100));
  if (frac === 0) return whole;
  return frac % 10 === 0 ? `${whole}.${frac / 10}` : `${whole}.${String(frac).padStart(2, '0')}`;
}

export function parseClickstreamGeneratorOptions(
  options: ClickstreamGeneratorOptions = {},
  configPath = 'generator',
): ClickstreamGeneratorConfig {
  return parseConfigSection(clickstreamGeneratorConfigSchema, options, configPath);
}

export class ClickstreamGenerator implements LineGenerator {
  readonly config: ClickstreamGeneratorConfig;
  readonly stats: ClickstreamStats = {
    lines: 0, blankLines: 0, events: 0, invalid: 0, duplicates: 0, late: 0, variants: 0, invalidByReason: {},
  };
  private readonly rng: Prng;
  private readonly seedTagHex: string;
  private readonly idPrefix: Buffer;
  private readonly scratch = Buffer.allocUnsafe(MAX_GENERATED_LINE_BYTES);
  private nextSeq = 0;
  private maxValidTs = -Infinity;
  // The current event, reused for every line (no object per event).
  private seq = 0;
  private ts = 0;
  private user = 0;
  private type = 0;
  private amountCents = 0;
  private country = 0;
  // Ring of recent fresh events, the pool duplicates are drawn from: columns, not objects.
  //   entry i = recentCount & (RECENT_CAPACITY - 1), the oldest entry is overwritten
  //   recentSeq     Float64[4096]  id sequence number
  //   recentTs      Float64[4096]  event time ms
  //   recentUser    Float64[4096]  user index
  //   recentType    Uint8[4096]    index into EVENT_TYPE_NAMES
  //   recentAmount  Int32[4096]    cents, -1 = absent
  //   recentCountry Int8[4096]     index into COUNTRY_CODES, -1 = absent, -2 = null
  private readonly recentSeq = new Float64Array(RECENT_CAPACITY);
  private readonly recentTs = new Float64Array(RECENT_CAPACITY);
  private readonly recentUser = new Float64Array(RECENT_CAPACITY);
  private readonly recentType = new Uint8Array(RECENT_CAPACITY);
  private readonly recentAmount = new Int32Array(RECENT_CAPACITY);
  private readonly recentCountry = new Int8Array(RECENT_CAPACITY);
  private recentCount = 0;

  /**
   * `options` are validated here (tests, benchmarks); `validated` is a config section the daemon's schema
   * has already parsed (fromConfig), used as it is.
   */
  constructor(options: ClickstreamGeneratorOptions = {}, validated: ClickstreamGeneratorConfig | null = null) {
    this.config = validated ?? parseClickstreamGeneratorOptions(options);
    this.rng = new Prng(this.config.seed);
    const tag = new Prng((this.config.seed ^ 0x5bd1e995) >>> 0).nextUint32() & 0xffffff;
    this.seedTagHex = tag.toString(16).padStart(6, '0');
    this.idPrefix = Buffer.concat([F_OPEN_ID, ascii(this.seedTagHex)]);
  }

  /** From the validated `source.generator.clickstream` section: nothing is parsed again. */
  static fromConfig(config: ClickstreamGeneratorConfig): ClickstreamGenerator {
    return new ClickstreamGenerator({}, config);
  }

  /**
   * Writes the next physical line and its '\n' at `offset`; returns the offset after it. Needs
   * MAX_GENERATED_LINE_BYTES of room. Ordinary events (~93% of lines) allocate nothing.
   */
  writeNdjson(buffer: Buffer, offset: number): number {
    if (buffer.length - offset < MAX_GENERATED_LINE_BYTES) {
      throw new SourceError(
        'clickstream-generator',
        `writeNdjson needs ${MAX_GENERATED_LINE_BYTES} bytes of room, ${buffer.length - offset} left`,
      );
    }
    const end = this.writeLine(buffer, offset);
    buffer[end] = 10;
    this.stats.lines++;
    return end + 1;
  }

  /** The next physical line without its '\n' (a CRLF variant keeps its '\r'; blank lines are ''/spaces). */
  nextLine(): string {
    const end = this.writeNdjson(this.scratch, 0);
    return this.scratch.toString('utf8', 0, end - 1);
  }

  /** Physical lines until `eventCount` more events (non-blank lines) have been produced. */
  fillLines(eventCount: number): string[] {
    const lines: string[] = [];
    const target = this.stats.events + eventCount;
    while (this.stats.events < target) lines.push(this.nextLine());
    return lines;
  }

  /** Writes `eventCount` more events (plus blank lines) to a stream, honouring backpressure. */
  async writeTo(stream: NodeJS.WritableStream, eventCount: number, chunkBytes = 1 << 20): Promise<void> {
    const target = this.stats.events + eventCount;
    while (this.stats.events < target) {
      const chunk = Buffer.allocUnsafe(chunkBytes + MAX_GENERATED_LINE_BYTES);
      let offset = 0;
      while (offset < chunkBytes && this.stats.events < target) offset = this.writeNdjson(chunk, offset);
      if (!stream.write(chunk.subarray(0, offset))) await new Promise<void>((resolve) => stream.once('drain', resolve));
    }
  }

  private writeLine(buf: Buffer, offset: number): number {
    const cfg = this.config;
    if (this.rng.float() < cfg.blankLineRate) {
      this.stats.blankLines++;
      return offset + buf.write(BLANK_LINES[this.rng.int(BLANK_LINES.length)], offset, 'latin1');
    }
    const baseTs = cfg.startTsMs + Math.floor((this.stats.events * 1000) / cfg.eventsPerSecond);
    this.stats.events++;
    const r = this.rng.float();
    if (r < cfg.invalidRate) return this.writeInvalid(buf, offset, baseTs);
    if (r < cfg.invalidRate + cfg.duplicateRate && this.pickDuplicate(baseTs)) {
      this.stats.duplicates++;
      return this.writeCurrent(buf, offset);
    }
    if (r >= cfg.invalidRate + cfg.duplicateRate && r < cfg.invalidRate + cfg.duplicateRate + cfg.lateRate && this.drawLate(baseTs)) {
      this.stats.late++;
      return this.writeCurrent(buf, offset);
    }
    this.drawFresh(baseTs);
    this.remember();
    if (this.rng.float() < cfg.variantRate) {
      this.stats.variants++;
      if (this.ts > this.maxValidTs) this.maxValidTs = this.ts;
      return offset + buf.write(renderVariantLine(this.fieldTexts(), this.rng), offset, 'utf8');
    }
    return this.writeCurrent(buf, offset);
  }

  private drawFields(baseTs: number): void {
    const cfg = this.config;
    const jittered = this.rng.float() < cfg.jitterFraction;
    this.ts = baseTs - (jittered ? this.rng.int(cfg.maxJitterMs + 1) : 0);
    this.user = Math.floor(cfg.userCardinality * Math.pow(this.rng.float(), cfg.userSkewExponent));
    const t = this.rng.float();
    this.type = t < TYPE_CUMULATIVE[0] ? 0 : t < TYPE_CUMULATIVE[1] ? 1 : t < TYPE_CUMULATIVE[2] ? 2 : 3;
    this.amountCents =
      this.type === 0 ? 0 : this.type === 1 ? AMOUNT_ABSENT : this.type === 2 ? 100 + this.rng.int(19_901) : 500 + this.rng.int(49_501);
    const c = this.rng.float();
    this.country =
      c < 0.03 ? COUNTRY_ABSENT
      : c < 0.04 ? COUNTRY_NULL
      : c < 0.07 ? KNOWN_COUNTRY_CODES.length + this.rng.int(3)
      : c < 0.27 ? 0
      : 1 + this.rng.int(KNOWN_COUNTRY_CODES.length - 1);
  }

  private drawFresh(baseTs: number): void {
    this.seq = this.nextSeq++;
    this.drawFields(baseTs);
  }

  private remember(): void {
    const i = this.recentCount++ & (RECENT_CAPACITY - 1);
    this.recentSeq[i] = this.seq;
    this.recentTs[i] = this.ts;
    this.recentUser[i] = this.user;
    this.recentType[i] = this.type;
    this.recentAmount[i] = this.amountCents;
    this.recentCountry[i] = this.country;
  }

  /** Loads a recent event (or its id with redrawn fields); false when none is within the horizon. */
  private pickDuplicate(baseTs: number): boolean {
    if (this.recentCount === 0) return false;
    const back = 1 + this.rng.int(Math.min(this.recentCount, RECENT_CAPACITY));
    const i = (this.recentCount - back) & (RECENT_CAPACITY - 1);
    if (this.recentTs[i] < baseTs - this.config.dedupeHorizonMs / 2) return false;
    this.seq = this.recentSeq[i];
    if (this.rng.float() < 0.5) {
      this.ts = this.recentTs[i];
      this.user = this.recentUser[i];
      this.type = this.recentType[i];
      this.amountCents = this.recentAmount[i];
      this.country = this.recentCountry[i];
    } else {
      this.drawFields(baseTs);
    }
    return true;
  }

  /** A fresh event far enough behind to be late for the canonical watermark; false if it would not be. */
  private drawLate(baseTs: number): boolean {
    const ts = baseTs - LATE_MIN_MS - this.rng.int(LATE_SPREAD_MS);
    const windowEnd = Math.floor(ts / WINDOW_MS) * WINDOW_MS + WINDOW_MS;
    if (!(windowEnd <= this.maxValidTs - LATENESS_MS)) return false;
    this.drawFresh(baseTs);
    this.ts = ts;
    return true;
  }

  private writeInvalid(buf: Buffer, offset: number, baseTs: number): number {
    this.drawFresh(baseTs);
    const kind = INVALID_KINDS[this.rng.int(INVALID_KINDS.length)];
    this.stats.invalid++;
    this.stats.invalidByReason[kind.reason] = (this.stats.invalidByReason[kind.reason] ?? 0) + 1;
    return offset + buf.write(kind.render(this.fieldTexts(), this.rng), offset, 'utf8');
  }

  /** The byte path: the current (valid) event in the usual key order, straight into `buf`. */
  private writeCurrent(buf: Buffer, offset: number): number {
    // Mirrors the canonical watermark (every valid line advances maxTs) so drawLate can be exact.
    if (this.ts > this.maxValidTs) this.maxValidTs = this.ts;
    let at = put(buf, offset, this.idPrefix);
    // 12 hex digits of seq (< 2^48) from two int32 halves of 24 bits each.
    const high = Math.floor(this.seq / 0x1000000);
    let low = this.seq - high * 0x1000000;
    let hi = high;
    for (let i = at + 11; i >= at + 6; i--) {
      buf[i] = HEX[low & 15];
      low >>>= 4;
    }
    for (let i = at + 5; i >= at; i--) {
      buf[i] = HEX[hi & 15];
      hi >>>= 4;
    }
    at = put(buf, at + 12, F_TS);
    at = putUint(buf, at, this.ts);
    at = put(buf, at, F_USER);
    at = putSmallUint(buf, at, this.user);
    at = put(buf, at, F_TYPE);
    at = put(buf, at, F_TYPE_NAMES[this.type]);
    if (this.amountCents !== AMOUNT_ABSENT) {
      at = put(buf, at, F_AMOUNT);
      at = putCents(buf, at, this.amountCents);
    }
    if (this.country >= 0) at = put(buf, at, F_COUNTRY[this.country]);
    else if (this.country === COUNTRY_NULL) at = put(buf, at, F_COUNTRY_NULL);
    buf[at] = 125; // '}'
    return at + 1;
  }

  /** The string path's view of the current event, same fields and order as writeCurrent. */
  private fieldTexts(): FieldTexts {
    const fields: FieldTexts = [
      ['event_id', `"e${this.seedTagHex}${this.seq.toString(16).padStart(12, '0')}"`],
      ['ts', String(this.ts)],
      ['user_id', `"u${this.user}"`],
      ['type', `"${EVENT_TYPE_NAMES[this.type]}"`],
    ];
    if (this.amountCents !== AMOUNT_ABSENT) fields.push(['amount', centsText(this.amountCents)]);
    if (this.country >= 0) fields.push(['country', `"${COUNTRY_CODES[this.country]}"`]);
    else if (this.country === COUNTRY_NULL) fields.push(['country', 'null']);
    return fields;
  }
}
