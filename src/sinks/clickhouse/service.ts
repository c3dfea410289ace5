/**
 * The I/O half of the ClickHouse sink: one @clickhouse/client instance, table creation, and the two
 * inserts. No retry logic here (buffered-sink.ts owns it); every method throws the client's error
 * unchanged so errors.ts can read `Code: N` from it.
 */
import { Readable } from 'node:stream';
import { ClickHouseLogLevel, createClient, type ClickHouseClient } from '@clickhouse/client';
import type { ClickHouseSinkConfig } from './config.js';
import { createDatabaseSql, createEventsTableSql, createWindowTableSql, qualifiedTable } from './sql.js';
import type { EventBatch, WindowRow, WindowShape } from '../../contracts/index.js';

export class ClickHouseService {
  readonly client: ClickHouseClient;
  private readonly ownsClient: boolean;

  /**
   * `client` replaces the HTTP client built from the config, e.g. one over chdb's in-process
   * connection (current ClickHouse without a server); the service then does not close it.
   */
  constructor(
    private readonly config: ClickHouseSinkConfig,
    private readonly shape: WindowShape,
    client?: ClickHouseClient,
  ) {
    this.ownsClient = client === undefined;
    this.client = client ?? createClient({
      url: config.url,
      username: config.username,
      password: config.password,
      request_timeout: config.requestTimeoutMs,
      // The sink logs its own retries and dead letters; the client's logger would repeat each failure.
      log: { level: ClickHouseLogLevel.OFF },
      // 18.16 does not know newer defaults the client may send; keep the settings to what it accepts.
      clickhouse_settings: {},
    });
  }

  /** Creates the database and tables that are missing. Safe to call any number of times. */
  async ensureTables(): Promise<void> {
    const { database, table, eventsTable } = this.config;
    if (database !== 'default') await this.client.command({ query: createDatabaseSql(database) });
    await this.client.command({ query: createWindowTableSql(database, table, this.shape) });
    if (eventsTable) {
      await this.client.command({
        query: createEventsTableSql(database, eventsTable, this.config.eventColumns, this.config.eventOrderBy),
      });
    }
  }

  async insertWindowRows(rows: readonly WindowRow[]): Promise<void> {
    await this.client.insert({
      table: qualifiedTable(this.config.database, this.config.table),
      values: rows as WindowRow[],
      format: 'JSONEachRow',
    });
  }

  /**
   * Streams the NDJSON bytes as they are (no parse, no per-event object): ClickHouse parses them.
   * Fields not in the table are skipped (events carry more fields than the table keeps).
   */
  async insertEventLines(batches: readonly EventBatch[]): Promise<void> {
    if (!this.config.eventsTable) return;
    const chunks = batches.map((b) => Buffer.from(b.lines.buffer, b.lines.byteOffset, b.lines.byteLength));
    const result = await this.client.exec({
      query: `INSERT INTO ${qualifiedTable(this.config.database, this.config.eventsTable)} FORMAT JSONEachRow`,
      values: Readable.from(chunks, { objectMode: false }),
      clickhouse_settings: { input_format_skip_unknown_fields: 1 },
    });
    // Drain the (empty) response so the socket returns to the pool.
    result.stream.resume();
    await new Promise<void>((resolve, reject) => {
      result.stream.once('end', resolve);
      result.stream.once('error', reject);
    });
  }

  async close(): Promise<void> {
    if (this.ownsClient) await this.client.close();
  }
}
