import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testServices, uniqueName } from '../../helpers/services.js';
import { DeadLetterFile } from '../../../src/sinks/dead-letter-file.js';
import { redisSinkConfigSchema } from '../../../src/sinks/redis/config.js';
import { createRedisSink } from '../../../src/sinks/redis/sink.js';
import { CANONICAL_WINDOW_SHAPE, type Sink } from '../../../src/sinks/sink.js';
import { startFaultProxy, type FaultProxy } from './fault-proxy.js';
import type { WindowRow } from '../../../src/contracts/index.js';

const MIN = 60_000;
const T0 = 1_764_000_000_000;

function windowRows(windows: number, seed = 0): WindowRow[] {
  const rows: WindowRow[] = [];
  for (let w = 0; w < windows; w++) {
    ['click', 'purchase'].forEach((type, ti) => {
      ['eu', 'us', 'apac'].forEach((region, ri) => {
        const n = (w + 1) * 10 + ti * 3 + ri + seed;
        rows.push({
          window_start: T0 + w * MIN, window_end: T0 + (w + 1) * MIN, type, region,
          count: n, amount_sum: n * 2.5, amount_max: n + 0.5, users_approx: n % 4,
        });
      });
    });
  }
  return rows;
}

let redis: Redis;
let dir: string;
const sinks: Sink<WindowRow>[] = [];
const proxies: FaultProxy[] = [];

beforeAll(() => {
  redis = new Redis(testServices().redisUrl);
  dir = mkdtempSync(join(tmpdir(), 'ringflow-redis-sink-'));
});

afterAll(async () => {
  for (const s of sinks) await s.close().catch(() => undefined);
  for (const p of proxies) await p.close();
  await redis.quit();
  rmSync(dir, { recursive: true, force: true });
});

function open(prefix: string, overrides: Record<string, unknown> = {}) {
  const config = redisSinkConfigSchema.parse({
    url: testServices().redisUrl, keyPrefix: prefix, maxRows: 5, maxDelayMs: 10,
    leaderboards: [
      { name: 'count', metric: 'count' },
      { name: 'purchases-by-region', metric: 'amount_sum', memberFields: ['region'], where: { type: 'purchase' } },
    ],
    ...overrides,
  });
  const deadLetter = new DeadLetterFile(join(dir, `${prefix}.dl.ndjson`));
  const sink = createRedisSink(config, CANONICAL_WINDOW_SHAPE, deadLetter);
  sinks.push(sink);
  return { sink, deadLetter };
}

/** Every key under the prefix with its type and full value (TTL only as present/absent). */
async function dump(prefix: string): Promise<Record<string, unknown>> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    keys.push(...batch);
    cursor = next;
  } while (cursor !== '0');
  const out: Record<string, unknown> = {};
  for (const key of keys.sort()) {
    const type = await redis.type(key);
    const ttl = await redis.ttl(key);
    const value = type === 'hash' ? await redis.hgetall(key) : await redis.zrange(key, 0, '-1', 'WITHSCORES');
    out[key] = { type, hasTtl: ttl > 0, value };
  }
  return out;
}

async function writeAll(sink: Sink<WindowRow>, rows: WindowRow[]) {
  for (const r of rows) await sink.write(r);
  await sink.flush();
}

describe('Redis sink on a real server', () => {
  it('writes window hashes, leaderboards and latest keys from the rows', async () => {
    const prefix = uniqueName('rf');
    const { sink } = open(prefix);
    const rows = windowRows(2);
    await writeAll(sink, rows);

    for (const r of rows) {
      expect(await redis.hgetall(`${prefix}:win:${r.window_start}:${r.type}:${r.region}`)).toEqual({
        window_end: String(r.window_end), count: String(r.count), amount_sum: String(r.amount_sum),
        amount_max: String(r.amount_max), users_approx: String(r.users_approx),
      });
    }
    const w1 = rows.filter((r) => r.window_start === T0 + MIN);
    const byCount = [...w1].sort((a, b) => Number(b.count) - Number(a.count)).map((r) => `${r.type}|${r.region}`);
    expect(await redis.zrevrange(`${prefix}:top:count:${T0 + MIN}`, 0, -1)).toEqual(byCount);
    const purchases = w1.filter((r) => r.type === 'purchase').sort((a, b) => Number(b.amount_sum) - Number(a.amount_sum));
    expect(await redis.zrevrange(`${prefix}:top:purchases-by-region:${T0 + MIN}`, 0, -1, 'WITHSCORES')).toEqual(
      purchases.flatMap((r) => [r.region, String(r.amount_sum)]),
    );
    const latest = await redis.hgetall(`${prefix}:latest:click:eu`);
    const lastClickEu = w1.find((r) => r.type === 'click' && r.region === 'eu')!;
    expect(latest).toMatchObject({ window_start: String(lastClickEu.window_start), count: String(lastClickEu.count) });
    expect(await redis.ttl(`${prefix}:latest:click:eu`)).toBeGreaterThan(0);
    expect(sink.counters()).toMatchObject({ writtenRows: rows.length, deadLetteredRows: 0 });
  });

  it('leaves identical state when the same windows are replayed, and latest never moves back', async () => {
    const prefix = uniqueName('rf');
    const { sink } = open(prefix);
    const rows = windowRows(3);
    await writeAll(sink, rows);
    const before = await dump(prefix);
    expect(Object.keys(before).length).toBe(18 + 3 * 2 + 6);

    await writeAll(sink, rows);
    expect(await dump(prefix)).toEqual(before);
    // Replaying only the oldest window (as after a restart from an old checkpoint) changes nothing.
    await writeAll(sink, rows.filter((r) => r.window_start === T0));
    expect(await dump(prefix)).toEqual(before);
  });

  it('retries through a Redis outage and ends with the same state as an undisturbed run', async () => {
    const reference = uniqueName('rf');
    await writeAll(open(reference).sink, windowRows(2));

    const url = new URL(testServices().redisUrl);
    const proxy = await startFaultProxy(url.hostname, Number(url.port));
    proxies.push(proxy);
    const prefix = uniqueName('rf');
    const { sink } = open(prefix, {
      url: `redis://127.0.0.1:${proxy.port}`, commandTimeoutMs: 1000,
      retry: { maxAttempts: 1000, initialBackoffMs: 20, maxBackoffMs: 100, maxElapsedMs: 0 },
    });
    const rows = windowRows(2);
    await writeAll(sink, rows.slice(0, 3));
    proxy.setDown(true);
    for (const r of rows.slice(3)) await sink.write(r);
    const flushed = sink.flush();
    while (sink.counters().retriedAttempts < 2) await new Promise((r) => setTimeout(r, 20));
    proxy.setDown(false);
    await flushed;
    expect(sink.counters()).toMatchObject({ writtenRows: rows.length, deadLetteredRows: 0 });
    const strip = (d: Record<string, unknown>, p: string) =>
      Object.fromEntries(Object.entries(d).map(([k, v]) => [k.slice(p.length), v]));
    expect(strip(await dump(prefix), prefix)).toEqual(strip(await dump(reference), reference));
  });

  it('stores a null metric as an empty field and removes the group from a leaderboard on that metric', async () => {
    const prefix = uniqueName('rf');
    const { sink } = open(prefix, { leaderboards: [{ name: 'max', metric: 'amount_max' }] });
    const [first, second] = windowRows(1);
    await writeAll(sink, [first, second]);
    expect(await redis.zrange(`${prefix}:top:max:${T0}`, 0, '-1')).toEqual(['click|eu', 'click|us']);
    // The window re-delivered with amount_max now null for click|eu.
    await writeAll(sink, [{ ...first, amount_max: null }]);
    expect(await redis.hget(`${prefix}:win:${T0}:click:eu`, 'amount_max')).toBe('');
    expect(await redis.zrange(`${prefix}:top:max:${T0}`, 0, '-1')).toEqual(['click|us']);
  });

  it('dead-letters only the row whose key holds the wrong type, with the Redis error code', async () => {
    const prefix = uniqueName('rf');
    const rows = windowRows(1);
    await redis.set(`${prefix}:win:${T0}:click:eu`, 'a string, not a hash');
    const { sink, deadLetter } = open(prefix, { maxRows: 100 });
    await writeAll(sink, rows);
    expect(sink.counters()).toMatchObject({ writtenRows: rows.length - 1, deadLetteredRows: 1 });
    await deadLetter.close();
    const records = readFileSync(deadLetter.path, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(records).toEqual([expect.objectContaining({ sink: 'redis.windows', code: 'redis:WRONGTYPE', retriable: false, row: rows[0] })]);
    expect(await redis.hgetall(`${prefix}:win:${T0}:click:us`)).toMatchObject({ count: String(rows[1].count) });
  });
});
