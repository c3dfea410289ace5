// Runs ringflow's ClickHouse sink code (compiled, dist/) against current ClickHouse embedded by chdb,
// without a server. chdb (~566 MB) is not a project dependency; install it in a scratch dir:
//   (mkdir -p /tmp/chdb && cd /tmp/chdb && npm init -y && npm install --no-save chdb)
//   npm run build && CHDB_DIR=/tmp/chdb node test/integration/sinks/current-clickhouse-check.mjs
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
const root = new URL('../../../', import.meta.url).pathname;
const scratch = mkdtempSync(join(tmpdir(), 'ringflow-chdb-'));
const require = createRequire(join(process.env.CHDB_DIR ?? '/tmp/chdb', 'package.json'));
const { createClient, ClickHouseLogLevel } = await import('@clickhouse/client');
const { createChdbConnection } = require('chdb/connection');
const chdb = require('chdb');
const { createClickHouseSinks } = await import(`${root}dist/src/sinks/clickhouse/sink.js`);
const { clickHouseSinkConfigSchema } = await import(`${root}dist/src/sinks/clickhouse/config.js`);
const { DeadLetterFile } = await import(`${root}dist/src/sinks/dead-letter-file.js`);
const { eventBatchFromLines } = await import(`${root}dist/src/sinks/event-batch.js`);
const { CANONICAL_WINDOW_SHAPE, windowShapeFromAggregate } = await import(`${root}dist/src/sinks/sink.js`);
const { classifyClickHouseError } = await import(`${root}dist/src/sinks/clickhouse/errors.js`);

const client = createClient({ connection: createChdbConnection({ path: join(scratch, 'db') }), log: { level: ClickHouseLogLevel.OFF } });
const ver = await (await client.query({ query: 'SELECT version() AS v', format: 'JSONEachRow' })).json();
console.log('server', ver[0].v, 'chdb', JSON.stringify(chdb.version?.() ?? ''));
const cfg = clickHouseSinkConfigSchema.parse({ database: 'rf_check', table: 'win_' + Date.now(), eventsTable: 'ev_' + Date.now(), maxRows: 5, maxDelayMs: 10, retry: { maxAttempts: 3, initialBackoffMs: 5, maxBackoffMs: 10 } });
const dl = new DeadLetterFile(join(scratch, 'dl.ndjson'));
const sinks = await createClickHouseSinks(cfg, CANONICAL_WINDOW_SHAPE, dl, {}, client);
const T0 = 1764000000000;
const rows = [];
for (let w = 0; w < 3; w++) for (const type of ['click', 'purchase']) for (const region of ['eu', 'us'])
  rows.push({ window_start: T0 + w * 60000, window_end: T0 + (w + 1) * 60000, type, region, count: w * 10 + 1, amount_sum: w * 2.5, amount_max: w + 0.5, users_approx: w });
for (const r of rows) await sinks.windows.write(r);
for (const r of rows) await sinks.windows.write(r);
const changed = rows.slice(0, 4).map((r) => ({ ...r, count: 999 }));
for (const r of changed) await sinks.windows.write(r);
await sinks.windows.write({ ...rows[0], count: 'oops' });
await sinks.windows.flush();
const t = `rf_check.${cfg.table}`;
const final = await (await client.query({ query: `SELECT window_start, type, region, count, version FROM ${t} FINAL ORDER BY window_start, type, region`, format: 'JSONEachRow' })).json();
const all = await (await client.query({ query: `SELECT count() AS n FROM ${t}`, format: 'JSONEachRow' })).json();
console.log('FINAL rows', final.length, 'expected', rows.length, '; raw rows', all[0].n, '; first window counts', final.slice(0, 4).map((r) => r.count).join(','));
console.log('counters', JSON.stringify(sinks.windows.counters()));
assert.equal(final.length, rows.length);
assert.deepEqual(final.slice(0, 4).map((r) => Number(r.count)), [999, 999, 999, 999]);
assert.deepEqual(final.slice(4).map((r) => Number(r.count)), rows.slice(4).map((r) => r.count));
assert.equal(sinks.windows.counters().deadLetteredRows, 1);
await sinks.events.write(eventBatchFromLines(['{"event_id":"a","ts":1,"user_id":"u","type":"click","region":"eu","amount":1.5,"x":1}', '{"event_id":"b","ts":2,"user_id":"u","type":"click","region":"eu","amount":2}'], ['u', 'u']));
await sinks.events.write(eventBatchFromLines(['{"event_id":"a","ts":1,"user_id":"u","type":"click","region":"eu","amount":1.5}'], ['u']));
await sinks.events.flush();
const ev = await (await client.query({ query: `SELECT event_id, amount FROM rf_check.${cfg.eventsTable} FINAL ORDER BY event_id`, format: 'JSONEachRow' })).json();
console.log('events FINAL', JSON.stringify(ev), JSON.stringify(sinks.events.counters()));
assert.deepEqual(ev, [{ event_id: 'a', amount: 1.5 }, { event_id: 'b', amount: 2 }]);
for (const [label, q] of [['syntax', 'SELEC 1'], ['unknown table', 'INSERT INTO rf_check.nope FORMAT JSONEachRow {"a":1}'], ['bad value', `INSERT INTO ${t} FORMAT JSONEachRow {"window_start":"abc"}`], ['unknown field', `INSERT INTO ${t} FORMAT JSONEachRow {"zzz":1}`]]) {
  try { await client.command({ query: q }); console.log(label, 'no error'); } catch (e) { const v = classifyClickHouseError(e); console.log(label, '->', v.code, v.retriable, v.rowLevel ?? false, '|', e.message.split('\n')[0].slice(0, 110)); }
}
const shape = windowShapeFromAggregate({ groupBy: ['hour', 'mobile'], metrics: [{ name: 'count', op: 'count' }, { name: 'amount_max', op: 'max' }] });
const cfg2 = clickHouseSinkConfigSchema.parse({ database: 'rf_check', table: 'nullable_' + Date.now(), maxDelayMs: 10 });
const sinks2 = await createClickHouseSinks(cfg2, shape, dl, {}, client);
await sinks2.windows.write({ window_start: T0, window_end: T0 + 60000, hour: 7, mobile: true, count: 3, amount_max: null });
await sinks2.windows.flush();
const nullable = await (await client.query({ query: `SELECT hour, mobile, count, amount_max FROM rf_check.${cfg2.table} FINAL`, format: 'JSONEachRow' })).json();
console.log('nullable', JSON.stringify(nullable));
assert.deepEqual(nullable.map((r) => ({ ...r, count: Number(r.count) })), [{ hour: '7', mobile: 'true', count: 3, amount_max: null }]);
await sinks2.close();
await dl.close();
console.log('OK: DDL, JSONEachRow inserts, FINAL convergence, row-level dead letter and events work on', ver[0].v);
await sinks.close();
await client.close();
process.exit(0);
