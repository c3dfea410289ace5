import { ClickHouseLogLevel, createClient } from '@clickhouse/client';
import { afterAll, describe, expect, it } from 'vitest';
import { startClickHouse, type ClickHouseServer } from '../../services/index.js';
import { uniqueName } from '../../helpers/services.js';

// Delivery tests take ClickHouse away mid-stream; this checks the handle they use keeps port and data.
describe('a ClickHouse server handle can stop and start the same server', () => {
  let server: ClickHouseServer | undefined;
  afterAll(async () => {
    await server?.close();
  });

  it('refuses requests while stopped and serves the same data after start()', async () => {
    server = await startClickHouse();
    const url = server.url;
    const table = uniqueName('restart');
    // Logging off: the refused ping while stopped is expected, not worth a stack trace in the output.
    const client = createClient({ url, request_timeout: 5_000, log: { level: ClickHouseLogLevel.OFF } });
    try {
      await client.command({ query: `CREATE TABLE ${table} (id UInt32, v String) ENGINE = MergeTree ORDER BY id` });
      const rows = Array.from({ length: 1_000 }, (_, id) => ({ id, v: `v${id}` }));
      await client.insert({ table, values: rows, format: 'JSONEachRow' });

      await server.stop();
      expect(server.running).toBe(false);
      await expect(client.ping()).resolves.toMatchObject({ success: false });

      await server.start();
      expect(server.running).toBe(true);
      expect(server.url).toBe(url);
      const back = await (await client.query({ query: `SELECT id, v FROM ${table} ORDER BY id`, format: 'JSONEachRow' }))
        .json<{ id: number; v: string }>();
      expect(back).toEqual(rows);
    } finally {
      await client.close();
    }
  });
});
