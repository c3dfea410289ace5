import { createClient, type ClickHouseClient } from '@clickhouse/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testServices, uniqueName } from '../../helpers/services.js';

const ROW_COUNT = 100_000;
/** Every 10th id is inserted again with a higher version and a new amount. */
const UPDATE_EVERY = 10;

interface Row {
  id: number;
  ver: number;
  name: string;
  amount: number;
}

function firstVersion(id: number): Row {
  // Quarter steps keep float sums exact, so a checksum over amounts can be compared with toBe.
  return { id, ver: 1, name: `name_${id}`, amount: ((id * 7919) % 4000) / 4 };
}

function secondVersion(id: number): Row {
  return { id, ver: 2, name: `renamed_${id}`, amount: ((id * 104729) % 4000) / 4 + 0.5 };
}

/** Order-sensitive 32-bit FNV-1a over the rows' fields: the client reads back exactly these rows. */
function checksum(rows: Row[]): number {
  let hash = 0x811c9dc5;
  for (const row of rows) {
    const text = `${row.id}|${row.ver}|${row.name}|${row.amount};`;
    for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193) >>> 0;
  }
  return hash;
}

describe('clickhouse smoke: ReplacingMergeTree, JSONEachRow, FINAL', () => {
  const { clickhouseUrl } = testServices();
  const table = uniqueName('smoke_rmt');
  let client: ClickHouseClient;

  beforeAll(() => {
    client = createClient({ url: clickhouseUrl });
  });
  afterAll(async () => {
    await client?.command({ query: `DROP TABLE IF EXISTS ${table}` }).catch(() => undefined);
    await client?.close();
  });

  it('inserts 100k rows plus newer versions and FINAL collapses them to the latest per key', async () => {
    await client.command({
      query: `CREATE TABLE ${table} (id UInt32, ver UInt32, name String, amount Float64)
              ENGINE = ReplacingMergeTree(ver) ORDER BY id`,
    });
    const originals = Array.from({ length: ROW_COUNT }, (_, id) => firstVersion(id));
    await client.insert({ table, values: originals, format: 'JSONEachRow' });
    const updates = originals.filter((r) => r.id % UPDATE_EVERY === 0).map((r) => secondVersion(r.id));
    await client.insert({ table, values: updates, format: 'JSONEachRow' });

    const expected = originals.map((r) => (r.id % UPDATE_EVERY === 0 ? secondVersion(r.id) : r));

    const summary = await (
      await client.query({
        query: `SELECT count() AS rows, sum(amount) AS amount, countIf(ver = 2) AS updated FROM ${table} FINAL`,
        format: 'JSONEachRow',
      })
    ).json<{ rows: string | number; amount: number; updated: string | number }>();
    expect(Number(summary[0].rows)).toBe(ROW_COUNT);
    expect(Number(summary[0].updated)).toBe(updates.length);
    expect(summary[0].amount).toBe(expected.reduce((sum, r) => sum + r.amount, 0));

    const readBack = await (
      await client.query({ query: `SELECT id, ver, name, amount FROM ${table} FINAL ORDER BY id`, format: 'JSONEachRow' })
    ).json<Row>();
    expect(readBack).toHaveLength(ROW_COUNT);
    expect(checksum(readBack)).toBe(checksum(expected));
    expect(readBack[0]).toEqual(secondVersion(0));
    expect(readBack[1]).toEqual(firstVersion(1));
  });
});
