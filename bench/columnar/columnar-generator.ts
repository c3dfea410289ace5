/**
 * Canonical clickstream events generated straight into a staging batch's columns: no NDJSON, no
 * decode, no string or object per event. What the decode stage would have produced for valid lines:
 *
 *   event_id  "e<decimal id>" bytes + 64-bit hash   (a `duplicateRate` share repeats a recent id)
 *   ts        event time, in order, `eventsPerSecond` of event time (or the caller's clock)
 *   user_id   "u<decimal 0..userKeys-1>" bytes + hash
 *   type      enum index 0..3          amount  0.00..999.99 (2 decimals)
 *   country   2 ASCII letters from a fixed list (XX and QQ are not in the dim table -> unknown)
 *   __line    running row number       __late  0 (events are in order)       __raw  empty
 *
 * Hashes use the decoder's function (hash64Into), so partitions, Bloom probes and HLL registers see
 * exactly what they would see after decode. The PRNG is xorshift32: a few ns per draw.
 */
import { setValidRange, type BatchView } from '../../src/runtime/batch.js';
import { hash64Into } from '../../src/kernels/shared/xxhash32.js';

export interface ColumnarGeneratorOptions {
  seed?: number;
  /** Distinct user ids (the distinct-count key). Default: 100,000. */
  userKeys?: number;
  /** Share of events that repeat a recent event id (duplicates for dedupe). Default: 0.05. */
  duplicateRate?: number;
  /** Event-time rate when no clock is passed to fill(). Default: 5,000 events per second. */
  eventsPerSecond?: number;
  /** First event time, epoch ms. Default: 2026-01-01T00:00:00Z. */
  startTs?: number;
}

const COUNTRIES = ['US', 'DE', 'FR', 'JP', 'BR', 'IN', 'GB', 'CA', 'AU', 'ZA', 'KE', 'XX', 'QQ', 'SG', 'MX', 'PL'];
const COUNTRY_BYTES = new Uint8Array(COUNTRIES.flatMap((c) => [c.charCodeAt(0), c.charCodeAt(1)]));
const CHAR_E = 0x65;
const CHAR_U = 0x75;
const CHAR_0 = 0x30;
/** Repeated ids come from the last this-many ids: well inside any dedupe horizon. */
const DUPLICATE_DISTANCE = 1000;

export class ColumnarClickstream {
  private s: number;
  private nextId = 0;
  private tsMs: number;
  private readonly msPerEvent: number;
  private readonly userKeys: number;
  private readonly dupThreshold: number;
  private readonly digits = new Uint8Array(24);
  /** Rows generated / of them repeats of an earlier id (the exact duplicate count dedupe must find). */
  events = 0;
  duplicates = 0;

  constructor(o: ColumnarGeneratorOptions = {}) {
    this.s = (o.seed ?? 1) | 0 || 1;
    this.userKeys = Math.max(1, Math.floor(o.userKeys ?? 100_000));
    this.dupThreshold = Math.floor((o.duplicateRate ?? 0.05) * 0x80000000);
    this.msPerEvent = 1000 / (o.eventsPerSecond ?? 5000);
    this.tsMs = o.startTs ?? Date.UTC(2026, 0, 1);
  }

  /** Event time of the last generated row. */
  get lastTsMs(): number { return Math.floor(this.tsMs); }

  /** 31 random bits: stays a small integer for V8, so `%` is an integer modulo. */
  private next(): number {
    let s = this.s;
    s ^= s << 13; s ^= s >>> 17; s ^= s << 5;
    this.s = s;
    return s >>> 1;
  }

  /** Writes `prefix` + decimal `n` at bytes[at..]; returns the end offset. */
  private writeKey(bytes: Uint8Array, at: number, prefix: number, n: number): number {
    const d = this.digits;
    let len = 0;
    // Ids stay below 2^31 here, so integer division by 10 is exact.
    do { const q = (n / 10) | 0; d[len++] = CHAR_0 + n - q * 10; n = q; } while (n > 0);
    bytes[at++] = prefix;
    while (len > 0) bytes[at++] = d[--len];
    return at;
  }

  /**
   * Appends up to `rows` events to `batch` (starting at its rowCount); returns how many were written
   * (fewer when a string column ran out of room). `clockTs` pins event time (latency runs); otherwise
   * time advances by 1 / eventsPerSecond per event.
   */
  fill(batch: BatchView, rows: number, clockTs = Number.NaN): number {
    const c = batch.columns;
    const id = c[0], ts = c[1].values as Float64Array, user = c[2], type = c[3].values as Uint16Array;
    const amount = c[4].values as Float64Array, country = c[5], line = c[6].values as Float64Array;
    const late = c[7].values as Uint8Array, raw = c[8];
    const idBytes = id.values as Uint8Array, userBytes = user.values as Uint8Array, cBytes = country.values as Uint8Array;
    const idOff = id.offsets!, userOff = user.offsets!, cOff = country.offsets!, rawOff = raw.offsets!;
    const idHash = id.hash!, userHash = user.hash!;
    const idRoom = idBytes.length - 24, userRoom = userBytes.length - 24;
    const first = batch.rowCount;
    const end = Math.min(batch.layout.rowCapacity, first + rows);
    let r = first;
    for (; r < end; r++) {
      const idAt = idOff[r], userAt = userOff[r], cAt = cOff[r];
      if (idAt > idRoom || userAt > userRoom || cAt + 2 > cBytes.length) break;
      let key: number;
      if (this.next() < this.dupThreshold && this.nextId > 0) {
        key = this.nextId - 1 - (this.next() % Math.min(DUPLICATE_DISTANCE, this.nextId));
        this.duplicates++;
      } else key = this.nextId++;
      const idEnd = this.writeKey(idBytes, idAt, CHAR_E, key);
      idOff[r + 1] = idEnd;
      hash64Into(idBytes, idAt, idEnd, idHash, 2 * r);
      const userEnd = this.writeKey(userBytes, userAt, CHAR_U, this.next() % this.userKeys);
      userOff[r + 1] = userEnd;
      hash64Into(userBytes, userAt, userEnd, userHash, 2 * r);
      if (clockTs === clockTs) this.tsMs = clockTs;
      else this.tsMs += this.msPerEvent;
      ts[r] = Math.floor(this.tsMs);
      const bits = this.next();
      type[r] = bits & 3;
      const cents = (bits >>> 2) % 100_000;
      amount[r] = cents / 100;
      const ci = 2 * ((bits >>> 27) & 15);
      cBytes[cAt] = COUNTRY_BYTES[ci];
      cBytes[cAt + 1] = COUNTRY_BYTES[ci + 1];
      cOff[r + 1] = cAt + 2;
      line[r] = ++this.events;
      late[r] = 0;
      rawOff[r + 1] = rawOff[r];
    }
    for (let i = 0; i < c.length; i++) setValidRange(c[i].validity, first, r);
    batch.rowCount = r;
    return r - first;
  }
}

const CANONICAL_COLUMNS = ['event_id', 'ts', 'user_id', 'type', 'amount', 'country', '__line', '__late', '__raw'];

/** fill() writes columns by position: fail loudly if the canonical schema's order ever changes. */
export function assertCanonicalLayout(batch: BatchView): void {
  const names = batch.columns.map((c) => c.layout.spec.name).join(',');
  if (names !== CANONICAL_COLUMNS.join(',')) throw new Error(`columnar generator expects columns ${CANONICAL_COLUMNS.join(',')}, got ${names}`);
}
