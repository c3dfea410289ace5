/**
 * CDC change events in Debezium's envelope for two tables of a small shop database. The
 * generator keeps the current image of every row, so each event is consistent with the stream
 * before it: `c` only for a row that does not exist (before = null), `u` with before = the last
 * after of that key, `d` with before = the last image and after = null; a deleted key may be
 * created again later.
 *
 *   {"before":null,"after":{"id":7,...},"source":{"connector":"postgresql","db":"shop",
 *    "schema":"public","table":"users","lsn":123,"txId":45,"ts_ms":...},"op":"c","ts_ms":...}
 */
import type { LineGenerator } from './line-generator.js';
import { Prng } from './prng.js';

export type CdcOp = 'c' | 'u' | 'd';
export type CdcRow = Record<string, string | number>;

export interface CdcGeneratorOptions {
  seed?: number;
  /** Distinct keys per table; a small set keeps many updates per row. */
  rowsPerTable?: number;
  startTsMs?: number;
  /** Event-time step between consecutive change events. */
  stepMs?: number;
  /** Probability that a change to an existing row is a delete (the rest are updates). */
  deleteRatio?: number;
}

export const CDC_TABLES = ['users', 'orders'] as const;
export type CdcTable = (typeof CDC_TABLES)[number];

const COUNTRIES = ['DE', 'FR', 'US', 'GB', 'JP', 'BR', 'IN', 'ES'];
const PLANS = ['free', 'pro', 'team'];
const ORDER_STATUS = ['pending', 'paid', 'shipped', 'delivered', 'cancelled'];
const FIRST_NAMES = ['ada', 'alan', 'grace', 'edsger', 'barbara', 'donald', 'ken', 'linus'];

export class CdcGenerator implements LineGenerator {
  private readonly prng: Prng;
  private readonly rowsPerTable: number;
  private readonly startTsMs: number;
  private readonly stepMs: number;
  private readonly deleteRatio: number;
  /** Current image per table and key; null = row does not exist. */
  private readonly rows: Record<CdcTable, (CdcRow | null)[]>;
  private emitted = 0;
  private lsn = 1000;

  constructor(options: CdcGeneratorOptions = {}) {
    this.prng = new Prng(options.seed ?? 1);
    this.rowsPerTable = options.rowsPerTable ?? 100;
    this.startTsMs = options.startTsMs ?? 1_700_000_000_000;
    this.stepMs = options.stepMs ?? 10;
    this.deleteRatio = options.deleteRatio ?? 0.1;
    this.rows = {
      users: new Array<CdcRow | null>(this.rowsPerTable).fill(null),
      orders: new Array<CdcRow | null>(this.rowsPerTable).fill(null),
    };
  }

  nextLine(): string {
    const i = this.emitted++;
    const p = this.prng;
    const table = CDC_TABLES[p.int(CDC_TABLES.length)];
    const key = p.int(this.rowsPerTable) + 1;
    const tsMs = this.startTsMs + i * this.stepMs;
    const current = this.rows[table][key - 1];

    let op: CdcOp;
    let after: CdcRow | null;
    if (current === null) {
      op = 'c';
      after = table === 'users' ? this.newUser(key, tsMs) : this.newOrder(key, tsMs);
    } else if (p.float() < this.deleteRatio) {
      op = 'd';
      after = null;
    } else {
      op = 'u';
      after = table === 'users' ? this.updateUser(current, tsMs) : this.updateOrder(current, tsMs);
    }
    this.rows[table][key - 1] = after;
    this.lsn += 1 + p.int(64);
    const source = {
      version: '2.5.0.Final',
      connector: 'postgresql',
      name: 'ringflow',
      ts_ms: tsMs,
      snapshot: 'false',
      db: 'shop',
      schema: 'public',
      table,
      txId: 5000 + i,
      lsn: this.lsn,
    };
    // A few ms of capture delay between the database commit and Debezium's processing time.
    return JSON.stringify({ before: current, after, source, op, ts_ms: tsMs + 1 + p.int(20) });
  }

  private newUser(id: number, tsMs: number): CdcRow {
    const p = this.prng;
    const name = `${p.pick(FIRST_NAMES)}-${id}`;
    return { id, name, email: `${name}@example.com`, country: p.pick(COUNTRIES), plan: p.pick(PLANS), updated_at: tsMs };
  }

  private updateUser(row: CdcRow, tsMs: number): CdcRow {
    const p = this.prng;
    const next: CdcRow = { ...row, updated_at: tsMs };
    if (p.float() < 0.5) next.plan = p.pick(PLANS);
    else next.country = p.pick(COUNTRIES);
    return next;
  }

  private newOrder(id: number, tsMs: number): CdcRow {
    const p = this.prng;
    const amount = Math.round((5 + p.float() * 495) * 100) / 100;
    return { id, user_id: 1 + p.int(this.rowsPerTable), amount, status: 'pending', updated_at: tsMs };
  }

  private updateOrder(row: CdcRow, tsMs: number): CdcRow {
    const p = this.prng;
    return { ...row, status: p.pick(ORDER_STATUS), updated_at: tsMs };
  }
}
