/** Config section `sinks.clickhouse`. */
import { z } from 'zod';
import { retryPolicySchema } from '../retry.js';
import { IDENTIFIER_PATTERN } from './sql.js';

const identifier = (what: string) =>
  z.string().regex(IDENTIFIER_PATTERN, `${what} must be a plain identifier: letters, digits, _ (not first a digit)`);

/** Column types accepted for the events table: the ones that behave the same on 18.16 and today. */
export const EVENT_COLUMN_TYPES = [
  'String', 'UInt8', 'UInt16', 'UInt32', 'UInt64', 'Int8', 'Int16', 'Int32', 'Int64', 'Float32', 'Float64',
  'Nullable(String)', 'Nullable(Int64)', 'Nullable(Float64)', 'Nullable(UInt64)',
] as const;

export const DEFAULT_EVENT_COLUMNS: Record<string, (typeof EVENT_COLUMN_TYPES)[number]> = {
  event_id: 'String',
  ts: 'Int64',
  user_id: 'String',
  type: 'String',
  region: 'String',
  amount: 'Float64',
};

export const clickHouseSinkConfigSchema = z
  .object({
    url: z.string().url().default('http://127.0.0.1:8123')
      .describe('HTTP endpoint of the ClickHouse server. Default: http://127.0.0.1:8123.'),
    database: identifier('database').default('default')
      .describe('Database of the tables; created when missing. Default: default.'),
    table: identifier('table').default('ringflow_windows')
      .describe('Window rows table (ReplacingMergeTree); created when missing. Default: ringflow_windows.'),
    eventsTable: identifier('eventsTable').optional()
      .describe('Table for processed events; events are not written to ClickHouse when unset. Default: unset.'),
    eventColumns: z.record(identifier('event column'), z.enum(EVENT_COLUMN_TYPES)).default(DEFAULT_EVENT_COLUMNS)
      .describe('Columns of the events table (name -> type); other event fields are skipped. Default: the clickstream fields.'),
    eventOrderBy: z.array(identifier('event order-by column')).min(1).default(['event_id'])
      .describe('ORDER BY (and dedupe) key of the events table. Default: [event_id].'),
    username: z.string().default('default').describe('User name. Default: default.'),
    password: z.string().default('').describe('Password. Default: empty.'),
    requestTimeoutMs: z.number().int().min(100).max(600_000).default(30_000)
      .describe('Timeout of one HTTP request in ms (100-600000). Default: 30000.'),
    maxRows: z.number().int().min(1).max(1_000_000).default(10_000)
      .describe('Rows per insert (1-1000000). Default: 10000.'),
    maxDelayMs: z.number().int().min(1).max(600_000).default(1_000)
      .describe('Longest a row waits before its batch is sent, in ms (1-600000). Default: 1000.'),
    maxBufferedRows: z.number().int().min(1).max(10_000_000).default(100_000)
      .describe('Rows buffered or in flight before writers wait (1-10000000). Default: 100000.'),
    retry: retryPolicySchema.default(retryPolicySchema.parse({})),
  })
  .strict()
  .describe('ClickHouse sink: window rows (and optionally processed events) over HTTP.');

export type ClickHouseSinkConfig = z.infer<typeof clickHouseSinkConfigSchema>;
