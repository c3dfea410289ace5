import type { WindowShape } from '../../contracts/index.js';
/**
 * SQL text built by the ClickHouse sink. ClickHouse 18.16 has no query parameters, so identifiers and
 * literals are quoted here; names are also validated as plain identifiers by the config schema, and
 * quoting is the second fence.
 *
 * DDL that runs unchanged on 18.16 and on current ClickHouse:
 *  - window bounds are UInt64 epoch milliseconds: DateTime64 does not exist on 18.16 and DateTime
 *    would drop sub-second window sizes; UInt64 sorts the same and converts with
 *    toDateTime(intDiv(window_start, 1000)) where needed.
 *  - ReplacingMergeTree(version) ORDER BY (window_start, <group keys>): a re-delivered window merges
 *    into one row under FINAL, the highest `version` winning; `version` is the emit time (ms), kept
 *    strictly increasing per process.
 */

export const IDENTIFIER_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function quoteIdentifier(name: string): string {
  return `\`${name.replace(/\\/g, '\\\\').replace(/`/g, '\\`')}\``;
}

/** A single-quoted string literal with ClickHouse escapes (backslash and quote). */
export function quoteString(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

export function qualifiedTable(database: string, table: string): string {
  return `${quoteIdentifier(database)}.${quoteIdentifier(table)}`;
}

export function createDatabaseSql(database: string): string {
  return `CREATE DATABASE IF NOT EXISTS ${quoteIdentifier(database)}`;
}

export const VERSION_COLUMN = 'version';

export function createWindowTableSql(database: string, table: string, shape: WindowShape): string {
  const columns = [
    `${quoteIdentifier('window_start')} UInt64`,
    `${quoteIdentifier('window_end')} UInt64`,
    ...shape.groupFields.map((g) => `${quoteIdentifier(g)} String`),
    ...shape.metrics.map((m) => {
      const type = m.kind === 'integer' ? 'Int64' : 'Float64';
      return `${quoteIdentifier(m.name)} ${m.nullable ? `Nullable(${type})` : type}`;
    }),
    `${quoteIdentifier(VERSION_COLUMN)} UInt64`,
  ];
  const orderBy = ['window_start', ...shape.groupFields].map(quoteIdentifier).join(', ');
  return (
    `CREATE TABLE IF NOT EXISTS ${qualifiedTable(database, table)} (${columns.join(', ')}) ` +
    `ENGINE = ReplacingMergeTree(${quoteIdentifier(VERSION_COLUMN)}) ORDER BY (${orderBy})`
  );
}

/**
 * Processed events: one row per event, deduplicated by the ORDER BY key under FINAL, so a batch the
 * sink re-sends after an ambiguous failure (timeout after the server stored it) does not double-count.
 */
export function createEventsTableSql(
  database: string,
  table: string,
  columns: Readonly<Record<string, string>>,
  orderBy: readonly string[],
): string {
  const cols = Object.entries(columns).map(([name, type]) => `${quoteIdentifier(name)} ${type}`);
  return (
    `CREATE TABLE IF NOT EXISTS ${qualifiedTable(database, table)} (${cols.join(', ')}) ` +
    `ENGINE = ReplacingMergeTree ORDER BY (${orderBy.map(quoteIdentifier).join(', ')})`
  );
}
