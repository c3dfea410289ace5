import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient, ClickHouseLogLevel, type ClickHouseClient } from '@clickhouse/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testServices, uniqueName } from '../../helpers/services.js';
import { clickHouseSinkConfigSchema, type ClickHouseSinkConfig } from '../../../src/sinks/clickhouse/config.js';
import { createClickHouseSinks, type ClickHouseSinks } from '../../../src/sinks/clickhouse/sink.js';
import { quoteString } from '../../../src/sinks/clickhouse/sql.js';
import { DeadLetterFile } from '../../../src/sinks/dead-letter-file.js';
import { eventBatchFromLines } from '../../../src/sinks/event-batch.js';
import { CANONICAL_WINDOW_SHAPE } from '../../../src/sinks/sink.js';
import { startFaultProxy, type FaultProxy } from './fault-proxy.js';
import { startClickHouse } from '../../services/index.js';
import { type WindowRow, windowShapeFromAggregate } from '../../../src/contracts/index.js';

const MIN = 60_000;
const T0 = 1_764_000_000_000;
const TYPES = ['click', 'view', 'purchase'];
const REGIONS = ['eu', 'us', 'apac'];

/** One row per (window, type, region); `seed` changes every metric so a new version is visible. */
function windowRows(windows: number, seed = 0): WindowRow[] {
  const rows: WindowRow[] = [];
  for (let w = 0; w < windows; w++) {
    TYPES.forEach((type, ti) => {
      REGIONS.forEach((region, ri) => {
        const n = w * 100 + ti * 10 + ri + seed * 1000;
        rows.push({
          window_start: T0 + w * MIN, window_end: T0 + (w + 1) * MIN, type, region,
          count: n + 1, amount_sum: n * 1.5, amount_max: n + 0.25, users_approx: n % 7,
        });
      });
    });
  }
  return rows;
}

const sortKey = (r: WindowRow) => `${r.window_start}|${r.type}|${r.region}`;
const byKey = (a: WindowRow, b: WindowRow) => (sortKey(a) < sortKey(b) ? -1 : sortKey(a) > sortKey(b) ? 1 : 0);

let admin: ClickHouseClient;
let dir: string;
const opened: ClickHouseSinks[] = [];
const proxies: FaultProxy[] = [];

beforeAll(() => {
  admin = createClient({ url: testServices().clickhouseUrl, log: { level: ClickHouseLogLevel.OFF } });
  dir = mkdtempSync(join(tmpdir(), 'ringflow-ch-sink-'));
});

afterAll(async () => {
  for (const s of opened) await s.close().catch(() => undefined);
  for (const p of proxies) await p.close();
  await admin.close();
  rmSync(dir, { recursive: true, force: true });
});

function config(overrides: Record<string, unknown> = {}): ClickHouseSinkConfig {
  return clickHouseSinkConfigSchema.parse({
    url: testServices().clickhouseUrl, table: uniqueName('win'), maxRows: 7, maxDelayMs: 20, ...overrides,
  });
}

async function open(cfg: ClickHouseSinkConfig, deadLetterName = uniqueName('dl')) {
  const deadLetter = new DeadLetterFile(join(dir, `${deadLetterName}.ndjson`));
  const sinks = await createClickHouseSinks(cfg, CANONICAL_WINDOW_SHAPE, deadLetter);
  opened.push(sinks);
  return { sinks, deadLetter };
}

async function select<T>(query: string): Promise<T[]> {
  return (await admin.query({ query, format: 'JSONEachRow' })).json<T>();
}

/** Rows under FINAL, numbers parsed (ClickHouse returns 64-bit integers as strings in JSON). */
async function finalRows(table: string): Promise<WindowRow[]> {
  const rows = await select<Record<string, string | number>>(
    `SELECT window_start, window_end, type, region, count, amount_sum, amount_max, users_approx FROM ${table} FINAL`,
  );
  return rows
    .map((r) => ({
      window_start: Number(r.window_start), window_end: Number(r.window_end), type: String(r.type), region: String(r.region),
      count: Number(r.count), amount_sum: Number(r.amount_sum), amount_max: Number(r.amount_max), users_approx: Number(r.users_approx),
    }))
    .sort(byKey);
}

async function writeAll(sinks: ClickHouseSinks, rows: WindowRow[]): Promise<void> {
  for (const r of rows) await sinks.windows.write(r);
  await sinks.windows.flush();
}

describe('ClickHouse sink on a real server', () => {
  it('creates its table and converges re-delivered windows to one row per key with the latest values', async () => {
    const cfg = config();
    const { sinks } = await open(cfg);
    const first = windowRows(4);
    await writeAll(sinks, first);
    expect(await finalRows(cfg.table)).toEqual([...first].sort(byKey));

    // Same windows again (a replay after a restart), then windows 2-3 with changed values.
    await writeAll(sinks, first);
    const changed = windowRows(4, 1).filter((r) => r.window_start >= T0 + 2 * MIN);
    await writeAll(sinks, changed);
    const expected = [...first.filter((r) => r.window_start < T0 + 2 * MIN), ...changed].sort(byKey);
    expect(await finalRows(cfg.table)).toEqual(expected);
    const [{ n }] = await select<{ n: string }>(`SELECT count() AS n FROM ${cfg.table} FINAL`);
    expect(Number(n)).toBe(4 * 9);
    expect(sinks.windows.counters()).toMatchObject({ writtenRows: first.length * 2 + changed.length, deadLetteredRows: 0 });
  });

  it('retries while the server is unreachable and writes every row exactly once when it is back', async () => {
    const url = new URL(testServices().clickhouseUrl);
    const proxy = await startFaultProxy(url.hostname, Number(url.port));
    proxies.push(proxy);
    const table = uniqueName('win');
    // Create the table through the proxy while it is up, then take the server away.
    const cfg = config({
      url: `http://127.0.0.1:${proxy.port}`, table, requestTimeoutMs: 2_000,
      retry: { maxAttempts: 1000, initialBackoffMs: 20, maxBackoffMs: 100, maxElapsedMs: 0 },
    });
    const { sinks, deadLetter } = await open(cfg);
    proxy.setDown(true);
    const rows = windowRows(3);
    for (const r of rows) await sinks.windows.write(r);
    const flushed = sinks.windows.flush();
    while (sinks.windows.counters().retriedAttempts < 3) await new Promise((r) => setTimeout(r, 20));
    expect(sinks.windows.counters().writtenRows).toBe(0);
    proxy.setDown(false);
    await flushed;
    expect(sinks.windows.counters()).toMatchObject({ writtenRows: rows.length, deadLetteredRows: 0, bufferedRows: 0 });
    expect(deadLetter.records).toBe(0);
    // Without FINAL too: a failed insert stored nothing, so nothing was written twice.
    const [{ n }] = await select<{ n: string }>(`SELECT count() AS n FROM ${table}`);
    expect(Number(n)).toBe(rows.length);
    expect(await finalRows(table)).toEqual([...rows].sort(byKey));
  });

  it('survives the server being stopped and started again (connection refused meanwhile)', async () => {
    const server = await startClickHouse();
    try {
      const cfg = config({ url: server.url, retry: { maxAttempts: 1000, initialBackoffMs: 20, maxBackoffMs: 200, maxElapsedMs: 0 } });
      const { sinks, deadLetter } = await open(cfg);
      const rows = windowRows(4);
      await writeAll(sinks, rows.slice(0, 9));
      await server.stop();
      for (const r of rows.slice(9)) await sinks.windows.write(r);
      const flushed = sinks.windows.flush();
      while (sinks.windows.counters().retriedAttempts < 3) await new Promise((r) => setTimeout(r, 20));
      await server.start();
      await flushed;
      expect(sinks.windows.counters()).toMatchObject({ writtenRows: rows.length, deadLetteredRows: 0 });
      expect(deadLetter.records).toBe(0);
      const check = createClient({ url: server.url, log: { level: ClickHouseLogLevel.OFF } });
      const [{ n }] = await (await check.query({ query: `SELECT count() AS n FROM ${cfg.table}`, format: 'JSONEachRow' })).json<{ n: string }>();
      await check.close();
      expect(Number(n)).toBe(rows.length);
    } finally {
      await server.close();
    }
  });

  it('dead-letters rows with the network error once the retry budget is spent', async () => {
    const url = new URL(testServices().clickhouseUrl);
    const proxy = await startFaultProxy(url.hostname, Number(url.port));
    proxies.push(proxy);
    const cfg = config({
      url: `http://127.0.0.1:${proxy.port}`, maxRows: 100,
      retry: { maxAttempts: 3, initialBackoffMs: 5, maxBackoffMs: 10, maxElapsedMs: 0 },
    });
    const { sinks, deadLetter } = await open(cfg);
    proxy.setDown(true);
    const rows = windowRows(1);
    await writeAll(sinks, rows);
    expect(sinks.windows.counters()).toMatchObject({ writtenRows: 0, deadLetteredRows: rows.length, retriedAttempts: 2 });
    await deadLetter.close();
    const records = readFileSync(deadLetter.path, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(records).toHaveLength(rows.length);
    expect(records.map((r) => r.row)).toEqual(rows);
    for (const r of records) {
      expect(r).toMatchObject({ sink: 'clickhouse.windows', retriable: true, attempts: 3 });
      expect(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT']).toContain(r.code);
    }
  });

  it('dead-letters only the row the table rejects, with its code, and stores the rest', async () => {
    const cfg = config({ maxRows: 100 });
    const { sinks, deadLetter } = await open(cfg);
    const rows = windowRows(1);
    const bad = { ...rows[4], count: 'not a number' } as unknown as WindowRow;
    const mixed = [...rows.slice(0, 4), bad, ...rows.slice(5)];
    await writeAll(sinks, mixed);
    expect(sinks.windows.counters()).toMatchObject({ writtenRows: rows.length - 1, deadLetteredRows: 1, retriedAttempts: 0 });
    expect(await finalRows(cfg.table)).toEqual(rows.filter((_, i) => i !== 4).sort(byKey));
    await deadLetter.close();
    const [record] = readFileSync(deadLetter.path, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(record).toMatchObject({ sink: 'clickhouse.windows', code: 'clickhouse:27', retriable: false, attempts: 1, row: bad });
    expect(record.message).toMatch(/^Code: 27/);
  });

  it('recreates a table dropped while running (Code 60) and retries the batch', async () => {
    const cfg = config();
    const { sinks } = await open(cfg);
    await writeAll(sinks, windowRows(1));
    await admin.command({ query: `DROP TABLE ${cfg.table}` });
    const rows = windowRows(2, 3);
    await writeAll(sinks, rows);
    expect(await finalRows(cfg.table)).toEqual([...rows].sort(byKey));
    expect(sinks.windows.counters().deadLetteredRows).toBe(0);
    expect(sinks.windows.counters().retriedAttempts).toBeGreaterThanOrEqual(1);
  });

  it('stores numeric / boolean group values as strings and null metrics as NULL (shape from the aggregate config)', async () => {
    const shape = windowShapeFromAggregate({
      groupBy: ['hour', 'mobile'],
      metrics: [{ name: 'count', op: 'count' }, { name: 'amount_max', op: 'max' }, { name: 'amount_avg', op: 'avg' }],
    });
    const cfg = config();
    const deadLetter = new DeadLetterFile(join(dir, `${uniqueName('dl')}.ndjson`));
    const sinks = await createClickHouseSinks(cfg, shape, deadLetter);
    opened.push(sinks);
    const rows: WindowRow[] = [
      { window_start: T0, window_end: T0 + MIN, hour: 7, mobile: true, count: 3, amount_max: 12.5, amount_avg: 5 },
      { window_start: T0, window_end: T0 + MIN, hour: 7, mobile: false, count: 2, amount_max: null, amount_avg: null },
    ];
    await writeAll(sinks, rows);
    const stored = await select<Record<string, unknown>>(
      `SELECT hour, mobile, count, amount_max, amount_avg FROM ${cfg.table} FINAL ORDER BY mobile`,
    );
    expect(stored).toEqual([
      { hour: '7', mobile: 'false', count: '2', amount_max: null, amount_avg: null },
      { hour: '7', mobile: 'true', count: '3', amount_max: 12.5, amount_avg: 5 },
    ]);
    expect(deadLetter.records).toBe(0);
  });

  it('writes processed events to their own table straight from NDJSON bytes, idempotently under FINAL', async () => {
    const eventsTable = uniqueName('events');
    const cfg = config({ eventsTable });
    const { sinks } = await open(cfg);
    const lines = Array.from({ length: 50 }, (_, i) =>
      JSON.stringify({ event_id: `e${i}`, ts: T0 + i, user_id: `u${i % 5}`, type: TYPES[i % 3], region: REGIONS[i % 3], amount: i / 4, extra: { nested: true } }));
    const keys = lines.map((_, i) => `u${i % 5}`);
    await sinks.events!.write(eventBatchFromLines(lines.slice(0, 30), keys.slice(0, 30)));
    await sinks.events!.write(eventBatchFromLines(lines.slice(30), keys.slice(30)));
    // A re-delivery of the first batch.
    await sinks.events!.write(eventBatchFromLines(lines.slice(0, 30), keys.slice(0, 30)));
    await sinks.events!.flush();
    const stored = await select<{ event_id: string; ts: string; amount: number }>(
      `SELECT event_id, ts, amount FROM ${eventsTable} FINAL WHERE user_id != ${quoteString("no'one")} ORDER BY ts`,
    );
    expect(stored.map((r) => r.event_id)).toEqual(lines.map((_, i) => `e${i}`));
    expect(stored.map((r) => Number(r.ts))).toEqual(lines.map((_, i) => T0 + i));
    expect(stored.map((r) => r.amount)).toEqual(lines.map((_, i) => i / 4));
    expect(sinks.events!.counters().writtenRows).toBe(80);
  });
});
